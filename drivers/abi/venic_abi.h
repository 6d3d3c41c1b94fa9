/* SPDX-License-Identifier: MIT */
/*
 * venic device ABI, version 2.0 — the one contract between venicd (the
 * emulated NIC) and every driver (drivers/ena, the net_vena PMD, tools).
 *
 * A VF is one shared-memory region (a sealed memfd) that the daemon creates and
 * hands to the attached client over the control socket.  Its layout:
 *
 *   +0                 struct venic_regs      register page (4 KiB)
 *   regs.stats_off     struct venic_stats     counters (daemon writes)
 *   regs.admin_sq_off  admin submission ring  driver -> daemon
 *   regs.admin_cq_off  admin completion ring  daemon -> driver
 *   regs.event_off     async event ring       daemon -> driver
 *   regs.qp[i].*       per queue pair: TX SQ, RX SQ, RX CQ
 *   regs.buf_area_off  copy-mode packet buffers (regs.qp[i].tx_buf_off ...)
 *
 * Ownership rule: every shared field says who writes it.  The other side only
 * reads it, and the daemon treats everything a driver writes as hostile: it
 * reads each descriptor once into private memory, validates the copy, and
 * never follows a pointer or an index it has not bounds-checked.
 *
 * Rings are single-producer/single-consumer with free-running 32-bit indices
 * (prod, cons); an entry lives at index & (size - 1); size is a power of two.
 * prod and cons sit on separate cache lines so the two sides never share one.
 */
#ifndef VENIC_ABI_H
#define VENIC_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define VENIC_STATIC_ASSERT(c, m) static_assert(c, m)
extern "C" {
#else
#define VENIC_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

#define VENIC_ABI_MAGIC 0x43494e56u /* "VNIC" little-endian */
#define VENIC_ABI_MAJOR 2	    /* incompatible layout changes (2.0: 24 drop reasons) */
#define VENIC_ABI_MINOR 0	    /* compatible additions */

#define VENIC_MAX_VFS	 256
#define VENIC_MAX_QPS	 8
#define VENIC_CACHE_LINE 64
#define VENIC_PAGE_SIZE	 4096

#define VENIC_MTU_MIN	      68
#define VENIC_MTU_DEFAULT     1500
#define VENIC_MTU_MAX	      9001 /* EC2 jumbo frames: ENA, and any VF inside a VPC */
#define VENIC_IXGBEVF_MTU_MAX 9710 /* the 82599 VF's 9728-byte frame, CRC included (ABI 2.0) */
#define VENIC_L2_OVERHEAD     18   /* Ethernet header + one VLAN tag */
/* The largest frame of any personality; each VF's own is max_mtu + VENIC_L2_OVERHEAD. */
#define VENIC_FRAME_MAX	      (VENIC_IXGBEVF_MTU_MAX + VENIC_L2_OVERHEAD)
#define VENIC_COPY_BUF_SIZE   2048 /* one copy-mode buffer slot */
#define VENIC_MAX_SEGS	      16   /* descriptors per packet, at most */
#define VENIC_MAX_DMA_REGIONS 64   /* registered memory regions per VF */

enum venic_personality {
	VENIC_PERSONALITY_ENA = 1,
	VENIC_PERSONALITY_EFA = 2,
	/* The Intel 82599 VF of EC2's older instance types (ABI 2.0): the same
	 * rings and descriptors as ENA (venic's, not the 82599's), with the
	 * 82599 VF's limits in the register page and no allowance counters. */
	VENIC_PERSONALITY_IXGBEVF = 3,
};

/* Feature bits in venic_regs.features (what the device offers). */
#define VENIC_F_JUMBO	    (1ull << 0) /* MTU up to venic_regs.max_mtu */
#define VENIC_F_MULTI_SEG   (1ull << 1) /* packets span several descriptors */
#define VENIC_F_DMA_REGIONS (1ull << 2) /* zero-copy: registered memory */
/* ENA's allowance-exceeded counters (venic_stats.allowance) are the
 * device's.  ABI 2.0; a driver assumes them from an older daemon. */
#define VENIC_F_ALLOWANCE_STATS (1ull << 3)

/* venic_regs.flags */
#define VENIC_VF_TRUSTED  (1u << 0) /* may enable promiscuous mode */
#define VENIC_VF_PROMISC  (1u << 1) /* promiscuous mode is on */
#define VENIC_VF_ALLMULTI (1u << 2) /* all-multicast is on */
#define VENIC_VF_STARTED  (1u << 3) /* the daemon polls the active queues */

#define VENIC_LINK_DOWN 0u
#define VENIC_LINK_UP	1u

/* ---------------------------------------------------------------- rings -- */

/*
 * Ring header; entries start VENIC_RING_HDR_SIZE bytes after it.
 * prod: written only by the producer, after the entries it publishes
 *       (release); the consumer reads it with acquire.
 * cons: written only by the consumer once it no longer needs the entries
 *       before it (release); for a TX SQ this is the completion: the driver
 *       may reuse a buffer once cons has passed its descriptor.
 * A consumer that sees prod - cons > size knows the producer is broken.
 */
struct venic_ring {
	uint32_t prod;
	uint8_t pad0_[VENIC_CACHE_LINE - sizeof(uint32_t)];
	uint32_t cons;
	uint8_t pad1_[VENIC_CACHE_LINE - sizeof(uint32_t)];
};
#define VENIC_RING_HDR_SIZE ((uint64_t)sizeof(struct venic_ring))

/* Descriptor flags. */
#define VENIC_DESC_F_MORE (1u << 0) /* the packet continues in the next entry */

/* Memory id 0 is the VF region's own copy-mode buffer area; ids 1..N are the
 * regions the driver registered (vf.register_memory on the control socket). */
#define VENIC_MEM_REGION_BUFS 0

/*
 * TX SQ and RX SQ entry, written only by the driver.
 * TX: one packet segment to send (len = bytes in this segment).
 * RX: one empty buffer (len = its capacity).
 * addr is an offset inside memory region mem_id, never a pointer.
 */
struct venic_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t mem_id;
	uint16_t flags;
};

/* RX CQ entry flags. */
#define VENIC_CQE_F_MORE	(1u << 0) /* the packet continues in the next entry */
#define VENIC_CQE_F_L3_CSUM_OK	(1u << 1)
#define VENIC_CQE_F_L4_CSUM_OK	(1u << 2)
#define VENIC_CQE_F_RSS_HASH	(1u << 3) /* rss_hash is valid */
#define VENIC_CQE_F_L3_CSUM_BAD (1u << 4) /* IPv4 header checksum wrong (ABI 1.1) */
#define VENIC_CQE_F_L4_CSUM_BAD (1u << 5) /* TCP/UDP checksum wrong (ABI 1.2) */

/* Packet type in venic_cqe.ptype: L3 in bits 0-3, L4 in bits 4-7. */
#define VENIC_PTYPE_L3_IPV4 1u
#define VENIC_PTYPE_L3_IPV6 2u
#define VENIC_PTYPE_L3_ARP  3u
#define VENIC_PTYPE_L4_TCP  (1u << 4)
#define VENIC_PTYPE_L4_UDP  (2u << 4)
#define VENIC_PTYPE_L4_ICMP (3u << 4)

/*
 * RX CQ entry, written only by the daemon.  Entry i of the RX CQ answers
 * entry i of the RX SQ (buffers are consumed in order), so the driver knows
 * which buffer was filled without trusting an id.
 */
struct venic_cqe {
	uint32_t len;	   /* bytes written into the buffer */
	uint16_t flags;	   /* VENIC_CQE_F_* */
	uint16_t ptype;	   /* VENIC_PTYPE_* */
	uint32_t rss_hash; /* valid with VENIC_CQE_F_RSS_HASH */
	uint32_t reserved;
};

/* ----------------------------------------------------------- admin queue -- */

enum venic_admin_opcode {
	VENIC_ADMIN_START = 1,	      /* arg0 = number of active queue pairs */
	VENIC_ADMIN_STOP = 2,	      /* the daemon stops polling; rings stay */
	VENIC_ADMIN_SET_MTU = 3,      /* arg0 = MTU */
	VENIC_ADMIN_SET_RX_MODE = 4,  /* arg0 = VENIC_VF_PROMISC | VENIC_VF_ALLMULTI */
	VENIC_ADMIN_SET_RSS_KEY = 5,  /* arg0 = VENIC_RSS_* hash types (0: RSS off);
				       * data = VENIC_RSS_KEY_SIZE-byte Toeplitz key */
	VENIC_ADMIN_SET_RETA = 6,     /* arg0 = first entry, arg1 = count (<= 48);
				       * data[i] = queue of entry arg0 + i */
	VENIC_ADMIN_SET_OFFLOADS = 7, /* arg0 = VENIC_OFFLOAD_* (ABI 1.2) */
};

/* Offloads a driver turns on (VENIC_ADMIN_SET_OFFLOADS; all off at attach). */
#define VENIC_OFFLOAD_RX_L4_CSUM (1u << 0) /* verify TCP/UDP checksums: L4_CSUM_OK/BAD */

/* Receive-side scaling (ABI 1.1): Toeplitz hash over what the hash types
 * select; the RETA maps hash & (VENIC_RETA_SIZE - 1) to an RX queue. */
#define VENIC_RSS_KEY_SIZE 40
#define VENIC_RETA_SIZE	   128
#define VENIC_RSS_IPV4	   (1u << 0) /* src, dst address */
#define VENIC_RSS_IPV4_TCP (1u << 1) /* + ports */
#define VENIC_RSS_IPV4_UDP (1u << 2)
#define VENIC_RSS_IPV6	   (1u << 3)
#define VENIC_RSS_IPV6_TCP (1u << 4)
#define VENIC_RSS_IPV6_UDP (1u << 5)
/* The widely used default Toeplitz key (from Microsoft's RSS specification),
 * as an initializer: what a driver uses when the application gives none. */
#define VENIC_RSS_DEFAULT_KEY                                                                                          \
	{                                                                                                              \
		0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0,  \
			0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,      \
			0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,                                                \
	}

/* Admin SQ entry, written only by the driver. */
struct venic_admin_cmd {
	uint16_t opcode;
	uint16_t cmd_id; /* echoed in the completion */
	uint32_t arg0;
	uint64_t arg1;
	uint8_t data[48];
};

/* Admin CQ entry, written only by the daemon. */
struct venic_admin_cqe {
	uint16_t cmd_id;
	uint16_t opcode;
	int32_t status; /* 0, or a negative errno */
	uint64_t result;
	uint8_t reserved[48];
};

/* ---------------------------------------------------------- async events -- */

enum venic_event_type {
	VENIC_EVENT_LINK_CHANGE = 1, /* data = new link status */
	VENIC_EVENT_RESET = 2,	     /* the daemon reset the VF (bad descriptors) */
	VENIC_EVENT_REMOVAL = 3,     /* the VF is being deleted or detached */
};

/* Event ring entry, written only by the daemon. */
struct venic_event {
	uint16_t type;
	uint16_t reserved;
	uint32_t data;
	uint64_t seq;
};

/* ----------------------------------------------------------------- stats -- */

/* Why the daemon dropped a packet; index into venic_stats.drops. */
enum venic_drop_reason {
	VENIC_DROP_NO_ROUTE = 0,     /* tx: no VF in the subnet has this MAC */
	VENIC_DROP_BAD_DESC = 1,     /* tx: descriptor out of bounds or malformed */
	VENIC_DROP_OVERSIZE = 2,     /* tx: frame longer than the VF's MTU allows */
	VENIC_DROP_RUNT = 3,	     /* tx: shorter than an Ethernet header */
	VENIC_DROP_RX_NO_BUFFER = 4, /* rx: no posted buffer on the target queue */
	VENIC_DROP_RX_OVERSIZE = 5,  /* rx: frame larger than the target's MTU */
	VENIC_DROP_RX_DOWN = 6,	     /* rx: target VF not attached or stopped */
	VENIC_DROP_SPOOF_MAC = 7,    /* tx: source MAC is not the VF's (src/dst check) */
	VENIC_DROP_SPOOF_IP = 8,     /* tx: source IPv4 or ARP sender is not the VF's */
	VENIC_DROP_DST_CHECK = 9,    /* rx: destination IPv4 is not the VF's */
	VENIC_DROP_SG_EGRESS = 10,   /* tx: no egress security-group rule allows a new flow */
	VENIC_DROP_SG_INGRESS = 11,  /* rx: no ingress security-group rule allows a new flow */
	VENIC_DROP_TTL_EXPIRED = 12, /* tx: routed between subnets with TTL / hop limit 1 or 0 */
	VENIC_DROP_NOT_FLOODED = 13, /* tx: broadcast, multicast or unanswerable ARP/ND in a VPC */
	VENIC_DROP_ETHERTYPE = 14,   /* tx: a VPC port sent neither IPv4, IPv6 nor ARP */
	VENIC_DROP_NACL_INGRESS = 15, /* rx: the receiver subnet's network ACL denies it */
	VENIC_DROP_NACL_EGRESS = 16,  /* tx: the sender subnet's network ACL denies it */
	VENIC_DROP_BLACKHOLE = 17,    /* tx: its route's target is gone (a blackhole route) */
	VENIC_DROP_NO_PUBLIC_IP = 18, /* tx: to the internet gateway without a public address */
	VENIC_DROP_REASONS_MAX = 24
};

/* A drop reason's name, as counters, xstats and captures show it ("" when unused). */
static inline const char *venic_drop_name(int reason)
{
	switch (reason) {
	case VENIC_DROP_NO_ROUTE: return "no_route";
	case VENIC_DROP_BAD_DESC: return "bad_desc";
	case VENIC_DROP_OVERSIZE: return "oversize";
	case VENIC_DROP_RUNT: return "runt";
	case VENIC_DROP_RX_NO_BUFFER: return "rx_no_buffer";
	case VENIC_DROP_RX_OVERSIZE: return "rx_oversize";
	case VENIC_DROP_RX_DOWN: return "rx_down";
	case VENIC_DROP_SPOOF_MAC: return "spoof_mac";
	case VENIC_DROP_SPOOF_IP: return "spoof_ip";
	case VENIC_DROP_DST_CHECK: return "dst_check";
	case VENIC_DROP_SG_EGRESS: return "sg_egress";
	case VENIC_DROP_SG_INGRESS: return "sg_ingress";
	case VENIC_DROP_TTL_EXPIRED: return "ttl_expired";
	case VENIC_DROP_NOT_FLOODED: return "not_flooded";
	case VENIC_DROP_ETHERTYPE: return "ethertype";
	case VENIC_DROP_NACL_INGRESS: return "nacl_ingress";
	case VENIC_DROP_NACL_EGRESS: return "nacl_egress";
	case VENIC_DROP_BLACKHOLE: return "blackhole";
	case VENIC_DROP_NO_PUBLIC_IP: return "no_public_ip";
	default: return "";
	}
}
/* The reasons in use: 0 .. VENIC_DROP_REASONS_USED - 1. */
#define VENIC_DROP_REASONS_USED 19

/*
 * Allowances the daemon enforces, as ENA names their counters: packets queued
 * (held in the TX ring) or dropped because a VF exceeded one.  Index into
 * venic_stats.allowance (ABI 1.2).
 */
enum venic_allowance {
	VENIC_ALLOW_BW_IN = 0,	   /* inbound bandwidth: dropped */
	VENIC_ALLOW_BW_OUT = 1,	   /* outbound bandwidth: queued */
	VENIC_ALLOW_PPS = 2,	   /* packets per second, both directions */
	VENIC_ALLOW_CONNTRACK = 3, /* connection tracking table full */
	VENIC_ALLOW_LINKLOCAL = 4, /* to link-local services, 1024 pps: dropped */
	VENIC_ALLOW_FLOW = 5,	   /* per-flow (5-tuple) cap: dropped (venic's own) */
	VENIC_ALLOW_MAX = 8
};

struct venic_queue_stats {
	uint64_t pkts;
	uint64_t bytes;
	uint64_t drops;
	uint64_t reserved;
};

/* Written only by the daemon (plain stores after each burst). */
struct venic_stats {
	uint64_t tx_pkts; /* accepted from the driver */
	uint64_t tx_bytes;
	uint64_t rx_pkts; /* delivered to the driver */
	uint64_t rx_bytes;
	uint64_t tx_zero_copy_pkts;	     /* tx packets read from registered memory */
	uint64_t rx_zero_copy_pkts;	     /* rx packets written into registered memory */
	uint64_t mdd_resets;		     /* resets for malformed descriptors */
	uint64_t allowance[VENIC_ALLOW_MAX]; /* enum venic_allowance (ABI 1.2) */
	uint64_t reserved[1];
	uint64_t drops[VENIC_DROP_REASONS_MAX];
	struct venic_queue_stats txq[VENIC_MAX_QPS];
	struct venic_queue_stats rxq[VENIC_MAX_QPS];
};

/* -------------------------------------------------------- register page -- */

/* Offsets (from the region start) of one queue pair's rings and buffers. */
struct venic_qp_layout {
	uint64_t tx_sq_off;  /* struct venic_ring + ring_size venic_desc */
	uint64_t rx_sq_off;  /* struct venic_ring + ring_size venic_desc */
	uint64_t rx_cq_off;  /* struct venic_ring + ring_size venic_cqe */
	uint64_t tx_buf_off; /* ring_size copy-mode buffers of buf_size bytes */
	uint64_t rx_buf_off;
};

struct venic_regs {
	/* Identity and layout: written by the daemon when it creates the
	 * region, constant afterwards. */
	uint32_t magic;
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t vf_id;
	uint32_t personality; /* enum venic_personality */
	uint64_t region_size;
	uint64_t features; /* VENIC_F_* */
	uint32_t max_qps;
	uint32_t ring_size;
	uint32_t buf_size; /* copy-mode buffer slot, VENIC_COPY_BUF_SIZE */
	uint32_t admin_ring_size;
	uint32_t event_ring_size;
	uint32_t max_dma_regions;
	uint64_t stats_off;
	uint64_t admin_sq_off;
	uint64_t admin_cq_off;
	uint64_t event_off;
	uint64_t buf_area_off;
	uint64_t buf_area_size;
	struct venic_qp_layout qp[VENIC_MAX_QPS];

	/* Device state: written by the daemon at any time, read by the driver. */
	uint8_t mac[6];
	uint16_t mtu;
	uint16_t min_mtu;
	uint16_t max_mtu;
	uint32_t link_status; /* VENIC_LINK_* */
	uint32_t link_speed_mbps;
	uint32_t flags;	     /* VENIC_VF_* */
	uint32_t active_qps; /* queue pairs the daemon polls */
	uint32_t reserved_pad;
	uint64_t heartbeat;   /* incremented by the daemon about every 100 ms */
	uint32_t reset_count; /* incremented at every VF reset */
	uint32_t reserved0;

	/* The personality's RSS geometry (ABI 2.0): written by the daemon when it
	 * creates the region, constant afterwards.  Zero from an older daemon:
	 * VENIC_RETA_SIZE and VENIC_RSS_KEY_SIZE then apply. */
	uint16_t reta_size;    /* indirection entries, <= VENIC_RETA_SIZE */
	uint16_t rss_key_size; /* Toeplitz key bytes, <= VENIC_RSS_KEY_SIZE */
	uint32_t reserved1;
	uint8_t reserved[VENIC_PAGE_SIZE - 480];
};

VENIC_STATIC_ASSERT(sizeof(struct venic_ring) == 2 * VENIC_CACHE_LINE, "ring header");
VENIC_STATIC_ASSERT(offsetof(struct venic_ring, cons) == VENIC_CACHE_LINE, "cons on its own line");
VENIC_STATIC_ASSERT(sizeof(struct venic_desc) == 16, "descriptor size");
VENIC_STATIC_ASSERT(sizeof(struct venic_cqe) == 16, "completion size");
VENIC_STATIC_ASSERT(sizeof(struct venic_admin_cmd) == 64, "admin command size");
VENIC_STATIC_ASSERT(VENIC_RSS_KEY_SIZE <= sizeof(((struct venic_admin_cmd *)0)->data), "key fits a command");
VENIC_STATIC_ASSERT(sizeof(struct venic_admin_cqe) == 64, "admin completion size");
VENIC_STATIC_ASSERT(sizeof(struct venic_event) == 16, "event size");
VENIC_STATIC_ASSERT(sizeof(struct venic_qp_layout) == 40, "qp layout size");
VENIC_STATIC_ASSERT(offsetof(struct venic_regs, qp) == 104, "qp layout offset");
VENIC_STATIC_ASSERT(offsetof(struct venic_regs, mac) == 424, "device state offset");
VENIC_STATIC_ASSERT(offsetof(struct venic_regs, reta_size) == 472, "ABI 2.0 fields where 1.3 had reserved bytes");
VENIC_STATIC_ASSERT(sizeof(struct venic_regs) == VENIC_PAGE_SIZE, "register page size");
VENIC_STATIC_ASSERT(sizeof(struct venic_stats) <= VENIC_PAGE_SIZE, "stats fit a page");
VENIC_STATIC_ASSERT(offsetof(struct venic_stats, drops) == 128, "drop counters where ABI 1.0 put them");
VENIC_STATIC_ASSERT(VENIC_FRAME_MAX <= VENIC_MAX_SEGS * VENIC_COPY_BUF_SIZE, "jumbo fits in copy buffers");

#ifdef __cplusplus
}
#endif
#endif /* VENIC_ABI_H */
