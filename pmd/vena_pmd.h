/* SPDX-License-Identifier: MIT */
/* net_vena: shared definitions of the PMD's ethdev glue, queues and memory. */
#ifndef VENA_PMD_H
#define VENA_PMD_H

#include <ethdev_driver.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sched.h>
#include <stdbool.h>

#include "vena_dev.h"
#include "vena_queue.h"

extern int vena_logtype;
#define VENA_LOG(level, fmt, ...) rte_log(RTE_LOG_##level, vena_logtype, "net_vena: " fmt "\n", ##__VA_ARGS__)

#define VENA_ADMIN_TIMEOUT_MS 3000
#define VENA_MAX_REGIONS      VENIC_MAX_DMA_REGIONS

/* Application memory shared with the daemon (zero-copy). */
struct vena_region {
	uint64_t va;
	uint64_t len;
	uint16_t mem_id;
};

struct vena_adapter;

struct vena_rx_queue {
	struct vena_rxq q;
	struct vena_adapter *ad;
	struct rte_mempool *mp;
	struct rte_mbuf **sw_ring; /* zero-copy: the mbuf posted at each slot */
	uint32_t nb_desc;	   /* buffers kept posted */
	bool zero_copy;
	uint16_t queue_id;
	uint16_t port_id;
	uint32_t last_region; /* translation cache */
	uint32_t idle_polls;  /* consecutive empty polls */
	uint64_t pkts, bytes, nombuf, errors;
};

struct vena_tx_queue {
	struct vena_txq q;
	struct vena_adapter *ad;
	struct rte_mbuf **sw_ring; /* zero-copy: mbuf segment to free at each slot */
	uint32_t clean;		   /* next slot whose mbuf may be freed */
	uint16_t queue_id;
	uint32_t last_region;
	uint32_t full_polls; /* consecutive bursts refused for a full ring */
	uint64_t pkts, bytes, errors;
};

struct vena_adapter {
	struct vena_dev *dev;
	struct rte_eth_dev *eth;
	char socket[256];
	uint32_t vf;
	/* The device the VF is (read at probe): its RSS geometry, and whether
	 * it has ENA's allowance-exceeded counters (an 82599 VF has none). */
	uint32_t personality; /* enum venic_personality */
	uint16_t reta_size;
	uint16_t rss_key_size;
	bool allowance_stats;
	struct vena_region regions[VENA_MAX_REGIONS];
	unsigned int n_regions;
	uint64_t last_heartbeat;
	unsigned int stale_polls; /* event polls without a daemon heartbeat */
	bool removed;		  /* the daemon deleted or detached the VF */
	uint32_t idle_yield;	  /* yield the CPU after this many fruitless polls; 0 never */
	uint32_t offloads;	  /* VENIC_OFFLOAD_* the daemon has (all off at attach) */
	/* device counters (drops, mdd_resets, allowances) at the last xstats reset */
	uint64_t xstats_base[VENIC_DROP_REASONS_MAX + 1 + VENIC_ALLOW_MAX];
	uint8_t rss_key[VENIC_RSS_KEY_SIZE];
	uint8_t reta[VENIC_RETA_SIZE];
	uint32_t rss_types; /* VENIC_RSS_*; 0 when the application did not ask for RSS */
	bool regions_stale; /* the daemon dropped our shared memory (reset) */
	bool wedged;	    /* STOP unconfirmed: the daemon may still use our buffers */
	bool alarm_set;
};

/* vena_rxtx.c */
int vena_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket_id,
			const struct rte_eth_rxconf *conf, struct rte_mempool *mp);
int vena_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket_id,
			const struct rte_eth_txconf *conf);
void vena_rx_queue_release(struct rte_eth_dev *dev, uint16_t qid);
void vena_tx_queue_release(struct rte_eth_dev *dev, uint16_t qid);
int vena_rx_queue_start(struct vena_rx_queue *rxq);
/* release: give posted/in-flight mbufs back (false when the daemon may still
 * be using them: they are leaked rather than recycled under its feet). */
void vena_rx_queue_stop(struct vena_rx_queue *rxq, bool release);
int vena_tx_queue_start(struct vena_tx_queue *txq);
void vena_tx_queue_stop(struct vena_tx_queue *txq, bool release);
bool vena_tx_queue_drained(struct vena_tx_queue *txq);
uint16_t vena_recv_pkts(void *queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t vena_xmit_pkts(void *queue, struct rte_mbuf **pkts, uint16_t n);

/* On a host with fewer cores than busy pollers (the app's and the daemon's),
 * a poller that cannot progress gives its CPU to one that can. */
static inline void vena_maybe_yield(uint32_t *fruitless, uint32_t threshold)
{
	if (threshold && ++*fruitless >= threshold) {
		*fruitless = 0;
		sched_yield();
	}
}

/* vena_ethdev.c */
const char *vena_personality_name(uint32_t personality);

/* vena_rss.c */
extern const uint64_t vena_rss_offloads;
int vena_rss_configure(struct rte_eth_dev *eth);
int vena_rss_apply(struct vena_adapter *ad);
int vena_rss_hash_update(struct rte_eth_dev *eth, struct rte_eth_rss_conf *conf);
int vena_rss_hash_conf_get(struct rte_eth_dev *eth, struct rte_eth_rss_conf *conf);
int vena_reta_update(struct rte_eth_dev *eth, struct rte_eth_rss_reta_entry64 *conf, uint16_t size);
int vena_reta_query(struct rte_eth_dev *eth, struct rte_eth_rss_reta_entry64 *conf, uint16_t size);

/* vena_xstats.c */
int vena_xstats_get_names(struct rte_eth_dev *eth, struct rte_eth_xstat_name *names, unsigned int size);
int vena_xstats_get(struct rte_eth_dev *eth, struct rte_eth_xstat *xs, unsigned int n);
int vena_xstats_reset(struct rte_eth_dev *eth);

/* vena_mem.c */
int vena_register_app_memory(struct vena_adapter *ad);
bool vena_mempool_registered(struct vena_adapter *ad, struct rte_mempool *mp);
/* Resolves [va, va+len) to a region: its mem_id and the offset, or false. */
static inline bool vena_translate(const struct vena_adapter *ad, uint32_t *cache, uint64_t va, uint32_t len,
				  uint16_t *mem_id, uint64_t *off)
{
	const struct vena_region *r = &ad->regions[*cache];
	if (*cache < ad->n_regions && va >= r->va && va + len <= r->va + r->len) {
		*mem_id = r->mem_id;
		*off = va - r->va;
		return true;
	}
	for (uint32_t i = 0; i < ad->n_regions; i++) {
		r = &ad->regions[i];
		if (va >= r->va && va + len <= r->va + r->len) {
			*cache = i;
			*mem_id = r->mem_id;
			*off = va - r->va;
			return true;
		}
	}
	return false;
}

#endif /* VENA_PMD_H */
