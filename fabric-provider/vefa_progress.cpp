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

// A work request's peer is gone (no such QP any more, or its process died
// mid-transfer): nothing more will come from that incarnation.
static bool peer_gone(int status) {
  return status == VENIC_EFA_WC_UNREACHABLE || status == VENIC_EFA_WC_REMOTE_ABORT;
}
static int peer_gone_err(int status) {
  return status == VENIC_EFA_WC_UNREACHABLE ? FI_EHOSTUNREACH : FI_EIO;
}

void Ep::progress() {
  if (!have_qp) return;
  if (dev_down) {
    fail_all(FI_EIO);  // what was posted since fails too
    return;
  }
  venic_efa_cqe cqes[64];
  // Peers' RDMA on our private (assisted) registrations waits for this.
  int seen = vefa_serve_assists(dom->ctx);
  // A bounded number of batches: a busy peer must not keep us here forever.
  for (int batch = 0; batch < 8; ++batch) {
    // A full CQ holds the device's completions back (in the device CQ)
    // until the application reads it.
    if ((tx_cq && tx_cq->full()) || (rx_cq && rx_cq->full())) break;
    int n = vefa_cq_poll(&cv, cqes, 64);
    seen += n;
    for (int i = 0; i < n; ++i) handle_cqe(cqes[i]);
    if (n < 64) break;
  }
  // The daemon marks the link down when the VF is deleted or its ENI
  // detached: then nothing pending will ever complete.  Looked at when idle
  // and every kLinkCheckEvery calls, not on every busy poll.
  if ((seen == 0 || ++progress_calls % kLinkCheckEvery == 0) &&
      __atomic_load_n(&vefa_regs(dom->ctx)->link_status, __ATOMIC_ACQUIRE) == VENIC_LINK_DOWN) {
    VEFA_WARN(FI_LOG_EP_DATA, "device link down: failing every pending operation\n");
    dev_down = true;
    fail_all(FI_EIO);
    return;
  }
  if (!parked.empty()) retry_parked();
  flush();
}

// An RQ slot whose packet has been taken: back to the device, unless the
// staged unexpected data is over budget (then it waits in `repost` and the
// device's RNR retry holds the senders back until the application catches up).
void Ep::free_slot(uint32_t slot) {
  if (staged_bytes <= kStagedBudget && vefa_rq_space(&qv) > 0)
    vefa_rq_post(&qv, make_wr(WrKind::kRecv, slot), slot);
  else
    repost.push_back(slot);
}

void Ep::unstage(RxEntry& r) {
  if (!r.staged || r.stage.empty()) return;
  staged_bytes -= r.stage.size() < staged_bytes ? r.stage.size() : staged_bytes;
  std::vector<uint8_t>().swap(r.stage);
}

// Packets parked in their RQ slots (reorder buffer full): offered again.
void Ep::retry_parked() {
  for (size_t n = parked.size(); n > 0 && !parked.empty(); --n) {
    Parked k = parked.front();
    parked.pop_front();
    bool can_park = parked.size() + kParkReserve < static_cast<size_t>(qv.rq_mask) + 1;
    if (on_msg_pkt(k.key, vefa_rq_slot(&qv, k.slot), k.len, can_park))
      free_slot(k.slot);
    else
      parked.push_back(k);
  }
}

void Ep::release_tx_regs(TxEntry& t) {
  if (t.cache_held) dom->cache_release(t.cache_va, t.cache_len, VENIC_EFA_ACCESS_REMOTE_READ);
  t.cache_held = false;
  if (t.own_reg) vefa_dereg_mr(dom->ctx, t.own_lkey);
  t.own_reg = false;
  for (auto& h : t.held_regs) dom->cache_release(h);
  t.held_regs.clear();
}

// Fails one message-carrying receive entry of a peer that is gone; true if
// the entry is gone.  Unmatched ones are dropped (no receive knows them).
// An RTS receive whose reads are with the device waits for their
// completions unless force (the device is gone).
bool Ep::fail_rx(RxEntry& r, int err, int prov_errno, bool force) {
  if (!r.posted) {
    (r.tagged ? tag_q : msg_q).erase_unexpected(r.id);
    unstage(r);
    rxs.erase(r.id);
    return true;
  }
  if (!r.err) {
    r.err = err;
    r.prov_errno = prov_errno;
  }
  r.peer_lost = true;
  if (r.proto == PktType::kRts) {
    uint64_t wr = make_wr(WrKind::kRxRead, r.id);
    for (auto it = read_queue.begin(); it != read_queue.end();) {
      if (it->wr_id == wr) {
        it = read_queue.erase(it);
        if (r.reads_outstanding) r.reads_outstanding--;
      } else {
        ++it;
      }
    }
    if (force) r.reads_outstanding = 0;
    if (r.reads_outstanding) return false;
  }
  finish_rx(r);
  return true;
}

// The partly received messages of peer `key`, and its receive order state.
void Ep::fail_peer_rx(uint64_t key, int err, int prov_errno) {
  std::vector<uint64_t> ids;
  for (auto& [id, r] : rxs)
    if (r->has_msg && r->peer == key && !r->data_done) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = rxs.find(id);
    if (it != rxs.end()) fail_rx(*it->second, err, prov_errno, false);
  }
  auto p = peers.find(key);
  if (p == peers.end()) return;
  p->second.rx.reset(0);
  p->second.active.clear();
  if (p->second.rx_conn_known) {
    p->second.dead_conn_known = true;
    p->second.dead_conn = p->second.rx_conn;
    p->second.dead_drops = 0;
  }
  p->second.rx_conn_known = false;
}

// A work request to peer `key` came back unreachable or aborted: every
// pending operation with that peer fails, and its protocol state is
// forgotten (a restarted peer, with a new connection id, starts clean).
void Ep::fail_peer(uint64_t key, int err, int prov_errno) {
  VEFA_WARN(FI_LOG_EP_DATA, "peer ah %u qpn %u gone (status %d): failing its operations\n",
            static_cast<unsigned>(key >> 16), static_cast<unsigned>(key & 0xffff), prov_errno);
  std::vector<uint64_t> ids;
  for (auto& [id, t] : txs)
    if (peer_key(t->ah, t->qpn) == key) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = txs.find(id);
    if (it == txs.end()) continue;
    TxEntry& t = *it->second;
    if (!t.err) {
      t.err = err;
      t.prov_errno = prov_errno;
    }
    t.all_posted = true;  // nothing more of it goes out
    tx_done_check(t);     // now, or when the device returns what it still has
  }
  // Answers (EORs) queued for it would only reach a successor on that QP.
  for (auto it = ctrl_queue.begin(); it != ctrl_queue.end();)
    it = peer_key(it->ah, it->qpn) == key ? ctrl_queue.erase(it) : it + 1;
  fail_peer_rx(key, err, prov_errno);
  auto p = peers.find(key);
  if (p != peers.end()) {
    p->second.tx_seq = 0;
    p->second.tx_conn = 0;  // tx_peer starts the sequence over for whoever is there next
  }
}

// Only on an FI_RM_DISABLED endpoint with a finite FI_OPT_EFA_RNR_RETRY.
// The receiver never got the failed message, so its sequence has a hole:
// what else is pending to that peer fails too (the device delivers nothing
// of that lane after the failed SEND), and the next message starts a new
// incarnation, which the receiver takes as a fresh sequence.  What the
// receiver already has is kept.
void Ep::fail_peer_rnr(uint64_t key, uint32_t conn, int prov_errno) {
  std::vector<uint64_t> ids;
  size_t fresh = 0;
  for (auto& [id, t] : txs)
    // (An RTS whose packets all arrived only waits for its EOR: not failed.)
    // Only the failed send's incarnation: a late failure of an older one
    // leaves the sends of the sequence started since alone.
    if (t->kind == TxKind::kMsg && peer_key(t->ah, t->qpn) == key && t->conn == conn &&
        (t->outstanding || !t->all_posted))
      ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = txs.find(id);
    if (it == txs.end()) continue;
    TxEntry& t = *it->second;
    if (!t.err) {
      t.err = FI_ENORX;
      t.prov_errno = prov_errno;
      fresh++;
    }
    t.all_posted = true;
    tx_done_check(t);
  }
  if (fresh)
    VEFA_WARN(FI_LOG_EP_DATA, "peer ah %u qpn %u: no receive buffer within %zu RNR retries: %zu sends fail FI_ENORX\n",
              static_cast<unsigned>(key >> 16), static_cast<unsigned>(key & 0xffff), rnr_retry, fresh);
  auto p = peers.find(key);
  if (p != peers.end() && (conn_id ^ p->second.tx_salt) == conn) {
    p->second.tx_salt = peers_made++ * 0x9e3779b9u;
    p->second.tx_seq = 0;
  }
}

// The device is gone: everything pending fails with err, now.
void Ep::fail_all(int err) {
  tx_queue.clear();
  read_queue.clear();
  ctrl_queue.clear();
  parked.clear();
  std::vector<uint64_t> ids;
  for (auto& [id, t] : txs) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = txs.find(id);
    if (it == txs.end()) continue;
    TxEntry& t = *it->second;
    if (!t.err) t.err = err;
    t.outstanding = 0;
    t.all_posted = true;
    tx_done_check(t);
  }
  ids.clear();
  for (auto& [id, r] : rxs)
    if ((r->has_msg && !r->data_done) || (r->posted && !r->has_msg && !r->parent)) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = rxs.find(id);
    if (it == rxs.end()) continue;
    RxEntry& r = *it->second;
    if (r.has_msg) {
      fail_rx(r, err, 0, true);
      continue;
    }
    // A posted receive (or multi-receive buffer) no message will reach.
    if (!(r.tagged ? tag_q : msg_q).erase_posted(r.id)) continue;
    if (rx_posted) rx_posted--;
    bool multi = r.op_flags & FI_MULTI_RECV;
    report_rx_err(r, err, 0, 0, 0, multi ? FI_MULTI_RECV : 0);
    if (multi && r.mr_children)
      r.mr_retired = true;  // its carved receives release it
    else
      rxs.erase(it);
  }
  peers.clear();
}

void Ep::forget_peer(uint64_t key) {
  bool pending = false;
  for (auto& [id, t] : txs)
    if (peer_key(t->ah, t->qpn) == key) pending = true;
  for (auto& [id, r] : rxs)
    if (r->has_msg && r->peer == key && !r->data_done) pending = true;
  if (pending) fail_peer(key, FI_ECANCELED, 0);
  peers.erase(key);
}

uint64_t Ep::rdma_chunk(bool) const {
  uint64_t m = dom->dev.max_rdma_size ? dom->dev.max_rdma_size : VENIC_EFA_MAX_RDMA_SIZE;
  return qv.stage && kStagedReadChunk < m ? kStagedReadChunk : m;
}

// False: no SQ room, or (RDMA on private memory) no staging room until a
// staged transfer completes.
bool Ep::post_wqe(venic_efa_wqe w, const void* payload, size_t len) {
  if (vefa_sq_space(&qv) == 0) return false;
  const bool read = w.opcode == VENIC_EFA_OP_RDMA_READ;
  const bool write = (w.opcode == VENIC_EFA_OP_RDMA_WRITE || w.opcode == VENIC_EFA_OP_RDMA_WRITE_IMM) &&
                     !(w.flags & VENIC_EFA_WQE_F_INLINE) && w.length;
  // The device reaches only memory objects: private memory goes through the
  // QP's staging area (a read is copied home by land_staged; a write's
  // source is copied there now).
  if ((read || write) && !vefa_mr_is_object(dom->ctx, w.lkey)) {
    auto off = stage.take(w.length);
    if (!off) return false;
    if (write) memcpy(qv.stage + *off, reinterpret_cast<const void*>(w.laddr), w.length);
    staged_reads[*off] = StagedRead{read ? w.laddr : 0, w.length};
    w.flags |= VENIC_EFA_WQE_F_STAGED;
    w.stage_off = *off;
  }
  if (payload && len) memcpy(vefa_sq_next_slot(&qv), payload, len);
  vefa_sq_post(&qv, &w);
  return true;
}

void Ep::flush() {
  while (!repost.empty() && staged_bytes <= kStagedBudget && vefa_rq_space(&qv) > 0) {
    uint32_t slot = repost.back();
    repost.pop_back();
    vefa_rq_post(&qv, make_wr(WrKind::kRecv, slot), slot);
  }
  while (!ctrl_queue.empty()) {
    CtrlPkt& c = ctrl_queue.front();
    venic_efa_wqe w = {};
    w.wr_id = make_wr(WrKind::kCtrl, peer_key(c.ah, c.qpn));  // names the peer, should it be gone
    w.opcode = VENIC_EFA_OP_SEND;
    // Nothing resends a control packet (an EOR, an atomic's response): it
    // waits for a buffer whatever the QP's RNR retry count.
    if (dev_rnr_retry < VENIC_EFA_RNR_RETRY_INFINITE) w.flags = VENIC_EFA_WQE_F_RNR_UNLIMITED;
    w.dest_ah = c.ah;
    w.dest_qpn = c.qpn;
    w.qkey = c.qkey;
    w.length = static_cast<uint32_t>(c.bytes.size());
    if (!post_wqe(w, c.bytes.data(), c.bytes.size())) return;
    ctrl_queue.pop_front();
  }
  while (!read_queue.empty()) {
    if (!post_wqe(read_queue.front(), nullptr, 0)) {
      if (vefa_sq_space(&qv) == 0) return;
      break;  // waiting for staging room: sends need not wait with it
    }
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
    h.msg.base.conn_id = t.conn;
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
      h.base.conn_id = t.conn;
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
    const bool inl = x.flags & VENIC_EFA_WQE_F_INLINE;
    if (!post_wqe(x, inl ? t.inline_data.data() : nullptr, inl ? t.inline_data.size() : 0)) return false;
    t.outstanding++;
    t.next_wqe++;
  }
  t.all_posted = true;
  return true;
}

void Ep::tx_done_check(TxEntry& t) {
  if (t.outstanding) return;
  if (!t.all_posted && !t.err) return;
  // An RTS waits for its EOR, an atomic for its response; a failed peer
  // (fail_peer) or device (fail_all) sets err and ends the wait.
  if (!t.err) {
    if (t.kind == TxKind::kMsg && t.proto == PktType::kRts && !t.eor_done) return;
    if (t.kind == TxKind::kAtomic && !t.resp_done) return;
  }
  t.all_posted = true;  // an error stops the rest of its segments
  report_tx(t);
  release_tx_regs(t);
  txs.erase(t.id);
}

void Ep::land_staged(const venic_efa_cqe& c) {
  auto it = staged_reads.find(c.slot);
  if (it == staged_reads.end()) return;
  if (it->second.laddr && c.status == VENIC_EFA_WC_SUCCESS && it->second.len <= qv.stage_bytes - c.slot)
    memcpy(reinterpret_cast<void*>(it->second.laddr), qv.stage + c.slot, it->second.len);
  stage.give(c.slot, it->second.len);
  staged_reads.erase(it);
}

void Ep::handle_cqe(const venic_efa_cqe& c) {
  if ((c.opcode == VENIC_EFA_WC_RDMA_READ || c.opcode == VENIC_EFA_WC_RDMA_WRITE) && (c.flags & VENIC_EFA_CQE_F_STAGED))
    land_staged(c);
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
      if (peer_gone(c.status)) {
        fail_peer(peer_key(t.ah, t.qpn), peer_gone_err(c.status), c.status);  // t among them
        return;
      }
      if (c.status == VENIC_EFA_WC_RNR_RETRY_EXC) {
        fail_peer_rnr(peer_key(t.ah, t.qpn), t.conn, c.status);
        auto again = txs.find(id);  // finished there, unless nothing else of it was pending
        if (again != txs.end()) tx_done_check(*again->second);
        return;
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
        r.err = peer_gone(c.status) ? peer_gone_err(c.status) : status_to_fi(c.status);
        r.prov_errno = c.status;
      }
      if (peer_gone(c.status)) {
        fail_peer(peer_key(r.rts_ah, r.rts_qpn), peer_gone_err(c.status), c.status);
        return;  // r finished there, or when its last read comes back
      }
      if (r.reads_outstanding == 0 && r.peer_lost) {
        finish_rx(r);  // no EOR: nobody is there to take it
        return;
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
      if (peer_gone(c.status)) fail_peer(id, peer_gone_err(c.status), c.status);
      return;
    default:
      return;
  }
}

void Ep::handle_recv(const venic_efa_cqe& c) {
  uint32_t slot = c.slot;
  bool keep = false;  // parked: the slot holds a packet still to be taken
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
          if (!on_msg_pkt(key, pkt, len, parked.size() + kParkReserve < static_cast<size_t>(qv.rq_mask) + 1)) {
            parked.push_back(Parked{slot, key, len});
            keep = true;
          }
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
  if (!keep) free_slot(slot);
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

bool Ep::on_msg_pkt(uint64_t key, const uint8_t* pkt, size_t len, bool may_park) {
  if (len < sizeof(MsgHdr)) return true;
  MsgHdr h;
  memcpy(&h, pkt, sizeof(h));
  if (h.base.type == static_cast<uint8_t>(PktType::kRts) && len < sizeof(RtsHdr)) return true;
  Peer& p = peer_for(key);
  // A late packet of an incarnation we gave up on: nothing waits for it.
  if (p.dead_conn_known && p.dead_conn == h.base.conn_id) {
    if (p.dead_drops++ == 0)
      VEFA_WARN(FI_LOG_EP_DATA, "dropping packets of peer ah %u qpn %u conn %#x (given up on)\n",
                static_cast<unsigned>(key >> 16), static_cast<unsigned>(key & 0xffff), h.base.conn_id);
    return true;
  }
  p.qkey = h.base.qkey;
  if (!p.rx_conn_known || p.rx_conn != h.base.conn_id) {
    // A new incarnation of that QP number: its sequence starts over, and what
    // the old one left half-done will never be finished.
    if (p.rx_conn_known) fail_peer_rx(key, FI_EIO, 0);
    p.rx_conn_known = true;
    p.rx_conn = h.base.conn_id;
  }
  if (type == FI_EP_DGRAM) {
    // Datagrams are single packets with no order to restore.
    if (h.base.type == static_cast<uint8_t>(PktType::kEager)) start_msg(p, key, h, pkt, len);
    return true;
  }
  if (p.active.count(h.seq)) {
    handle_ordered(p, key, pkt, len, false);
    return true;
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
    case SeqClass::kBeyond: {
      // Held while the reorder buffer has room; otherwise the packet stays
      // in its RQ slot (back-pressure) unless that would leave the device
      // too few slots to bring the packets that drain the buffer.
      if (!may_park && p.rx.classify(h.seq) == SeqClass::kBeyond) {
        VEFA_WARN(FI_LOG_EP_DATA, "packet seq %u past the reorder window (expected %u), no slot to park: dropped\n",
                  h.seq, p.rx.expected());
        return true;
      }
      if (p.rx.classify(h.seq) == SeqClass::kBeyond) return false;
      if (p.rx.held_packets() >= kReorderMaxPackets && may_park) return false;
      p.rx.hold(h.seq, std::vector<uint8_t>(pkt, pkt + len), true);
      break;
    }
    case SeqClass::kStale:
      VEFA_WARN(FI_LOG_EP_DATA, "stale packet seq %u (expected %u) dropped\n", h.seq, p.rx.expected());
      break;
  }
  return true;
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
  if (r->staged && proto != PktType::kRts) {
    r->stage.resize(h.total_len);
    staged_bytes += h.total_len;  // released by unstage (kStagedBudget)
  }

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
    unstage(r);
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
  const uint64_t chunk_max = rdma_chunk(true);
  uint64_t msg_off = 0;
  int err = 0;
  std::vector<venic_efa_wqe> reads;
  for (const struct iovec& v : r.iov) {
    if (msg_off >= n) break;
    uint64_t part = v.iov_len < n - msg_off ? v.iov_len : n - msg_off;
    if (!part) continue;
    uint32_t lkey = 0;
    // The read lands here: local write is all the device needs.
    err = dom->cache_reg(v.iov_base, part, VENIC_EFA_ACCESS_LOCAL_WRITE, true, &lkey, nullptr);
    if (err) break;
    r.held_regs.push_back(HeldReg{v.iov_base, part, VENIC_EFA_ACCESS_LOCAL_WRITE});
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
  // An error or truncation of the buffer's last message releases it too:
  // FI_MULTI_RECV goes with the error entry then.
  if (r.err)
    report_rx_err(r, r.err, r.prov_errno, 0, 0, extra);
  else if (r.total > r.cap)
    report_rx_err(r, FI_ETRUNC, 0, len, r.total - len, extra);
  else
    report_rx(r, len, buf, extra);
  for (auto& h : r.held_regs) dom->cache_release(h);
  unstage(r);
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
