// SPDX-License-Identifier: MIT
//
// fi_fabric: the "venic" fabric, a holder for domains and EQs.
#include <cstring>

#include "vefa.h"

namespace vefa {

int no_bind(struct fid*, struct fid*, uint64_t) {
  return -FI_ENOSYS;
}
int no_control(struct fid*, int, void*) {
  return -FI_ENOSYS;
}
int no_ops_open(struct fid*, const char*, uint64_t, void**, void*) {
  return -FI_ENOSYS;
}

static int fabric_close(struct fid* fid) {
  Fabric* f = reinterpret_cast<Fabric*>(fid);
  if (f->refs) return -FI_EBUSY;
  delete f;
  return 0;
}

static int fabric_passive_ep(struct fid_fabric*, struct fi_info*, struct fid_pep**, void*) {
  return -FI_ENOSYS;
}
// A wait may go ahead unless a CQ (or a member of a wait set) has entries
// ready (Cq::trywait arms a wait fd's wake-up).  Counters have no wait fd.
static int fabric_trywait(struct fid_fabric*, struct fid** fids, int count) {
  for (int i = 0; i < count; ++i) {
    if (fids[i]->fclass == FI_CLASS_WAIT) {
      int rc = wait_trywait(reinterpret_cast<WaitSet*>(fids[i]));
      if (rc) return rc;
      continue;
    }
    if (fids[i]->fclass != FI_CLASS_CQ) continue;
    Cq* cq = reinterpret_cast<Cq*>(fids[i]);
    std::lock_guard<std::recursive_mutex> g(cq->dom->lock);
    int rc = cq->trywait();
    if (rc) return rc;
  }
  return 0;
}
static int fabric_domain2(struct fid_fabric* fabric, struct fi_info* info, struct fid_domain** dom, uint64_t flags,
                          void* context) {
  if (flags) return -FI_EINVAL;
  return domain_open(fabric, info, dom, context);
}

static struct fi_ops g_fabric_fi_ops = {
    sizeof(struct fi_ops), fabric_close, no_bind, no_control, no_ops_open, nullptr, nullptr,
};

static struct fi_ops_fabric g_fabric_ops = {
    sizeof(struct fi_ops_fabric), domain_open, fabric_passive_ep, eq_open, wait_open, fabric_trywait, fabric_domain2,
};

int fabric_open(struct fi_fabric_attr* attr, struct fid_fabric** fabric, void* context) {
  if (attr && attr->name && strcmp(attr->name, fabric_name()) != 0) return -FI_ENODATA;
  auto* f = new (std::nothrow) Fabric;
  if (!f) return -FI_ENOMEM;
  f->fab.fid.fclass = FI_CLASS_FABRIC;
  f->fab.fid.context = context;
  f->fab.fid.ops = &g_fabric_fi_ops;
  f->fab.ops = &g_fabric_ops;
  f->fab.api_version = attr ? attr->api_version : FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION);
  f->api_version = f->fab.api_version;
  *fabric = &f->fab;
  return 0;
}

}  // namespace vefa
