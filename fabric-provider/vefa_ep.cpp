// SPDX-License-Identifier: MIT
//
// fi_endpoint: one device QP (SRD for FI_EP_RDM, UD for FI_EP_DGRAM) and
// its own device CQ, created with the endpoint so fi_getname works before
// fi_enable.  Binding, options, cancel, and the completion reporting every
// operation shares.
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include <rdma/fi_ext.h>

#include "vefa.h"

namespace vefa {

uint64_t iov_len(const struct iovec* iov, size_t count) {
  uint64_t n = 0;
  for (size_t i = 0; i < count; ++i) n += iov[i].iov_len;
  return n;
}

size_t copy_to_iov(const std::vector<struct iovec>& iov, uint64_t off, const void* src, size_t len) {
  const auto* s = static_cast<const uint8_t*>(src);
  size_t done = 0;
  for (const struct iovec& v : iov) {
    if (done == len) break;
    if (off >= v.iov_len) {
      off -= v.iov_len;
      continue;
    }
    size_t n = v.iov_len - off < len - done ? v.iov_len - off : len - done;
    memcpy(static_cast<uint8_t*>(v.iov_base) + off, s + done, n);
    done += n;
    off = 0;
  }
  return done;
}

size_t copy_from_iov(const std::vector<struct iovec>& iov, uint64_t off, void* dst, size_t len) {
  auto* d = static_cast<uint8_t*>(dst);
  size_t done = 0;
  for (const struct iovec& v : iov) {
    if (done == len) break;
    if (off >= v.iov_len) {
      off -= v.iov_len;
      continue;
    }
    size_t n = v.iov_len - off < len - done ? v.iov_len - off : len - done;
    memcpy(d + done, static_cast<const uint8_t*>(v.iov_base) + off, n);
    done += n;
    off = 0;
  }
  return done;
}

int status_to_fi(uint8_t status) {
  switch (status) {
    case VENIC_EFA_WC_SUCCESS:
      return 0;
    case VENIC_EFA_WC_BAD_WQE:
      return FI_EINVAL;
    case VENIC_EFA_WC_UNREACHABLE:
      return FI_EHOSTUNREACH;
    case VENIC_EFA_WC_REMOTE_ACCESS:
      return FI_EACCES;
    case VENIC_EFA_WC_LOCAL_PROT:
      return FI_EINVAL;
    case VENIC_EFA_WC_RECV_TOO_LONG:
      return FI_ETRUNC;
    case VENIC_EFA_WC_FLUSHED:
      return FI_ECANCELED;
    case VENIC_EFA_WC_REMOTE_ABORT:
      return FI_ECONNABORTED;
    case VENIC_EFA_WC_RNR_RETRY_EXC:
      return FI_ENORX;
    default:
      return FI_EIO;
  }
}

// ------------------------------------------------------------- helpers --

TxEntry* Ep::new_tx() {
  return txs.alloc();
}

RxEntry* Ep::new_rx() {
  return rxs.alloc();
}

Peer& Ep::peer_for(uint64_t key) {
  auto it = peers.find(key);
  if (it != peers.end()) return it->second;
  Peer& p = peers[key];
  p.tx_salt = peers_made++ * 0x9e3779b9u;  // 0 for the first
  p.ah = static_cast<uint16_t>(key >> 16);
  p.qpn = static_cast<uint16_t>(key & 0xffff);
  return p;
}

int Ep::resolve(fi_addr_t addr, const AvCore::Entry** out) {
  if (!av) return -FI_EOPBADSTATE;
  const AvCore::Entry* e = av->core.lookup(addr);
  if (!e) return -FI_EINVAL;
  *out = e;
  return 0;
}

Peer& Ep::tx_peer(const AvCore::Entry& e) {
  Peer& p = peer_for(e.key());
  p.qkey = e.name.qkey;
  // A new incarnation of the peer (same QP number, new conn_id) starts a
  // new sequence space.
  if (p.tx_conn != e.name.conn_id) {
    p.tx_conn = e.name.conn_id;
    p.tx_seq = 0;
  }
  return p;
}

fi_addr_t Ep::src_addr_of(uint64_t key) const {
  if (!av) return FI_ADDR_NOTAVAIL;
  auto a = av->core.reverse(key);
  return a ? *a : FI_ADDR_NOTAVAIL;
}

void Ep::count(Cntr* c, bool ok) {
  if (!c) return;
  if (ok)
    c->value++;
  else
    c->err++;
}

void Ep::report_tx(TxEntry& t) {
  Cntr* c = t.cntr_flag == FI_READ ? cntr_read : t.cntr_flag == FI_WRITE ? cntr_write : cntr_send;
  if (t.err) {
    // Errors are reported whether or not a completion was asked for.
    if (tx_cq) {
      fi_cq_err_entry e = {};
      e.op_context = t.context;
      e.flags = t.comp_flags;
      e.err = t.err;
      e.prov_errno = t.prov_errno;
      tx_cq->push_err(e);
    }
    count(c, false);
    return;
  }
  if (t.want_comp && tx_cq) tx_cq->push(Comp{t.context, t.comp_flags, 0, nullptr, 0, 0, FI_ADDR_NOTAVAIL});
  count(c, true);
}

static uint64_t rx_flags(const RxEntry& r) {
  return FI_RECV | (r.tagged ? FI_TAGGED : FI_MSG) | ((r.pkt_flags & kPktCqData) ? FI_REMOTE_CQ_DATA : 0);
}

void Ep::report_rx(RxEntry& r, size_t len, void* buf, uint64_t extra_flags) {
  if (r.want_comp && rx_cq)
    rx_cq->push(
        Comp{r.context, rx_flags(r) | extra_flags, len, buf, r.cq_data, r.tagged ? r.tag : 0, src_addr_of(r.peer)});
  count(cntr_recv, true);
}

void Ep::report_rx_err(RxEntry& r, int err, int prov_errno, size_t len, size_t olen, uint64_t extra_flags) {
  if (rx_cq) {
    fi_cq_err_entry e = {};
    e.op_context = r.context;
    e.flags = rx_flags(r) | extra_flags;
    e.len = len;
    e.buf = r.iov.empty() ? nullptr : r.iov[0].iov_base;
    e.data = r.cq_data;
    e.tag = r.tagged ? r.tag : 0;
    e.olen = olen;
    e.err = err;
    e.prov_errno = prov_errno;
    rx_cq->push_err(e);
  }
  count(cntr_recv, false);
}

// ------------------------------------------------------------- fid ops --

static void unlink(std::vector<Ep*>& v, Ep* e) {
  for (auto it = v.begin(); it != v.end(); ++it)
    if (*it == e) {
      v.erase(it);
      return;
    }
}

static int ep_close(struct fid* fid) {
  Ep* e = ep_of(fid);
  Domain* d = e->dom;
  {
    std::lock_guard<std::recursive_mutex> g(d->lock);
    // Work still outstanding completes as flushed (FI_ECANCELED), as a
    // verbs QP's does when it is destroyed.
    if (e->enabled && !e->dev_down) e->fail_all(FI_ECANCELED);
    for (Cq* cq : {e->tx_cq, e->rx_cq})
      if (cq) {
        unlink(cq->eps, e);
        cq->refs--;
      }
    for (Cntr* c : {e->cntr_send, e->cntr_recv, e->cntr_read, e->cntr_write, e->cntr_rread, e->cntr_rwrite})
      if (c) {
        unlink(c->eps, e);
        c->refs--;
      }
    if (e->av) {
      unlink(e->av->eps, e);
      e->av->refs--;
    }
    // Long-message sends hold registrations until their EOR.
    for (auto& [id, t] : e->txs) e->release_tx_regs(*t);
    for (auto& [id, r] : e->rxs)
      for (auto& h : r->held_regs) d->cache_release(h);
    if (e->have_qp) vefa_destroy_qp(d->ctx, e->qp);
    if (e->have_cq) vefa_destroy_cq(d->ctx, e->dev_cq);
    d->refs--;
  }
  delete e;
  return 0;
}

static void add_unique(std::vector<Ep*>& v, Ep* e) {
  for (Ep* x : v)
    if (x == e) return;
  v.push_back(e);
}

static int ep_bind(struct fid* fid, struct fid* bfid, uint64_t flags) {
  Ep* e = ep_of(fid);
  std::lock_guard<std::recursive_mutex> g(e->dom->lock);
  if (e->enabled) return -FI_EOPBADSTATE;
  switch (bfid->fclass) {
    case FI_CLASS_AV: {
      Av* av = reinterpret_cast<Av*>(bfid);
      if (av->dom != e->dom) return -FI_EINVAL;
      if (e->av) return -FI_EINVAL;
      e->av = av;
      av->refs++;
      av->eps.push_back(e);
      return 0;
    }
    case FI_CLASS_CQ: {
      Cq* cq = reinterpret_cast<Cq*>(bfid);
      if (cq->dom != e->dom) return -FI_EINVAL;
      if (!(flags & (FI_TRANSMIT | FI_RECV))) return -FI_EBADFLAGS;
      if ((flags & FI_TRANSMIT) && e->tx_cq) return -FI_EINVAL;
      if ((flags & FI_RECV) && e->rx_cq) return -FI_EINVAL;
      // One reference per direction bound, dropped per direction at close.
      if (flags & FI_TRANSMIT) {
        e->tx_cq = cq;
        e->tx_selective = flags & FI_SELECTIVE_COMPLETION;
        cq->refs++;
      }
      if (flags & FI_RECV) {
        e->rx_cq = cq;
        e->rx_selective = flags & FI_SELECTIVE_COMPLETION;
        cq->refs++;
      }
      add_unique(cq->eps, e);
      return 0;
    }
    case FI_CLASS_CNTR: {
      Cntr* c = reinterpret_cast<Cntr*>(bfid);
      if (c->dom != e->dom) return -FI_EINVAL;
      struct {
        uint64_t bit;
        Cntr** slot;
      } map[] = {{FI_SEND, &e->cntr_send},   {FI_RECV, &e->cntr_recv},         {FI_READ, &e->cntr_read},
                 {FI_WRITE, &e->cntr_write}, {FI_REMOTE_READ, &e->cntr_rread}, {FI_REMOTE_WRITE, &e->cntr_rwrite}};
      if (!(flags & (FI_SEND | FI_RECV | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE))) return -FI_EBADFLAGS;
      for (auto& m : map)
        if (flags & m.bit) {
          if (*m.slot) return -FI_EINVAL;
          *m.slot = c;
          c->refs++;
        }
      add_unique(c->eps, e);
      return 0;
    }
    case FI_CLASS_EQ:
      return 0;  // connectionless: no events to raise
    default:
      return -FI_EINVAL;
  }
}

static int ep_control(struct fid* fid, int command, void* arg) {
  Ep* e = ep_of(fid);
  std::lock_guard<std::recursive_mutex> g(e->dom->lock);
  switch (command) {
    case FI_ENABLE:
      if (!e->av) return -FI_ENOAV;
      e->enabled = true;
      return 0;
    case FI_GETOPSFLAG: {
      auto* f = static_cast<uint64_t*>(arg);
      if (!f) return -FI_EINVAL;
      if ((*f & FI_TRANSMIT) && (*f & FI_RECV)) return -FI_EINVAL;
      *f = (*f & FI_TRANSMIT) ? e->tx_op_flags : e->rx_op_flags;
      return 0;
    }
    case FI_SETOPSFLAG: {
      auto* f = static_cast<uint64_t*>(arg);
      if (!f) return -FI_EINVAL;
      if (*f & FI_TRANSMIT)
        e->tx_op_flags = *f & ~FI_TRANSMIT;
      else
        e->rx_op_flags = *f & ~FI_RECV;
      return 0;
    }
    default:
      return -FI_ENOSYS;
  }
}

static ssize_t ep_cancel(fid_t fid, void* context) {
  Ep* e = ep_of(fid);
  std::lock_guard<std::recursive_mutex> g(e->dom->lock);
  for (MatchQueues* q : {&e->tag_q, &e->msg_q}) {
    auto id = q->cancel(context);
    if (!id) continue;
    e->rx_posted--;
    auto it = e->rxs.find(*id);
    if (it == e->rxs.end()) return 0;
    RxEntry& r = *it->second;
    if (e->rx_cq) {
      fi_cq_err_entry ce = {};
      ce.op_context = r.context;
      ce.flags = FI_RECV | (r.tagged ? FI_TAGGED : FI_MSG) | ((r.op_flags & FI_MULTI_RECV) ? FI_MULTI_RECV : 0);
      ce.err = FI_ECANCELED;
      ce.buf = r.iov.empty() ? nullptr : r.iov[0].iov_base;
      e->rx_cq->push_err(ce);
    }
    // A multi-receive buffer with messages still landing lives on, retired.
    if (r.mr_children)
      r.mr_retired = true;
    else
      e->rxs.erase(it);
    return 0;
  }
  return -FI_ENOENT;
}

static int ep_getopt(fid_t fid, int level, int optname, void* optval, size_t* optlen) {
  Ep* e = ep_of(fid);
  if (level != FI_OPT_ENDPOINT) return -FI_ENOPROTOOPT;
  const bool rnr = optname == FI_OPT_EFA_RNR_RETRY && e->type == FI_EP_RDM;
  if (optname == FI_OPT_MIN_MULTI_RECV || rnr) {
    if (!optlen || *optlen < sizeof(size_t)) return -FI_ETOOSMALL;
    *static_cast<size_t*>(optval) = rnr ? e->rnr_retry : e->min_multi_recv;
    *optlen = sizeof(size_t);
    return 0;
  }
  return -FI_ENOPROTOOPT;
}

static int ep_setopt(fid_t fid, int level, int optname, const void* optval, size_t optlen) {
  Ep* e = ep_of(fid);
  if (level != FI_OPT_ENDPOINT) return -FI_ENOPROTOOPT;
  if (optname == FI_OPT_MIN_MULTI_RECV) {
    if (optlen != sizeof(size_t)) return -FI_EINVAL;
    std::lock_guard<std::recursive_mutex> g(e->dom->lock);
    e->min_multi_recv = *static_cast<const size_t*>(optval);
    return 0;
  }
  if (optname == FI_OPT_EFA_RNR_RETRY && e->type == FI_EP_RDM) {
    // As efa: a size_t, 0..7 (7: without limit), before fi_enable.
    if (optlen != sizeof(size_t) || !optval) return -FI_EINVAL;
    const size_t v = *static_cast<const size_t*>(optval);
    std::lock_guard<std::recursive_mutex> g(e->dom->lock);
    if (e->enabled || v > VENIC_EFA_RNR_RETRY_INFINITE) return -FI_EINVAL;
    e->rnr_retry = v;
    return e->wanted_rnr_retry() == e->dev_rnr_retry ? 0 : e->make_qp();
  }
  return -FI_ENOPROTOOPT;
}

static int ep_tx_ctx(struct fid_ep*, int, struct fi_tx_attr*, struct fid_ep**, void*) {
  return -FI_ENOSYS;
}
static int ep_rx_ctx(struct fid_ep*, int, struct fi_rx_attr*, struct fid_ep**, void*) {
  return -FI_ENOSYS;
}

static ssize_t ep_rx_size_left(struct fid_ep* fep) {
  Ep* e = ep_of(fep);
  std::lock_guard<std::recursive_mutex> g(e->dom->lock);
  return static_cast<ssize_t>(kRxDepth - (e->rx_posted < kRxDepth ? e->rx_posted : kRxDepth));
}

static ssize_t ep_tx_size_left(struct fid_ep* fep) {
  Ep* e = ep_of(fep);
  std::lock_guard<std::recursive_mutex> g(e->dom->lock);
  return static_cast<ssize_t>(kTxDepth - (e->txs.size() < kTxDepth ? e->txs.size() : kTxDepth));
}

static int cm_getname(fid_t fid, void* addr, size_t* addrlen) {
  Ep* e = ep_of(fid);
  EpName n = {};
  memcpy(n.gid, e->dom->dev.gid, kGidSize);
  n.qpn = e->qpn;
  n.qkey = e->qkey;
  n.conn_id = e->conn_id;
  size_t have = *addrlen;
  *addrlen = sizeof(n);
  if (have < sizeof(n)) return -FI_ETOOSMALL;
  memcpy(addr, &n, sizeof(n));
  return 0;
}

static int cm_setname(fid_t, void*, size_t) {
  return -FI_ENOSYS;
}
static int cm_getpeer(struct fid_ep*, void*, size_t*) {
  return -FI_ENOSYS;
}
static int cm_connect(struct fid_ep*, const void*, const void*, size_t) {
  return -FI_ENOSYS;
}
static int cm_listen(struct fid_pep*) {
  return -FI_ENOSYS;
}
static int cm_accept(struct fid_ep*, const void*, size_t) {
  return -FI_ENOSYS;
}
static int cm_reject(struct fid_pep*, fid_t, const void*, size_t) {
  return -FI_ENOSYS;
}
static int cm_shutdown(struct fid_ep*, uint64_t) {
  return -FI_ENOSYS;
}
static int cm_join(struct fid_ep*, const void*, uint64_t, struct fid_mc**, void*) {
  return -FI_ENOSYS;
}

static struct fi_ops g_ep_fi_ops = {
    sizeof(struct fi_ops), ep_close, ep_bind, ep_control, no_ops_open, nullptr, nullptr,
};
static struct fi_ops_ep g_ep_ops = {
    sizeof(struct fi_ops_ep), ep_cancel, ep_getopt, ep_setopt, ep_tx_ctx, ep_rx_ctx, ep_rx_size_left, ep_tx_size_left,
};
static struct fi_ops_cm g_cm_ops = {
    sizeof(struct fi_ops_cm),
    cm_setname,
    cm_getname,
    cm_getpeer,
    cm_connect,
    cm_listen,
    cm_accept,
    cm_reject,
    cm_shutdown,
    cm_join,
};

static uint32_t make_conn_id() {
  uint32_t v = 0;
  if (getrandom(&v, sizeof(v), 0) != sizeof(v)) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    v = static_cast<uint32_t>(ts.tv_nsec) ^ static_cast<uint32_t>(getpid() << 16);
  }
  return v ? v : 1;
}

uint8_t Ep::wanted_rnr_retry() const {
  if (type != FI_EP_RDM || !dom->rm_disabled) return VENIC_EFA_RNR_RETRY_INFINITE;
  return static_cast<uint8_t>(rnr_retry);
}

int Ep::make_qp() {
  char err[256] = "";
  if (have_qp) {
    vefa_destroy_qp(dom->ctx, qp);  // nothing was sent on it yet (before fi_enable)
    have_qp = false;
  }
  const uint8_t rnr = wanted_rnr_retry();
  int rc = vefa_create_qp_rnr(dom->ctx, type == FI_EP_RDM ? VENIC_EFA_QP_SRD : VENIC_EFA_QP_UD, dev_cq, dev_cq, 0, rnr,
                              &qp, &qpn, &qkey, err, sizeof(err));
  if (rc) {
    VEFA_WARN(FI_LOG_EP_CTRL, "vefa_create_qp: %s (%d)\n", err, rc);
    return -FI_ENOMEM;
  }
  have_qp = true;
  dev_rnr_retry = rnr;
  vefa_qp_view(dom->ctx, qp, &qv);
  mtu = qv.mtu;
  stage = StageSpace(qv.stage_bytes);
  // Every RQ slot is posted from the start and reposted as soon as its
  // payload is copied out: the device then never waits on us (SRD retries
  // while none is posted; UD would drop).
  for (uint32_t slot = 0; slot <= qv.rq_mask && vefa_rq_space(&qv) > 0; ++slot)
    vefa_rq_post(&qv, make_wr(WrKind::kRecv, slot), slot);
  return 0;
}

int ep_open(struct fid_domain* domain, struct fi_info* info, struct fid_ep** out, void* context) {
  Domain* d = reinterpret_cast<Domain*>(domain);
  if (!info || !info->ep_attr) return -FI_EINVAL;
  enum fi_ep_type type = info->ep_attr->type;
  if (type != FI_EP_RDM && type != FI_EP_DGRAM) return -FI_EINVAL;
  auto e = std::make_unique<Ep>();
  e->dom = d;
  e->type = type;
  e->caps = info->caps ? info->caps : (type == FI_EP_RDM ? rdm_caps() : dgram_caps());
  e->tx_op_flags = info->tx_attr ? info->tx_attr->op_flags : 0;
  e->rx_op_flags = info->rx_attr ? info->rx_attr->op_flags : 0;
  e->conn_id = make_conn_id();

  std::lock_guard<std::recursive_mutex> g(d->lock);
  char err[256] = "";
  int rc = vefa_create_cq(d->ctx, &e->dev_cq, err, sizeof(err));
  if (rc) {
    VEFA_WARN(FI_LOG_EP_CTRL, "vefa_create_cq: %s (%d)\n", err, rc);
    return -FI_ENOMEM;
  }
  e->have_cq = true;
  if ((rc = e->make_qp())) {
    vefa_destroy_cq(d->ctx, e->dev_cq);
    return rc;
  }
  vefa_cq_view(d->ctx, e->dev_cq, &e->cv);

  e->ep.fid.fclass = FI_CLASS_EP;
  e->ep.fid.context = context;
  e->ep.fid.ops = &g_ep_fi_ops;
  e->ep.ops = &g_ep_ops;
  e->ep.cm = &g_cm_ops;
  e->ep.msg = &g_msg_ops;
  e->ep.tagged = &g_tagged_ops;
  e->ep.rma = &g_rma_ops;
  e->ep.atomic = &g_atomic_ops;
  d->refs++;
  *out = &e.release()->ep;
  return 0;
}

}  // namespace vefa
