// drivers/efa device: open a context over the control socket, map it, and
// run the slow path (CQ, QP, AH, MR) as control calls.
#include "vefa_dev.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

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
  // ABI 1.0 has no staging areas (the fields read 0).
  if (r->abi_minor >= 1) ok &= in_region(c, r->stage_off, uint64_t(r->stage_qp_bytes) * r->max_qps);
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
  return guarded(err, errlen, [&] {
    nlohmann::json p = {{"type", type == VENIC_EFA_QP_SRD ? "srd" : "ud"}, {"send_cq", send_cq}, {"recv_cq", recv_cq}};
    if (qkey) p["qkey"] = qkey;
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

extern "C" int vefa_reg_mr(vefa_ctx* ctx, const void* va, size_t len, uint32_t access, uint32_t* lkey, uint32_t* rkey,
                           char* err, size_t errlen) {
  return guarded(err, errlen, [&] {
    auto r = call(ctx, "efa.reg_mr", {{"va", reinterpret_cast<uint64_t>(va)}, {"len", len}, {"access", access}});
    *lkey = r.at("lkey").get<uint32_t>();
    *rkey = r.at("rkey").get<uint32_t>();
    return 0;
  });
}

extern "C" int vefa_dereg_mr(vefa_ctx* ctx, uint32_t lkey) {
  return guarded(nullptr, 0, [&] {
    call(ctx, "efa.dereg_mr", {{"lkey", lkey}});
    return 0;
  });
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
  const bool staging = r->abi_minor >= 1 && r->stage_qp_bytes;
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
