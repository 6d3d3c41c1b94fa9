#include "srd_transport.h"

#include <sys/random.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "venic_efa_abi.h"

namespace venic::efa::srd {

namespace {

// Sequence numbers a receiver remembers past its base: larger than any
// sender's window, so a packet in flight is never outside it.
constexpr uint32_t kRxWindow = 1024;
// How often poll() sweeps expired reassemblies and idle receive flows.
constexpr auto kSweepEvery = std::chrono::milliseconds(100);

using FlowKey = std::pair<uint64_t, uint64_t>;  // (local MAC, remote MAC)

uint64_t mac_key(const Mac& m) {
  uint64_t v = 0;
  for (uint8_t b : m) v = v << 8 | b;
  return v;
}

void bump(uint64_t& c, uint64_t n = 1) {
  __atomic_store_n(&c, __atomic_load_n(&c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

// A message being sent: its bytes, kept until every packet is acknowledged.
struct OutMsg {
  OutMessage m;  // m.data points into `bytes`
  std::vector<uint8_t> bytes;
  uint32_t msg_id = 0;
  uint32_t unacked = 0;
  bool finished = false;
  bool rnr = false;
  SrdTransport::Clock::time_point rnr_since{};
};

struct OutPkt {
  std::shared_ptr<OutMsg> msg;
  uint32_t offset = 0, len = 0;
  SrdTransport::Clock::time_point due{};
  uint32_t retries = 0;
  bool rnr_wait = false;  // due is an RNR backoff, not a loss timeout
  // First sent: an ACK measures from here even after a resend (an
  // overestimate, never an underestimate: the timeout errs long).
  SrdTransport::Clock::time_point sent{};
};

struct TxFlow {
  Mac local{}, remote{};
  uint32_t flow = 0;      // this incarnation (random): a receiver resets on a new one
  uint64_t next_seq = 0;  // psn = uint32(seq); 64 bits never wrap, so the map stays ordered
  uint32_t next_msg = 0;
  std::map<uint64_t, OutPkt> out;  // unacknowledged, by seq
  // The round trip as ACKs measure it (RFC 6298's estimator, microseconds):
  // the first timeout follows the underlay's delay, never below rto_min.
  double srtt = 0, rttvar = 0;
  uint64_t low() const { return out.empty() ? next_seq : out.begin()->first; }
  void sample(std::chrono::microseconds rtt) {
    const double r = static_cast<double>(rtt.count());
    if (srtt == 0) {
      srtt = r;
      rttvar = r / 2;
    } else {
      rttvar = 0.75 * rttvar + 0.25 * (srtt > r ? srtt - r : r - srtt);
      srtt = 0.875 * srtt + 0.125 * r;
    }
  }
};

struct Reasm {
  InMessage meta;  // meta.data unset; the bytes are below
  std::vector<uint8_t> bytes;
  uint64_t got = 0;
  bool complete = false;
  SrdTransport::Clock::time_point touched{};
};

struct RxFlow {
  uint32_t flow = 0;
  uint32_t base = 0;                            // every psn before it is done (placed, or abandoned by the sender)
  std::array<uint64_t, kRxWindow / 64> seen{};  // psn base + i done: bit (psn % kRxWindow)
  std::map<uint32_t, Reasm> reasm;              // by msg_id
  SrdTransport::Clock::time_point touched{};
  bool test(uint32_t psn) const { return seen[(psn % kRxWindow) / 64] >> (psn % 64) & 1; }
  void set(uint32_t psn) { seen[(psn % kRxWindow) / 64] |= uint64_t(1) << (psn % 64); }
  void clear(uint32_t psn) { seen[(psn % kRxWindow) / 64] &= ~(uint64_t(1) << (psn % 64)); }
};

}  // namespace

struct SrdTransport::Impl {
  SrdTransport& t;
  std::function<bool(const uint8_t*, uint32_t)> tx;
  std::function<Verdict(const InMessage&)> deliver;
  std::map<FlowKey, TxFlow> txf;
  std::map<FlowKey, RxFlow> rxf;
  std::vector<uint8_t> scratch;
  size_t inflight = 0;
  uint64_t reasm_bytes = 0;
  Clock::time_point next_due = Clock::time_point::max();
  Clock::time_point next_sweep{};
  std::minstd_rand rng;

  Impl(SrdTransport& owner, std::function<bool(const uint8_t*, uint32_t)> tx_fn,
       std::function<Verdict(const InMessage&)> deliver_fn)
      : t(owner), tx(std::move(tx_fn)), deliver(std::move(deliver_fn)) {
    scratch.resize(kEthBytes + t.cfg_.frame_payload);
    uint32_t seed = t.cfg_.seed;
    while (seed == 0)
      if (::getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) seed = 0;
    rng.seed(seed);
  }

  std::chrono::microseconds rto(const TxFlow& f, uint32_t retries) const {
    const auto base = std::max(t.cfg_.rto_min, std::chrono::microseconds(static_cast<int64_t>(f.srtt + 4 * f.rttvar)));
    const std::chrono::microseconds r = base * (int64_t(1) << std::min<uint32_t>(retries, 20));
    return std::min(r, t.cfg_.rto_max);
  }

  void transmit(const TxFlow& f, uint64_t seq, const OutPkt& p) {
    SrdHeader h;
    h.type = SrdType::kData;
    const OutMessage& m = p.msg->m;
    h.flags = static_cast<uint8_t>((m.has_imm ? kSrdFlagImm : 0) | (m.ud ? kSrdFlagUd : 0));
    h.flow = f.flow;
    h.psn = static_cast<uint32_t>(seq);
    h.low = static_cast<uint32_t>(f.low());
    h.src_qpn = m.src_qpn;
    h.dst_qpn = m.dst_qpn;
    h.qkey = m.qkey;
    h.msg_id = p.msg->msg_id;
    h.offset = p.offset;
    h.total_len = static_cast<uint32_t>(m.data.size());
    h.imm = m.imm;
    const size_t n = write_srd(scratch, f.remote, f.local, h, m.data.subspan(p.offset, p.len));
    bump(t.stats_.tx_packets);
    if (!n || !tx(scratch.data(), static_cast<uint32_t>(n))) bump(t.stats_.link_busy);
  }

  void finish(const std::shared_ptr<OutMsg>& m, uint8_t status) {
    if (m->finished) return;
    m->finished = true;
    inflight--;
    t.done_.push_back(Completion{m->m.cookie, status, m->rnr});
  }

  // Ends a message before all its packets were acknowledged: the rest are
  // never sent again.
  void abandon(TxFlow& f, const std::shared_ptr<OutMsg>& m, uint8_t status) {
    for (auto it = f.out.begin(); it != f.out.end();) it = it->second.msg == m ? f.out.erase(it) : std::next(it);
    finish(m, status);
  }

  void ack(const SrdPacket& p, SrdStatus status) {
    SrdHeader h;
    h.type = SrdType::kAck;
    h.status = status;
    h.flow = p.h.flow;
    h.psn = p.h.psn;
    const size_t n = write_srd(scratch, p.src, p.dst, h, {});
    bump(t.stats_.acks_tx);
    if (!n || !tx(scratch.data(), static_cast<uint32_t>(n))) bump(t.stats_.link_busy);
  }

  void on_ack(const SrdPacket& p, Clock::time_point now) {
    bump(t.stats_.acks_rx);
    auto fit = txf.find({mac_key(p.dst), mac_key(p.src)});
    if (fit == txf.end() || fit->second.flow != p.h.flow) return bump(t.stats_.stray_acks);
    TxFlow& f = fit->second;
    const uint64_t low = f.low();
    const uint64_t seq = low + static_cast<uint32_t>(p.h.psn - static_cast<uint32_t>(low));
    auto it = f.out.find(seq);
    if (it == f.out.end()) return bump(t.stats_.stray_acks);  // acknowledged before (a duplicate ACK)
    std::shared_ptr<OutMsg> m = it->second.msg;
    switch (p.h.status) {
      case SrdStatus::kOk:
        f.sample(std::chrono::duration_cast<std::chrono::microseconds>(now - it->second.sent));
        f.out.erase(it);
        if (--m->unacked == 0) finish(m, VENIC_EFA_WC_SUCCESS);
        return;
      case SrdStatus::kReject:
        bump(t.stats_.rejects);
        return abandon(f, m, VENIC_EFA_WC_UNREACHABLE);
      case SrdStatus::kRnr: {
        bump(t.stats_.rnr_naks);
        m->rnr = true;
        if (m->rnr_since == Clock::time_point{}) m->rnr_since = now;
        const uint8_t r = m->m.rnr_retry;
        if (r < VENIC_EFA_RNR_RETRY_INFINITE &&
            now - m->rnr_since >= std::chrono::milliseconds(uint64_t(r) * VENIC_EFA_RNR_TIMEOUT_MS))
          return abandon(f, m, VENIC_EFA_WC_RNR_RETRY_EXC);
        it->second.retries = 0;  // the target answered: not a loss
        it->second.rnr_wait = true;
        it->second.due = now + t.cfg_.rnr_backoff;
        next_due = std::min(next_due, it->second.due);
        return;
      }
    }
  }

  RxFlow* rx_flow(const SrdPacket& p, Clock::time_point now) {
    const FlowKey k{mac_key(p.dst), mac_key(p.src)};
    auto it = rxf.find(k);
    if (it == rxf.end()) {
      if (rxf.size() >= t.cfg_.max_flows) {
        bump(t.stats_.flows_full);
        return nullptr;
      }
      it = rxf.emplace(k, RxFlow{}).first;
      it->second.flow = p.h.flow;
      it->second.base = p.h.low;
    } else if (it->second.flow != p.h.flow) {
      // The sender started again (its daemon restarted): its numbers begin anew.
      drop_reasm(it->second);
      it->second = RxFlow{};
      it->second.flow = p.h.flow;
      it->second.base = p.h.low;
    }
    it->second.touched = now;
    return &it->second;
  }

  void drop_reasm(RxFlow& f) {
    for (auto& [id, r] : f.reasm) reasm_bytes -= r.bytes.size();
    f.reasm.clear();
  }

  static void advance(RxFlow& f, uint32_t to) {
    // The sender never sends what lies before `low` again.
    const uint32_t d = to - f.base;
    if (static_cast<int32_t>(d) <= 0) return;
    if (d >= kRxWindow)
      f.seen.fill(0);
    else
      for (uint32_t i = 0; i < d; i++) f.clear(f.base + i);
    f.base = to;
  }

  void on_data(const SrdPacket& p, Clock::time_point now) {
    if (t.filter_ && !t.filter_(p.dst, p.src)) {
      bump(t.stats_.unknown_peers);
      return ack(p, SrdStatus::kReject);
    }
    RxFlow* fp = rx_flow(p, now);
    if (!fp) return;
    RxFlow& f = *fp;
    advance(f, p.h.low);
    const uint32_t off = p.h.psn - f.base;
    if (static_cast<int32_t>(off) < 0 || (off < kRxWindow && f.test(p.h.psn))) {
      // Done before: its ACK was lost or it was duplicated on the way.
      bump(t.stats_.duplicates);
      return ack(p, SrdStatus::kOk);
    }
    if (off >= kRxWindow) return bump(t.stats_.out_of_window);
    InMessage in;
    in.src = p.src;
    in.dst = p.dst;
    in.src_qpn = p.h.src_qpn;
    in.dst_qpn = p.h.dst_qpn;
    in.qkey = p.h.qkey;
    in.has_imm = p.h.flags & kSrdFlagImm;
    in.ud = p.h.flags & kSrdFlagUd;
    in.imm = in.has_imm ? p.h.imm : 0;
    Verdict v;
    auto rit = f.reasm.end();
    if (p.h.offset == 0 && p.payload.size() == p.h.total_len) {
      in.data = p.payload;  // the whole message in one packet
      v = deliver(in);
    } else {
      rit = f.reasm.find(p.h.msg_id);
      if (rit == f.reasm.end()) {
        if (f.reasm.size() >= t.cfg_.max_reasm_per_flow || reasm_bytes + p.h.total_len > t.cfg_.max_reasm_bytes)
          return bump(t.stats_.reasm_full);  // no ACK: the sender sends it again
        rit = f.reasm.emplace(p.h.msg_id, Reasm{}).first;
        rit->second.meta = in;
        rit->second.bytes.assign(p.h.total_len, 0);
        reasm_bytes += p.h.total_len;
      }
      Reasm& r = rit->second;
      const InMessage& mm = r.meta;
      if (r.bytes.size() != p.h.total_len || mm.src_qpn != in.src_qpn || mm.dst_qpn != in.dst_qpn ||
          mm.qkey != in.qkey || mm.has_imm != in.has_imm || mm.ud != in.ud || mm.imm != in.imm)
        return bump(t.stats_.bad_frames);  // fragments that disagree: not from an honest sender
      r.touched = now;
      if (!r.complete) {
        std::memcpy(r.bytes.data() + p.h.offset, p.payload.data(), p.payload.size());
        r.got += p.payload.size();
        r.complete = r.got >= r.bytes.size();
      }
      if (!r.complete) {
        f.set(p.h.psn);
        slide(f);
        return ack(p, SrdStatus::kOk);
      }
      in = r.meta;
      in.data = r.bytes;
      v = deliver(in);
    }
    if (v == Verdict::kRnr) return ack(p, SrdStatus::kRnr);  // not done: its resend tries again
    if (rit != f.reasm.end()) {
      reasm_bytes -= rit->second.bytes.size();
      f.reasm.erase(rit);
    }
    f.set(p.h.psn);
    slide(f);
    ack(p, v == Verdict::kPlaced ? SrdStatus::kOk : SrdStatus::kReject);
  }

  static void slide(RxFlow& f) {
    while (f.test(f.base)) f.clear(f.base++);
  }

  void sweep(Clock::time_point now) {
    for (auto fit = rxf.begin(); fit != rxf.end();) {
      RxFlow& f = fit->second;
      for (auto it = f.reasm.begin(); it != f.reasm.end();) {
        if (now - it->second.touched < t.cfg_.reasm_timeout) {
          ++it;
          continue;
        }
        bump(t.stats_.reasm_expired);
        reasm_bytes -= it->second.bytes.size();
        it = f.reasm.erase(it);
      }
      fit = f.reasm.empty() && now - f.touched >= t.cfg_.flow_idle ? rxf.erase(fit) : std::next(fit);
    }
  }
};

SrdTransport::SrdTransport(SrdConfig cfg, std::function<bool(const uint8_t*, uint32_t)> tx,
                           std::function<Verdict(const InMessage&)> deliver)
    : cfg_(cfg) {
  cfg_.frame_payload = std::clamp<uint32_t>(cfg_.frame_payload, kHeaderBytes + 1, 0xffff);
  cfg_.window = std::clamp<uint32_t>(cfg_.window, 1, kRxWindow / 2);
  impl_ = std::make_unique<Impl>(*this, std::move(tx), std::move(deliver));
}

SrdTransport::~SrdTransport() = default;

size_t SrdTransport::inflight() const {
  return impl_->inflight;
}

bool SrdTransport::idle() const {
  return impl_->inflight == 0 && done_.empty() && impl_->reasm_bytes == 0;
}

SendResult SrdTransport::send(const OutMessage& m, Clock::time_point now) {
  const uint32_t frag = cfg_.max_fragment();
  if (m.data.size() > cfg_.max_message) return SendResult::kTooLong;
  const uint64_t npkts = std::max<uint64_t>(1, (m.data.size() + frag - 1) / frag);
  if (npkts > cfg_.window) return SendResult::kTooLong;
  if (impl_->inflight >= cfg_.max_inflight) return SendResult::kBusy;
  const FlowKey k{mac_key(m.src), mac_key(m.dst)};
  auto fit = impl_->txf.find(k);
  if (fit == impl_->txf.end()) {
    // A flow lives as long as the transport: a new incarnation would make
    // its receiver forget which packets it already placed.
    if (impl_->txf.size() >= cfg_.max_flows) {
      bump(stats_.flows_full);
      return SendResult::kBusy;
    }
    TxFlow f;
    f.local = m.src;
    f.remote = m.dst;
    while (f.flow == 0) f.flow = static_cast<uint32_t>(impl_->rng());
    f.next_seq = impl_->rng();
    f.next_msg = static_cast<uint32_t>(impl_->rng());
    fit = impl_->txf.emplace(k, std::move(f)).first;
  }
  TxFlow& f = fit->second;
  if (f.next_seq - f.low() + npkts > cfg_.window) return SendResult::kBusy;
  auto msg = std::make_shared<OutMsg>();
  msg->bytes.assign(m.data.begin(), m.data.end());
  msg->m = m;
  msg->m.data = msg->bytes;
  msg->msg_id = f.next_msg++;
  msg->unacked = static_cast<uint32_t>(npkts);
  impl_->inflight++;
  const auto due = now + impl_->rto(f, 0);
  for (uint64_t i = 0; i < npkts; i++) {
    OutPkt p;
    p.msg = msg;
    p.offset = static_cast<uint32_t>(i * frag);
    p.len = static_cast<uint32_t>(std::min<uint64_t>(frag, m.data.size() - p.offset));
    p.due = due;
    p.sent = now;
    const uint64_t seq = f.next_seq++;
    auto& slot = f.out.emplace(seq, std::move(p)).first->second;
    impl_->transmit(f, seq, slot);
  }
  impl_->next_due = std::min(impl_->next_due, due);
  return SendResult::kQueued;
}

void SrdTransport::receive(std::span<const uint8_t> frame, Clock::time_point now) {
  ParseError why;
  auto p = parse_srd(frame, cfg_.max_message, cfg_.max_fragment(), &why);
  if (!p) return bump(stats_.bad_frames);
  bump(stats_.rx_packets);
  if (p->h.type == SrdType::kAck)
    impl_->on_ack(*p, now);
  else
    impl_->on_data(*p, now);
}

void SrdTransport::poll(Clock::time_point now) {
  Impl& I = *impl_;
  if (now >= I.next_sweep) {
    I.next_sweep = now + kSweepEvery;
    I.sweep(now);
  }
  if (now < I.next_due) return;
  Clock::time_point next = Clock::time_point::max();
  for (auto& [k, f] : I.txf) {
    std::vector<std::shared_ptr<OutMsg>> failed;
    for (auto& [seq, p] : f.out) {
      if (p.msg->finished) continue;
      if (p.due > now) {
        next = std::min(next, p.due);
        continue;
      }
      if (!p.rnr_wait && ++p.retries > cfg_.max_retries) {
        failed.push_back(p.msg);
        continue;
      }
      if (!p.rnr_wait) bump(stats_.retransmits);
      p.rnr_wait = false;
      p.due = now + I.rto(f, p.retries);
      next = std::min(next, p.due);
      I.transmit(f, seq, p);
    }
    for (auto& m : failed) {
      if (m->finished) continue;
      bump(stats_.retry_exhausted);
      I.abandon(f, m, VENIC_EFA_WC_UNREACHABLE);
    }
  }
  I.next_due = next;
}

}  // namespace venic::efa::srd
