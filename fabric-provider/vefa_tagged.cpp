// SPDX-License-Identifier: MIT
//
// FI_TAGGED: tagged sends and receives (shared paths in vefa_msg.cpp) and
// the fi_trecvmsg flags that look at the unexpected queue: FI_PEEK,
// FI_CLAIM and FI_DISCARD.
#include <cstring>

#include "vefa.h"

namespace vefa {

// Drops an unexpected message the application discarded.  A long message's
// sender still waits for its EOR; a segmented one still has packets coming.
void Ep::discard_msg(RxEntry& m) {
  unstage(m);  // what is staged is no longer wanted
  if (m.proto == PktType::kRts && !m.reads_started) {
    EorHdr e = {};
    e.base = base(PktType::kEor, 0);
    e.tx_id = m.rts_tx_id;
    e.bytes = 0;
    std::vector<uint8_t> b(sizeof(e));
    memcpy(b.data(), &e, sizeof(e));
    send_ctrl(m.rts_ah, m.rts_qpn, m.rts_qkey, std::move(b));
    rxs.erase(m.id);
    return;
  }
  m.discard = true;
  if (m.data_done) rxs.erase(m.id);
}

ssize_t Ep::peek_claim(const struct iovec* iov, size_t count, fi_addr_t src, uint64_t tag, uint64_t ignore,
                       uint64_t flags, void* context) {
  std::lock_guard<std::recursive_mutex> g(dom->lock);
  if (!enabled) return -FI_EOPBADSTATE;
  uint64_t src_key = kAnySrc;
  if (src != FI_ADDR_UNSPEC && (caps & FI_DIRECTED_RECV)) {
    const AvCore::Entry* e = nullptr;
    int rc = resolve(src, &e);
    if (rc) return rc;
    src_key = e->key();
  }
  if (flags & FI_PEEK) {
    auto u = tag_q.find_unexpected(tag, ignore, src_key);
    if (!u) {
      progress();  // the message may be sitting in the device CQ
      u = tag_q.find_unexpected(tag, ignore, src_key);
    }
    if (!u) {
      if (rx_cq) {
        fi_cq_err_entry ce = {};
        ce.op_context = context;
        ce.flags = FI_RECV | FI_TAGGED;
        ce.tag = tag;
        ce.err = FI_ENOMSG;
        rx_cq->push_err(ce);
      }
      return 0;
    }
    RxEntry& m = *rxs[*u];
    uint64_t cflags = FI_RECV | FI_TAGGED | ((m.pkt_flags & kPktCqData) ? FI_REMOTE_CQ_DATA : 0);
    if (rx_cq) rx_cq->push(Comp{context, cflags, m.total, nullptr, m.cq_data, m.tag, src_addr_of(m.peer)});
    if (flags & FI_DISCARD) {
      tag_q.erase_unexpected(*u);
      discard_msg(m);
    } else if (flags & FI_CLAIM) {
      tag_q.claim(*u, context);
    }
    return 0;
  }
  // FI_CLAIM: the message an earlier FI_PEEK|FI_CLAIM reserved for context.
  auto u = tag_q.find_claimed(context);
  if (!u) return -FI_EINVAL;
  tag_q.erase_unexpected(*u);
  RxEntry& m = *rxs[*u];
  if (flags & FI_DISCARD) {
    if (rx_cq) rx_cq->push(Comp{context, FI_RECV | FI_TAGGED, 0, nullptr, m.cq_data, m.tag, src_addr_of(m.peer)});
    discard_msg(m);
    return 0;
  }
  RxEntry user;
  user.posted = true;
  user.tagged = true;
  user.context = context;
  user.op_flags = flags;
  user.iov.assign(iov, iov + count);
  user.cap = iov_len(iov, count);
  user.want_comp = true;
  attach(m, user);
  return 0;
}

static ssize_t tag_recv(struct fid_ep* fep, void* buf, size_t len, void* desc, fi_addr_t src, uint64_t tag,
                        uint64_t ignore, void* context) {
  (void)desc;
  Ep* e = ep_of(fep);
  struct iovec v = {buf, len};
  return e->recv_common(&v, 1, src, tag, ignore, e->rx_op_flags, context, true);
}

static ssize_t tag_recvv(struct fid_ep* fep, const struct iovec* iov, void** desc, size_t count, fi_addr_t src,
                         uint64_t tag, uint64_t ignore, void* context) {
  (void)desc;
  Ep* e = ep_of(fep);
  return e->recv_common(iov, count, src, tag, ignore, e->rx_op_flags, context, true);
}

static ssize_t tag_recvmsg(struct fid_ep* fep, const struct fi_msg_tagged* msg, uint64_t flags) {
  Ep* e = ep_of(fep);
  if (flags & (FI_PEEK | FI_CLAIM))
    return e->peek_claim(msg->msg_iov, msg->iov_count, msg->addr, msg->tag, msg->ignore, flags, msg->context);
  return e->recv_common(msg->msg_iov, msg->iov_count, msg->addr, msg->tag, msg->ignore, flags, msg->context, true);
}

static ssize_t tag_send(struct fid_ep* fep, const void* buf, size_t len, void* desc, fi_addr_t dest, uint64_t tag,
                        void* context) {
  (void)desc;
  Ep* e = ep_of(fep);
  struct iovec v = {const_cast<void*>(buf), len};
  return e->send_common(&v, 1, dest, tag, 0, e->tx_op_flags, context, true, false);
}

static ssize_t tag_sendv(struct fid_ep* fep, const struct iovec* iov, void** desc, size_t count, fi_addr_t dest,
                         uint64_t tag, void* context) {
  (void)desc;
  Ep* e = ep_of(fep);
  return e->send_common(iov, count, dest, tag, 0, e->tx_op_flags, context, true, false);
}

static ssize_t tag_sendmsg(struct fid_ep* fep, const struct fi_msg_tagged* msg, uint64_t flags) {
  Ep* e = ep_of(fep);
  return e->send_common(msg->msg_iov, msg->iov_count, msg->addr, msg->tag, msg->data, flags, msg->context, true, false);
}

static ssize_t tag_inject(struct fid_ep* fep, const void* buf, size_t len, fi_addr_t dest, uint64_t tag) {
  Ep* e = ep_of(fep);
  struct iovec v = {const_cast<void*>(buf), len};
  return e->send_common(&v, 1, dest, tag, 0, e->tx_op_flags, nullptr, true, true);
}

static ssize_t tag_senddata(struct fid_ep* fep, const void* buf, size_t len, void* desc, uint64_t data, fi_addr_t dest,
                            uint64_t tag, void* context) {
  (void)desc;
  Ep* e = ep_of(fep);
  struct iovec v = {const_cast<void*>(buf), len};
  return e->send_common(&v, 1, dest, tag, data, e->tx_op_flags | FI_REMOTE_CQ_DATA, context, true, false);
}

static ssize_t tag_injectdata(struct fid_ep* fep, const void* buf, size_t len, uint64_t data, fi_addr_t dest,
                              uint64_t tag) {
  Ep* e = ep_of(fep);
  struct iovec v = {const_cast<void*>(buf), len};
  return e->send_common(&v, 1, dest, tag, data, e->tx_op_flags | FI_REMOTE_CQ_DATA, nullptr, true, true);
}

struct fi_ops_tagged g_tagged_ops = {
    sizeof(struct fi_ops_tagged),
    tag_recv,
    tag_recvv,
    tag_recvmsg,
    tag_send,
    tag_sendv,
    tag_sendmsg,
    tag_inject,
    tag_senddata,
    tag_injectdata,
};

}  // namespace vefa
