/* SPDX-License-Identifier: MIT */
/*
 * Extended statistics: per-queue counters named as ENA's PMD names them
 * (rx_q0_cnt, tx_q0_bytes, ...), ENA's allowance-exceeded counters, and the
 * device's own drop counters by reason, all but the per-queue ones read from
 * the stats block venicd writes into the VF region.  A personality without
 * ENA's allowance counters (the 82599 VF) shows only venic's per-flow one.
 */
#include <stdio.h>

#include "vena_pmd.h"

/* ENA's names; flow_allowance_exceeded (the per-flow cap) is venic's own. */
static const char *const allowance_names[] = {
	[VENIC_ALLOW_BW_IN] = "bw_in_allowance_exceeded",
	[VENIC_ALLOW_BW_OUT] = "bw_out_allowance_exceeded",
	[VENIC_ALLOW_PPS] = "pps_allowance_exceeded",
	[VENIC_ALLOW_CONNTRACK] = "conntrack_allowance_exceeded",
	[VENIC_ALLOW_LINKLOCAL] = "linklocal_allowance_exceeded",
	[VENIC_ALLOW_FLOW] = "flow_allowance_exceeded",
};
#define N_DROPS	  VENIC_DROP_REASONS_USED
#define N_ALLOW	  RTE_DIM(allowance_names)
#define N_DEV	  (N_DROPS + 1 + N_ALLOW) /* drops, mdd_resets, allowances */
#define RXQ_STATS 3			  /* cnt, bytes, mbuf_alloc_fail */
#define TXQ_STATS 3			  /* cnt, bytes, errors */

/* Whether device counter r (an index into device_counters' output) is shown. */
static bool dev_shown(const struct vena_adapter *ad, unsigned int r)
{
	return r < N_DROPS + 1 || ad->allowance_stats || r - (N_DROPS + 1) == VENIC_ALLOW_FLOW;
}

static unsigned int dev_count(const struct vena_adapter *ad)
{
	unsigned int n = 0;
	for (unsigned int r = 0; r < N_DEV; r++)
		n += dev_shown(ad, r);
	return n;
}

static unsigned int xstats_count(const struct rte_eth_dev *eth)
{
	return eth->data->nb_rx_queues * RXQ_STATS + eth->data->nb_tx_queues * TXQ_STATS +
	       dev_count(eth->data->dev_private);
}

int vena_xstats_get_names(struct rte_eth_dev *eth, struct rte_eth_xstat_name *names, unsigned int size)
{
	unsigned int n = xstats_count(eth), k = 0;
	if (!names || size < n)
		return (int)n;
	for (uint16_t q = 0; q < eth->data->nb_rx_queues; q++) {
		snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "rx_q%u_cnt", q);
		snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "rx_q%u_bytes", q);
		snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "rx_q%u_mbuf_alloc_fail", q);
	}
	for (uint16_t q = 0; q < eth->data->nb_tx_queues; q++) {
		snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "tx_q%u_cnt", q);
		snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "tx_q%u_bytes", q);
		snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "tx_q%u_errors", q);
	}
	for (unsigned int r = 0; r < N_DROPS; r++)
		snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "drop_%s", venic_drop_name((int)r));
	snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "mdd_resets");
	for (unsigned int a = 0; a < N_ALLOW; a++)
		if (dev_shown(eth->data->dev_private, N_DROPS + 1 + a))
			snprintf(names[k++].name, RTE_ETH_XSTATS_NAME_SIZE, "%s", allowance_names[a]);
	return (int)k;
}

/* Device counters as the daemon last published them (every ~100 ms). */
static void device_counters(struct vena_adapter *ad, uint64_t *out)
{
	const volatile struct venic_stats *st = vena_dev_stats(ad->dev);
	for (unsigned int r = 0; r < N_DROPS; r++)
		out[r] = st->drops[r];
	out[N_DROPS] = st->mdd_resets;
	/* A daemon older than ABI 1.2 leaves these reserved (zero). */
	for (unsigned int a = 0; a < N_ALLOW; a++)
		out[N_DROPS + 1 + a] = st->allowance[a];
}

int vena_xstats_get(struct rte_eth_dev *eth, struct rte_eth_xstat *xs, unsigned int n)
{
	struct vena_adapter *ad = eth->data->dev_private;
	unsigned int total = xstats_count(eth), k = 0;
	if (!xs || n < total)
		return (int)total;
	for (uint16_t q = 0; q < eth->data->nb_rx_queues; q++) {
		const struct vena_rx_queue *rxq = eth->data->rx_queues[q];
		xs[k].id = k, xs[k].value = rxq ? rxq->pkts : 0, k++;
		xs[k].id = k, xs[k].value = rxq ? rxq->bytes : 0, k++;
		xs[k].id = k, xs[k].value = rxq ? rxq->nombuf : 0, k++;
	}
	for (uint16_t q = 0; q < eth->data->nb_tx_queues; q++) {
		const struct vena_tx_queue *txq = eth->data->tx_queues[q];
		xs[k].id = k, xs[k].value = txq ? txq->pkts : 0, k++;
		xs[k].id = k, xs[k].value = txq ? txq->bytes : 0, k++;
		xs[k].id = k, xs[k].value = txq ? txq->errors : 0, k++;
	}
	uint64_t dev[N_DEV];
	device_counters(ad, dev);
	for (unsigned int r = 0; r < N_DEV; r++) {
		if (!dev_shown(ad, r))
			continue;
		/* The daemon's counters are the VF's: a reset here moves a baseline. */
		xs[k].id = k;
		xs[k].value = dev[r] - ad->xstats_base[r];
		k++;
	}
	return (int)k;
}

int vena_xstats_reset(struct rte_eth_dev *eth)
{
	struct vena_adapter *ad = eth->data->dev_private;
	uint64_t dev[N_DEV];
	device_counters(ad, dev);
	for (unsigned int r = 0; r < N_DEV; r++)
		ad->xstats_base[r] = dev[r];
	for (uint16_t q = 0; q < eth->data->nb_rx_queues; q++) {
		struct vena_rx_queue *rxq = eth->data->rx_queues[q];
		if (rxq)
			rxq->pkts = rxq->bytes = rxq->nombuf = rxq->errors = 0;
	}
	for (uint16_t q = 0; q < eth->data->nb_tx_queues; q++) {
		struct vena_tx_queue *txq = eth->data->tx_queues[q];
		if (txq)
			txq->pkts = txq->bytes = txq->errors = 0;
	}
	return 0;
}
