/* SPDX-License-Identifier: MIT */
/*
 * net_vena: DPDK ethdev glue for venic's ENA-like VFs.
 *   --vdev net_vena0,socket=/run/venic/venicd.sock,vf=0
 * The device itself (attach, admin, events) is drivers/ena.
 */
#include <bus_vdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_alarm.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>
#include <stdlib.h>
#include <string.h>

#include "vena_pmd.h"

RTE_LOG_REGISTER(vena_logtype, pmd.net.vena, NOTICE);

#define VENA_ARG_SOCKET		"socket"
#define VENA_ARG_VF		"vf"
#define VENA_ARG_IDLE_YIELD	"idle_yield"
#define VENA_DEFAULT_IDLE_YIELD 64
#define VENA_DEFAULT_SOCKET	"/run/venic/venicd.sock"
#define VENA_EVENT_POLL_US	100000 /* async events and heartbeat, every 100 ms */
#define VENA_HEARTBEAT_STALE	30     /* polls (3 s) without a heartbeat: link down */

static const char *const vena_valid_args[] = {VENA_ARG_SOCKET, VENA_ARG_VF, VENA_ARG_IDLE_YIELD, NULL};

static int vena_admin(struct vena_adapter *ad, uint16_t op, uint32_t arg)
{
	if (ad->removed)
		return -ENODEV;
	int rc = vena_dev_admin(ad->dev, op, arg, 0, NULL, VENA_ADMIN_TIMEOUT_MS);
	if (rc < 0 && rc != -EPERM)
		VENA_LOG(ERR, "vf %u: admin command %u failed: %s", ad->vf, op, strerror(-rc));
	return rc;
}

static int vena_link_update(struct rte_eth_dev *eth, int wait)
{
	(void)wait;
	struct vena_adapter *ad = eth->data->dev_private;
	volatile struct venic_regs *r = vena_dev_regs(ad->dev);
	struct rte_eth_link link = {
		.link_speed = r->link_speed_mbps,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
		.link_status = (!ad->removed && eth->data->dev_started && r->link_status == VENIC_LINK_UP &&
				ad->stale_polls < VENA_HEARTBEAT_STALE)
				       ? RTE_ETH_LINK_UP
				       : RTE_ETH_LINK_DOWN,
	};
	return rte_eth_linkstatus_set(eth, &link);
}

/* Runs in the interrupt thread: turns device events into ethdev events. */
static void vena_event_poll(void *arg)
{
	struct rte_eth_dev *eth = arg;
	struct vena_adapter *ad = eth->data->dev_private;
	struct venic_event ev;
	bool lsc = false;
	/* A callback may close the port (ad->dev becomes NULL): check each time. */
	while (ad->dev && vena_dev_next_event(ad->dev, &ev)) {
		switch (ev.type) {
		case VENIC_EVENT_LINK_CHANGE:
			lsc = true;
			break;
		case VENIC_EVENT_REMOVAL:
			VENA_LOG(WARNING, "vf %u: removed by venicd", ad->vf);
			ad->removed = true;
			vena_link_update(eth, 0);
			rte_eth_dev_callback_process(eth, RTE_ETH_EVENT_INTR_RMV, NULL);
			break;
		case VENIC_EVENT_RESET:
			VENA_LOG(WARNING, "vf %u: reset by venicd (malformed descriptors); restart the port", ad->vf);
			/* The daemon dropped our shared memory: share it again at the
			 * next start (not now: the data path may be translating). */
			ad->regions_stale = true;
			lsc = true;
			rte_eth_dev_callback_process(eth, RTE_ETH_EVENT_INTR_RESET, NULL);
			break;
		default:
			break;
		}
	}
	if (!ad->dev)
		return;
	uint64_t hb = vena_dev_regs(ad->dev)->heartbeat;
	unsigned int was_stale = ad->stale_polls >= VENA_HEARTBEAT_STALE;
	ad->stale_polls = hb == ad->last_heartbeat ? ad->stale_polls + 1 : 0;
	ad->last_heartbeat = hb;
	if (was_stale != (ad->stale_polls >= VENA_HEARTBEAT_STALE))
		lsc = true;
	if (lsc) {
		vena_link_update(eth, 0);
		rte_eth_dev_callback_process(eth, RTE_ETH_EVENT_INTR_LSC, NULL);
	}
	if (ad->dev && !ad->removed && rte_eal_alarm_set(VENA_EVENT_POLL_US, vena_event_poll, eth) == 0)
		return;
	ad->alarm_set = false;
}

const char *vena_personality_name(uint32_t personality)
{
	switch (personality) {
	case VENIC_PERSONALITY_ENA:
		return "ena (Elastic Network Adapter)";
	case VENIC_PERSONALITY_EFA:
		return "efa (Elastic Fabric Adapter)";
	case VENIC_PERSONALITY_IXGBEVF:
		return "ixgbevf (Intel 82599 Virtual Function)";
	default:
		return "unknown";
	}
}

static int vena_dev_configure(struct rte_eth_dev *eth)
{
	struct vena_adapter *ad = eth->data->dev_private;
	uint32_t max = vena_dev_regs(ad->dev)->max_qps;
	if (eth->data->nb_rx_queues > max || eth->data->nb_tx_queues > max) {
		VENA_LOG(ERR, "vf %u (%s) has %u queue pairs: %u rx / %u tx queues refused", ad->vf,
			 vena_personality_name(ad->personality), max, eth->data->nb_rx_queues, eth->data->nb_tx_queues);
		return -EINVAL;
	}
	return vena_rss_configure(eth);
}

static int vena_fw_version_get(struct rte_eth_dev *eth, char *fw_version, size_t fw_size)
{
	struct vena_adapter *ad = eth->data->dev_private;
	volatile struct venic_regs *r = vena_dev_regs(ad->dev);
	/* Short (testpmd offers 32 bytes): the personality's driver name first. */
	const char *name = vena_personality_name(ad->personality);
	int n = snprintf(fw_version, fw_size, "%.*s venic ABI %u.%u", (int)strcspn(name, " "), name, r->abi_major,
			 r->abi_minor);
	/* ethdev's contract: the size needed when it does not fit. */
	return n >= 0 && (size_t)n >= fw_size ? n + 1 : 0;
}

static uint32_t speed_capa_of(uint32_t mbps)
{
	return mbps <= 10000   ? RTE_ETH_LINK_SPEED_10G
	       : mbps <= 25000 ? RTE_ETH_LINK_SPEED_25G
			       : RTE_ETH_LINK_SPEED_100G;
}

static int vena_dev_infos_get(struct rte_eth_dev *eth, struct rte_eth_dev_info *info)
{
	struct vena_adapter *ad = eth->data->dev_private;
	volatile struct venic_regs *r = vena_dev_regs(ad->dev);
	info->max_rx_queues = (uint16_t)r->max_qps;
	info->max_tx_queues = (uint16_t)r->max_qps;
	info->max_mac_addrs = 1;
	info->min_rx_bufsize = 64;
	info->max_rx_pktlen = (uint32_t)r->max_mtu + VENIC_L2_OVERHEAD; /* the personality's largest frame */
	info->min_mtu = r->min_mtu;
	info->max_mtu = r->max_mtu;
	info->rx_offload_capa =
		RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_RSS_HASH | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	info->rx_offload_capa |= RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	info->reta_size = ad->reta_size;
	info->hash_key_size = (uint8_t)ad->rss_key_size;
	info->flow_type_rss_offloads = vena_rss_offloads;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	info->rx_desc_lim = (struct rte_eth_desc_lim){.nb_max = (uint16_t)r->ring_size, .nb_min = 1, .nb_align = 1};
	info->tx_desc_lim = (struct rte_eth_desc_lim){.nb_max = (uint16_t)r->ring_size,
						      .nb_min = 1,
						      .nb_align = 1,
						      .nb_seg_max = VENIC_MAX_SEGS,
						      .nb_mtu_seg_max = VENIC_MAX_SEGS};
	info->default_rxportconf.burst_size = 32;
	info->default_txportconf.burst_size = 32;
	info->default_rxportconf.ring_size = 1024; /* like ENA; up to ring_size on request */
	info->default_txportconf.ring_size = 1024;
	info->default_rxportconf.nb_queues = 1;
	info->default_txportconf.nb_queues = 1;
	info->speed_capa = speed_capa_of(r->link_speed_mbps);
	return 0;
}

static int vena_dev_start(struct rte_eth_dev *eth)
{
	struct vena_adapter *ad = eth->data->dev_private;
	if (ad->removed || ad->wedged)
		return -ENODEV;
	if (ad->regions_stale) {
		ad->n_regions = 0;
		ad->regions_stale = false;
	}
	vena_register_app_memory(ad); /* failure only means copy mode */
	uint16_t nq = RTE_MAX(eth->data->nb_rx_queues, eth->data->nb_tx_queues);
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++) {
		int rc = vena_rx_queue_start(eth->data->rx_queues[i]);
		if (rc < 0)
			return rc;
		eth->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	}
	for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++) {
		int rc = vena_tx_queue_start(eth->data->tx_queues[i]);
		if (rc < 0)
			return rc;
		eth->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	}
	int rc = vena_rss_apply(ad);
	if (rc < 0)
		return rc;
	/* TCP/UDP checksum verification costs the daemon a pass over each
	 * frame: asked for only when the application wants it. */
	const uint64_t l4 = RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	uint32_t offloads = (eth->data->dev_conf.rxmode.offloads & l4) ? VENIC_OFFLOAD_RX_L4_CSUM : 0;
	/* Only when something changes: a daemon older than ABI 1.2 knows no
	 * such command, and it starts with every offload off. */
	if (offloads != ad->offloads) {
		rc = vena_admin(ad, VENIC_ADMIN_SET_OFFLOADS, offloads);
		if (rc < 0)
			return rc;
		ad->offloads = offloads;
	}
	rc = vena_admin(ad, VENIC_ADMIN_START, nq);
	if (rc < 0) {
		/* A START that timed out may still run later: make sure it is
		 * undone before our posted buffers can be recycled. */
		if (rc == -ETIMEDOUT && vena_admin(ad, VENIC_ADMIN_STOP, 0) < 0) {
			VENA_LOG(ERR, "vf %u: venicd does not answer; keeping buffers it may use", ad->vf);
			ad->wedged = true;
		}
		return rc;
	}
	eth->data->dev_started = 1;
	vena_link_update(eth, 0);
	return 0;
}

static int vena_dev_stop(struct rte_eth_dev *eth)
{
	struct vena_adapter *ad = eth->data->dev_private;
	/* Let the daemon take what the application already handed us, so a
	 * packet counted as sent is a packet the device saw (bounded wait). */
	for (int spin = 0; spin < 2000 && !ad->removed; spin++) {
		bool drained = true;
		for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++)
			drained = drained && vena_tx_queue_drained(eth->data->tx_queues[i]);
		if (drained)
			break;
		rte_delay_us_sleep(100);
	}
	/* After STOP completes (or the VF was removed, which the daemon
	 * announces only once no worker can touch it) our buffers are ours. */
	if (!ad->removed && !ad->wedged && vena_admin(ad, VENIC_ADMIN_STOP, 0) < 0) {
		VENA_LOG(ERR, "vf %u: venicd did not confirm STOP; keeping buffers it may use", ad->vf);
		ad->wedged = true;
	}
	bool release = !ad->wedged;
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++) {
		vena_rx_queue_stop(eth->data->rx_queues[i], release);
		eth->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	}
	for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++) {
		vena_tx_queue_stop(eth->data->tx_queues[i], release);
		eth->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	}
	eth->data->dev_started = 0;
	vena_link_update(eth, 0);
	return 0;
}

static int vena_dev_close(struct rte_eth_dev *eth)
{
	struct vena_adapter *ad = eth->data->dev_private;
	if (rte_eal_process_type() != RTE_PROC_PRIMARY || !ad->dev)
		return 0;
	if (eth->data->dev_started)
		vena_dev_stop(eth);
	rte_eal_alarm_cancel(vena_event_poll, eth);
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++)
		vena_rx_queue_release(eth, i);
	for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++)
		vena_tx_queue_release(eth, i);
	vena_dev_detach(ad->dev);
	ad->dev = NULL;
	return 0;
}

static int vena_mtu_set(struct rte_eth_dev *eth, uint16_t mtu)
{
	return vena_admin(eth->data->dev_private, VENIC_ADMIN_SET_MTU, mtu);
}

static int vena_set_rx_mode(struct rte_eth_dev *eth, bool promisc, bool allmulti)
{
	struct vena_adapter *ad = eth->data->dev_private;
	uint32_t mode = (promisc ? VENIC_VF_PROMISC : 0) | (allmulti ? VENIC_VF_ALLMULTI : 0);
	int rc = vena_admin(ad, VENIC_ADMIN_SET_RX_MODE, mode);
	if (rc == -EPERM)
		VENA_LOG(WARNING, "vf %u is not trusted: promiscuous mode refused", ad->vf);
	return rc;
}

static int vena_promisc_enable(struct rte_eth_dev *eth)
{
	return vena_set_rx_mode(eth, true, eth->data->all_multicast);
}

static int vena_promisc_disable(struct rte_eth_dev *eth)
{
	return vena_set_rx_mode(eth, false, eth->data->all_multicast);
}

static int vena_allmulti_enable(struct rte_eth_dev *eth)
{
	return vena_set_rx_mode(eth, eth->data->promiscuous, true);
}

static int vena_allmulti_disable(struct rte_eth_dev *eth)
{
	return vena_set_rx_mode(eth, eth->data->promiscuous, false);
}

static int vena_stats_get(struct rte_eth_dev *eth, struct rte_eth_stats *st)
{
	struct vena_adapter *ad = eth->data->dev_private;
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++) {
		struct vena_rx_queue *q = eth->data->rx_queues[i];
		st->ipackets += q->pkts;
		st->ibytes += q->bytes;
		st->rx_nombuf += q->nombuf;
		st->ierrors += q->errors;
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			st->q_ipackets[i] = q->pkts;
			st->q_ibytes[i] = q->bytes;
		}
	}
	for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++) {
		struct vena_tx_queue *q = eth->data->tx_queues[i];
		st->opackets += q->pkts;
		st->obytes += q->bytes;
		st->oerrors += q->errors;
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			st->q_opackets[i] = q->pkts;
			st->q_obytes[i] = q->bytes;
		}
	}
	/* Frames the device dropped for lack of posted buffers. */
	st->imissed = vena_dev_stats(ad->dev)->drops[VENIC_DROP_RX_NO_BUFFER];
	return 0;
}

static int vena_stats_reset(struct rte_eth_dev *eth)
{
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++) {
		struct vena_rx_queue *q = eth->data->rx_queues[i];
		q->pkts = q->bytes = q->nombuf = q->errors = 0;
	}
	for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++) {
		struct vena_tx_queue *q = eth->data->tx_queues[i];
		q->pkts = q->bytes = q->errors = 0;
	}
	return 0;
}

static const struct eth_dev_ops vena_ops = {
	.dev_configure = vena_dev_configure,
	.dev_infos_get = vena_dev_infos_get,
	.fw_version_get = vena_fw_version_get,
	.dev_start = vena_dev_start,
	.dev_stop = vena_dev_stop,
	.dev_close = vena_dev_close,
	.link_update = vena_link_update,
	.mtu_set = vena_mtu_set,
	.promiscuous_enable = vena_promisc_enable,
	.promiscuous_disable = vena_promisc_disable,
	.allmulticast_enable = vena_allmulti_enable,
	.allmulticast_disable = vena_allmulti_disable,
	.stats_get = vena_stats_get,
	.stats_reset = vena_stats_reset,
	.xstats_get = vena_xstats_get,
	.xstats_get_names = vena_xstats_get_names,
	.xstats_reset = vena_xstats_reset,
	.rss_hash_update = vena_rss_hash_update,
	.rss_hash_conf_get = vena_rss_hash_conf_get,
	.reta_update = vena_reta_update,
	.reta_query = vena_reta_query,
	.rx_queue_setup = vena_rx_queue_setup,
	.tx_queue_setup = vena_tx_queue_setup,
	.rx_queue_release = vena_rx_queue_release,
	.tx_queue_release = vena_tx_queue_release,
};

static int parse_string(const char *key, const char *value, void *out)
{
	(void)key;
	if (strlen(value) >= 256)
		return -EINVAL;
	strcpy(out, value);
	return 0;
}

static int parse_vf(const char *key, const char *value, void *out)
{
	(void)key;
	char *end;
	unsigned long v = strtoul(value, &end, 10);
	if (*value == '\0' || *end != '\0' || v >= VENIC_MAX_VFS)
		return -EINVAL;
	*(uint32_t *)out = (uint32_t)v;
	return 0;
}

static int parse_u32(const char *key, const char *value, void *out)
{
	(void)key;
	char *end;
	unsigned long v = strtoul(value, &end, 10);
	if (*value == '\0' || *end != '\0' || v > UINT32_MAX)
		return -EINVAL;
	*(uint32_t *)out = (uint32_t)v;
	return 0;
}

static int vena_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		VENA_LOG(ERR, "%s: secondary processes are not supported", name);
		return -ENOTSUP;
	}
	char socket[256] = VENA_DEFAULT_SOCKET;
	uint32_t vf = UINT32_MAX;
	uint32_t idle_yield = VENA_DEFAULT_IDLE_YIELD;
	struct rte_kvargs *kv = rte_kvargs_parse(rte_vdev_device_args(vdev), vena_valid_args);
	if (!kv) {
		VENA_LOG(ERR, "%s: bad arguments '%s' (expected socket=<path>,vf=<0-255>)", name,
			 rte_vdev_device_args(vdev));
		return -EINVAL;
	}
	int rc = 0;
	if (rte_kvargs_count(kv, VENA_ARG_SOCKET) == 1)
		rc = rte_kvargs_process(kv, VENA_ARG_SOCKET, parse_string, socket);
	if (rc == 0 && rte_kvargs_count(kv, VENA_ARG_VF) == 1)
		rc = rte_kvargs_process(kv, VENA_ARG_VF, parse_vf, &vf);
	if (rc == 0 && rte_kvargs_count(kv, VENA_ARG_IDLE_YIELD) == 1)
		rc = rte_kvargs_process(kv, VENA_ARG_IDLE_YIELD, parse_u32, &idle_yield);
	rte_kvargs_free(kv);
	if (rc < 0 || vf == UINT32_MAX) {
		VENA_LOG(ERR, "%s: need vf=<0-255>, optionally socket=<path> and idle_yield=<polls>", name);
		return -EINVAL;
	}

	struct vena_dev *dev;
	char err[256];
	rc = vena_dev_attach(socket, vf, &dev, err, sizeof(err));
	if (rc < 0) {
		VENA_LOG(ERR, "%s: cannot attach VF %u: %s", name, vf, err);
		return rc;
	}
	struct rte_eth_dev *eth = rte_eth_vdev_allocate(vdev, sizeof(struct vena_adapter));
	if (!eth) {
		vena_dev_detach(dev);
		return -ENOMEM;
	}
	struct vena_adapter *ad = eth->data->dev_private;
	ad->dev = dev;
	ad->eth = eth;
	ad->vf = vf;
	ad->idle_yield = idle_yield;
	volatile struct venic_regs *regs = vena_dev_regs(dev);
	ad->personality = regs->personality;
	/* The personality's RSS geometry; out of range, ENA's. */
	ad->reta_size = regs->reta_size && regs->reta_size <= VENIC_RETA_SIZE && regs->reta_size % 32 == 0
				? regs->reta_size
				: VENIC_RETA_SIZE;
	ad->rss_key_size = regs->rss_key_size && regs->rss_key_size <= VENIC_RSS_KEY_SIZE ? regs->rss_key_size
												 : VENIC_RSS_KEY_SIZE;
	ad->allowance_stats = (regs->features & VENIC_F_ALLOWANCE_STATS) != 0;
	snprintf(ad->socket, sizeof(ad->socket), "%s", socket);
	eth->data->mac_addrs = rte_zmalloc(name, RTE_ETHER_ADDR_LEN, 0);
	if (!eth->data->mac_addrs) {
		vena_dev_detach(dev);
		ad->dev = NULL;
		rte_eth_dev_release_port(eth);
		return -ENOMEM;
	}
	volatile struct venic_regs *r = vena_dev_regs(dev);
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		eth->data->mac_addrs[0].addr_bytes[i] = r->mac[i];
	eth->data->mtu = r->mtu;
	eth->data->dev_flags |= RTE_ETH_DEV_INTR_LSC | RTE_ETH_DEV_INTR_RMV;
	eth->dev_ops = &vena_ops;
	eth->rx_pkt_burst = vena_recv_pkts;
	eth->tx_pkt_burst = vena_xmit_pkts;
	ad->last_heartbeat = r->heartbeat;
	if (rte_eal_alarm_set(VENA_EVENT_POLL_US, vena_event_poll, eth) == 0)
		ad->alarm_set = true;
	rte_eth_dev_probing_finish(eth);
	VENA_LOG(INFO, "%s: VF %u via %s, MAC " RTE_ETHER_ADDR_PRT_FMT ", %s: %u queue pairs, MTU up to %u, %u Mbps",
		 name, vf, socket, RTE_ETHER_ADDR_BYTES(&eth->data->mac_addrs[0]),
		 vena_personality_name(ad->personality), r->max_qps, r->max_mtu, r->link_speed_mbps);
	return 0;
}

static int vena_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *eth = rte_eth_dev_allocated(rte_vdev_device_name(vdev));
	if (!eth)
		return 0;
	vena_dev_close(eth);
	rte_eth_dev_release_port(eth);
	return 0;
}

static struct rte_vdev_driver vena_vdev_driver = {
	.probe = vena_probe,
	.remove = vena_remove,
};

RTE_PMD_REGISTER_VDEV(net_vena, vena_vdev_driver);
RTE_PMD_REGISTER_PARAM_STRING(net_vena,
			      VENA_ARG_SOCKET "=<path> " VENA_ARG_VF "=<0-255> " VENA_ARG_IDLE_YIELD "=<polls>");
