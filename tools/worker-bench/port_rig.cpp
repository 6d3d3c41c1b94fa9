#include "port_rig.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <unistd.h>

#include <stdexcept>

#include "vena_queue.h"
#include "worker.h"

namespace venic::bench {

struct PortRig::Driver {
  vena_txq tx{};
  vena_rxq rx{};
  std::vector<std::vector<uint8_t>> frames;
  size_t next = 0;
};

bool init_eal(const char* prog) {
  static bool done = false;
  if (done) return true;
  const char* args[] = {prog, "-l",  "0",           "--no-pci",       "--no-huge",
                        "-m", "512", "--no-shconf", "--no-telemetry", "--log-level=lib.eal:error"};
  int argc = static_cast<int>(std::size(args));
  if (rte_eal_init(argc, const_cast<char**>(args)) < 0) return false;
  fastpath::install_fault_guard();
  done = true;
  return true;
}

PortRig::PortRig() : table_(*this, nullptr) {
  ec2_ = std::make_unique<model::Ec2Service>(table_, nullptr);
  publish(table_);
}

PortRig::~PortRig() {
  snap_.reset();
}

nlohmann::json PortRig::ec2(const std::string& action, const nlohmann::json& params) {
  return ec2_->call(action, params, Caller{});
}

void PortRig::publish(const vf::VfTable& table) {
  auto ct_for = [this](const vf::Vf& v) {
    auto& ct = ct_[v.cfg.id];
    const uint32_t want = v.cfg.security.conntrack_max ? v.cfg.security.conntrack_max : 65536;
    if (!ct || ct->capacity() != want)
      ct = std::make_shared<fastpath::Conntrack>("rig_ct_" + std::to_string(++generation_), want, rte_get_tsc_hz());
    return ct;
  };
  snap_ = std::make_unique<fastpath::Snapshot>(table, 1, ++generation_, ct_for);
}

void PortRig::start(uint16_t id) {
  table_.attach(id, next_session_++, ::getpid(), 0);
  const vf::Vf& v = table_.get(id);
  vf::VfRegion& region = *v.region;
  const venic_regs& r = region.layout();
  // START through the admin queue, served as venicd's control thread would.
  venic_ring* sq = region.ring(r.admin_sq_off);
  venic_admin_cmd& cmd = region.entries<venic_admin_cmd>(r.admin_sq_off)[sq->prod & (r.admin_ring_size - 1)];
  cmd = venic_admin_cmd{};
  cmd.opcode = VENIC_ADMIN_START;
  cmd.arg0 = 1;
  __atomic_store_n(&sq->prod, sq->prod + 1, __ATOMIC_RELEASE);
  table_.poll_admin();
  if (!table_.get(id).started) throw std::runtime_error("rig: VF " + std::to_string(id) + " did not start");

  auto d = std::make_unique<Driver>();
  if (vena_txq_bind(region.base(), region.size(), &r, 0, &d->tx) < 0 ||
      vena_rxq_bind(region.base(), region.size(), &r, 0, &d->rx) < 0)
    throw std::runtime_error("rig: VF " + std::to_string(id) + " has a bad queue layout");
  vena_rxq_post_copy(&d->rx);
  drivers_[id] = std::move(d);
}

void PortRig::set_frames(uint16_t id, std::vector<std::vector<uint8_t>> frames) {
  Driver& d = *drivers_.at(id);
  d.frames = std::move(frames);
  d.next = 0;
}

uint32_t PortRig::send(uint16_t id, uint32_t n) {
  Driver& d = *drivers_.at(id);
  uint32_t sent = 0;
  while (sent < n && !d.frames.empty()) {
    const auto& f = d.frames[d.next];
    if (vena_txq_send_copy(&d.tx, f.data(), static_cast<uint32_t>(f.size())) != 0) break;
    d.next = (d.next + 1) % d.frames.size();
    sent++;
  }
  vena_txq_flush(&d.tx);
  return sent;
}

uint32_t PortRig::tx_pending(uint16_t id) {
  Driver& d = *drivers_.at(id);
  uint32_t frames = 0;
  for (uint32_t i = vena_load_acquire(&d.tx.sq->cons); i != d.tx.prod; i++)
    frames += (d.tx.desc[i & d.tx.mask].flags & VENIC_DESC_F_MORE) == 0;
  return frames;
}

uint32_t PortRig::drain_rx(uint16_t id) {
  Driver& d = *drivers_.at(id);
  const uint32_t prod = vena_load_acquire(&d.rx.cq->prod);
  uint32_t frames = 0;
  for (uint32_t i = d.rx.cq_cons; i != prod; i++) frames += (d.rx.cqe[i & d.rx.mask].flags & VENIC_CQE_F_MORE) == 0;
  d.rx.cq_cons = prod;
  vena_store_release(&d.rx.cq->cons, prod);
  vena_rxq_post_copy(&d.rx);
  return frames;
}

std::vector<uint8_t> PortRig::recv(uint16_t id) {
  Driver& d = *drivers_.at(id);
  std::vector<uint8_t> out(VENIC_FRAME_MAX + 64);
  const int n = vena_rxq_recv_copy(&d.rx, out.data(), static_cast<uint32_t>(out.size()));
  vena_store_release(&d.rx.cq->cons, d.rx.cq_cons);
  vena_rxq_post_copy(&d.rx);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

const fastpath::PortView& PortRig::port(uint16_t id) const {
  for (const fastpath::PortView* p : snap_->shard(0))
    if (p->vf == id) return *p;
  throw std::runtime_error("rig: VF " + std::to_string(id) + " is not in the snapshot");
}

uint32_t PortRig::burst(uint16_t id) {
  return fastpath::process_tx_burst(*snap_, port(id), 0);
}

}  // namespace venic::bench
