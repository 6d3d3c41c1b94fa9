/* SPDX-License-Identifier: MIT */
/*
 * Receive-side scaling: the Toeplitz key, hash types and indirection table
 * (sized as the VF's personality says: ad->rss_key_size, ad->reta_size) live
 * in the adapter and are pushed to venicd with admin commands at start and
 * whenever the application changes them.
 */
#include <string.h>

#include "vena_pmd.h"

static const uint8_t default_key[VENIC_RSS_KEY_SIZE] = VENIC_RSS_DEFAULT_KEY;

#define IPV4_ANY (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_OTHER)
#define IPV6_ANY (RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_FRAG_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_OTHER)

const uint64_t vena_rss_offloads = IPV4_ANY | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP | IPV6_ANY |
				   RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_NONFRAG_IPV6_UDP;

/* ethdev's RSS types and the device's, one row per device type; the first
 * ethdev bit of a row is what the device reports back. */
static const struct {
	uint64_t hf;
	uint32_t type;
} type_map[] = {
	{RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_OTHER, VENIC_RSS_IPV4},
	{RTE_ETH_RSS_NONFRAG_IPV4_TCP, VENIC_RSS_IPV4_TCP},
	{RTE_ETH_RSS_NONFRAG_IPV4_UDP, VENIC_RSS_IPV4_UDP},
	{RTE_ETH_RSS_IPV6 | RTE_ETH_RSS_FRAG_IPV6 | RTE_ETH_RSS_NONFRAG_IPV6_OTHER, VENIC_RSS_IPV6},
	{RTE_ETH_RSS_NONFRAG_IPV6_TCP, VENIC_RSS_IPV6_TCP},
	{RTE_ETH_RSS_NONFRAG_IPV6_UDP, VENIC_RSS_IPV6_UDP},
};

static uint32_t types_of(uint64_t hf)
{
	uint32_t t = 0;
	for (unsigned int i = 0; i < RTE_DIM(type_map); i++)
		t |= (hf & type_map[i].hf) ? type_map[i].type : 0;
	return t;
}

static uint64_t hf_of(uint32_t t)
{
	uint64_t hf = 0;
	for (unsigned int i = 0; i < RTE_DIM(type_map); i++)
		hf |= (t & type_map[i].type) ? (type_map[i].hf & -type_map[i].hf) : 0; /* lowest bit */
	return hf;
}

/* Sends the adapter's RSS state to the daemon (only while attached). */
static int push(struct vena_adapter *ad)
{
	if (ad->removed || ad->wedged || !ad->dev)
		return 0;
	int rc = vena_dev_admin_data(ad->dev, VENIC_ADMIN_SET_RSS_KEY, ad->rss_types, 0, ad->rss_key, ad->rss_key_size,
				     NULL, VENA_ADMIN_TIMEOUT_MS);
	for (uint32_t first = 0; rc == 0 && first < ad->reta_size; first += 32)
		rc = vena_dev_admin_data(ad->dev, VENIC_ADMIN_SET_RETA, first, 32, ad->reta + first, 32, NULL,
					 VENA_ADMIN_TIMEOUT_MS);
	if (rc < 0)
		VENA_LOG(ERR, "vf %u: venicd refused the RSS configuration: %s", ad->vf, strerror(-rc));
	return rc;
}

int vena_rss_configure(struct rte_eth_dev *eth)
{
	struct vena_adapter *ad = eth->data->dev_private;
	const struct rte_eth_rss_conf *conf = &eth->data->dev_conf.rx_adv_conf.rss_conf;
	uint16_t nq = eth->data->nb_rx_queues ? eth->data->nb_rx_queues : 1;
	if (!(eth->data->dev_conf.rxmode.mq_mode & RTE_ETH_MQ_RX_RSS_FLAG)) {
		ad->rss_types = 0;
		return 0;
	}
	if (conf->rss_key && conf->rss_key_len != ad->rss_key_size) {
		VENA_LOG(ERR, "vf %u (%s): the RSS key must be %u bytes", ad->vf,
			 vena_personality_name(ad->personality), ad->rss_key_size);
		return -EINVAL;
	}
	memcpy(ad->rss_key, conf->rss_key ? conf->rss_key : default_key, ad->rss_key_size);
	ad->rss_types = types_of(conf->rss_hf);
	for (uint32_t i = 0; i < ad->reta_size; i++)
		ad->reta[i] = (uint8_t)(i % nq);
	return 0;
}

int vena_rss_apply(struct vena_adapter *ad)
{
	return push(ad);
}

int vena_rss_hash_update(struct rte_eth_dev *eth, struct rte_eth_rss_conf *conf)
{
	struct vena_adapter *ad = eth->data->dev_private;
	if (conf->rss_key && conf->rss_key_len != ad->rss_key_size)
		return -EINVAL;
	if (conf->rss_hf & ~vena_rss_offloads)
		return -ENOTSUP;
	if (conf->rss_key)
		memcpy(ad->rss_key, conf->rss_key, ad->rss_key_size);
	ad->rss_types = types_of(conf->rss_hf);
	return eth->data->dev_started ? push(ad) : 0;
}

int vena_rss_hash_conf_get(struct rte_eth_dev *eth, struct rte_eth_rss_conf *conf)
{
	struct vena_adapter *ad = eth->data->dev_private;
	if (conf->rss_key) {
		if (conf->rss_key_len < ad->rss_key_size)
			return -EINVAL;
		memcpy(conf->rss_key, ad->rss_key, ad->rss_key_size);
	}
	conf->rss_key_len = (uint8_t)ad->rss_key_size;
	conf->rss_hf = hf_of(ad->rss_types);
	return 0;
}

int vena_reta_update(struct rte_eth_dev *eth, struct rte_eth_rss_reta_entry64 *conf, uint16_t size)
{
	struct vena_adapter *ad = eth->data->dev_private;
	if (size != ad->reta_size) {
		VENA_LOG(ERR, "vf %u (%s): the RETA has %u entries, not %u", ad->vf,
			 vena_personality_name(ad->personality), ad->reta_size, size);
		return -EINVAL;
	}
	for (uint16_t i = 0; i < size; i++) {
		const struct rte_eth_rss_reta_entry64 *e = &conf[i / RTE_ETH_RETA_GROUP_SIZE];
		if (!(e->mask & (1ull << (i % RTE_ETH_RETA_GROUP_SIZE))))
			continue;
		uint16_t q = e->reta[i % RTE_ETH_RETA_GROUP_SIZE];
		if (q >= eth->data->nb_rx_queues)
			return -EINVAL;
		ad->reta[i] = (uint8_t)q;
	}
	return eth->data->dev_started ? push(ad) : 0;
}

int vena_reta_query(struct rte_eth_dev *eth, struct rte_eth_rss_reta_entry64 *conf, uint16_t size)
{
	struct vena_adapter *ad = eth->data->dev_private;
	if (size != ad->reta_size)
		return -EINVAL;
	for (uint16_t i = 0; i < size; i++) {
		struct rte_eth_rss_reta_entry64 *e = &conf[i / RTE_ETH_RETA_GROUP_SIZE];
		if (e->mask & (1ull << (i % RTE_ETH_RETA_GROUP_SIZE)))
			e->reta[i % RTE_ETH_RETA_GROUP_SIZE] = ad->reta[i];
	}
	return 0;
}
