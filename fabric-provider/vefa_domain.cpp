// SPDX-License-Identifier: MIT
//
// fi_domain: one device context (vefa_open_default) per domain, the lock
// that serializes everything under it, and the registration cache.
#include <cstring>

#include "vefa.h"

namespace vefa {

// Registrations the cache may keep before it evicts idle ones; the device
// allows max_mr per context and user MRs need room too.
static size_t cache_limit(const Domain& d) {
  return d.dev.max_mr > 64 ? d.dev.max_mr / 2 : 32;
}

int Domain::cache_reg(const void* va, size_t len, uint32_t access, bool hold, uint32_t* lkey, uint32_t* rkey) {
  MrCacheKey k{reinterpret_cast<uint64_t>(va), static_cast<uint64_t>(len), access};
  auto it = mr_cache.find(k);
  if (it == mr_cache.end()) {
    if (mr_cache.size() >= cache_limit(*this)) {
      // Evict the least recently used idle entry.
      auto victim = mr_cache.end();
      for (auto i = mr_cache.begin(); i != mr_cache.end(); ++i)
        if (i->second.refs == 0 && (victim == mr_cache.end() || i->second.stamp < victim->second.stamp)) victim = i;
      if (victim != mr_cache.end()) {
        vefa_dereg_mr(ctx, victim->second.lkey);
        regs.erase(victim->second.rkey);
        mr_cache.erase(victim);
      }
    }
    MrCacheEntry e;
    char err[128] = "";
    // Only the rights this use needs (RDMA-read target: local write;
    // RDMA-write source: none), and private: the heap may reuse the address
    // for other memory while the entry lives, so the device only ever
    // reaches it through the staging area.
    int rc = vefa_reg_mr(ctx, va, len, access | VEFA_REG_PRIVATE, &e.lkey, &e.rkey, err, sizeof(err));
    if (rc) {
      VEFA_WARN(FI_LOG_MR, "vefa_reg_mr(%p, %zu): %s (%d)\n", va, len, err, rc);
      return rc == -ENOMEM || rc == -ENOSPC ? -FI_ENOMEM : -FI_EIO;
    }
    // Local-only: atomics target user MRs, so these are not in `regs`.
    it = mr_cache.emplace(k, e).first;
  }
  it->second.stamp = ++mr_stamp;
  if (hold) ++it->second.refs;
  *lkey = it->second.lkey;
  if (rkey) *rkey = it->second.rkey;
  return 0;
}

void Domain::cache_release(const void* va, size_t len, uint32_t access) {
  auto it = mr_cache.find(MrCacheKey{reinterpret_cast<uint64_t>(va), static_cast<uint64_t>(len), access});
  if (it != mr_cache.end() && it->second.refs > 0) --it->second.refs;
}

static int domain_close(struct fid* fid) {
  Domain* d = reinterpret_cast<Domain*>(fid);
  if (d->refs) return -FI_EBUSY;
  for (auto& [k, e] : d->mr_cache) vefa_dereg_mr(d->ctx, e.lkey);
  d->mr_cache.clear();
  if (d->ctx) vefa_close(d->ctx);
  d->fabric->refs--;
  delete d;
  return 0;
}

static int dom_scalable_ep(struct fid_domain*, struct fi_info*, struct fid_ep**, void*) {
  return -FI_ENOSYS;
}
static int dom_stx_ctx(struct fid_domain*, struct fi_tx_attr*, struct fid_stx**, void*) {
  return -FI_ENOSYS;
}
static int dom_srx_ctx(struct fid_domain*, struct fi_rx_attr*, struct fid_ep**, void*) {
  return -FI_ENOSYS;
}
static int dom_query_collective(struct fid_domain*, enum fi_collective_op, struct fi_collective_attr*, uint64_t) {
  return -FI_ENOSYS;
}
static int dom_endpoint2(struct fid_domain* domain, struct fi_info* info, struct fid_ep** ep, uint64_t flags,
                         void* context) {
  if (flags) return -FI_EINVAL;
  return ep_open(domain, info, ep, context);
}

static struct fi_ops g_domain_fi_ops = {
    sizeof(struct fi_ops), domain_close, no_bind, no_control, no_ops_open, nullptr, nullptr,
};

static struct fi_ops_domain g_domain_ops = {
    sizeof(struct fi_ops_domain),
    av_open,
    cq_open,
    ep_open,
    dom_scalable_ep,
    cntr_open,
    poll_open,
    dom_stx_ctx,
    dom_srx_ctx,
    query_atomic,
    dom_query_collective,
    dom_endpoint2,
};

int domain_open(struct fid_fabric* fabric, struct fi_info* info, struct fid_domain** dom, void* context) {
  Fabric* f = reinterpret_cast<Fabric*>(fabric);
  DevInfo dev;
  int rc = probe_device(&dev);
  if (rc) return rc;
  enum fi_ep_type type = info && info->ep_attr && info->ep_attr->type == FI_EP_DGRAM ? FI_EP_DGRAM : FI_EP_RDM;
  if (info && info->domain_attr && info->domain_attr->name && domain_name(dev.name, type) != info->domain_attr->name)
    return -FI_EINVAL;
  auto d = std::make_unique<Domain>();
  char err[256] = "";
  rc = vefa_open_default(&d->ctx, err, sizeof(err));
  if (rc) {
    VEFA_WARN(FI_LOG_DOMAIN, "vefa_open_default: %s (%d)\n", err, rc);
    return -FI_ENODEV;
  }
  d->fabric = f;
  d->dev = dev;
  d->api_version = f->api_version;
  if (info && info->ep_attr) d->ep_type = info->ep_attr->type == FI_EP_DGRAM ? FI_EP_DGRAM : FI_EP_RDM;
  d->rm_disabled = info && info->domain_attr && info->domain_attr->resource_mgmt == FI_RM_DISABLED;
  d->dom.fid.fclass = FI_CLASS_DOMAIN;
  d->dom.fid.context = context;
  d->dom.fid.ops = &g_domain_fi_ops;
  d->dom.ops = &g_domain_ops;
  d->dom.mr = &g_mr_ops;
  f->refs++;
  *dom = &d.release()->dom;
  return 0;
}

}  // namespace vefa
