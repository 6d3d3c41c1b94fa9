// SPDX-License-Identifier: MIT
//
// fi_mr_reg: user registrations are device registrations (vefa_reg_mr), with
// the device's keys (FI_MR_PROV_KEY) and virtual addresses (FI_MR_VIRT_ADDR).
// A buffer in fd-backed shared memory becomes a memory object the device
// reaches directly; private memory is assisted (see README).
#include "vefa.h"

namespace vefa {

static int mr_close(struct fid* fid) {
  Mr* m = reinterpret_cast<Mr*>(fid);
  Domain* d = m->dom;
  {
    std::lock_guard<std::recursive_mutex> g(d->lock);
    vefa_dereg_mr(d->ctx, m->lkey);
    d->regs.erase(m->rkey);
    d->refs--;
  }
  delete m;
  return 0;
}

static int mr_bind(struct fid*, struct fid*, uint64_t) {
  return -FI_ENOSYS;
}
// FI_MR_ENABLE-style controls have nothing to do: a registration is live at once.
static int mr_control(struct fid*, int command, void*) {
  return command == FI_ENABLE ? 0 : -FI_ENOSYS;
}

static struct fi_ops g_mr_fi_ops = {
    sizeof(struct fi_ops), mr_close, mr_bind, mr_control, no_ops_open, nullptr, nullptr,
};

static int mr_regattr(struct fid* fid, const struct fi_mr_attr* attr, uint64_t flags, struct fid_mr** out) {
  if (fid->fclass != FI_CLASS_DOMAIN) return -FI_EINVAL;
  Domain* d = reinterpret_cast<Domain*>(fid);
  if (!attr || attr->iov_count != 1 || !attr->mr_iov) return -FI_EINVAL;
  if (flags & ~(FI_RMA_EVENT)) return -FI_EBADFLAGS;
  // iface exists from API 1.10 on; only system memory is reachable.
  if (d->api_version >= FI_VERSION(1, 10) && attr->iface != FI_HMEM_SYSTEM) return -FI_ENOSYS;
  const struct iovec& iov = attr->mr_iov[0];
  uint32_t access = 0;
  uint64_t a = attr->access;
  // Access 0 means "everything" for older applications.  Local write only
  // where something lands in the buffer: a send-only buffer may be read-only.
  if (!a || (a & (FI_RECV | FI_READ | FI_REMOTE_WRITE))) access |= VENIC_EFA_ACCESS_LOCAL_WRITE;
  if (!a || (a & FI_REMOTE_READ)) access |= VENIC_EFA_ACCESS_REMOTE_READ;
  if (!a || (a & FI_REMOTE_WRITE)) access |= VENIC_EFA_ACCESS_REMOTE_WRITE;
  auto m = std::make_unique<Mr>();
  char err[128] = "";
  std::lock_guard<std::recursive_mutex> g(d->lock);
  int rc = vefa_reg_mr(d->ctx, iov.iov_base, iov.iov_len, access, &m->lkey, &m->rkey, err, sizeof(err));
  if (rc) {
    VEFA_WARN(FI_LOG_MR, "vefa_reg_mr(%p, %zu): %s (%d)\n", iov.iov_base, iov.iov_len, err, rc);
    // As verbs: EFAULT for memory that is not mapped, or not writable when
    // a write is granted.
    if (rc == -EFAULT) return -FI_EFAULT;
    if (rc == -EACCES) return -FI_EACCES;
    return rc == -ENOMEM || rc == -ENOSPC ? -FI_ENOMEM : -FI_EIO;
  }
  m->dom = d;
  m->va = reinterpret_cast<uint64_t>(iov.iov_base);
  m->len = iov.iov_len;
  m->mr.fid.fclass = FI_CLASS_MR;
  m->mr.fid.context = attr->context;
  m->mr.fid.ops = &g_mr_fi_ops;
  m->mr.mem_desc = m.get();
  m->mr.key = m->rkey;
  d->regs[m->rkey] = Domain::Reg{m->va, m->len, (!a ? (FI_REMOTE_READ | FI_REMOTE_WRITE) : a)};
  d->refs++;
  *out = &m.release()->mr;
  return 0;
}

static int mr_regv(struct fid* fid, const struct iovec* iov, size_t count, uint64_t access, uint64_t offset,
                   uint64_t requested_key, uint64_t flags, struct fid_mr** mr, void* context) {
  struct fi_mr_attr attr = {};
  attr.mr_iov = iov;
  attr.iov_count = count;
  attr.access = access;
  attr.offset = offset;
  attr.requested_key = requested_key;
  attr.context = context;
  attr.iface = FI_HMEM_SYSTEM;
  return mr_regattr(fid, &attr, flags, mr);
}

static int mr_reg(struct fid* fid, const void* buf, size_t len, uint64_t access, uint64_t offset,
                  uint64_t requested_key, uint64_t flags, struct fid_mr** mr, void* context) {
  struct iovec iov = {const_cast<void*>(buf), len};
  return mr_regv(fid, &iov, 1, access, offset, requested_key, flags, mr, context);
}

struct fi_ops_mr g_mr_ops = {sizeof(struct fi_ops_mr), mr_reg, mr_regv, mr_regattr};

}  // namespace vefa
