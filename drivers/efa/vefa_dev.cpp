// drivers/efa device: open a context over the control socket, map it, and
// run the slow path (CQ, QP, AH, MR) as control calls.
#include "vefa_dev.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <infiniband/efadv.h>

#include "c_edge.h"
#include "control_client.h"
#include "protocol.h"

// The device's capability bits are rdma-core's.
static_assert(VENIC_EFA_CAP_RDMA_READ == EFADV_DEVICE_ATTR_CAPS_RDMA_READ);
static_assert(VENIC_EFA_CAP_RNR_RETRY == EFADV_DEVICE_ATTR_CAPS_RNR_RETRY);
static_assert(VENIC_EFA_CAP_CQ_WITH_SGID == EFADV_DEVICE_ATTR_CAPS_CQ_WITH_SGID);

using venic::control::Client;
using venic::control::ControlError;
using venic::control::guarded;
using venic::control::set_err;

struct vefa_ctx {
  std::optional<Client> client;  // held open: closing it releases the context
  std::mutex lock;               // one control call at a time
  uint8_t* base = nullptr;
  uint64_t size = 0;
  uint32_t id = 0;
  std::string name;
  // This process's registrations, by key: what an assist may touch.
  struct Reg {
    uint64_t va, len;
    uint32_t access;
    bool object;
  };
  std::mutex regs_lock;
  std::map<uint32_t, Reg> regs;
  std::vector<uint32_t> assist_done;  // the last seq answered, per assist slot
};

namespace {

const venic_efa_regs* regs_of(const vefa_ctx* c) {
  return reinterpret_cast<const venic_efa_regs*>(c->base);
}

bool in_region(const vefa_ctx* c, uint64_t off, uint64_t len) {
  return off <= c->size && len <= c->size - off;
}

// A page from another daemon version must not make us index outside the map.
int validate_layout(const vefa_ctx* c, std::string& why) {
  const venic_efa_regs* r = regs_of(c);
  if (r->magic != VENIC_EFA_MAGIC) return why = "bad magic in EFA context region", -EPROTO;
  if (r->abi_major != VENIC_EFA_ABI_MAJOR)
    return why = "EFA region has ABI major " + std::to_string(r->abi_major), -EPROTO;
  if (r->region_size != c->size) return why = "EFA region size mismatch", -EPROTO;
  if (r->sq_depth != VENIC_EFA_SQ_DEPTH || r->rq_depth != VENIC_EFA_RQ_DEPTH || r->cq_depth != VENIC_EFA_CQ_DEPTH ||
      r->mtu != VENIC_EFA_MTU || r->max_qps > VENIC_EFA_MAX_QPS || r->max_cqs > VENIC_EFA_MAX_CQS)
    return why = "EFA region has unexpected ring sizes", -EPROTO;
  const uint64_t hdr = VENIC_RING_HDR_SIZE;
  bool ok = in_region(c, r->stats_off, sizeof(venic_efa_stats));
  for (uint32_t i = 0; i < r->max_cqs; i++) ok &= in_region(c, r->cq_off[i], hdr + uint64_t(r->cq_depth) * 32);
  for (uint32_t i = 0; i < r->max_qps; i++) {
    const auto& q = r->qp[i];
    ok &= in_region(c, q.sq_off, hdr + uint64_t(r->sq_depth) * sizeof(venic_efa_wqe)) &&
          in_region(c, q.sq_buf_off, uint64_t(r->sq_depth) * r->mtu) &&
          in_region(c, q.rq_off, hdr + uint64_t(r->rq_depth) * sizeof(venic_efa_rwqe)) &&
          in_region(c, q.rq_buf_off, uint64_t(r->rq_depth) * r->mtu);
  }
  ok &= in_region(c, r->stage_off, uint64_t(r->stage_qp_bytes) * r->max_qps);
  ok &= r->assist_slots <= VENIC_EFA_ASSIST_SLOTS && r->assist_bytes == VENIC_EFA_ASSIST_BYTES &&
        in_region(c, r->assist_off, sizeof(venic_efa_assist) * uint64_t(r->assist_slots)) &&
        in_region(c, r->assist_buf_off, uint64_t(r->assist_bytes) * r->assist_slots);
  if (!ok) return why = "EFA region layout out of bounds", -EPROTO;
  return 0;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

}  // namespace

extern "C" int vefa_open(const vefa_open_args* args, vefa_ctx** out, char* err, size_t errlen) {
  return guarded(err, errlen, [&]() -> int {
    std::string sock = args && args->socket_path ? args->socket_path : "";
    if (sock.empty()) sock = env("VENIC_SOCKET") ? env("VENIC_SOCKET") : std::string(venic::control::kDefaultSocket);
    nlohmann::json params = nlohmann::json::object();
    if (args && args->instance && *args->instance)
      params["instance"] = args->instance;
    else if (args && args->vf >= 0)
      params["vf"] = args->vf;
    auto ctx = std::make_unique<vefa_ctx>();
    ctx->client.emplace(Client::connect(sock));
    auto reply = ctx->client->call("efa.open", params);
    if (int rc = venic::control::map_region(reply.fds, "EFA context region", ctx->base, ctx->size, err, errlen); rc < 0)
      return rc;
    std::string why;
    if (int rc = validate_layout(ctx.get(), why); rc < 0) {
      ::munmap(ctx->base, ctx->size);
      set_err(err, errlen, why);
      return rc;
    }
    ctx->id = reply.result.value("ctx", 0u);
    ctx->assist_done.assign(regs_of(ctx.get())->assist_slots, 0);
    ctx->name = "venic_efa" + std::to_string(regs_of(ctx.get())->vf_id);
    *out = ctx.release();
    return 0;
  });
}

extern "C" int vefa_open_default(vefa_ctx** out, char* err, size_t errlen) {
  vefa_open_args a{nullptr, env("VENIC_INSTANCE"), -1};
  if (!a.instance && env("VENIC_EFA_VF")) {
    char* end = nullptr;
    long v = std::strtol(env("VENIC_EFA_VF"), &end, 10);
    if (*end || v < 0 || v >= VENIC_MAX_VFS) {
      set_err(err, errlen, std::string("VENIC_EFA_VF: '") + env("VENIC_EFA_VF") + "' is not a VF id (0-255)");
      return -EINVAL;
    }
    a.vf = static_cast<int>(v);
  }
  return vefa_open(&a, out, err, errlen);
}

extern "C" void vefa_close(vefa_ctx* ctx) {
  if (!ctx) return;
  if (ctx->base) ::munmap(ctx->base, ctx->size);
  delete ctx;  // closes the connection: the daemon reclaims the context
}

extern "C" const volatile venic_efa_regs* vefa_regs(const vefa_ctx* ctx) {
  return regs_of(ctx);
}
extern "C" uint8_t* vefa_base(const vefa_ctx* ctx) {
  return ctx->base;
}
extern "C" const volatile venic_efa_stats* vefa_stats(const vefa_ctx* ctx) {
  return reinterpret_cast<const venic_efa_stats*>(ctx->base + regs_of(ctx)->stats_off);
}
extern "C" int vefa_query_device(const vefa_ctx* ctx, efadv_device_attr* attr) {
  const venic_efa_regs* r = regs_of(ctx);
  *attr = efadv_device_attr{};
  attr->max_sq_wr = r->sq_depth;
  attr->max_rq_wr = r->rq_depth;
  attr->max_sq_sge = r->max_sq_sge;
  attr->max_rq_sge = r->max_rq_sge;
  attr->inline_buf_size = r->inline_buf_size;
  attr->device_caps = r->device_caps;
  attr->max_rdma_size = r->max_rdma_size;
  return 0;
}

extern "C" const char* vefa_name(const vefa_ctx* ctx) {
  return ctx->name.c_str();
}

namespace {
nlohmann::json call(vefa_ctx* ctx, const char* method, nlohmann::json params) {
  params["ctx"] = ctx->id;
  std::lock_guard<std::mutex> g(ctx->lock);
  return ctx->client->call(method, params).result;
}
}  // namespace

extern "C" int vefa_create_cq(vefa_ctx* ctx, uint32_t* cq, char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    *cq = call(ctx, "efa.create_cq", nlohmann::json::object()).at("cq").get<uint32_t>();
    return 0;
  });
}

extern "C" int vefa_destroy_cq(vefa_ctx* ctx, uint32_t cq) {
  return guarded(nullptr, 0, [&] {
    call(ctx, "efa.destroy_cq", {{"cq", cq}});
    return 0;
  });
}

extern "C" int vefa_create_qp(vefa_ctx* ctx, enum venic_efa_qp_type type, uint32_t send_cq, uint32_t recv_cq,
                              uint32_t qkey, uint32_t* qp, uint16_t* qpn, uint32_t* qkey_out, char* err,
                              size_t errlen) {
  return vefa_create_qp_rnr(ctx, type, send_cq, recv_cq, qkey, VENIC_EFA_RNR_RETRY_INFINITE, qp, qpn, qkey_out, err,
                            errlen);
}

extern "C" int vefa_create_qp_rnr(vefa_ctx* ctx, enum venic_efa_qp_type type, uint32_t send_cq, uint32_t recv_cq,
                                  uint32_t qkey, uint8_t rnr_retry, uint32_t* qp, uint16_t* qpn, uint32_t* qkey_out,
                                  char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    nlohmann::json p = {{"type", type == VENIC_EFA_QP_SRD ? "srd" : "ud"}, {"send_cq", send_cq}, {"recv_cq", recv_cq}};
    if (qkey) p["qkey"] = qkey;
    // Only when asked: a 2.0 daemon knows no rnr_retry (it retries without limit).
    if (rnr_retry < VENIC_EFA_RNR_RETRY_INFINITE) p["rnr_retry"] = rnr_retry;
    auto r = call(ctx, "efa.create_qp", p);
    *qp = r.at("qp").get<uint32_t>();
    if (qpn) *qpn = r.at("qpn").get<uint16_t>();
    if (qkey_out) *qkey_out = r.at("qkey").get<uint32_t>();
    return 0;
  });
}

extern "C" int vefa_destroy_qp(vefa_ctx* ctx, uint32_t qp) {
  return guarded(nullptr, 0, [&] {
    call(ctx, "efa.destroy_qp", {{"qp", qp}});
    return 0;
  });
}

extern "C" int vefa_create_ah(vefa_ctx* ctx, const uint8_t gid[VENIC_EFA_GID_SIZE], uint16_t* ah, char* err,
                              size_t errlen) {
  return guarded(err, errlen, [&] {
    static const char* d = "0123456789abcdef";
    std::string hex;
    for (int i = 0; i < VENIC_EFA_GID_SIZE; i++) hex += d[gid[i] >> 4], hex += d[gid[i] & 15];
    *ah = call(ctx, "efa.create_ah", {{"gid", hex}}).at("ah").get<uint16_t>();
    return 0;
  });
}

namespace {

// One line of /proc/self/maps: a mapping and what backs it.
struct Vma {
  uint64_t start = 0, end = 0, offset = 0;
  bool r = false, w = false, shared = false;
  dev_t dev = 0;
  uint64_t ino = 0;
};

// The mappings covering [va, va + len), in order; empty when any byte of the
// range is unmapped.
std::vector<Vma> vmas_of(uint64_t va, uint64_t len) {
  std::vector<Vma> out;
  FILE* f = std::fopen("/proc/self/maps", "re");
  if (!f) return out;
  char line[512];
  uint64_t next = va;
  const uint64_t end = va + len;
  while (next < end && std::fgets(line, sizeof(line), f)) {
    Vma m;
    char perms[8] = "";
    unsigned maj = 0, mnr = 0;
    unsigned long long s = 0, e = 0, off = 0, ino = 0;
    if (std::sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &s, &e, perms, &off, &maj, &mnr, &ino) != 7) continue;
    if (e <= next) continue;
    if (s > next) break;  // a hole
    m.start = s, m.end = e, m.offset = off, m.ino = ino;
    m.r = perms[0] == 'r', m.w = perms[1] == 'w', m.shared = perms[3] == 's';
    m.dev = makedev(maj, mnr);
    out.push_back(m);
    next = e;
  }
  std::fclose(f);
  if (next < end) out.clear();
  return out;
}

// An open descriptor of this process on the file (dev, ino), or -1.
int fd_of(dev_t dev, uint64_t ino) {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return -1;
  int found = -1;
  const int self = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    char* endp = nullptr;
    long fd = std::strtol(e->d_name, &endp, 10);
    if (*endp || fd == self) continue;
    struct stat st {};
    if (::fstat(static_cast<int>(fd), &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == dev && st.st_ino == ino) {
      found = static_cast<int>(fd);
      break;
    }
  }
  ::closedir(d);
  return found;
}

bool objects_enabled() {
  const char* v = env("VEFA_MR_OBJECTS");
  return !v || std::strcmp(v, "0") != 0;
}

}  // namespace

extern "C" int vefa_reg_mr(vefa_ctx* ctx, const void* va, size_t len, uint32_t access, uint32_t* lkey, uint32_t* rkey,
                           char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    const uint64_t a = reinterpret_cast<uint64_t>(va);
    const bool keep_private = access & VEFA_REG_PRIVATE;
    access &= ~VEFA_REG_PRIVATE;
    if (len == 0 || a + len < a) {
      set_err(err, errlen, "an empty or wrapping range");
      return -EINVAL;
    }
    // As ibv_reg_mr: every page must be mapped, and writable when the
    // registration grants a write.
    const std::vector<Vma> vmas = vmas_of(a, len);
    if (vmas.empty()) {
      set_err(err, errlen, "the range is not mapped");
      return -EFAULT;
    }
    const bool write = access & (VENIC_EFA_ACCESS_LOCAL_WRITE | VENIC_EFA_ACCESS_REMOTE_WRITE);
    for (const Vma& m : vmas)
      if (!m.r || (write && !m.w)) {
        set_err(err, errlen,
                write ? "write access asked for memory that is not writable" : "memory that is not readable");
        return -EFAULT;
      }
    // fd-backed shared memory in one mapping goes to the daemon as the
    // object itself; anything else is served by this driver (assisted).
    nlohmann::json p = {{"va", a}, {"len", len}, {"access", access}};
    int fd = -1;
    if (!keep_private && objects_enabled() && vmas.size() == 1 && vmas[0].shared && vmas[0].ino) {
      fd = fd_of(vmas[0].dev, vmas[0].ino);
      const int mode = fd >= 0 ? (::fcntl(fd, F_GETFL) & O_ACCMODE) : -1;
      if (fd >= 0 && (mode == O_RDWR || (!write && mode == O_RDONLY)))
        p["offset"] = vmas[0].offset + (a - vmas[0].start);
      else
        fd = -1;
    }
    p["ctx"] = ctx->id;
    nlohmann::json r;
    {
      std::lock_guard<std::mutex> g(ctx->lock);
      const int fds[1] = {fd};
      r = ctx->client->call("efa.reg_mr", p, std::span<const int>(fds, fd >= 0 ? 1 : 0)).result;
    }
    *lkey = r.at("lkey").get<uint32_t>();
    *rkey = r.at("rkey").get<uint32_t>();
    std::lock_guard<std::mutex> g(ctx->regs_lock);
    ctx->regs[*rkey] = vefa_ctx::Reg{a, len, access, r.value("object", false)};
    return 0;
  });
}

extern "C" int vefa_dereg_mr(vefa_ctx* ctx, uint32_t lkey) {
  return guarded(nullptr, 0, [&] {
    {
      // Not served any more from now on, whatever the daemon still holds.
      std::lock_guard<std::mutex> g(ctx->regs_lock);
      ctx->regs.erase(lkey);
    }
    call(ctx, "efa.dereg_mr", {{"lkey", lkey}});
    return 0;
  });
}

extern "C" int vefa_mr_is_object(vefa_ctx* ctx, uint32_t lkey) {
  std::lock_guard<std::mutex> g(ctx->regs_lock);
  auto it = ctx->regs.find(lkey);
  return it != ctx->regs.end() && it->second.object;
}

extern "C" int vefa_serve_assists(vefa_ctx* ctx) {
  const venic_efa_regs* r = regs_of(ctx);
  auto* slots = reinterpret_cast<venic_efa_assist*>(ctx->base + r->assist_off);
  int served = 0;
  for (uint32_t i = 0; i < ctx->assist_done.size(); i++) {
    venic_efa_assist* h = &slots[i];
    const uint32_t seq = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
    if (seq == ctx->assist_done[i]) continue;
    venic_efa_assist a;
    std::memcpy(&a, h, sizeof(a));
    std::atomic_signal_fence(std::memory_order_seq_cst);
    uint8_t status = VENIC_EFA_WC_REMOTE_ACCESS;
    bool ok = false;
    {
      std::lock_guard<std::mutex> g(ctx->regs_lock);
      auto it = ctx->regs.find(a.rkey);
      const uint32_t need =
          a.op == VENIC_EFA_ASSIST_READ ? VENIC_EFA_ACCESS_REMOTE_READ : VENIC_EFA_ACCESS_REMOTE_WRITE;
      ok = it != ctx->regs.end() && (it->second.access & need) && a.len <= VENIC_EFA_ASSIST_BYTES &&
           a.addr >= it->second.va && a.len <= it->second.len && a.addr - it->second.va <= it->second.len - a.len &&
           (a.op == VENIC_EFA_ASSIST_READ || a.op == VENIC_EFA_ASSIST_WRITE);
    }
    if (ok && a.len) {
      // Through the kernel on ourselves: a page that is not mapped, or not
      // writable, fails the copy instead of faulting this process.
      uint8_t* data = ctx->base + r->assist_buf_off + uint64_t(i) * r->assist_bytes;
      iovec local{data, a.len};
      iovec remote{reinterpret_cast<void*>(a.addr), a.len};
      const ssize_t n = a.op == VENIC_EFA_ASSIST_READ ? ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0)
                                                      : ::process_vm_writev(::getpid(), &local, 1, &remote, 1, 0);
      ok = n == static_cast<ssize_t>(a.len);
    }
    if (ok) status = VENIC_EFA_WC_SUCCESS;
    __atomic_store_n(&h->status, status, __ATOMIC_RELAXED);
    ctx->assist_done[i] = seq;
    __atomic_store_n(&h->done, seq, __ATOMIC_RELEASE);
    served++;
  }
  return served;
}

extern "C" void vefa_qp_view(vefa_ctx* ctx, uint32_t qp, struct vefa_qp_view* v) {
  const venic_efa_regs* r = regs_of(ctx);
  if (qp >= r->max_qps) {  // a caller's bug: null rings, never another QP's
    std::memset(v, 0, sizeof(*v));
    return;
  }
  const auto& L = r->qp[qp];
  v->sq = reinterpret_cast<venic_ring*>(ctx->base + L.sq_off);
  v->sqe = reinterpret_cast<venic_efa_wqe*>(ctx->base + L.sq_off + VENIC_RING_HDR_SIZE);
  v->sq_buf = ctx->base + L.sq_buf_off;
  v->rq = reinterpret_cast<venic_ring*>(ctx->base + L.rq_off);
  v->rqe = reinterpret_cast<venic_efa_rwqe*>(ctx->base + L.rq_off + VENIC_RING_HDR_SIZE);
  v->rq_buf = ctx->base + L.rq_buf_off;
  const bool staging = r->stage_qp_bytes != 0;
  v->stage = staging ? ctx->base + r->stage_off + uint64_t(qp) * r->stage_qp_bytes : nullptr;
  v->stage_bytes = staging ? r->stage_qp_bytes : 0;
  v->sq_mask = r->sq_depth - 1;
  v->rq_mask = r->rq_depth - 1;
  v->mtu = r->mtu;
  // A new QP's rings start at zero (the daemon reset them on create).
  v->sq_prod = __atomic_load_n(&v->sq->prod, __ATOMIC_ACQUIRE);
  v->rq_prod = __atomic_load_n(&v->rq->prod, __ATOMIC_ACQUIRE);
}

extern "C" void vefa_cq_view(vefa_ctx* ctx, uint32_t cq, struct vefa_cq_view* v) {
  const venic_efa_regs* r = regs_of(ctx);
  if (cq >= r->max_cqs) {
    std::memset(v, 0, sizeof(*v));
    return;
  }
  v->ring = reinterpret_cast<venic_ring*>(ctx->base + r->cq_off[cq]);
  v->cqe = reinterpret_cast<venic_efa_cqe*>(ctx->base + r->cq_off[cq] + VENIC_RING_HDR_SIZE);
  v->mask = r->cq_depth - 1;
  v->cons = __atomic_load_n(&v->ring->cons, __ATOMIC_ACQUIRE);
}
