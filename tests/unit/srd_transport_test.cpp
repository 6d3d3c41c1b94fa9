// The EFA engine's transport between hosts (emulator/efa/srd_transport.h)
// alone: two endpoints over an in-memory underlay that loses, duplicates
// and reorders frames on a virtual clock with a fixed seed.  Every message
// is placed exactly once with its bytes intact and completes exactly once;
// a dead link or a rejecting target ends a message with an error; hostile
// frames are counted and dropped.
#include "srd_transport.h"

#include <gtest/gtest.h>

#include <map>
#include <queue>
#include <random>
#include <vector>

#include "venic_efa_abi.h"

namespace venic::efa::srd {
namespace {

using Clock = SrdTransport::Clock;
using std::chrono::microseconds;

const Mac kA{0x02, 0, 0, 0, 0, 0xa};
const Mac kB{0x02, 0, 0, 0, 0, 0xb};

// A lossy underlay between endpoints, in virtual time.
struct Underlay {
  struct InFlight {
    Clock::time_point at;
    uint64_t order;
    std::vector<uint8_t> frame;
    int to;
    bool operator>(const InFlight& o) const { return at != o.at ? at > o.at : order > o.order; }
  };
  std::mt19937 rng{1234};
  double loss = 0, dup = 0;
  uint32_t max_delay_us = 0;  // uniform: reorders what overlaps
  bool dead = false;
  Clock::time_point now{};
  uint64_t order = 0;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<InFlight>> q;
  uint64_t sent = 0, dropped = 0, duplicated = 0;

  bool send(const uint8_t* f, uint32_t n, int to) {
    sent++;
    std::uniform_real_distribution<double> u(0, 1);
    if (dead || u(rng) < loss) {
      dropped++;
      return true;
    }
    int copies = u(rng) < dup ? 2 : 1;
    duplicated += copies - 1;
    for (int i = 0; i < copies; i++) {
      const uint32_t d = max_delay_us ? rng() % (max_delay_us + 1) : 0;
      q.push({now + microseconds(10 + d), order++, std::vector<uint8_t>(f, f + n), to});
    }
    return true;
  }
};

struct Endpoint {
  std::unique_ptr<SrdTransport> t;
  std::map<uint32_t, int> placed;                    // by imm (the message's index)
  std::function<Verdict(const InMessage&)> verdict;  // null: place
  uint64_t corrupt = 0;
};

std::vector<uint8_t> pattern(uint32_t id, uint32_t len) {
  std::vector<uint8_t> v(len);
  for (uint32_t i = 0; i < len; i++) v[i] = static_cast<uint8_t>(id * 31 + i * 7 + (i >> 8));
  return v;
}

class SrdTransportTest : public ::testing::Test {
 protected:
  void make(SrdConfig cfg) {
    for (int i = 0; i < 2; i++) {
      cfg.seed = 100 + i;
      Endpoint& e = ep_[i];
      const int other = 1 - i;
      e.t = std::make_unique<SrdTransport>(
          cfg, [this, other](const uint8_t* f, uint32_t n) { return net_.send(f, n, other); },
          [this, i](const InMessage& m) {
            Endpoint& me = ep_[i];
            if (me.verdict) {
              const Verdict v = me.verdict(m);
              if (v != Verdict::kPlaced) return v;
            }
            me.placed[m.imm]++;
            if (std::vector<uint8_t>(m.data.begin(), m.data.end()) !=
                pattern(m.imm, static_cast<uint32_t>(m.data.size())))
              me.corrupt++;
            return Verdict::kPlaced;
          });
    }
  }
  OutMessage msg(int from, uint32_t id, const std::vector<uint8_t>& data, uint8_t rnr_retry = 7) {
    OutMessage m;
    m.src = from == 0 ? kA : kB;
    m.dst = from == 0 ? kB : kA;
    m.src_qpn = 10;
    m.dst_qpn = 20;
    m.qkey = 0x1234;
    m.has_imm = true;
    m.imm = id;
    m.data = data;
    m.cookie = id;
    m.rnr_retry = rnr_retry;
    return m;
  }
  // Advances virtual time, delivering what is due and polling both ends.
  void run_for(microseconds d, microseconds step = microseconds(50)) {
    const auto end = net_.now + d;
    while (net_.now < end) {
      net_.now += step;
      while (!net_.q.empty() && net_.q.top().at <= net_.now) {
        auto f = net_.q.top();
        net_.q.pop();
        ep_[f.to].t->receive(f.frame, net_.now);
      }
      for (auto& e : ep_) e.t->poll(net_.now);
    }
  }
  std::map<uint64_t, std::vector<uint8_t>> take(int i) {
    std::map<uint64_t, std::vector<uint8_t>> out;
    for (auto& c : ep_[i].t->completions()) out[c.cookie].push_back(c.status);
    ep_[i].t->completions().clear();
    return out;
  }

  Underlay net_;
  Endpoint ep_[2];
};

TEST_F(SrdTransportTest, EveryMessageExactlyOnceOverALossyDuplicatingReorderingUnderlay) {
  SrdConfig cfg;
  cfg.frame_payload = 1500;  // many fragments per message
  cfg.max_message = VENIC_EFA_MTU;
  make(cfg);
  net_.loss = 0.01;
  net_.dup = 0.005;
  net_.max_delay_us = 400;
  // The receiver sometimes has no buffer.
  std::mt19937 rnr_rng(7);
  ep_[1].verdict = [&](const InMessage&) { return rnr_rng() % 20 == 0 ? Verdict::kRnr : Verdict::kPlaced; };
  std::mt19937 sizes(99);
  constexpr uint32_t kMsgs = 3000;
  std::map<uint64_t, std::vector<uint8_t>> done[2];
  uint32_t next[2] = {0, 0};
  std::vector<std::vector<uint8_t>> keep;
  for (int round = 0;
       round < 20000 && (next[0] < kMsgs || next[1] < kMsgs || ep_[0].t->inflight() || ep_[1].t->inflight()); round++) {
    for (int s = 0; s < 2; s++)
      for (int k = 0; k < 4 && next[s] < kMsgs; k++) {
        const uint32_t id = next[s] + (s ? 1000000 : 0);
        const uint32_t len = sizes() % 5 == 0 ? 0 : sizes() % (VENIC_EFA_MTU + 1);
        const auto data = pattern(id, len);
        const SendResult r = ep_[s].t->send(msg(s, id, data), net_.now);
        ASSERT_NE(r, SendResult::kTooLong);
        if (r == SendResult::kQueued) next[s]++;
      }
    run_for(microseconds(200));
    for (int s = 0; s < 2; s++)
      for (auto& [c, st] : take(s))
        for (uint8_t x : st) done[s][c].push_back(x);
  }
  run_for(std::chrono::seconds(3));
  for (int s = 0; s < 2; s++)
    for (auto& [c, st] : take(s))
      for (uint8_t x : st) done[s][c].push_back(x);
  for (int s = 0; s < 2; s++) {
    ASSERT_EQ(next[s], kMsgs);
    EXPECT_EQ(ep_[s].t->inflight(), 0u);
    EXPECT_EQ(done[s].size(), kMsgs) << "sender " << s;
    for (auto& [c, st] : done[s]) {
      ASSERT_EQ(st.size(), 1u) << "message " << c << " completed " << st.size() << " times";
      EXPECT_EQ(st[0], VENIC_EFA_WC_SUCCESS) << "message " << c;
    }
    const Endpoint& rx = ep_[1 - s];
    EXPECT_EQ(rx.corrupt, 0u);
    uint32_t placed = 0;
    for (auto& [id, n] : rx.placed) {
      EXPECT_EQ(n, 1) << "message " << id << " placed " << n << " times";
      placed++;
    }
    EXPECT_EQ(placed, kMsgs);
  }
  // The underlay did what it was asked, and the transport worked for it.
  EXPECT_GT(net_.dropped, 0u);
  EXPECT_GT(net_.duplicated, 0u);
  EXPECT_GT(ep_[0].t->stats().retransmits, 0u);
  EXPECT_GT(ep_[1].t->stats().duplicates + ep_[0].t->stats().duplicates, 0u);
  EXPECT_GT(ep_[0].t->stats().rnr_naks, 0u);
  EXPECT_EQ(ep_[0].t->stats().bad_frames + ep_[1].t->stats().bad_frames, 0u);
}

TEST_F(SrdTransportTest, TheTimeoutFollowsTheRoundTripOfASlowUnderlay) {
  SrdConfig cfg;
  cfg.rto_min = microseconds(500);
  make(cfg);
  net_.max_delay_us = 10000;  // 10-20 ms one way with the fixed part below
  auto slow = [&] { run_for(microseconds(10000)); };
  // A first message teaches the sender the round trip.
  ASSERT_EQ(ep_[0].t->send(msg(0, 0, pattern(0, 100)), net_.now), SendResult::kQueued);
  for (int i = 0; i < 10; i++) slow();
  const uint64_t r0 = ep_[0].t->stats().retransmits;
  for (uint32_t id = 1; id <= 200; id++) {
    ASSERT_EQ(ep_[0].t->send(msg(0, id, pattern(id, 100)), net_.now), SendResult::kQueued);
    run_for(microseconds(500));
  }
  for (int i = 0; i < 20; i++) slow();
  EXPECT_EQ(ep_[1].placed.size(), 201u);
  EXPECT_LT(ep_[0].t->stats().retransmits - r0, 20u) << "a timeout shorter than the round trip resends all";
}

TEST_F(SrdTransportTest, ADeadLinkEndsEachMessageOnceWithAnError) {
  SrdConfig cfg;
  cfg.frame_payload = 2000;
  cfg.max_retries = 4;
  make(cfg);
  net_.dead = true;
  for (uint32_t id = 0; id < 10; id++)
    ASSERT_EQ(ep_[0].t->send(msg(0, id, pattern(id, 5000)), net_.now), SendResult::kQueued);
  run_for(std::chrono::seconds(2));
  auto d = take(0);
  ASSERT_EQ(d.size(), 10u);
  for (auto& [c, st] : d) {
    ASSERT_EQ(st.size(), 1u);
    EXPECT_EQ(st[0], VENIC_EFA_WC_UNREACHABLE);
  }
  EXPECT_EQ(ep_[0].t->inflight(), 0u);
  EXPECT_EQ(ep_[0].t->stats().retry_exhausted, 10u);
  // The flow goes on once the link is back.
  net_.dead = false;
  ASSERT_EQ(ep_[0].t->send(msg(0, 77, pattern(77, 7000)), net_.now), SendResult::kQueued);
  run_for(std::chrono::milliseconds(100));
  d = take(0);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[77], std::vector<uint8_t>{VENIC_EFA_WC_SUCCESS});
  EXPECT_EQ(ep_[1].placed[77], 1);
}

TEST_F(SrdTransportTest, ARejectingTargetAndAnRnrLimitEndTheMessage) {
  SrdConfig cfg;
  cfg.frame_payload = 2000;
  make(cfg);
  ep_[1].verdict = [](const InMessage& m) { return m.imm == 1 ? Verdict::kReject : Verdict::kRnr; };
  ASSERT_EQ(ep_[0].t->send(msg(0, 1, pattern(1, 6000)), net_.now), SendResult::kQueued);
  ASSERT_EQ(ep_[0].t->send(msg(0, 2, pattern(2, 100), 1), net_.now), SendResult::kQueued);  // 100 ms of RNR
  ASSERT_EQ(ep_[0].t->send(msg(0, 3, pattern(3, 100), 0), net_.now), SendResult::kQueued);  // none
  run_for(std::chrono::milliseconds(20));
  auto d = take(0);
  EXPECT_EQ(d[1], std::vector<uint8_t>{VENIC_EFA_WC_UNREACHABLE});
  EXPECT_EQ(d[3], std::vector<uint8_t>{VENIC_EFA_WC_RNR_RETRY_EXC});
  EXPECT_FALSE(d.count(2)) << "rnr_retry 1 retries for 100 ms";
  run_for(std::chrono::milliseconds(200));
  d = take(0);
  EXPECT_EQ(d[2], std::vector<uint8_t>{VENIC_EFA_WC_RNR_RETRY_EXC});
  EXPECT_TRUE(ep_[1].placed.empty());
  EXPECT_EQ(ep_[0].t->inflight(), 0u);
}

TEST_F(SrdTransportTest, HostileFramesAreCountedAndDroppedAndBoundWhatTheyHold) {
  SrdConfig cfg;
  cfg.frame_payload = 1000;
  cfg.max_reasm_per_flow = 8;
  cfg.max_reasm_bytes = 64 << 10;
  cfg.reasm_timeout = std::chrono::milliseconds(500);  // shorter than a sender's retries
  make(cfg);
  std::mt19937 rng(5);
  // Random bytes, and random bytes behind a valid Ethernet header and version.
  for (int i = 0; i < 20000; i++) {
    std::vector<uint8_t> f(rng() % 1200);
    for (auto& b : f) b = static_cast<uint8_t>(rng());
    if (i % 2 && f.size() > 16) f[12] = 0x88, f[13] = 0xb5, f[14] = kSrdVersion;
    ep_[1].t->receive(f, net_.now);
  }
  EXPECT_GT(ep_[1].t->stats().bad_frames, 19000u);
  // Well-formed headers with absurd numbers.
  auto frame = [&](SrdHeader h, uint32_t payload, const Mac& src) {
    std::vector<uint8_t> f(kEthBytes + kHeaderBytes + payload);
    EXPECT_GT(write_srd(f, kB, src, h, std::vector<uint8_t>(payload, 0xee)), 0u);
    return f;
  };
  const uint64_t bad0 = ep_[1].t->stats().bad_frames;
  SrdHeader h;
  h.flow = 9;
  h.total_len = 0xffffffff;  // past max_message
  ep_[1].t->receive(frame(h, 10, kA), net_.now);
  h.total_len = 100;
  h.offset = 95;  // past the end
  ep_[1].t->receive(frame(h, 10, kA), net_.now);
  h.offset = 0xfffffff8;  // wraps
  ep_[1].t->receive(frame(h, 10, kA), net_.now);
  h.offset = 0;
  auto f = frame(h, 10, kA);
  f[kEthBytes + 41] = 200;  // payload_len past the frame
  ep_[1].t->receive(f, net_.now);
  h.total_len = 5000;
  ep_[1].t->receive(frame(h, 990, kA), net_.now);  // a fragment larger than the link's
  EXPECT_EQ(ep_[1].t->stats().bad_frames, bad0 + 5);
  // Many first fragments of big messages: held only up to the bounds, and
  // never placed.
  for (uint32_t i = 0; i < 200; i++) {
    Mac src = kA;
    src[3] = 0xee;  // never kA
    src[4] = static_cast<uint8_t>(i);
    h.flow = 1;
    h.psn = i;
    h.low = 0;
    h.msg_id = i;
    h.total_len = 8000;
    ep_[1].t->receive(frame(h, 900, src), net_.now);
  }
  EXPECT_GT(ep_[1].t->stats().reasm_full, 0u);
  EXPECT_TRUE(ep_[1].placed.empty());
  // An honest flow still gets through: its fragments wait (resent) until
  // the hostile ones expire.
  ASSERT_EQ(ep_[0].t->send(msg(0, 5, pattern(5, 3000)), net_.now), SendResult::kQueued);
  run_for(std::chrono::seconds(3), std::chrono::milliseconds(1));
  EXPECT_EQ(ep_[1].placed[5], 1);
  EXPECT_EQ(ep_[1].corrupt, 0u);
  EXPECT_GT(ep_[1].t->stats().reasm_expired, 0u);
}

TEST_F(SrdTransportTest, AFilterRefusesUnknownPairsBeforeAnyState) {
  SrdConfig cfg;
  cfg.frame_payload = 1000;
  make(cfg);
  ep_[1].t->set_filter([](const Mac& local, const Mac& remote) { return local == kB && remote == kA; });
  Mac stranger = kA;
  stranger[5] = 0x5;
  OutMessage m = msg(0, 1, pattern(1, 2500));
  m.src = stranger;  // as a host that claims an ENI kB never heard of
  ASSERT_EQ(ep_[0].t->send(m, net_.now), SendResult::kQueued);
  ASSERT_EQ(ep_[0].t->send(msg(0, 2, pattern(2, 2500)), net_.now), SendResult::kQueued);
  run_for(std::chrono::milliseconds(20));
  auto d = take(0);
  EXPECT_EQ(d[1], std::vector<uint8_t>{VENIC_EFA_WC_UNREACHABLE});
  EXPECT_EQ(d[2], std::vector<uint8_t>{VENIC_EFA_WC_SUCCESS});
  EXPECT_GT(ep_[1].t->stats().unknown_peers, 0u);
  EXPECT_EQ(ep_[1].placed.count(1), 0u);
}

TEST_F(SrdTransportTest, WindowAndInflightBoundsRefuseWithBusy) {
  SrdConfig cfg;
  cfg.frame_payload = 1000;
  cfg.window = 16;
  cfg.max_inflight = 4;
  make(cfg);
  net_.dead = true;
  std::vector<uint8_t> big(VENIC_EFA_MTU + 1);
  EXPECT_EQ(ep_[0].t->send(msg(0, 0, big), net_.now), SendResult::kTooLong);
  EXPECT_EQ(ep_[0].t->send(msg(0, 1, pattern(1, 8000)), net_.now), SendResult::kQueued);  // 9 packets
  EXPECT_EQ(ep_[0].t->send(msg(0, 2, pattern(2, 8000)), net_.now), SendResult::kBusy);    // window
  for (uint32_t i = 3; i < 6; i++) EXPECT_EQ(ep_[0].t->send(msg(0, i, pattern(i, 10)), net_.now), SendResult::kQueued);
  EXPECT_EQ(ep_[0].t->send(msg(0, 6, pattern(6, 10)), net_.now), SendResult::kBusy);  // in flight
}

}  // namespace
}  // namespace venic::efa::srd
