// SPDX-License-Identifier: MIT
//
// fi_av: endpoint names (EpName) to device address handles.  Inserting a
// name creates its address handle on the device (vefa_create_ah: a control
// round trip, policy-checked by the daemon); fi_addr_t values are indices.
#include <cstdio>
#include <cstring>

#include "vefa.h"

namespace vefa {

static Av* av_of(struct fid_av* a) {
  return reinterpret_cast<Av*>(a);
}

static int av_insert(struct fid_av* fav, const void* addr, size_t count, fi_addr_t* fi_addr, uint64_t flags,
                     void* context) {
  (void)context;
  Av* av = av_of(fav);
  if (flags & ~(FI_MORE | FI_SYNC_ERR)) return -FI_EBADFLAGS;
  std::lock_guard<std::recursive_mutex> g(av->dom->lock);
  int ok = 0;
  const auto* names = static_cast<const EpName*>(addr);
  for (size_t i = 0; i < count; ++i) {
    uint16_t ah = 0;
    char err[128] = "";
    int rc = vefa_create_ah(av->dom->ctx, names[i].gid, &ah, err, sizeof(err));
    if (rc) {
      VEFA_WARN(FI_LOG_AV, "vefa_create_ah: %s (%d)\n", err, rc);
      if (fi_addr) fi_addr[i] = FI_ADDR_NOTAVAIL;
      if ((flags & FI_SYNC_ERR) && context)
        static_cast<int*>(context)[i] = rc == -EHOSTUNREACH ? FI_EHOSTUNREACH : FI_EINVAL;
      continue;
    }
    uint64_t a = av->core.insert(names[i], ah);
    if (fi_addr) fi_addr[i] = a;
    if ((flags & FI_SYNC_ERR) && context) static_cast<int*>(context)[i] = 0;
    ++ok;
  }
  return ok;
}

static int av_insertsvc(struct fid_av*, const char*, const char*, fi_addr_t*, uint64_t, void*) {
  return -FI_ENOSYS;
}
static int av_insertsym(struct fid_av*, const char*, size_t, const char*, size_t, fi_addr_t*, uint64_t, void*) {
  return -FI_ENOSYS;
}

static int av_remove(struct fid_av* fav, fi_addr_t* fi_addr, size_t count, uint64_t flags) {
  if (flags) return -FI_EBADFLAGS;
  Av* av = av_of(fav);
  std::lock_guard<std::recursive_mutex> g(av->dom->lock);
  int rc = 0;
  for (size_t i = 0; i < count; ++i) {
    const AvCore::Entry* e = av->core.lookup(fi_addr[i]);
    uint64_t key = e ? e->key() : 0;
    if (!av->core.remove(fi_addr[i])) {
      rc = -FI_EINVAL;
      continue;
    }
    // The last entry for that peer: the endpoints forget it (their per-peer
    // state would otherwise grow with every peer ever inserted).
    if (!av->core.reverse(key))
      for (Ep* ep : av->eps) ep->forget_peer(key);
  }
  return rc;
}

static int av_lookup(struct fid_av* fav, fi_addr_t fi_addr, void* addr, size_t* addrlen) {
  Av* av = av_of(fav);
  std::lock_guard<std::recursive_mutex> g(av->dom->lock);
  const AvCore::Entry* e = av->core.lookup(fi_addr);
  if (!e) return -FI_EINVAL;
  size_t n = *addrlen < sizeof(EpName) ? *addrlen : sizeof(EpName);
  memcpy(addr, &e->name, n);
  *addrlen = sizeof(EpName);
  return 0;
}

static const char* av_straddr(struct fid_av*, const void* addr, char* buf, size_t* len) {
  const auto* n = static_cast<const EpName*>(addr);
  char tmp[128];
  int off = 0;
  for (size_t i = 0; i < kGidSize; ++i)
    off += snprintf(tmp + off, sizeof(tmp) - off, i % 2 || !i ? "%02x" : ":%02x", n->gid[i]);
  snprintf(tmp + off, sizeof(tmp) - off, " qpn:%u qkey:%u conn:%u", n->qpn, n->qkey, n->conn_id);
  size_t need = strlen(tmp) + 1;
  if (buf && *len) {
    size_t c = need < *len ? need : *len;
    memcpy(buf, tmp, c);
    buf[c - 1] = '\0';
  }
  *len = need;
  return buf;
}

static int av_set(struct fid_av*, struct fi_av_set_attr*, struct fid_av_set**, void*) {
  return -FI_ENOSYS;
}

static int av_close(struct fid* fid) {
  Av* av = reinterpret_cast<Av*>(fid);
  Domain* d = av->dom;
  {
    std::lock_guard<std::recursive_mutex> g(d->lock);
    if (av->refs) return -FI_EBUSY;
    d->refs--;
  }
  delete av;
  return 0;
}

static struct fi_ops g_av_fi_ops = {
    sizeof(struct fi_ops), av_close, no_bind, no_control, no_ops_open, nullptr, nullptr,
};
static struct fi_ops_av g_av_ops = {
    sizeof(struct fi_ops_av), av_insert, av_insertsvc, av_insertsym, av_remove, av_lookup, av_straddr, av_set,
};

int av_open(struct fid_domain* domain, struct fi_av_attr* attr, struct fid_av** out, void* context) {
  Domain* d = reinterpret_cast<Domain*>(domain);
  if (!attr) return -FI_EINVAL;
  if (attr->flags & ~(FI_EVENT | FI_SYMMETRIC)) return -FI_EBADFLAGS;
  if (attr->flags & FI_EVENT) return -FI_ENOSYS;  // no asynchronous inserts
  if (attr->name) return -FI_ENOSYS;              // no shared AVs
  auto av = std::make_unique<Av>();
  av->dom = d;
  av->type = attr->type == FI_AV_UNSPEC ? FI_AV_TABLE : attr->type;
  if (av->type != FI_AV_MAP && av->type != FI_AV_TABLE) return -FI_EINVAL;
  attr->type = av->type;
  av->av.fid.fclass = FI_CLASS_AV;
  av->av.fid.context = context;
  av->av.fid.ops = &g_av_fi_ops;
  av->av.ops = &g_av_ops;
  std::lock_guard<std::recursive_mutex> g(d->lock);
  d->refs++;
  *out = &av.release()->av;
  return 0;
}

}  // namespace vefa
