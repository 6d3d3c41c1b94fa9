/* SPDX-License-Identifier: MIT */
/*
 * Zero-copy support: shares the application's fd-backed DPDK memory (hugepage
 * segments) with the daemon, so descriptors can point straight at mbufs.
 * Memory with no fd (--no-huge) is not shared and its queues use copy mode.
 */
#include <rte_eal_memconfig.h>
#include <rte_memory.h>

#include "vena_pmd.h"

struct collect_ctx {
	struct vena_mem_region found[VENA_MAX_REGIONS];
	unsigned int n;
	bool overflow;
};

/* Adjacent segments of one file merge into one region. */
static int collect_seg(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	struct collect_ctx *c = arg;
	if (msl->external)
		return 0;
	int fd = rte_memseg_get_fd_thread_unsafe(ms);
	if (fd < 0)
		return 0;
	size_t off = 0;
	if (rte_memseg_get_fd_offset_thread_unsafe(ms, &off) < 0)
		return 0;
	if (c->n > 0) {
		struct vena_mem_region *last = &c->found[c->n - 1];
		if (last->fd == fd && last->va + last->len == (uint64_t)ms->addr_64 &&
		    last->offset + last->len == off) {
			last->len += ms->len;
			return 0;
		}
	}
	if (c->n == VENA_MAX_REGIONS) {
		c->overflow = true;
		return 0;
	}
	c->found[c->n++] = (struct vena_mem_region){.fd = fd, .offset = off, .va = ms->addr_64, .len = ms->len};
	return 0;
}

int vena_register_app_memory(struct vena_adapter *ad)
{
	struct collect_ctx c = {.n = 0};
	rte_mcfg_mem_read_lock();
	rte_memseg_walk_thread_unsafe(collect_seg, &c);
	/* Register what the daemon has not seen yet; fds stay valid while we
	 * hold the lock, and the daemon maps them before answering. */
	struct vena_mem_region fresh[VENA_MAX_REGIONS];
	unsigned int n_fresh = 0;
	for (unsigned int i = 0; i < c.n; i++) {
		bool known = false;
		for (unsigned int j = 0; j < ad->n_regions; j++)
			known = known || (ad->regions[j].va <= c.found[i].va &&
					  c.found[i].va + c.found[i].len <= ad->regions[j].va + ad->regions[j].len);
		if (!known && ad->n_regions + n_fresh < VENA_MAX_REGIONS)
			fresh[n_fresh++] = c.found[i];
	}
	int rc = 0;
	if (n_fresh > 0) {
		uint16_t ids[VENA_MAX_REGIONS];
		char err[256];
		rc = vena_dev_register_memory(ad->dev, fresh, n_fresh, ids, err, sizeof(err));
		if (rc < 0) {
			VENA_LOG(WARNING, "vf %u: cannot share memory with venicd (%s); copy mode", ad->vf, err);
		} else {
			for (unsigned int i = 0; i < n_fresh; i++)
				ad->regions[ad->n_regions++] =
					(struct vena_region){.va = fresh[i].va, .len = fresh[i].len, .mem_id = ids[i]};
		}
	}
	rte_mcfg_mem_read_unlock();
	if (c.overflow)
		VENA_LOG(INFO,
			 "vf %u: more than %u memory segments; some queues use copy mode (try --single-file-segments)",
			 ad->vf, VENA_MAX_REGIONS);
	return rc;
}

struct pool_check {
	struct vena_adapter *ad;
	bool all_covered;
};

static void check_chunk(struct rte_mempool *mp, void *opaque, struct rte_mempool_memhdr *memhdr, unsigned int idx)
{
	(void)mp;
	(void)idx;
	struct pool_check *pc = opaque;
	uint32_t cache = 0;
	uint16_t id;
	uint64_t off;
	if (memhdr->len > UINT32_MAX ||
	    !vena_translate(pc->ad, &cache, (uint64_t)(uintptr_t)memhdr->addr, (uint32_t)memhdr->len, &id, &off))
		pc->all_covered = false;
}

bool vena_mempool_registered(struct vena_adapter *ad, struct rte_mempool *mp)
{
	struct pool_check pc = {.ad = ad, .all_covered = ad->n_regions > 0};
	if (pc.all_covered)
		rte_mempool_mem_iter(mp, check_chunk, &pc);
	return pc.all_covered;
}
