/* SPDX-License-Identifier: MIT */
/*
 * Driver side of a VF's queue pair: the TX SQ, RX SQ and RX CQ of the device
 * ABI, with copy-mode helpers (buffers in the VF region).  Header-only so the
 * PMD's burst functions inline it.  Not thread-safe: one thread per queue.
 */
#ifndef VENA_QUEUE_H
#define VENA_QUEUE_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "vena_dev.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vena_txq {
  struct venic_ring *sq;
  struct venic_desc *desc;
  uint8_t *bufs;     /* copy-mode slots, one per ring entry */
  uint64_t bufs_off; /* their offset in the VF region (mem_id 0) */
  uint32_t size;
  uint32_t mask;
  uint32_t buf_size;
  uint32_t prod; /* next entry to fill; published by vena_txq_flush */
  uint32_t cons; /* last completion index seen */
};

struct vena_rxq {
  struct venic_ring *sq;
  struct venic_desc *desc;
  struct venic_ring *cq;
  struct venic_cqe *cqe;
  uint8_t *bufs;
  uint64_t bufs_off;
  uint32_t size;
  uint32_t mask;
  uint32_t buf_size;
  uint32_t sq_prod; /* next RX SQ entry to post */
  uint32_t cq_cons; /* next RX CQ entry to read */
};

static inline uint32_t vena_load_acquire(const uint32_t *p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void vena_store_release(uint32_t *p, uint32_t v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Binds q to queue pair qp of dev; returns 0 or -EINVAL when the register
 * page describes rings that do not fit the region. */
int vena_txq_init(struct vena_dev *dev, unsigned int qp, struct vena_txq *q);
int vena_rxq_init(struct vena_dev *dev, unsigned int qp, struct vena_rxq *q);
/* The same for a region mapped at base (size bytes) whose layout r
 * describes, without an attached device: in-process rigs and tests. */
int vena_txq_bind(uint8_t *base, uint64_t size, const struct venic_regs *r, unsigned int qp, struct vena_txq *q);
int vena_rxq_bind(uint8_t *base, uint64_t size, const struct venic_regs *r, unsigned int qp, struct vena_rxq *q);

/* Entries the driver may still fill: completions are the daemon's cons. */
static inline uint32_t vena_txq_space(struct vena_txq *q) {
  q->cons = vena_load_acquire(&q->sq->cons);
  return q->size - (q->prod - q->cons);
}

static inline void vena_txq_flush(struct vena_txq *q) {
  vena_store_release(&q->sq->prod, q->prod);
}

/* Copies one frame into copy-mode slots (several with VENIC_DESC_F_MORE when
 * it is larger than a slot).  Call vena_txq_flush to publish.  Returns 0,
 * -ENOSPC when the ring is full, -EMSGSIZE when the frame is too large. */
static inline int vena_txq_send_copy(struct vena_txq *q, const void *frame, uint32_t len) {
  uint32_t nseg = len == 0 ? 1 : (len + q->buf_size - 1) / q->buf_size;
  if (len > VENIC_FRAME_MAX || nseg > VENIC_MAX_SEGS) return -EMSGSIZE;
  if (q->size - (q->prod - q->cons) < nseg && vena_txq_space(q) < nseg) return -ENOSPC;
  const uint8_t *src = (const uint8_t *)frame;
  for (uint32_t s = 0; s < nseg; s++) {
    uint32_t slot = q->prod & q->mask;
    uint32_t chunk = len > q->buf_size ? q->buf_size : len;
    memcpy(q->bufs + (uint64_t)slot * q->buf_size, src, chunk);
    struct venic_desc *d = &q->desc[slot];
    d->addr = q->bufs_off + (uint64_t)slot * q->buf_size;
    d->len = chunk;
    d->mem_id = VENIC_MEM_REGION_BUFS;
    d->flags = s + 1 < nseg ? VENIC_DESC_F_MORE : 0;
    src += chunk;
    len -= chunk;
    q->prod++;
  }
  return 0;
}

/* Posts every free RX SQ entry with its copy-mode slot. */
static inline void vena_rxq_post_copy(struct vena_rxq *q) {
  while (q->sq_prod - q->cq_cons < q->size) {
    uint32_t slot = q->sq_prod & q->mask;
    struct venic_desc *d = &q->desc[slot];
    d->addr = q->bufs_off + (uint64_t)slot * q->buf_size;
    d->len = q->buf_size;
    d->mem_id = VENIC_MEM_REGION_BUFS;
    d->flags = 0;
    q->sq_prod++;
  }
  vena_store_release(&q->sq->prod, q->sq_prod);
}

/* Receives one frame into out (copy mode).  Returns its length, 0 when no
 * complete frame is there, -EMSGSIZE when it did not fit cap (it is dropped). */
static inline int vena_rxq_recv_copy(struct vena_rxq *q, void *out, uint32_t cap) {
  uint32_t avail = vena_load_acquire(&q->cq->prod) - q->cq_cons;
  if (avail > q->size) return 0; /* an impossible producer index: take nothing */
  uint32_t n = 0, total = 0;
  int too_big = 0;
  /* A frame is complete once its last segment (no MORE flag) is there. */
  for (;;) {
    if (n >= avail) return 0;
    const struct venic_cqe *c = &q->cqe[(q->cq_cons + n) & q->mask];
    n++;
    if (!(c->flags & VENIC_CQE_F_MORE)) break;
  }
  for (uint32_t i = 0; i < n; i++) {
    uint32_t idx = (q->cq_cons + i) & q->mask;
    uint32_t len = q->cqe[idx].len;
    if (len > q->buf_size) len = q->buf_size;
    if (total + len > cap)
      too_big = 1;
    else
      memcpy((uint8_t *)out + total, q->bufs + (uint64_t)idx * q->buf_size, len);
    total += len;
  }
  q->cq_cons += n;
  vena_store_release(&q->cq->cons, q->cq_cons);
  vena_rxq_post_copy(q);
  return too_big ? -EMSGSIZE : (int)total;
}

#ifdef __cplusplus
}
#endif
#endif /* VENA_QUEUE_H */
