// SPDX-License-Identifier: MIT
//
// FI_MSG: fi_send/fi_recv and friends, and the send/receive paths the
// tagged interface shares.  A send picks its protocol by size (vefa_proto.h):
// eager (one packet), medium (segments), or RTS + RDMA read (long).
#include <cstring>

#include "vefa.h"

namespace vefa {

ssize_t Ep::send_common(const struct iovec* iov, size_t count, fi_addr_t dest, uint64_t tag, uint64_t data,
                        uint64_t flags, void* context, bool tagged, bool api_inject) {
  std::lock_guard<std::recursive_mutex> g(dom->lock);
  if (!enabled) return -FI_EOPBADSTATE;
  if (count > kIovLimit || (count && !iov)) return -FI_EINVAL;
  uint64_t total = iov_len(iov, count);
  const AvCore::Entry* e = nullptr;
  int rc = resolve(dest, &e);
  if (rc) return rc;
  uint64_t max = type == FI_EP_DGRAM ? eager_max(mtu) : dom->dev.max_rdma_size;
  if (total > max) return -FI_EMSGSIZE;
  bool inject = api_inject || (flags & FI_INJECT);
  if (inject && total > kInjectSize) return -FI_EMSGSIZE;
  if (tx_full()) {
    progress();
    if (tx_full()) return -FI_EAGAIN;
  }
  Peer& p = tx_peer(*e);
  TxEntry* t = new_tx();
  t->kind = TxKind::kMsg;
  t->conn = conn_id ^ p.tx_salt;
  t->context = context;
  t->comp_flags = FI_SEND | (tagged ? FI_TAGGED : FI_MSG);
  t->cntr_flag = FI_SEND;
  t->want_comp = !api_inject && (!tx_selective || (flags & FI_COMPLETION));
  t->ah = e->ah;
  t->qpn = e->name.qpn;
  t->qkey = e->name.qkey;
  t->pkt_flags = (tagged ? kPktTagged : 0) | ((flags & FI_REMOTE_CQ_DATA) ? kPktCqData : 0);
  t->tag = tagged ? tag : 0;
  t->cq_data = (flags & FI_REMOTE_CQ_DATA) ? data : 0;
  t->total = total;
  t->seq = type == FI_EP_RDM ? p.tx_seq++ : 0;
  t->proto = total <= eager_max(mtu) ? PktType::kEager : total <= kMediumMax ? PktType::kMedium : PktType::kRts;
  t->iov.assign(iov, iov + count);
  // Inject: the caller may reuse its buffer at once.  Long messages are
  // read from one registered region, so a gather list is flattened first.
  if (inject || (t->proto == PktType::kRts && count > 1)) {
    t->owned.resize(total);
    copy_from_iov(t->iov, 0, t->owned.data(), total);
  }
  if (t->proto == PktType::kRts) {
    // The receiver RDMA-reads the source: remote read is all it needs, and
    // only while this send lasts (deregistered when it completes), so the
    // buffer is never readable by a peer afterwards.
    const void* src = t->owned.empty() ? iov[0].iov_base : t->owned.data();
    char err[128] = "";
    rc = vefa_reg_mr(dom->ctx, src, total, VENIC_EFA_ACCESS_REMOTE_READ, &t->own_lkey, &t->rts_rkey, err, sizeof(err));
    if (rc) {
      VEFA_WARN(FI_LOG_MR, "vefa_reg_mr(%p, %lu): %s (%d)\n", src, static_cast<unsigned long>(total), err, rc);
      rc = rc == -ENOMEM || rc == -ENOSPC ? -FI_ENOMEM : -FI_EIO;
    }
    if (rc) {
      p.tx_seq--;  // the message never existed
      txs.erase(t->id);
      return rc;
    }
    t->cache_held = false;
    t->own_reg = true;
    t->cache_va = src;
    t->cache_len = total;
  }
  tx_queue.push_back(t->id);
  flush();
  return 0;
}

ssize_t Ep::recv_common(const struct iovec* iov, size_t count, fi_addr_t src, uint64_t tag, uint64_t ignore,
                        uint64_t flags, void* context, bool tagged) {
  std::lock_guard<std::recursive_mutex> g(dom->lock);
  if (!enabled) return -FI_EOPBADSTATE;
  if (count > kIovLimit || (count && !iov)) return -FI_EINVAL;
  if (rx_full()) {
    progress();
    if (rx_full()) return -FI_EAGAIN;
  }
  uint64_t src_key = kAnySrc;
  // Without FI_DIRECTED_RECV the source is ignored, as the API says.
  if (src != FI_ADDR_UNSPEC && (caps & FI_DIRECTED_RECV)) {
    const AvCore::Entry* e = nullptr;
    int rc = resolve(src, &e);
    if (rc) return rc;
    src_key = e->key();
  }
  if (!tagged) {
    tag = 0;
    ignore = 0;
  }
  bool multi = !tagged && (flags & FI_MULTI_RECV);
  if (multi && count != 1) return -FI_EINVAL;

  RxEntry* r = new_rx();
  r->posted = true;
  r->tagged = tagged;
  r->context = context;
  r->op_flags = flags;
  r->iov.assign(iov, iov + count);
  r->cap = iov_len(iov, count);
  r->want_comp = !rx_selective || (flags & FI_COMPLETION);
  r->tag = tag;
  MatchQueues& q = tagged ? tag_q : msg_q;

  if (multi) {
    // Messages already waiting fill the buffer first, in arrival order.  A
    // message that completes at once may release the buffer (and its entry),
    // so the entry is looked up again each time.
    uint64_t id = r->id;
    for (;;) {
      auto it = rxs.find(id);
      if (it == rxs.end()) return 0;
      RxEntry& buf = *it->second;
      if (buf.mr_retired) {
        if (buf.mr_children == 0) rxs.erase(it);
        return 0;
      }
      auto u = q.find_unexpected(0, 0, src_key);
      if (!u) break;
      q.erase_unexpected(*u);
      RxEntry& m = *rxs[*u];
      RxEntry* child = carve(buf, m.total);
      RxEntry tmp = *child;  // the carved receive; its own entry is not needed
      rxs.erase(child->id);
      attach(m, tmp);
    }
    q.post(MatchQueues::Posted{id, 0, 0, src_key, context});
    rx_posted++;
    return 0;
  }

  if (auto u = q.find_unexpected(tag, ignore, src_key)) {
    q.erase_unexpected(*u);
    RxEntry& m = *rxs[*u];
    RxEntry tmp = *r;
    rxs.erase(r->id);
    attach(m, tmp);
    return 0;
  }
  q.post(MatchQueues::Posted{r->id, tag, ignore, src_key, context});
  rx_posted++;
  return 0;
}

static ssize_t msg_recv(struct fid_ep* fep, void* buf, size_t len, void* desc, fi_addr_t src, void* context) {
  (void)desc;
  Ep* e = ep_of(fep);
  struct iovec v = {buf, len};
  return e->recv_common(&v, 1, src, 0, 0, e->rx_op_flags, context, false);
}

static ssize_t msg_recvv(struct fid_ep* fep, const struct iovec* iov, void** desc, size_t count, fi_addr_t src,
                         void* context) {
  (void)desc;
  Ep* e = ep_of(fep);
  return e->recv_common(iov, count, src, 0, 0, e->rx_op_flags, context, false);
}

static ssize_t msg_recvmsg(struct fid_ep* fep, const struct fi_msg* msg, uint64_t flags) {
  Ep* e = ep_of(fep);
  return e->recv_common(msg->msg_iov, msg->iov_count, msg->addr, 0, 0, flags, msg->context, false);
}

static ssize_t msg_send(struct fid_ep* fep, const void* buf, size_t len, void* desc, fi_addr_t dest, void* context) {
  (void)desc;
  Ep* e = ep_of(fep);
  struct iovec v = {const_cast<void*>(buf), len};
  return e->send_common(&v, 1, dest, 0, 0, e->tx_op_flags, context, false, false);
}

static ssize_t msg_sendv(struct fid_ep* fep, const struct iovec* iov, void** desc, size_t count, fi_addr_t dest,
                         void* context) {
  (void)desc;
  Ep* e = ep_of(fep);
  return e->send_common(iov, count, dest, 0, 0, e->tx_op_flags, context, false, false);
}

static ssize_t msg_sendmsg(struct fid_ep* fep, const struct fi_msg* msg, uint64_t flags) {
  Ep* e = ep_of(fep);
  return e->send_common(msg->msg_iov, msg->iov_count, msg->addr, 0, msg->data, flags, msg->context, false, false);
}

static ssize_t msg_inject(struct fid_ep* fep, const void* buf, size_t len, fi_addr_t dest) {
  Ep* e = ep_of(fep);
  struct iovec v = {const_cast<void*>(buf), len};
  return e->send_common(&v, 1, dest, 0, 0, e->tx_op_flags, nullptr, false, true);
}

static ssize_t msg_senddata(struct fid_ep* fep, const void* buf, size_t len, void* desc, uint64_t data, fi_addr_t dest,
                            void* context) {
  (void)desc;
  Ep* e = ep_of(fep);
  struct iovec v = {const_cast<void*>(buf), len};
  return e->send_common(&v, 1, dest, 0, data, e->tx_op_flags | FI_REMOTE_CQ_DATA, context, false, false);
}

static ssize_t msg_injectdata(struct fid_ep* fep, const void* buf, size_t len, uint64_t data, fi_addr_t dest) {
  Ep* e = ep_of(fep);
  struct iovec v = {const_cast<void*>(buf), len};
  return e->send_common(&v, 1, dest, 0, data, e->tx_op_flags | FI_REMOTE_CQ_DATA, nullptr, false, true);
}

struct fi_ops_msg g_msg_ops = {
    sizeof(struct fi_ops_msg),
    msg_recv,
    msg_recvv,
    msg_recvmsg,
    msg_send,
    msg_sendv,
    msg_sendmsg,
    msg_inject,
    msg_senddata,
    msg_injectdata,
};

}  // namespace vefa
