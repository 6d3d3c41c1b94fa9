// SPDX-License-Identifier: MIT
//
// Progress: the endpoint's device CQ is polled, each completion is turned
// into protocol actions, and the software queues (control packets, RDMA
// reads of long receives, pending sends) are pushed into the SQ as it has
// room.  Receive side of the RDM protocol:
//
//   packet -> per-peer reorder buffer (by message seq) -> match against the
//   posted receives (or queue as unexpected) -> eager: copy; medium:
//   reassemble by offset in any order; RTS: RDMA-read the sender's buffer,
//   then send it an EOR.
#include <cstring>

#include "vefa.h"

namespace vefa {

PktBase Ep::base(PktType t, uint8_t flags) const {
  return PktBase{static_cast<uint8_t>(t), flags, kProtoVersion, conn_id, qkey, 0};
}

void Ep::progress() {
  if (!have_qp) return;
  venic_efa_cqe cqes[64];
  // A bounded number of batches: a busy peer must not keep us here forever.
  for (int batch = 0; batch < 8; ++batch) {
    int n = vefa_cq_poll(&cv, cqes, 64);
    for (int i = 0; i < n; ++i) handle_cqe(cqes[i]);
    if (n < 64) break;
  }
  flush();
}

bool Ep::post_wqe(venic_efa_wqe w, const void* payload, size_t len) {
  if (vefa_sq_space(&qv) == 0) return false;
  if (payload && len) memcpy(vefa_sq_next_slot(&qv), payload, len);
  vefa_sq_post(&qv, &w);
  return true;
}

void Ep::flush() {
  while (!repost.empty() && vefa_rq_space(&qv) > 0) {
    uint32_t slot = repost.back();
    repost.pop_back();
    vefa_rq_post(&qv, make_wr(WrKind::kRecv, slot), slot);
  }
  while (!ctrl_queue.empty()) {
    CtrlPkt& c = ctrl_queue.front();
    venic_efa_wqe w = {};
    w.wr_id = make_wr(WrKind::kCtrl, 0);
    w.opcode = VENIC_EFA_OP_SEND;
    w.dest_ah = c.ah;
    w.dest_qpn = c.qpn;
    w.qkey = c.qkey;
    w.length = static_cast<uint32_t>(c.bytes.size());
    if (!post_wqe(w, c.bytes.data(), c.bytes.size())) return;
    ctrl_queue.pop_front();
  }
  while (!read_queue.empty()) {
    if (!post_wqe(read_queue.front(), nullptr, 0)) return;
    read_queue.pop_front();
  }
  while (!tx_queue.empty()) {
    auto it = txs.find(tx_queue.front());
    if (it == txs.end() || it->second->all_posted) {
      tx_queue.pop_front();
      continue;
    }
    if (!post_tx(*it->second)) return;  // SQ full
    tx_queue.pop_front();
  }
}

// Posts what it can of t; true once every work request of t is posted.
bool Ep::post_tx(TxEntry& t) {
  venic_efa_wqe w = {};
  w.wr_id = make_wr(WrKind::kTx, t.id);
  w.dest_ah = t.ah;
  w.dest_qpn = t.qpn;
  w.qkey = t.qkey;
  if (t.kind == TxKind::kMsg && t.proto == PktType::kRts) {
    if (vefa_sq_space(&qv) == 0) return false;
    RtsHdr h = {};
    h.msg.base = base(PktType::kRts, t.pkt_flags);
    h.msg.seq = t.seq;
    h.msg.tag = t.tag;
    h.msg.cq_data = t.cq_data;
    h.msg.total_len = t.total;
    h.src_va = reinterpret_cast<uint64_t>(t.cache_va);
    h.tx_id = t.id;
    h.rkey = t.rts_rkey;
    w.opcode = VENIC_EFA_OP_SEND;
    w.length = sizeof(h);
    post_wqe(w, &h, sizeof(h));
    t.outstanding++;
    t.all_posted = true;
    return true;
  }
  if (t.kind == TxKind::kMsg) {
    Segmenter s{t.total, static_cast<uint32_t>(eager_max(mtu))};
    while (t.next_seg < s.count()) {
      if (vefa_sq_space(&qv) == 0) return false;
      uint8_t* slot = vefa_sq_next_slot(&qv);
      MsgHdr h = {};
      h.base = base(t.proto, t.pkt_flags);
      h.seq = t.seq;
      h.seg_size = s.seg_size;
      h.tag = t.tag;
      h.cq_data = t.cq_data;
      h.total_len = t.total;
      h.offset = s.offset(t.next_seg);
      uint32_t n = s.size(t.next_seg);
      memcpy(slot, &h, sizeof(h));
      if (!t.owned.empty())
        memcpy(slot + sizeof(h), t.owned.data() + h.offset, n);
      else
        copy_from_iov(t.iov, h.offset, slot + sizeof(h), n);
      w.opcode = VENIC_EFA_OP_SEND;
      w.length = static_cast<uint32_t>(sizeof(h) + n);
      post_wqe(w, nullptr, 0);
      t.outstanding++;
      t.next_seg++;
    }
    t.all_posted = true;
    return true;
  }
  if (t.kind == TxKind::kAtomic) {
    if (vefa_sq_space(&qv) == 0) return false;
    w.opcode = VENIC_EFA_OP_SEND;
    w.length = static_cast<uint32_t>(t.pkt.size());
    post_wqe(w, t.pkt.data(), t.pkt.size());
    t.outstanding++;
    t.all_posted = true;
    return true;
  }
  // RMA: the work requests were built at post time.
  while (t.next_wqe < t.wqes.size()) {
    if (vefa_sq_space(&qv) == 0) return false;
    venic_efa_wqe x = t.wqes[t.next_wqe];
    x.wr_id = w.wr_id;
    if (x.flags & VENIC_EFA_WQE_F_INLINE)
      post_wqe(x, t.inline_data.data(), t.inline_data.size());
    else
      post_wqe(x, nullptr, 0);
    t.outstanding++;
    t.next_wqe++;
  }
  t.all_posted = true;
  return true;
}

void Ep::tx_done_check(TxEntry& t) {
  if (t.outstanding) return;
  if (!t.all_posted && !t.err) return;
  if (!t.err) {
    if (t.kind == TxKind::kMsg && t.proto == PktType::kRts && !t.eor_done) return;
    if (t.kind == TxKind::kAtomic && !t.resp_done) return;
  }
  t.all_posted = true;  // an error stops the rest of its segments
  report_tx(t);
  if (t.cache_held) dom->cache_release(t.cache_va, t.cache_len);
  for (auto& [va, len] : t.held_regs) dom->cache_release(va, len);
  txs.erase(t.id);
}

void Ep::handle_cqe(const venic_efa_cqe& c) {
  if (c.opcode == VENIC_EFA_WC_RECV) {
    handle_recv(c);
    return;
  }
  if (c.opcode == VENIC_EFA_WC_RECV_RDMA_IMM) {
    if (c.status == VENIC_EFA_WC_SUCCESS) on_write_imm(c);
    uint32_t slot = static_cast<uint32_t>(wr_id(c.wr_id));
    if (c.status != VENIC_EFA_WC_FLUSHED && slot <= qv.rq_mask) repost.push_back(slot);
    return;
  }
  uint64_t id = wr_id(c.wr_id);
  switch (wr_kind(c.wr_id)) {
    case WrKind::kTx: {
      auto it = txs.find(id);
      if (it == txs.end()) return;
      TxEntry& t = *it->second;
      if (t.outstanding) t.outstanding--;
      if (c.status != VENIC_EFA_WC_SUCCESS && !t.err) {
        t.err = status_to_fi(c.status);
        t.prov_errno = c.status;
      }
      tx_done_check(t);
      return;
    }
    case WrKind::kRxRead: {
      auto it = rxs.find(id);
      if (it == rxs.end()) return;
      RxEntry& r = *it->second;
      if (r.reads_outstanding) r.reads_outstanding--;
      if (c.status != VENIC_EFA_WC_SUCCESS && !r.err) {
        r.err = status_to_fi(c.status);
        r.prov_errno = c.status;
      }
      if (r.reads_outstanding == 0) {
        EorHdr e = {};
        e.base = base(PktType::kEor, 0);
        e.tx_id = r.rts_tx_id;
        e.bytes = r.err ? ~0ull : (r.total < r.cap ? r.total : r.cap);
        std::vector<uint8_t> b(sizeof(e));
        memcpy(b.data(), &e, sizeof(e));
        send_ctrl(r.rts_ah, r.rts_qpn, r.rts_qkey, std::move(b));
        finish_rx(r);
      }
      return;
    }
    case WrKind::kCtrl:
      if (c.status != VENIC_EFA_WC_SUCCESS)
        VEFA_WARN(FI_LOG_EP_DATA, "control packet failed: status %u\n", static_cast<unsigned>(c.status));
      return;
    default:
      return;
  }
}

void Ep::handle_recv(const venic_efa_cqe& c) {
  uint32_t slot = c.slot;
  if (slot > qv.rq_mask) return;
  if (c.status == VENIC_EFA_WC_FLUSHED) return;
  if (c.status == VENIC_EFA_WC_SUCCESS && c.byte_len >= sizeof(PktBase) && c.byte_len <= mtu) {
    const uint8_t* pkt = vefa_rq_slot(&qv, slot);
    size_t len = c.byte_len;
    PktBase b;
    memcpy(&b, pkt, sizeof(b));
    uint64_t key = peer_key(c.src_ah, c.src_qpn);
    if (b.version == kProtoVersion) {
      switch (static_cast<PktType>(b.type)) {
        case PktType::kEager:
        case PktType::kMedium:
        case PktType::kRts:
          on_msg_pkt(key, pkt, len);
          break;
        case PktType::kEor:
          if (len >= sizeof(EorHdr) && type == FI_EP_RDM) {
            EorHdr e;
            memcpy(&e, pkt, sizeof(e));
            auto it = txs.find(e.tx_id);
            // Only the peer the RTS went to may finish it.
            if (it != txs.end() && it->second->ah == c.src_ah && it->second->qpn == c.src_qpn) on_eor(e);
          }
          break;
        case PktType::kAtomicReq:
          if (type == FI_EP_RDM) on_atomic_req(key, c.src_ah, c.src_qpn, pkt, len);
          break;
        case PktType::kAtomicResp:
          if (type == FI_EP_RDM && len >= sizeof(AtomicRespHdr)) {
            AtomicRespHdr a;
            memcpy(&a, pkt, sizeof(a));
            auto it = txs.find(a.req_id);
            if (it != txs.end() && it->second->ah == c.src_ah && it->second->qpn == c.src_qpn) on_atomic_resp(pkt, len);
          }
          break;
        default:
          break;
      }
    }
  }
  // The payload has been copied out (or dropped): the slot is free again.
  if (vefa_rq_space(&qv) > 0)
    vefa_rq_post(&qv, make_wr(WrKind::kRecv, slot), slot);
  else
    repost.push_back(slot);
}

void Ep::on_eor(const EorHdr& h) {
  auto it = txs.find(h.tx_id);
  if (it == txs.end()) return;
  TxEntry& t = *it->second;
  if (t.kind != TxKind::kMsg || t.proto != PktType::kRts) return;
  t.eor_done = true;
  if (h.bytes == ~0ull && !t.err) t.err = FI_EIO;  // the receiver could not read it
  tx_done_check(t);
}

void Ep::on_msg_pkt(uint64_t key, const uint8_t* pkt, size_t len) {
  if (len < sizeof(MsgHdr)) return;
  MsgHdr h;
  memcpy(&h, pkt, sizeof(h));
  if (h.base.type == static_cast<uint8_t>(PktType::kRts) && len < sizeof(RtsHdr)) return;
  Peer& p = peer_for(key);
  p.qkey = h.base.qkey;
  if (!p.rx_conn_known || p.rx_conn != h.base.conn_id) {
    // A new incarnation of that QP number: its sequence starts over, and what
    // the old one left half-done will never be finished.
    if (p.rx_conn_known) {
      p.rx.reset(0);
      p.active.clear();
    }
    p.rx_conn_known = true;
    p.rx_conn = h.base.conn_id;
  }
  if (type == FI_EP_DGRAM) {
    // Datagrams are single packets with no order to restore.
    if (h.base.type == static_cast<uint8_t>(PktType::kEager)) start_msg(p, key, h, pkt, len);
    return;
  }
  if (p.active.count(h.seq)) {
    handle_ordered(p, key, pkt, len, false);
    return;
  }
  switch (p.rx.classify(h.seq)) {
    case SeqClass::kInOrder:
      handle_ordered(p, key, pkt, len, true);
      p.rx.advance();
      while (auto held = p.rx.take_ready()) {
        bool first = true;
        for (auto& b : *held) {
          handle_ordered(p, key, b.data(), b.size(), first);
          first = false;
        }
        p.rx.advance();
      }
      break;
    case SeqClass::kAhead:
      p.rx.hold(h.seq, std::vector<uint8_t>(pkt, pkt + len));
      break;
    case SeqClass::kStale:
      VEFA_WARN(FI_LOG_EP_DATA, "stale packet seq %u (expected %u) dropped\n", h.seq, p.rx.expected());
      break;
  }
}

// A packet of the message whose turn it is: the first one starts the match,
// the others are segments of the message it started.
void Ep::handle_ordered(Peer& p, uint64_t key, const uint8_t* pkt, size_t len, bool first) {
  MsgHdr h;
  memcpy(&h, pkt, sizeof(h));
  if (!first) {
    auto a = p.active.find(h.seq);
    if (a == p.active.end()) return;
    auto it = rxs.find(a->second);
    if (it == rxs.end()) {
      p.active.erase(a);
      return;
    }
    deliver_seg(*it->second, h, pkt + sizeof(h), len - sizeof(h));
    return;
  }
  start_msg(p, key, h, pkt, len);
}

RxEntry* Ep::carve(RxEntry& parent, uint64_t len) {
  uint64_t avail = parent.cap - parent.mr_used;
  uint64_t n = len < avail ? len : avail;
  RxEntry* c = new_rx();
  c->posted = true;
  c->tagged = parent.tagged;
  c->context = parent.context;
  c->op_flags = parent.op_flags & ~FI_MULTI_RECV;
  c->want_comp = parent.want_comp;
  c->iov.push_back({static_cast<uint8_t*>(parent.iov[0].iov_base) + parent.mr_used, n});
  c->cap = n;
  c->parent = parent.id;
  parent.mr_used += n;
  parent.mr_children++;
  if (parent.cap - parent.mr_used < min_multi_recv) parent.mr_retired = true;
  return c;
}

void Ep::retire_if_full(RxEntry& parent) {
  if (parent.mr_retired && (parent.tagged ? tag_q : msg_q).erase_posted(parent.id)) rx_posted--;
}

void Ep::start_msg(Peer& p, uint64_t key, const MsgHdr& h, const uint8_t* pkt, size_t len) {
  bool tagged = h.base.flags & kPktTagged;
  MatchQueues& q = tagged ? tag_q : msg_q;
  uint64_t tag = tagged ? h.tag : 0;
  PktType proto = static_cast<PktType>(h.base.type);
  // Medium messages are at most kMediumMax by construction; anything else is
  // a malformed (or hostile) packet and must not size our buffers.
  if (proto == PktType::kMedium && h.total_len > kMediumMax) return;
  if (proto == PktType::kEager && h.total_len > eager_max(mtu)) return;

  RxEntry* r = nullptr;
  if (auto pid = q.find_posted(tag, key)) {
    RxEntry& user = *rxs[*pid];
    if (user.op_flags & FI_MULTI_RECV) {
      r = carve(user, h.total_len);
      retire_if_full(user);
    } else {
      q.erase_posted(*pid);
      rx_posted--;
      r = &user;
    }
  } else {
    r = new_rx();
    r->tagged = tagged;
    r->staged = true;
    q.add_unexpected(MatchQueues::Unexpected{r->id, tag, key, nullptr});
  }
  r->has_msg = true;
  r->peer = key;
  r->seq = h.seq;
  r->tag = h.tag;
  r->cq_data = h.cq_data;
  r->pkt_flags = h.base.flags;
  r->total = h.total_len;
  r->proto = proto;
  if (r->staged && proto != PktType::kRts) r->stage.resize(h.total_len);

  const uint8_t* payload = pkt + sizeof(MsgHdr);
  size_t plen = len - sizeof(MsgHdr);
  switch (proto) {
    case PktType::kEager:
      place(*r, 0, payload, plen < h.total_len ? plen : h.total_len);
      r->data_done = true;
      maybe_finish(*r);
      break;
    case PktType::kMedium:
      r->reasm = Reassembly(h.total_len, h.seg_size);
      p.active[h.seq] = r->id;
      deliver_seg(*r, h, payload, plen);
      break;
    case PktType::kRts: {
      RtsHdr rh;
      memcpy(&rh, pkt, sizeof(rh));
      r->rts_va = rh.src_va;
      r->rts_rkey = rh.rkey;
      r->rts_tx_id = rh.tx_id;
      r->rts_qkey = h.base.qkey;
      r->rts_ah = static_cast<uint16_t>(key >> 16);
      r->rts_qpn = static_cast<uint16_t>(key & 0xffff);
      if (r->posted) start_reads(*r);
      break;
    }
    default:
      break;
  }
}

void Ep::deliver_seg(RxEntry& r, const MsgHdr& h, const uint8_t* payload, size_t len) {
  if (r.reasm.accept(h.offset, len) != SegVerdict::kAccepted) {
    VEFA_WARN(FI_LOG_EP_DATA, "bad segment offset %lu len %zu dropped\n", static_cast<unsigned long>(h.offset), len);
    return;
  }
  place(r, h.offset, payload, len);
  if (r.reasm.complete()) {
    auto p = peers.find(r.peer);
    if (p != peers.end()) p->second.active.erase(r.seq);
    r.data_done = true;
    maybe_finish(r);
  }
}

void Ep::place(RxEntry& r, uint64_t off, const uint8_t* data, size_t len) {
  if (r.discard) return;
  if (r.staged) {
    if (off >= r.stage.size()) return;
    size_t n = r.stage.size() - off < len ? r.stage.size() - off : len;
    memcpy(r.stage.data() + off, data, n);
  } else {
    copy_to_iov(r.iov, off, data, len);
  }
}

void Ep::maybe_finish(RxEntry& r) {
  if (!r.data_done) return;
  if (r.discard) {
    rxs.erase(r.id);
    return;
  }
  if (!r.posted) return;  // unexpected: waits for its receive
  if (r.staged) copy_to_iov(r.iov, 0, r.stage.data(), r.stage.size());
  finish_rx(r);
}

// A receive takes an unexpected message.
void Ep::attach(RxEntry& m, RxEntry& user) {
  m.posted = true;
  m.context = user.context;
  m.op_flags = user.op_flags;
  m.iov = user.iov;
  m.cap = user.cap;
  m.want_comp = user.want_comp;
  m.parent = user.parent;
  if (m.proto == PktType::kRts) {
    if (!m.reads_started) start_reads(m);
  } else {
    maybe_finish(m);
  }
}

void Ep::start_reads(RxEntry& r) {
  r.reads_started = true;
  uint64_t n = r.total < r.cap ? r.total : r.cap;
  uint64_t chunk_max = dom->dev.max_rdma_size ? dom->dev.max_rdma_size : VENIC_EFA_MAX_RDMA_SIZE;
  uint64_t msg_off = 0;
  int err = 0;
  std::vector<venic_efa_wqe> reads;
  for (const struct iovec& v : r.iov) {
    if (msg_off >= n) break;
    uint64_t part = v.iov_len < n - msg_off ? v.iov_len : n - msg_off;
    if (!part) continue;
    uint32_t lkey = 0;
    err = dom->cache_reg(v.iov_base, part, true, &lkey, nullptr);
    if (err) break;
    r.held_regs.emplace_back(v.iov_base, part);
    for (uint64_t o = 0; o < part; o += chunk_max) {
      venic_efa_wqe w = {};
      w.wr_id = make_wr(WrKind::kRxRead, r.id);
      w.opcode = VENIC_EFA_OP_RDMA_READ;
      w.dest_ah = r.rts_ah;
      w.dest_qpn = r.rts_qpn;
      w.qkey = r.rts_qkey;
      w.length = static_cast<uint32_t>(part - o < chunk_max ? part - o : chunk_max);
      w.lkey = lkey;
      w.laddr = reinterpret_cast<uint64_t>(v.iov_base) + o;
      w.rkey = r.rts_rkey;
      w.raddr = r.rts_va + msg_off + o;
      reads.push_back(w);
    }
    msg_off += part;
  }
  if (err || reads.empty()) {
    // Nothing to read (zero-length or truncated to nothing) or no
    // registration: release the sender and finish here.
    if (err) {
      r.err = -err;
      r.prov_errno = 0;
    }
    EorHdr e = {};
    e.base = base(PktType::kEor, 0);
    e.tx_id = r.rts_tx_id;
    e.bytes = err ? ~0ull : 0;
    std::vector<uint8_t> b(sizeof(e));
    memcpy(b.data(), &e, sizeof(e));
    send_ctrl(r.rts_ah, r.rts_qpn, r.rts_qkey, std::move(b));
    finish_rx(r);
    return;
  }
  r.reads_outstanding = static_cast<uint32_t>(reads.size());
  for (auto& w : reads) read_queue.push_back(w);
  flush();
}

void Ep::finish_rx(RxEntry& r) {
  uint64_t len = r.total < r.cap ? r.total : r.cap;
  uint64_t extra = 0;
  // The last message carved from a retired multi-receive buffer releases it.
  if (r.parent) {
    auto pit = rxs.find(r.parent);
    if (pit != rxs.end()) {
      RxEntry& parent = *pit->second;
      if (parent.mr_children) parent.mr_children--;
      if (parent.mr_retired && parent.mr_children == 0) {
        extra = FI_MULTI_RECV;
        rxs.erase(pit);
      }
    }
  }
  void* buf = r.iov.empty() ? nullptr : r.iov[0].iov_base;
  if (r.err)
    report_rx_err(r, r.err, r.prov_errno, 0, 0);
  else if (r.total > r.cap)
    report_rx_err(r, FI_ETRUNC, 0, len, r.total - len);
  else
    report_rx(r, len, buf, extra);
  for (auto& [va, l] : r.held_regs) dom->cache_release(va, l);
  rxs.erase(r.id);
}

void Ep::send_ctrl(uint16_t ah, uint16_t qpn, uint32_t qk, std::vector<uint8_t> bytes) {
  ctrl_queue.push_back(CtrlPkt{ah, qpn, qk, std::move(bytes)});
  flush();
}

void Ep::on_write_imm(const venic_efa_cqe& c) {
  // fi_writedata landed: the target's completion carries the data.
  if (rx_cq)
    rx_cq->push(Comp{nullptr, FI_RMA | FI_REMOTE_WRITE | FI_REMOTE_CQ_DATA, c.byte_len, nullptr, c.imm, 0,
                     src_addr_of(peer_key(c.src_ah, c.src_qpn))});
  count(cntr_rwrite, true);
}

}  // namespace vefa
