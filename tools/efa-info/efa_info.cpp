// venic-efa-info: what an EFA device looks like through drivers/efa, and the
// device path's own latency.
//   venic-efa-info                  the device's efadv attributes and address
//   venic-efa-info --pingpong N     also N SEND round trips between two QPs of
//                                   this process (no libfabric, no protocol)
// The device is found as the vefa provider finds it: $VENIC_SOCKET,
// $VENIC_INSTANCE, $VENIC_EFA_VF.
#include <infiniband/efadv.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "vefa_dev.h"

namespace {

int fail(const char* what, const char* err) {
  std::fprintf(stderr, "venic-efa-info: %s: %s\n", what, err);
  return 1;
}

struct Qp {
  uint32_t cq = 0, qp = 0, qkey = 0;
  uint16_t qpn = 0, ah = 0;
  struct vefa_qp_view q {};
  struct vefa_cq_view c {};
};

// Waits for a RECV on qp's CQ and gives its buffer back.
void await_recv(Qp& p) {
  venic_efa_cqe e[8];
  for (;;) {
    int n = vefa_cq_poll(&p.c, e, 8);
    bool got = false;
    for (int i = 0; i < n; i++)
      if (e[i].opcode == VENIC_EFA_WC_RECV) {
        vefa_rq_post(&p.q, e[i].wr_id, e[i].slot);
        got = true;
      }
    if (got) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  long iters = 0;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--pingpong") && i + 1 < argc) {
      iters = std::strtol(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: venic-efa-info [--pingpong N]\n");
      return 2;
    }
  }
  char err[256];
  vefa_ctx* ctx = nullptr;
  if (int rc = vefa_open_default(&ctx, err, sizeof(err)); rc < 0) return fail("opening the device", err);
  efadv_device_attr a{};
  vefa_query_device(ctx, &a);
  const volatile venic_efa_regs* r = vefa_regs(ctx);
  std::string gid;
  for (int i = 0; i < VENIC_EFA_GID_SIZE; i++) {
    char b[4];
    std::snprintf(b, sizeof(b), "%02x", r->gid[i]);
    gid += b;
    if (i % 2 == 1 && i != VENIC_EFA_GID_SIZE - 1) gid += ':';
  }
  std::printf("device: %s (VF %u, context %u)\ngid: %s\n", vefa_name(ctx), r->vf_id, r->ctx_id, gid.c_str());
  std::printf("max_sq_wr: %u\nmax_rq_wr: %u\nmax_sq_sge: %u\nmax_rq_sge: %u\ninline_buf_size: %u\n", a.max_sq_wr,
              a.max_rq_wr, a.max_sq_sge, a.max_rq_sge, a.inline_buf_size);
  std::printf("max_rdma_size: %u\ndevice_caps: 0x%x%s%s%s\nmtu: %u\n", a.max_rdma_size, a.device_caps,
              (a.device_caps & EFADV_DEVICE_ATTR_CAPS_RDMA_READ) ? " RDMA_READ" : "",
              (a.device_caps & EFADV_DEVICE_ATTR_CAPS_RNR_RETRY) ? " RNR_RETRY" : "",
              (a.device_caps & EFADV_DEVICE_ATTR_CAPS_CQ_WITH_SGID) ? " CQ_WITH_SGID" : "", r->mtu);
  if (iters > 0) {
    Qp p[2];
    for (Qp& x : p) {
      if (vefa_create_cq(ctx, &x.cq, err, sizeof(err)) < 0) return fail("creating a CQ", err);
      if (vefa_create_qp(ctx, VENIC_EFA_QP_SRD, x.cq, x.cq, 0, &x.qp, &x.qpn, &x.qkey, err, sizeof(err)) < 0)
        return fail("creating a QP", err);
      vefa_qp_view(ctx, x.qp, &x.q);
      vefa_cq_view(ctx, x.cq, &x.c);
      for (uint32_t s = 0; s < 64; s++) vefa_rq_post(&x.q, s, s);
    }
    uint8_t own[VENIC_EFA_GID_SIZE];
    for (int i = 0; i < VENIC_EFA_GID_SIZE; i++) own[i] = r->gid[i];
    if (vefa_create_ah(ctx, own, &p[0].ah, err, sizeof(err)) < 0) return fail("creating an AH", err);
    p[1].ah = p[0].ah;
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < iters; i++)
      for (int k = 0; k < 2; k++) {
        Qp &from = p[k], &to = p[1 - k];
        venic_efa_wqe w{};
        w.wr_id = static_cast<uint64_t>(i);
        w.opcode = VENIC_EFA_OP_SEND;
        w.dest_ah = to.ah;
        w.dest_qpn = to.qpn;
        w.qkey = to.qkey;
        w.length = 8;
        while (vefa_sq_space(&from.q) == 0) {
        }
        std::memcpy(vefa_sq_next_slot(&from.q), &i, sizeof(i));
        vefa_sq_post(&from.q, &w);
        await_recv(to);
      }
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    std::printf("pingpong: %ld round trips of 8 B, %.3f us per one-way SEND\n", iters, us / iters / 2);
  }
  vefa_close(ctx);
  return 0;
}
