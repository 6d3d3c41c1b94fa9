// drivers/ena device: attach over the control socket, map, admin, events.
#include "vena_dev.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <optional>

#include "c_edge.h"
#include "control_client.h"
#include "vena_queue.h"

using venic::control::Client;
using venic::control::ControlError;
using venic::control::guarded;
using venic::control::set_err;

struct vena_dev {
  std::optional<Client> client;  // held open: closing it detaches the VF
  uint8_t* base = nullptr;
  uint64_t size = 0;
  std::mutex admin_lock;
  uint16_t next_cmd_id = 1;
  // Validated once at attach; never re-read from the shared page.
  uint64_t admin_sq_off = 0, admin_cq_off = 0, event_off = 0, stats_off = 0;
  uint32_t admin_ring_size = 0, event_ring_size = 0;
  uint32_t admin_sq_prod = 0;
  uint32_t admin_cq_cons = 0;
  uint32_t event_cons = 0;
};

namespace {

bool in_region(const vena_dev* d, uint64_t off, uint64_t len) {
  return off <= d->size && len <= d->size - off;
}

// A register page written by an older or foreign daemon must not make us
// index outside the mapping.
int validate_layout(const vena_dev* d, std::string& why) {
  auto* r = reinterpret_cast<const venic_regs*>(d->base);
  if (r->magic != VENIC_ABI_MAGIC) return why = "bad magic in VF region", -EPROTO;
  if (r->abi_major != VENIC_ABI_MAJOR) return why = "VF region has ABI major " + std::to_string(r->abi_major), -EPROTO;
  if (r->region_size != d->size) return why = "VF region size mismatch", -EPROTO;
  auto pow2 = [](uint32_t v) { return v && !(v & (v - 1)); };
  if (!pow2(r->admin_ring_size) || !pow2(r->event_ring_size) || !pow2(r->ring_size) || r->max_qps == 0 ||
      r->max_qps > VENIC_MAX_QPS)
    return why = "VF region has bad ring sizes", -EPROTO;
  uint64_t hdr = VENIC_RING_HDR_SIZE;
  bool ok = in_region(d, r->stats_off, sizeof(venic_stats)) &&
            in_region(d, r->admin_sq_off, hdr + uint64_t(r->admin_ring_size) * sizeof(venic_admin_cmd)) &&
            in_region(d, r->admin_cq_off, hdr + uint64_t(r->admin_ring_size) * sizeof(venic_admin_cqe)) &&
            in_region(d, r->event_off, hdr + uint64_t(r->event_ring_size) * sizeof(venic_event));
  if (!ok) return why = "VF region layout out of bounds", -EPROTO;
  return 0;
}

template <typename T>
T* at(vena_dev* d, uint64_t off) {
  return reinterpret_cast<T*>(d->base + off);
}

venic_regs* regs_of(vena_dev* d) {
  return reinterpret_cast<venic_regs*>(d->base);
}

}  // namespace

extern "C" int vena_dev_attach(const char* socket_path, uint32_t vf_id, vena_dev** out, char* err, size_t errlen) {
  return guarded(err, errlen, [&]() -> int {
    auto dev = std::make_unique<vena_dev>();
    dev->client.emplace(Client::connect(socket_path));
    auto reply = dev->client->call("vf.attach", {{"vf", vf_id}});
    if (int rc = venic::control::map_region(reply.fds, "VF region", dev->base, dev->size, err, errlen); rc < 0)
      return rc;
    std::string why;
    if (int rc = validate_layout(dev.get(), why); rc < 0) {
      ::munmap(dev->base, dev->size);
      set_err(err, errlen, why);
      return rc;
    }
    // The daemon resets the rings on attach; start from its indices.
    auto* r = regs_of(dev.get());
    dev->admin_sq_off = r->admin_sq_off;
    dev->admin_cq_off = r->admin_cq_off;
    dev->event_off = r->event_off;
    dev->stats_off = r->stats_off;
    dev->admin_ring_size = r->admin_ring_size;
    dev->event_ring_size = r->event_ring_size;
    dev->admin_sq_prod = at<venic_ring>(dev.get(), r->admin_sq_off)->prod;
    dev->admin_cq_cons = at<venic_ring>(dev.get(), r->admin_cq_off)->cons;
    dev->event_cons = at<venic_ring>(dev.get(), r->event_off)->cons;
    *out = dev.release();
    return 0;
  });
}

extern "C" void vena_dev_detach(vena_dev* dev) {
  if (!dev) return;
  if (dev->base) ::munmap(dev->base, dev->size);
  delete dev;
}

extern "C" volatile venic_regs* vena_dev_regs(vena_dev* dev) {
  return regs_of(dev);
}
extern "C" uint8_t* vena_dev_base(vena_dev* dev) {
  return dev->base;
}
extern "C" uint64_t vena_dev_region_size(const vena_dev* dev) {
  return dev->size;
}
extern "C" const volatile venic_stats* vena_dev_stats(vena_dev* dev) {
  return at<venic_stats>(dev, dev->stats_off);
}

extern "C" int vena_dev_admin(vena_dev* dev, uint16_t opcode, uint32_t arg0, uint64_t arg1, uint64_t* result,
                              int timeout_ms) {
  return vena_dev_admin_data(dev, opcode, arg0, arg1, nullptr, 0, result, timeout_ms);
}

extern "C" int vena_dev_admin_data(vena_dev* dev, uint16_t opcode, uint32_t arg0, uint64_t arg1, const void* data,
                                   size_t len, uint64_t* result, int timeout_ms) {
  if (len > sizeof(venic_admin_cmd::data)) return -EINVAL;
  std::lock_guard<std::mutex> g(dev->admin_lock);
  auto* sq = at<venic_ring>(dev, dev->admin_sq_off);
  auto* cq = at<venic_ring>(dev, dev->admin_cq_off);
  auto* cmds = reinterpret_cast<venic_admin_cmd*>(reinterpret_cast<uint8_t*>(sq) + VENIC_RING_HDR_SIZE);
  auto* cqes = reinterpret_cast<venic_admin_cqe*>(reinterpret_cast<uint8_t*>(cq) + VENIC_RING_HDR_SIZE);
  uint32_t mask = dev->admin_ring_size - 1;
  if (dev->admin_sq_prod - vena_load_acquire(&sq->cons) >= dev->admin_ring_size) return -EBUSY;

  uint16_t id = dev->next_cmd_id++;
  venic_admin_cmd& c = cmds[dev->admin_sq_prod & mask];
  std::memset(&c, 0, sizeof(c));
  c.opcode = opcode;
  c.cmd_id = id;
  c.arg0 = arg0;
  c.arg1 = arg1;
  if (len) std::memcpy(c.data, data, len);
  vena_store_release(&sq->prod, ++dev->admin_sq_prod);

  // The daemon's control thread polls admin queues every millisecond.
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    while (vena_load_acquire(&cq->prod) != dev->admin_cq_cons) {
      venic_admin_cqe e = cqes[dev->admin_cq_cons & mask];
      vena_store_release(&cq->cons, ++dev->admin_cq_cons);
      if (e.cmd_id == id) {
        if (result) *result = e.result;
        return e.status;
      }
    }
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (ms > timeout_ms) return -ETIMEDOUT;
    timespec nap{0, 200000};
    nanosleep(&nap, nullptr);
  }
}

extern "C" int vena_dev_register_memory(vena_dev* dev, const vena_mem_region* regions, unsigned n, uint16_t* mem_ids,
                                        char* err, size_t errlen) {
  if (n == 0 || n > VENIC_MAX_DMA_REGIONS) {
    set_err(err, errlen, "between 1 and " + std::to_string(VENIC_MAX_DMA_REGIONS) + " regions");
    return -EINVAL;
  }
  return guarded(err, errlen, [&]() -> int {
    nlohmann::json list = nlohmann::json::array();
    std::vector<int> fds;
    for (unsigned i = 0; i < n; i++) {
      list.push_back({{"va", regions[i].va}, {"len", regions[i].len}, {"offset", regions[i].offset}});
      fds.push_back(regions[i].fd);
    }
    auto reply = dev->client->call("vf.register_memory", {{"regions", list}}, fds);
    const auto& ids = reply.result.at("mem_ids");
    if (!ids.is_array() || ids.size() != n) {
      set_err(err, errlen, "venicd returned the wrong number of memory ids");
      return -EPROTO;
    }
    for (unsigned i = 0; i < n; i++) mem_ids[i] = ids[i].get<uint16_t>();
    return 0;
  });
}

extern "C" int vena_dev_next_event(vena_dev* dev, venic_event* ev) {
  auto* ring = at<venic_ring>(dev, dev->event_off);
  if (vena_load_acquire(&ring->prod) == dev->event_cons) return 0;
  auto* evs = reinterpret_cast<venic_event*>(reinterpret_cast<uint8_t*>(ring) + VENIC_RING_HDR_SIZE);
  *ev = evs[dev->event_cons & (dev->event_ring_size - 1)];
  vena_store_release(&ring->cons, ++dev->event_cons);
  return 1;
}

namespace {
// A queue pair's rings and copy slots inside a region of `size` bytes at base.
struct RegionView {
  uint8_t* base;
  uint64_t size;
  bool fits(uint64_t off, uint64_t len) const { return off <= size && len <= size - off; }
  bool ring_fits(uint64_t off, uint64_t entry, uint32_t n) const { return fits(off, VENIC_RING_HDR_SIZE + entry * n); }
};

// The fields a TX and an RX queue share: their submission ring and copy slots.
template <typename Queue>
void bind_submission_ring(const RegionView& v, const venic_regs* r, Queue* q, uint64_t sq_off, uint64_t buf_off) {
  std::memset(q, 0, sizeof(*q));
  q->sq = reinterpret_cast<venic_ring*>(v.base + sq_off);
  q->desc = reinterpret_cast<venic_desc*>(v.base + sq_off + VENIC_RING_HDR_SIZE);
  q->bufs = v.base + buf_off;
  q->bufs_off = buf_off;
  q->size = r->ring_size;
  q->mask = r->ring_size - 1;
  q->buf_size = r->buf_size;
}
}  // namespace

extern "C" int vena_txq_bind(uint8_t* base, uint64_t size, const venic_regs* r, unsigned qp, vena_txq* q) {
  const RegionView v{base, size};
  if (qp >= r->max_qps || qp >= VENIC_MAX_QPS) return -EINVAL;
  const venic_qp_layout& l = r->qp[qp];
  if (!v.ring_fits(l.tx_sq_off, sizeof(venic_desc), r->ring_size) ||
      !v.fits(l.tx_buf_off, uint64_t(r->ring_size) * r->buf_size))
    return -EINVAL;
  bind_submission_ring(v, r, q, l.tx_sq_off, l.tx_buf_off);
  q->prod = q->sq->prod;
  q->cons = q->sq->cons;
  return 0;
}

extern "C" int vena_rxq_bind(uint8_t* base, uint64_t size, const venic_regs* r, unsigned qp, vena_rxq* q) {
  const RegionView v{base, size};
  if (qp >= r->max_qps || qp >= VENIC_MAX_QPS) return -EINVAL;
  const venic_qp_layout& l = r->qp[qp];
  if (!v.ring_fits(l.rx_sq_off, sizeof(venic_desc), r->ring_size) ||
      !v.ring_fits(l.rx_cq_off, sizeof(venic_cqe), r->ring_size) ||
      !v.fits(l.rx_buf_off, uint64_t(r->ring_size) * r->buf_size))
    return -EINVAL;
  bind_submission_ring(v, r, q, l.rx_sq_off, l.rx_buf_off);
  q->cq = reinterpret_cast<venic_ring*>(base + l.rx_cq_off);
  q->cqe = reinterpret_cast<venic_cqe*>(base + l.rx_cq_off + VENIC_RING_HDR_SIZE);
  q->sq_prod = q->sq->prod;
  q->cq_cons = q->cq->cons;
  return 0;
}

extern "C" int vena_txq_init(vena_dev* dev, unsigned qp, vena_txq* q) {
  return vena_txq_bind(dev->base, dev->size, regs_of(dev), qp, q);
}

extern "C" int vena_rxq_init(vena_dev* dev, unsigned qp, vena_rxq* q) {
  return vena_rxq_bind(dev->base, dev->size, regs_of(dev), qp, q);
}
