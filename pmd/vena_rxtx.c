/* SPDX-License-Identifier: MIT */
/*
 * net_vena queues and bursts.  Zero-copy when the mbufs live in memory shared
 * with the daemon (descriptors point at mbuf data); copy mode through the VF
 * region's buffer slots otherwise, chosen per RX queue by its mempool and per
 * TX segment by where the mbuf lives.
 */
#include <rte_malloc.h>

#include "vena_pmd.h"

/* ------------------------------------------------------------------ RX -- */

int vena_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket_id,
			const struct rte_eth_rxconf *conf, struct rte_mempool *mp)
{
	(void)conf;
	struct vena_adapter *ad = dev->data->dev_private;
	uint32_t ring = vena_dev_regs(ad->dev)->ring_size;
	if (nb_desc == 0 || nb_desc > ring) {
		VENA_LOG(ERR, "rx queue %u: %u descriptors (1-%u)", qid, nb_desc, ring);
		return -EINVAL;
	}
	uint32_t room = rte_pktmbuf_data_room_size(mp) - RTE_PKTMBUF_HEADROOM;
	uint32_t frame = dev->data->mtu + VENIC_L2_OVERHEAD;
	if (frame > room && !(dev->data->dev_conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER)) {
		VENA_LOG(ERR, "rx queue %u: %u-byte frames need scatter or mbufs with %u bytes of room", qid, frame,
			 frame);
		return -EINVAL;
	}
	vena_rx_queue_release(dev, qid);
	struct vena_rx_queue *rxq = rte_zmalloc_socket("vena_rxq", sizeof(*rxq), RTE_CACHE_LINE_SIZE, socket_id);
	if (!rxq)
		return -ENOMEM;
	rxq->sw_ring =
		rte_zmalloc_socket("vena_rxq_sw", sizeof(struct rte_mbuf *) * ring, RTE_CACHE_LINE_SIZE, socket_id);
	if (!rxq->sw_ring) {
		rte_free(rxq);
		return -ENOMEM;
	}
	rxq->ad = ad;
	rxq->mp = mp;
	rxq->nb_desc = nb_desc;
	rxq->queue_id = qid;
	rxq->port_id = dev->data->port_id;
	dev->data->rx_queues[qid] = rxq;
	return 0;
}

void vena_rx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	struct vena_rx_queue *rxq = dev->data->rx_queues[qid];
	if (!rxq)
		return;
	vena_rx_queue_stop(rxq, !rxq->ad->wedged);
	rte_free(rxq->sw_ring);
	rte_free(rxq);
	dev->data->rx_queues[qid] = NULL;
}

/* Posts mbufs (zero-copy) until nb_desc buffers are outstanding. */
static void rx_refill_zero_copy(struct vena_rx_queue *rxq)
{
	struct vena_rxq *q = &rxq->q;
	uint32_t want = rxq->nb_desc - (q->sq_prod - q->cq_cons);
	if (want == 0 || want > q->size)
		return;
	struct rte_mbuf *m[64];
	while (want > 0) {
		uint32_t n = want > 64 ? 64 : want;
		if (rte_pktmbuf_alloc_bulk(rxq->mp, m, n) != 0) {
			rxq->nombuf += n;
			break;
		}
		for (uint32_t i = 0; i < n; i++) {
			uint32_t slot = q->sq_prod & q->mask;
			uint64_t va = (uint64_t)(uintptr_t)m[i]->buf_addr + RTE_PKTMBUF_HEADROOM;
			uint32_t room = RTE_MIN((uint32_t)(m[i]->buf_len - RTE_PKTMBUF_HEADROOM), (uint32_t)UINT16_MAX);
			struct venic_desc *d = &q->desc[slot];
			uint16_t id;
			uint64_t off;
			if (!vena_translate(rxq->ad, &rxq->last_region, va, room, &id, &off)) {
				/* Cannot happen for a registered pool; keep the ring sane. */
				rte_pktmbuf_free_bulk(&m[i], n - i);
				want = 0;
				break;
			}
			d->addr = off;
			d->len = room;
			d->mem_id = id;
			d->flags = 0;
			rxq->sw_ring[slot] = m[i];
			q->sq_prod++;
		}
		want = want >= n ? want - n : 0;
	}
	vena_store_release(&q->sq->prod, q->sq_prod);
}

int vena_rx_queue_start(struct vena_rx_queue *rxq)
{
	struct vena_adapter *ad = rxq->ad;
	if (vena_rxq_init(ad->dev, rxq->queue_id, &rxq->q) < 0)
		return -EINVAL;
	rxq->zero_copy = vena_mempool_registered(ad, rxq->mp);
	if (rxq->zero_copy) {
		rx_refill_zero_copy(rxq);
	} else {
		/* Copy mode keeps every slot posted; nb_desc only bounds bursts. */
		vena_rxq_post_copy(&rxq->q);
	}
	VENA_LOG(INFO, "vf %u rx queue %u: %s", ad->vf, rxq->queue_id, rxq->zero_copy ? "zero-copy" : "copy mode");
	return 0;
}

void vena_rx_queue_stop(struct vena_rx_queue *rxq, bool release)
{
	struct vena_rxq *q = &rxq->q;
	if (rxq->zero_copy) {
		for (uint32_t i = q->cq_cons; i != q->sq_prod; i++) {
			if (release)
				rte_pktmbuf_free(rxq->sw_ring[i & q->mask]);
			rxq->sw_ring[i & q->mask] = NULL;
		}
	}
	q->sq_prod = q->cq_cons = 0;
}

static inline void rx_set_meta(struct rte_mbuf *m, const struct venic_cqe *c, uint16_t port)
{
	uint32_t pt = 0;
	switch (c->ptype & 0x0f) {
	case VENIC_PTYPE_L3_IPV4:
		pt = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4_EXT_UNKNOWN;
		break;
	case VENIC_PTYPE_L3_IPV6:
		pt = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV6_EXT_UNKNOWN;
		break;
	case VENIC_PTYPE_L3_ARP:
		pt = RTE_PTYPE_L2_ETHER_ARP;
		break;
	default:
		pt = RTE_PTYPE_L2_ETHER;
	}
	switch (c->ptype & 0xf0) {
	case VENIC_PTYPE_L4_TCP:
		pt |= RTE_PTYPE_L4_TCP;
		break;
	case VENIC_PTYPE_L4_UDP:
		pt |= RTE_PTYPE_L4_UDP;
		break;
	case VENIC_PTYPE_L4_ICMP:
		pt |= RTE_PTYPE_L4_ICMP;
		break;
	default:
		break;
	}
	m->packet_type = pt;
	m->port = port;
	m->ol_flags = 0;
	if (c->flags & VENIC_CQE_F_L3_CSUM_OK)
		m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	else if (c->flags & VENIC_CQE_F_L3_CSUM_BAD)
		m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_BAD;
	if (c->flags & VENIC_CQE_F_L4_CSUM_OK)
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	else if (c->flags & VENIC_CQE_F_L4_CSUM_BAD)
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
	if (c->flags & VENIC_CQE_F_RSS_HASH) {
		m->hash.rss = c->rss_hash;
		m->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
	}
}

/* Copies a frame out of copy-mode slots into a (possibly chained) mbuf. */
static struct rte_mbuf *rx_copy_frame(struct vena_rx_queue *rxq, uint32_t first, uint32_t nseg)
{
	struct vena_rxq *q = &rxq->q;
	struct rte_mbuf *head = NULL, *tail = NULL;
	for (uint32_t s = 0; s < nseg; s++) {
		uint32_t idx = (first + s) & q->mask;
		uint32_t len = q->cqe[idx].len > q->buf_size ? q->buf_size : q->cqe[idx].len;
		const uint8_t *src = q->bufs + (uint64_t)idx * q->buf_size;
		while (len > 0) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(rxq->mp);
			if (!m) {
				rxq->nombuf++;
				rte_pktmbuf_free(head);
				return NULL;
			}
			uint32_t room = rte_pktmbuf_tailroom(m);
			uint32_t n = len < room ? len : room;
			rte_memcpy(rte_pktmbuf_mtod(m, void *), src, n);
			m->data_len = (uint16_t)n;
			if (!head) {
				head = m;
				m->pkt_len = 0;
			} else {
				tail->next = m;
				head->nb_segs++;
			}
			head->pkt_len += n;
			tail = m;
			src += n;
			len -= n;
		}
	}
	return head;
}

uint16_t vena_recv_pkts(void *queue, struct rte_mbuf **pkts, uint16_t nb)
{
	struct vena_rx_queue *rxq = queue;
	struct vena_rxq *q = &rxq->q;
	uint32_t avail = vena_load_acquire(&q->cq->prod) - q->cq_cons;
	uint16_t got = 0;
	uint32_t i = 0;
	uint64_t bytes = 0;
	if (avail > q->size)
		avail = 0; /* only the daemon writes prod; never trust an impossible one */
	if (avail == 0) {
		vena_maybe_yield(&rxq->idle_polls, rxq->ad->idle_yield);
		return 0;
	}
	rxq->idle_polls = 0;
	while (got < nb && i < avail) {
		/* The daemon publishes whole frames: find this one's last entry. */
		uint32_t nseg = 1;
		while ((q->cqe[(q->cq_cons + i + nseg - 1) & q->mask].flags & VENIC_CQE_F_MORE) && i + nseg < avail)
			nseg++;
		const struct venic_cqe *first = &q->cqe[(q->cq_cons + i) & q->mask];
		struct rte_mbuf *m;
		if (rxq->zero_copy) {
			struct rte_mbuf *prev = NULL;
			m = NULL;
			for (uint32_t s = 0; s < nseg; s++) {
				uint32_t idx = (q->cq_cons + i + s) & q->mask;
				struct rte_mbuf *seg = rxq->sw_ring[idx];
				rxq->sw_ring[idx] = NULL;
				uint32_t room = (uint32_t)(seg->buf_len - RTE_PKTMBUF_HEADROOM);
				seg->data_off = RTE_PKTMBUF_HEADROOM;
				seg->data_len = (uint16_t)RTE_MIN(q->cqe[idx].len, room);
				seg->next = NULL;
				seg->nb_segs = 1;
				if (!m) {
					m = seg;
					m->pkt_len = 0;
				} else {
					prev->next = seg;
					m->nb_segs++;
				}
				m->pkt_len += seg->data_len;
				prev = seg;
			}
		} else {
			m = rx_copy_frame(rxq, q->cq_cons + i, nseg);
		}
		i += nseg;
		if (!m)
			continue;
		rx_set_meta(m, first, rxq->port_id);
		bytes += m->pkt_len;
		pkts[got++] = m;
	}
	if (i > 0) {
		q->cq_cons += i;
		vena_store_release(&q->cq->cons, q->cq_cons);
		if (rxq->zero_copy)
			rx_refill_zero_copy(rxq);
		else
			vena_rxq_post_copy(q);
	}
	rxq->pkts += got;
	rxq->bytes += bytes;
	return got;
}

/* ------------------------------------------------------------------ TX -- */

int vena_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket_id,
			const struct rte_eth_txconf *conf)
{
	(void)conf;
	struct vena_adapter *ad = dev->data->dev_private;
	uint32_t ring = vena_dev_regs(ad->dev)->ring_size;
	if (nb_desc == 0 || nb_desc > ring) {
		VENA_LOG(ERR, "tx queue %u: %u descriptors (1-%u)", qid, nb_desc, ring);
		return -EINVAL;
	}
	vena_tx_queue_release(dev, qid);
	struct vena_tx_queue *txq = rte_zmalloc_socket("vena_txq", sizeof(*txq), RTE_CACHE_LINE_SIZE, socket_id);
	if (!txq)
		return -ENOMEM;
	txq->sw_ring =
		rte_zmalloc_socket("vena_txq_sw", sizeof(struct rte_mbuf *) * ring, RTE_CACHE_LINE_SIZE, socket_id);
	if (!txq->sw_ring) {
		rte_free(txq);
		return -ENOMEM;
	}
	txq->ad = ad;
	txq->queue_id = qid;
	dev->data->tx_queues[qid] = txq;
	return 0;
}

void vena_tx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	struct vena_tx_queue *txq = dev->data->tx_queues[qid];
	if (!txq)
		return;
	vena_tx_queue_stop(txq, !txq->ad->wedged);
	rte_free(txq->sw_ring);
	rte_free(txq);
	dev->data->tx_queues[qid] = NULL;
}

int vena_tx_queue_start(struct vena_tx_queue *txq)
{
	if (vena_txq_init(txq->ad->dev, txq->queue_id, &txq->q) < 0)
		return -EINVAL;
	txq->clean = txq->q.prod;
	return 0;
}

/* Frees the mbufs of the entries the daemon has consumed. */
static inline void tx_reclaim(struct vena_tx_queue *txq)
{
	struct vena_txq *q = &txq->q;
	uint32_t cons = vena_load_acquire(&q->sq->cons);
	if (cons - txq->clean > q->size)
		return; /* the daemon never moves cons past prod; ignore garbage */
	q->cons = cons;
	while (txq->clean != cons) {
		uint32_t slot = txq->clean & q->mask;
		if (txq->sw_ring[slot]) {
			rte_pktmbuf_free_seg(txq->sw_ring[slot]);
			txq->sw_ring[slot] = NULL;
		}
		txq->clean++;
	}
}

void vena_tx_queue_stop(struct vena_tx_queue *txq, bool release)
{
	struct vena_txq *q = &txq->q;
	for (uint32_t i = txq->clean; i != q->prod; i++) {
		uint32_t slot = i & q->mask;
		if (txq->sw_ring[slot]) {
			if (release)
				rte_pktmbuf_free_seg(txq->sw_ring[slot]);
			txq->sw_ring[slot] = NULL;
		}
	}
	q->prod = q->cons = txq->clean = 0;
}

bool vena_tx_queue_drained(struct vena_tx_queue *txq)
{
	return vena_load_acquire(&txq->q.sq->cons) == txq->q.prod;
}

/* How one mbuf segment goes to the device: straight from shared memory
 * (zero-copy), or copied into copy-mode slots. */
struct seg_plan {
	struct rte_mbuf *m;
	uint64_t off;
	uint16_t mem_id;
	bool zero_copy;
};

/* Plans a packet once (the translation is not repeated while writing):
 * returns the descriptors it needs, or 0 when the device cannot take it. */
static inline uint32_t tx_plan(struct vena_tx_queue *txq, struct rte_mbuf *m, struct seg_plan *plan, uint32_t *nplan)
{
	uint32_t need = 0, n = 0;
	if (m->pkt_len == 0 || m->pkt_len > VENIC_FRAME_MAX)
		return 0;
	for (struct rte_mbuf *s = m; s; s = s->next) {
		if (s->data_len == 0)
			continue; /* empty segments carry nothing; the device rejects them */
		if (n == VENIC_MAX_SEGS)
			return 0;
		struct seg_plan *p = &plan[n++];
		p->m = s;
		p->zero_copy = vena_translate(txq->ad, &txq->last_region, rte_pktmbuf_mtod(s, uint64_t), s->data_len,
					      &p->mem_id, &p->off);
		need += p->zero_copy ? 1 : (s->data_len + txq->q.buf_size - 1) / txq->q.buf_size;
	}
	*nplan = n;
	return need > VENIC_MAX_SEGS ? 0 : need;
}

uint16_t vena_xmit_pkts(void *queue, struct rte_mbuf **pkts, uint16_t nb)
{
	struct vena_tx_queue *txq = queue;
	struct vena_txq *q = &txq->q;
	uint16_t sent = 0, dropped = 0;
	uint64_t bytes = 0;
	tx_reclaim(txq);
	uint32_t space = q->size - (q->prod - q->cons);
	struct seg_plan plan[VENIC_MAX_SEGS];
	for (; sent < nb; sent++) {
		struct rte_mbuf *m = pkts[sent];
		uint32_t nplan = 0;
		uint32_t need = tx_plan(txq, m, plan, &nplan);
		if (need == 0) {
			/* The device cannot take it: count it and let it go. */
			txq->errors++;
			dropped++;
			rte_pktmbuf_free(m);
			continue;
		}
		if (need > space) {
			if (sent == 0)
				vena_maybe_yield(&txq->full_polls, txq->ad->idle_yield);
			break;
		}
		txq->full_polls = 0;
		bool keep_any = false;
		uint32_t first = q->prod;
		for (uint32_t k = 0; k < nplan; k++) {
			struct rte_mbuf *seg = plan[k].m;
			if (plan[k].zero_copy) {
				uint32_t slot = q->prod & q->mask;
				struct venic_desc *d = &q->desc[slot];
				d->addr = plan[k].off;
				d->len = seg->data_len;
				d->mem_id = plan[k].mem_id;
				d->flags = VENIC_DESC_F_MORE;
				txq->sw_ring[slot] = seg; /* freed once the daemon consumed it */
				keep_any = true;
				q->prod++;
				continue;
			}
			const uint8_t *src = rte_pktmbuf_mtod(seg, const uint8_t *);
			uint32_t left = seg->data_len;
			do {
				uint32_t slot = q->prod & q->mask;
				uint32_t n = left < q->buf_size ? left : q->buf_size;
				rte_memcpy(q->bufs + (uint64_t)slot * q->buf_size, src, n);
				struct venic_desc *d = &q->desc[slot];
				d->addr = q->bufs_off + (uint64_t)slot * q->buf_size;
				d->len = n;
				d->mem_id = VENIC_MEM_REGION_BUFS;
				d->flags = VENIC_DESC_F_MORE;
				txq->sw_ring[slot] = NULL;
				src += n;
				left -= n;
				q->prod++;
			} while (left > 0);
		}
		q->desc[(q->prod - 1) & q->mask].flags = 0; /* last segment */
		space -= q->prod - first;
		bytes += m->pkt_len;
		if (!keep_any) {
			rte_pktmbuf_free(m);
		} else {
			/* Copied segments were not kept: free them now, keep the rest. */
			for (struct rte_mbuf *s = m, *next; s; s = next) {
				next = s->next;
				bool kept = false;
				for (uint32_t i = first; i != q->prod; i++)
					kept = kept || txq->sw_ring[i & q->mask] == s;
				if (!kept)
					rte_pktmbuf_free_seg(s);
			}
		}
	}
	if (sent > 0)
		vena_txq_flush(q);
	txq->pkts += sent - dropped;
	txq->bytes += bytes;
	return sent;
}
