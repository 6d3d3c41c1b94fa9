/* SPDX-License-Identifier: MIT */
/*
 * venic EFA device ABI, version 2.0 — the contract between venicd and
 * drivers/efa for the EFA personality of a VF (an OS-bypass fabric device).
 *
 * An EFA VF belongs to an instance and, like the real device, is shared by
 * every process of that instance: each process opens its own *context* on it
 * (control method efa.open) and gets one sealed memfd, the context region:
 *
 *   +0                   struct venic_efa_regs   register page (4 KiB)
 *   regs.cq_off[c]       CQ c: struct venic_ring + cq_depth venic_efa_cqe
 *   regs.qp[q].sq_off    QP q's send queue: venic_ring + sq_depth venic_efa_wqe
 *   regs.qp[q].sq_buf_off  sq_depth payload slots of mtu bytes (driver writes)
 *   regs.qp[q].rq_off    QP q's receive queue: venic_ring + rq_depth venic_efa_rwqe
 *   regs.qp[q].rq_buf_off  rq_depth payload slots of mtu bytes (daemon writes)
 *   regs.stage_off       staging areas for RDMA, stage_qp_bytes per QP
 *                        (QP q's at stage_off + q * stage_qp_bytes)
 *   regs.assist_off      assist slots: struct venic_efa_assist[assist_slots]
 *   regs.assist_buf_off  their data, assist_bytes each
 *
 * Memory (ABI 2.0).  The daemon never reaches a process through its pid.  A
 * registration (efa.reg_mr) is one of two kinds:
 *   - a memory object: the range lies in fd-backed shared memory (memfd,
 *     tmpfs, hugetlbfs) and the driver passes that fd and the range's offset
 *     in it (SCM_RIGHTS).  The daemon maps the object, read-only unless the
 *     registration grants a write, and RDMA reads and writes that mapping:
 *     whatever the process later maps, unmaps or execs, the peer reaches the
 *     registered pages only, as with pinned pages on a real device;
 *   - assisted: private memory (malloc).  The daemon never touches it.  A
 *     peer's RDMA on it is served by the owner's driver (vefa_serve_assists,
 *     called from the owner's progress): the daemon posts an assist slot,
 *     the driver copies between its memory and the slot's data, checking the
 *     range against its own registration and the page protections.
 * On the initiator's side, a local buffer is reached the same two ways: an
 * object lkey directly, any other through the QP's staging area
 * (VENIC_EFA_WQE_F_STAGED: the driver copies a write's source there before
 * posting and a read's data out after its completion).
 *
 * Keys are random (getrandom) and unique per context; a request whose QP
 * number, qkey or rkey is wrong gets the same completion status whichever
 * of them was wrong.
 *
 * The slow path (create a CQ, QP or address handle, register memory) is a
 * control-socket call, as it is a system call on the real device; the data
 * path is the rings only: the application posts work requests and polls
 * completions without a system call, and the daemon moves the data.
 *
 * Rings follow venic_abi.h (struct venic_ring, free-running indices, prod
 * written by the producer with release, cons by the consumer).  The SQ and RQ
 * are produced by the driver and consumed by the daemon; a CQ is produced by
 * the daemon and consumed by the driver.  The daemon reads every entry once
 * into private memory and validates it before use.
 *
 * Delivery: SRD queue pairs are reliable and *unordered* — messages between
 * two QPs may complete in any order (the daemon's test hooks reorder and
 * delay on purpose); a receiver without a posted buffer makes the daemon
 * retry (RNR), never drop.  UD queue pairs are unreliable datagrams: no
 * buffer, no delivery.
 *
 * RNR retry (ABI 2.1).  An SRD QP's rnr_retry (efa.create_qp "rnr_retry",
 * 0..7, as ibv_qp_attr.rnr_retry) bounds that retry: a SEND that finds no
 * receive buffer is retried for rnr_retry * VENIC_EFA_RNR_TIMEOUT_MS, then
 * completes with VENIC_EFA_WC_RNR_RETRY_EXC (0: at once).  7, the default,
 * retries without limit.  SENDs from one QP to one QP that wait for a
 * buffer are delivered in the order they were posted, and when one of them
 * runs out of retries those behind it fail with it: a receiver never gets
 * a SEND posted after one that failed RNR before the sender has seen that
 * failure.  (An RDMA write with immediate waiting for a buffer is not
 * bounded by rnr_retry.)
 */
#ifndef VENIC_EFA_ABI_H
#define VENIC_EFA_ABI_H

#include "venic_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VENIC_EFA_MAGIC	    0x41464556u /* "VEFA" little-endian */
#define VENIC_EFA_ABI_MAJOR 2		/* 2.0: registrations are memory objects or assisted, never a pid */
#define VENIC_EFA_ABI_MINOR 1		/* 2.1: rnr_retry, VENIC_EFA_WC_RNR_RETRY_EXC */

#define VENIC_EFA_MTU		     8192 /* largest SEND payload (the 8 KiB class of SRD) */
#define VENIC_EFA_MAX_QPS	     8	  /* queue pairs per context */
#define VENIC_EFA_MAX_CQS	     8	  /* completion queues per context */
#define VENIC_EFA_SQ_DEPTH	     256
#define VENIC_EFA_RQ_DEPTH	     256
#define VENIC_EFA_CQ_DEPTH	     1024
#define VENIC_EFA_MAX_MRS	     1024	/* registrations per context */
#define VENIC_EFA_MAX_RDMA_SIZE	     (1u << 30) /* one RDMA read or write, at most */
#define VENIC_EFA_GID_SIZE	     16
#define VENIC_EFA_ASSIST_SLOTS	     8		  /* assist requests in flight per context */
#define VENIC_EFA_ASSIST_BYTES	     (256u << 10) /* data of one assist slot */
#define VENIC_EFA_RNR_RETRY_INFINITE 7		  /* rnr_retry: retry without limit (the default) */
#define VENIC_EFA_RNR_TIMEOUT_MS     100	  /* one RNR retry's wait */

/* Queue pair types (efa.create_qp "type"). */
enum venic_efa_qp_type {
	VENIC_EFA_QP_SRD = 1, /* reliable, unordered */
	VENIC_EFA_QP_UD = 2,  /* unreliable datagram */
};

/* Device capabilities in venic_efa_regs.device_caps: the values of
 * efadv.h's EFADV_DEVICE_ATTR_CAPS_*. */
#define VENIC_EFA_CAP_RDMA_READ	   (1u << 0)
#define VENIC_EFA_CAP_RNR_RETRY	   (1u << 1)
#define VENIC_EFA_CAP_CQ_WITH_SGID (1u << 2) /* the CQE names the sender */
#define VENIC_EFA_CAP_RDMA_WRITE   (1u << 3)

/* Memory registration access (efa.reg_mr "access"). */
#define VENIC_EFA_ACCESS_LOCAL_WRITE  (1u << 0)
#define VENIC_EFA_ACCESS_REMOTE_WRITE (1u << 1)
#define VENIC_EFA_ACCESS_REMOTE_READ  (1u << 2)

/* Work request opcodes (venic_efa_wqe.opcode). */
enum venic_efa_opcode {
	VENIC_EFA_OP_SEND = 1,		 /* payload in the WQE's SQ slot */
	VENIC_EFA_OP_SEND_IMM = 2,	 /* + 32-bit immediate data */
	VENIC_EFA_OP_RDMA_WRITE = 3,	 /* local (lkey, laddr) or the slot -> remote (rkey, raddr) */
	VENIC_EFA_OP_RDMA_WRITE_IMM = 4, /* + immediate: consumes a receive buffer at the target */
	VENIC_EFA_OP_RDMA_READ = 5,	 /* remote (rkey, raddr) -> local (lkey, laddr) */
};

/* venic_efa_wqe.flags */
#define VENIC_EFA_WQE_F_INLINE (1u << 0) /* RDMA write: the source is the WQE's SQ slot */
/* The local side is this QP's staging area at stage_off, not laddr:
 * an RDMA read lands there (the driver copies it to laddr when it takes the
 * completion); an RDMA write's source was copied there by the driver before
 * it posted.  (lkey, laddr) are still checked against the registration. */
#define VENIC_EFA_WQE_F_STAGED (1u << 1)
/* A SEND retried without limit whatever the QP's rnr_retry (ABI 2.1): a
 * protocol's own control packets, which nothing would resend. */
#define VENIC_EFA_WQE_F_RNR_UNLIMITED (1u << 2)

/*
 * SQ entry, written only by the driver.  Entry i's payload (SEND, inline
 * write) is in SQ slot (i & (sq_depth - 1)); the driver may reuse the slot
 * once the daemon's cons has passed the entry.  dest_ah is an address handle
 * from efa.create_ah; dest_qpn and qkey name the remote QP.
 */
struct venic_efa_wqe {
	uint64_t wr_id;
	uint8_t opcode; /* enum venic_efa_opcode */
	uint8_t flags;	/* VENIC_EFA_WQE_F_* */
	uint16_t dest_ah;
	uint16_t dest_qpn;
	uint16_t reserved0;
	uint32_t qkey;
	uint32_t length; /* payload bytes, or the RDMA transfer's */
	uint32_t imm;
	uint32_t lkey;
	uint64_t laddr; /* a virtual address of this process, inside lkey's region */
	uint32_t rkey;
	uint32_t reserved1;
	uint64_t raddr;	    /* a virtual address of the target process, inside rkey's region */
	uint64_t stage_off; /* VENIC_EFA_WQE_F_STAGED: offset in the QP's staging area */
};

/* Assist operations (venic_efa_assist.op). */
enum venic_efa_assist_op {
	VENIC_EFA_ASSIST_READ = 1,  /* driver: copy len bytes at addr into the slot's data */
	VENIC_EFA_ASSIST_WRITE = 2, /* driver: copy the slot's data to addr */
};

/*
 * An assist slot: the daemon asks the owner of an assisted registration to
 * move data between its memory and the slot's data (assist_buf_off + i *
 * assist_bytes).  Slot i is the daemon's while done == seq: it fills op,
 * rkey, addr and len (and for a write the data), then advances seq with
 * release.  It is the driver's while done != seq: the driver reads the
 * fields once, checks (rkey, addr, len) against its own registration and its
 * access, copies (never faulting on memory it cannot read or write), sets
 * status, then stores done = seq with release.
 */
struct venic_efa_assist {
	uint32_t seq;	/* daemon */
	uint32_t done;	/* driver */
	uint8_t op;	/* enum venic_efa_assist_op; daemon */
	uint8_t status; /* driver: VENIC_EFA_WC_SUCCESS or VENIC_EFA_WC_REMOTE_ACCESS */
	uint16_t reserved0;
	uint32_t rkey; /* daemon: the registration, as its owner knows it */
	uint64_t addr; /* daemon: inside rkey's range */
	uint32_t len;  /* daemon: <= assist_bytes */
	uint32_t reserved1;
};

/* RQ entry, written only by the driver: an empty buffer, RQ slot `slot`
 * (< rq_depth), of mtu bytes.  The daemon consumes entries in order. */
struct venic_efa_rwqe {
	uint64_t wr_id;
	uint32_t slot;
	uint32_t reserved;
};

/* Completion opcodes (venic_efa_cqe.opcode). */
enum venic_efa_wc_opcode {
	VENIC_EFA_WC_SEND = 1,
	VENIC_EFA_WC_RDMA_WRITE = 2,
	VENIC_EFA_WC_RDMA_READ = 3,
	VENIC_EFA_WC_RECV = 4,		/* a SEND arrived in RQ slot cqe.slot */
	VENIC_EFA_WC_RECV_RDMA_IMM = 5, /* an RDMA write with immediate landed; slot unused but consumed */
};

/* Completion status (venic_efa_cqe.status). */
enum venic_efa_wc_status {
	VENIC_EFA_WC_SUCCESS = 0,
	VENIC_EFA_WC_BAD_WQE = 1,	/* malformed work request (opcode, length, AH) */
	VENIC_EFA_WC_UNREACHABLE = 2,	/* SEND: no such QP or wrong qkey; any: policy forbids it */
	VENIC_EFA_WC_REMOTE_ACCESS = 3, /* RDMA: no such QP, wrong qkey or rkey, out of bounds or access denied */
	VENIC_EFA_WC_LOCAL_PROT = 4,	/* lkey unknown or out of bounds */
	VENIC_EFA_WC_RECV_TOO_LONG = 5, /* (unused: a SEND never exceeds mtu) */
	VENIC_EFA_WC_FLUSHED = 6,	/* the QP was destroyed */
	VENIC_EFA_WC_REMOTE_ABORT = 7,	/* the target process went away mid-transfer */
	VENIC_EFA_WC_RNR_RETRY_EXC = 8, /* SEND: no receive buffer within the QP's rnr_retry (ABI 2.1) */
};

/* venic_efa_cqe.flags */
#define VENIC_EFA_CQE_F_IMM    (1u << 0) /* imm is valid */
#define VENIC_EFA_CQE_F_STAGED (1u << 1) /* a staged RDMA read: slot is its stage_off */

/* CQ entry, written only by the daemon. */
struct venic_efa_cqe {
	uint64_t wr_id;
	uint8_t opcode; /* enum venic_efa_wc_opcode */
	uint8_t status; /* enum venic_efa_wc_status */
	uint16_t qp;	/* the local QP (index in regs.qp) this completes */
	uint32_t byte_len;
	uint32_t imm;
	uint16_t flags;	  /* VENIC_EFA_CQE_F_* */
	uint16_t src_qpn; /* receives: the sender's QP number */
	uint16_t src_ah;  /* receives: the sender's VF, as an address-handle number (from another
			   * host: VENIC_MAX_VFS and up, as efa.create_ah names it) */
	uint16_t reserved;
	uint32_t slot; /* receives: the RQ slot that holds the payload; staged reads: stage_off */
};

/* One queue pair's place in the context region. */
struct venic_efa_qp_layout {
	uint64_t sq_off;
	uint64_t sq_buf_off;
	uint64_t rq_off;
	uint64_t rq_buf_off;
};

/* Per-context counters: written only by the daemon. */
struct venic_efa_stats {
	uint64_t tx_msgs; /* SENDs delivered */
	uint64_t tx_bytes;
	uint64_t rx_msgs;
	uint64_t rx_bytes;
	uint64_t rdma_write_bytes; /* issued by this context */
	uint64_t rdma_read_bytes;
	uint64_t rnr_retries; /* deliveries retried: no receive buffer at the target */
	uint64_t send_errors; /* error completions */
	uint64_t reordered;   /* deliveries the reorder hook held back */
	uint64_t reserved[7];
};

struct venic_efa_regs {
	/* Identity, layout, attributes: written at creation, constant after. */
	uint32_t magic;
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t vf_id;
	uint32_t ctx_id;
	uint64_t region_size;
	uint32_t max_qps;
	uint32_t max_cqs;
	uint32_t sq_depth; /* efadv max_sq_wr */
	uint32_t rq_depth; /* efadv max_rq_wr */
	uint32_t cq_depth;
	uint32_t mtu;	     /* largest SEND payload */
	uint16_t max_sq_sge; /* efadv max_sq_sge */
	uint16_t max_rq_sge;
	uint16_t inline_buf_size;
	uint16_t reserved0;
	uint32_t device_caps; /* VENIC_EFA_CAP_* */
	uint32_t max_rdma_size;
	uint32_t max_mr;
	uint32_t link_speed_mbps;
	uint8_t gid[VENIC_EFA_GID_SIZE]; /* this device's address */
	uint64_t stats_off;		 /* struct venic_efa_stats */
	uint64_t cq_off[VENIC_EFA_MAX_CQS];
	struct venic_efa_qp_layout qp[VENIC_EFA_MAX_QPS];

	/* State: written by the daemon at any time. */
	uint64_t heartbeat; /* incremented about every 100 ms while the daemon runs */
	uint32_t link_status;
	uint32_t reserved1;

	/* Constant after creation. */
	uint64_t stage_off;
	uint32_t stage_qp_bytes;
	uint32_t reserved2;
	uint64_t assist_off;	 /* struct venic_efa_assist[assist_slots] */
	uint64_t assist_buf_off; /* assist_slots * assist_bytes */
	uint32_t assist_slots;
	uint32_t assist_bytes;
	uint8_t reserved[VENIC_PAGE_SIZE - 472];
};

VENIC_STATIC_ASSERT(sizeof(struct venic_efa_wqe) == 64, "efa wqe size");
VENIC_STATIC_ASSERT(sizeof(struct venic_efa_rwqe) == 16, "efa rwqe size");
VENIC_STATIC_ASSERT(sizeof(struct venic_efa_cqe) == 32, "efa cqe size");
VENIC_STATIC_ASSERT(sizeof(struct venic_efa_stats) == 128, "efa stats size");
VENIC_STATIC_ASSERT(sizeof(struct venic_efa_assist) == 32, "efa assist size");
VENIC_STATIC_ASSERT(offsetof(struct venic_efa_regs, qp) == 160, "efa qp layout offset");
VENIC_STATIC_ASSERT(sizeof(struct venic_efa_regs) == VENIC_PAGE_SIZE, "efa register page size");

#ifdef __cplusplus
}
#endif
#endif /* VENIC_EFA_ABI_H */
