/* SPDX-License-Identifier: MIT */
/*
 * drivers/efa: the user-space driver for venic's EFA-like devices, the layer
 * the vefa libfabric provider sits on (as libfabric's efa provider sits on
 * rdma-core's libefa).  A context is one process's handle on an instance's
 * EFA device: the slow path (CQ, QP, AH, MR) goes over venicd's control
 * socket, the data path (post, poll) is the context region's rings only —
 * the inline functions at the end, no system call.
 *
 * Every function returns 0 or a negative errno and, where it takes err,
 * leaves a message there.  A context is not thread-safe on the data path
 * (one QP or CQ is used by one thread at a time, as with verbs); the slow
 * path calls serialize themselves.
 */
#ifndef VEFA_DEV_H
#define VEFA_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "venic_efa_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vefa_ctx;

/* Where a context's device is: an explicit VF id (vf >= 0), or the EFA
 * interface of an EC2-model instance (instance "i-..."), or, with neither,
 * what the environment says (vefa_open_default). */
struct vefa_open_args {
  const char *socket_path; /* NULL: $VENIC_SOCKET, else /run/venic/venicd.sock */
  const char *instance;    /* NULL or "": not by instance */
  int vf;                  /* -1: not by VF id */
};

/* Opens a context on the device; maps its region.  The context lives as long
 * as its control connection: when the process dies the daemon reclaims it. */
int vefa_open(const struct vefa_open_args *args, struct vefa_ctx **out, char *err, size_t errlen);
/* Resolves the device from $VENIC_SOCKET, $VENIC_INSTANCE, $VENIC_EFA_VF
 * (instance first), then opens it; with none set, the daemon's first EFA VF. */
int vefa_open_default(struct vefa_ctx **out, char *err, size_t errlen);
void vefa_close(struct vefa_ctx *ctx);

/* The register page (identity, attributes, layout) and the context region. */
const volatile struct venic_efa_regs *vefa_regs(const struct vefa_ctx *ctx);
uint8_t *vefa_base(const struct vefa_ctx *ctx);
const volatile struct venic_efa_stats *vefa_stats(const struct vefa_ctx *ctx);
/* The device's attributes in rdma-core's terms, as efadv_query_device
 * reports a real EFA's: max_sq_wr, max_rq_wr, max_sq_sge, max_rq_sge,
 * inline_buf_size, device_caps (EFADV_DEVICE_ATTR_CAPS_*), max_rdma_size. */
struct efadv_device_attr;
int vefa_query_device(const struct vefa_ctx *ctx, struct efadv_device_attr *attr);
/* A name for the device, as `fi_info` shows it ("venic_efa<vf>"). */
const char *vefa_name(const struct vefa_ctx *ctx);

/* Completion queues: index 0 .. max_cqs - 1 in the region. */
int vefa_create_cq(struct vefa_ctx *ctx, uint32_t *cq, char *err, size_t errlen);
int vefa_destroy_cq(struct vefa_ctx *ctx, uint32_t cq);

/* Queue pairs.  qkey 0: the daemon picks one.  On success *qp is the index
 * in the region (regs.qp[*qp]), *qpn the number peers address. */
int vefa_create_qp(struct vefa_ctx *ctx, enum venic_efa_qp_type type, uint32_t send_cq, uint32_t recv_cq, uint32_t qkey,
                   uint32_t *qp, uint16_t *qpn, uint32_t *qkey_out, char *err, size_t errlen);
/* The same, with an SRD QP's RNR retry count (0..7, VENIC_EFA_RNR_RETRY_INFINITE:
 * without limit, as vefa_create_qp): a SEND that finds no receive buffer
 * for rnr_retry * VENIC_EFA_RNR_TIMEOUT_MS completes with
 * VENIC_EFA_WC_RNR_RETRY_EXC.  A finite count needs a device of ABI 2.1. */
int vefa_create_qp_rnr(struct vefa_ctx *ctx, enum venic_efa_qp_type type, uint32_t send_cq, uint32_t recv_cq,
                       uint32_t qkey, uint8_t rnr_retry, uint32_t *qp, uint16_t *qpn, uint32_t *qkey_out, char *err,
                       size_t errlen);
/* Pending work completes with VENIC_EFA_WC_FLUSHED (or not at all). */
int vefa_destroy_qp(struct vefa_ctx *ctx, uint32_t qp);

/* An address handle for a remote device's GID; -EHOSTUNREACH when policy
 * forbids it (another subnet, no self-referencing security group). */
int vefa_create_ah(struct vefa_ctx *ctx, const uint8_t gid[VENIC_EFA_GID_SIZE], uint16_t *ah, char *err, size_t errlen);

/* Registers [va, va + len) with VENIC_EFA_ACCESS_* rights.  As ibv_reg_mr:
 * -EFAULT when a page of the range is not mapped, or not writable while the
 * rights include a write.  A range in one shared mapping of a memfd, tmpfs or
 * hugetlbfs file whose fd this process holds open is handed to the daemon as
 * that memory object (the daemon reaches those pages, whatever the process
 * maps there later); any other range is assisted: peers' RDMA on it is
 * served by vefa_serve_assists.  VEFA_MR_OBJECTS=0 makes every range
 * assisted. */
int vefa_reg_mr(struct vefa_ctx *ctx, const void *va, size_t len, uint32_t access, uint32_t *lkey, uint32_t *rkey,
                char *err, size_t errlen);
int vefa_dereg_mr(struct vefa_ctx *ctx, uint32_t lkey);
/* In vefa_reg_mr's access: never hand the range over as a memory object
 * (a registration the daemon must not reach directly, such as a cached one
 * whose address the process may later reuse for other memory). */
#define VEFA_REG_PRIVATE (1u << 31)
/* 1 when lkey's registration is a memory object the daemon mapped (the
 * daemon can then read and write it directly, no staging needed). */
int vefa_mr_is_object(struct vefa_ctx *ctx, uint32_t lkey);
/* Serves the daemon's assist requests on this process's assisted
 * registrations (peers' RDMA reads and writes of them); returns how many.
 * Call it from progress: a peer's RDMA on assisted memory waits for it. */
int vefa_serve_assists(struct vefa_ctx *ctx);

/* ----------------------------------------------------------- data path -- */

/* One queue pair's data path, filled by vefa_qp_view (no system call). */
struct vefa_qp_view {
  struct venic_ring *sq;
  struct venic_efa_wqe *sqe;
  uint8_t *sq_buf;
  struct venic_ring *rq;
  struct venic_efa_rwqe *rqe;
  uint8_t *rq_buf;
  uint8_t *stage; /* staged RDMA reads land here and staged writes' sources wait here */
  uint32_t stage_bytes;
  uint32_t sq_mask, rq_mask, mtu;
  uint32_t sq_prod, rq_prod; /* ours; published with release */
};

struct vefa_cq_view {
  struct venic_ring *ring;
  struct venic_efa_cqe *cqe;
  uint32_t mask;
  uint32_t cons; /* ours */
};

/* Fill a view of QP qp or CQ cq (an index out of range gives null rings). */
void vefa_qp_view(struct vefa_ctx *ctx, uint32_t qp, struct vefa_qp_view *v);
void vefa_cq_view(struct vefa_ctx *ctx, uint32_t cq, struct vefa_cq_view *v);

/* Free SQ entries (the daemon has consumed the rest). */
static inline uint32_t vefa_sq_space(const struct vefa_qp_view *v) {
  uint32_t cons = __atomic_load_n(&v->sq->cons, __ATOMIC_ACQUIRE);
  return v->sq_mask + 1 - (v->sq_prod - cons);
}

/* The payload slot of the next SQ entry (valid while vefa_sq_space() > 0). */
static inline uint8_t *vefa_sq_next_slot(const struct vefa_qp_view *v) {
  return v->sq_buf + (uint64_t)(v->sq_prod & v->sq_mask) * v->mtu;
}

/* Writes the next SQ entry (its payload already in vefa_sq_next_slot()) and
 * publishes it.  The caller checked vefa_sq_space(). */
static inline void vefa_sq_post(struct vefa_qp_view *v, const struct venic_efa_wqe *w) {
  v->sqe[v->sq_prod & v->sq_mask] = *w;
  v->sq_prod++;
  __atomic_store_n(&v->sq->prod, v->sq_prod, __ATOMIC_RELEASE);
}

static inline uint32_t vefa_rq_space(const struct vefa_qp_view *v) {
  uint32_t cons = __atomic_load_n(&v->rq->cons, __ATOMIC_ACQUIRE);
  return v->rq_mask + 1 - (v->rq_prod - cons);
}

/* Posts RQ slot `slot` as an empty buffer. */
static inline void vefa_rq_post(struct vefa_qp_view *v, uint64_t wr_id, uint32_t slot) {
  struct venic_efa_rwqe r = {wr_id, slot, 0};
  v->rqe[v->rq_prod & v->rq_mask] = r;
  v->rq_prod++;
  __atomic_store_n(&v->rq->prod, v->rq_prod, __ATOMIC_RELEASE);
}

/* The payload of RQ slot `slot` (after a VENIC_EFA_WC_RECV completion). */
static inline const uint8_t *vefa_rq_slot(const struct vefa_qp_view *v, uint32_t slot) {
  return v->rq_buf + (uint64_t)slot * v->mtu;
}

/* Takes up to n completions; returns how many. */
static inline int vefa_cq_poll(struct vefa_cq_view *v, struct venic_efa_cqe *out, int n) {
  uint32_t prod = __atomic_load_n(&v->ring->prod, __ATOMIC_ACQUIRE);
  int got = 0;
  while (got < n && v->cons != prod) {
    out[got++] = v->cqe[v->cons & v->mask];
    v->cons++;
  }
  if (got) __atomic_store_n(&v->ring->cons, v->cons, __ATOMIC_RELEASE);
  return got;
}

#ifdef __cplusplus
}
#endif
#endif /* VEFA_DEV_H */
