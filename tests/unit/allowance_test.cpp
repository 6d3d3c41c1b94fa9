// Allowances: the token buckets on a deterministic clock (rate, burst, no
// drift, no overflow at the extremes), checked against DPDK's rte_meter, and
// the per-flow cap's flow table.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_meter.h>

#include <cstring>
#include <random>

#include "allowance.h"
#include "flow_meter.h"

namespace venic {
namespace {

using vf::AllowanceProfile;
using vf::BucketProfile;
using vf::Limits;
using vf::TokenBucket;

constexpr uint64_t kHz = 2'000'000'000;  // a 2 GHz TSC
constexpr uint64_t kT0 = 1'000'000'000'000;

// Offers `size`-byte packets every `gap` ticks for `seconds`; returns the bytes that conform.
uint64_t offer(TokenBucket& b, const BucketProfile& p, uint64_t start, uint32_t size, uint64_t gap, uint64_t seconds) {
  uint64_t passed = 0;
  for (uint64_t t = start; t < start + seconds * kHz; t += gap) {
    b.refill(p, t);
    if (b.take(p, size)) passed += size;
  }
  return passed;
}

TEST(TokenBucket, AFreshBucketIsFullAndThenHoldsTheRate) {
  // 100 Mbps, 10 ms of burst: 125 KB deep.
  const BucketProfile p = BucketProfile::make(12'500'000, 125'000, kHz);
  TokenBucket b;
  b.refill(p, kT0);
  EXPECT_EQ(b.tokens(p), 125'000u);
  // Offered at ~10x the rate for 4 s: the burst plus exactly the rate passes.
  const uint64_t passed = offer(b, p, kT0, 1500, 24'000, 4);
  const double expect = 125'000 + 4 * 12'500'000.0;
  EXPECT_NEAR(passed, expect, 1500) << "more than one packet off";
}

TEST(TokenBucket, BurstIsExactlyTheDepthAfterIdle) {
  const BucketProfile p = BucketProfile::make(1'000'000, 64'000, kHz);
  TokenBucket b;
  b.refill(p, kT0);
  uint64_t n = 0;
  while (b.take(p, 1000)) n++;
  EXPECT_EQ(n, 64u);
  // A long silence refills to the depth, never beyond.
  b.refill(p, kT0 + 3600 * kHz);
  EXPECT_EQ(b.tokens(p), 64'000u);
  // After the burst, one packet per 1000 bytes of rate: 1 ms at 1 MB/s.
  while (b.take(p, 1000)) {
  }
  b.refill(p, kT0 + 3600 * kHz + kHz / 1000 - 1);
  EXPECT_FALSE(b.take(p, 1000));
  b.refill(p, kT0 + 3600 * kHz + kHz / 1000);
  EXPECT_TRUE(b.take(p, 1000));
}

TEST(TokenBucket, NoDriftOverManySmallRefills) {
  // A rate that does not divide the clock: refills every 7 ticks for 10 s.
  const BucketProfile p = BucketProfile::make(333'333, 10'000'000, kHz);
  TokenBucket b;
  b.refill(p, kT0);
  b.take_up_to(p, UINT64_MAX);
  for (uint64_t t = kT0; t <= kT0 + 10 * kHz; t += 7 * 1'000'003) b.refill(p, t);
  b.refill(p, kT0 + 10 * kHz);
  EXPECT_EQ(b.tokens(p), 3'333'330u);
}

TEST(TokenBucket, TheLargestSettingsDoNotOverflow) {
  const Limits l{Limits::kMaxMbps, Limits::kMaxMbps, Limits::kMaxPps, Limits::kMaxMbps, Limits::kMaxBurstMs};
  const AllowanceProfile a = AllowanceProfile::make(l, 5'000'000'000);
  TokenBucket b;
  b.refill(a.bw_out, UINT64_MAX / 2);  // a clock that has run for decades
  // 400 Gbps for an hour: 1.8e14 bytes.
  EXPECT_EQ(b.tokens(a.bw_out), 50'000'000'000ull * 3600);
  EXPECT_TRUE(b.take(a.bw_out, 9001));
}

TEST(TokenBucket, ClockGoingBackwardsAddsNothing) {
  const BucketProfile p = BucketProfile::make(1000, 1000, kHz);
  TokenBucket b;
  b.refill(p, kT0);
  b.take_up_to(p, 1000);
  b.refill(p, kT0 - kHz);
  EXPECT_EQ(b.tokens(p), 0u);
}

TEST(TokenBucket, ReserveAndGiveBack) {
  const BucketProfile p = BucketProfile::make(100, 32, kHz);
  TokenBucket b;
  b.refill(p, kT0);
  EXPECT_EQ(b.take_up_to(p, 64), 32u);
  EXPECT_EQ(b.take_up_to(p, 64), 0u);
  b.give_back(p, 10);
  EXPECT_EQ(b.tokens(p), 10u);
  b.give_back(p, 100);
  EXPECT_EQ(b.tokens(p), 32u) << "never beyond the depth";
  // Taking while keeping a reserve (what TX leaves for inbound PPS).
  EXPECT_EQ(b.take_up_to(p, 64, 8), 24u);
  EXPECT_EQ(b.take_up_to(p, 64, 8), 0u);
  EXPECT_EQ(b.tokens(p), 8u);
}

TEST(AllowanceProfile, UnitsAndMinimumDepths) {
  Limits l;
  l.bw_in_mbps = 10;  // 1.25 MB/s: 10 ms is 12.5 KB, less than two jumbo frames
  l.bw_out_mbps = 8000;
  l.pps = 1000;
  const AllowanceProfile a = AllowanceProfile::make(l, kHz);
  EXPECT_EQ(a.bw_in.rate, 1'250'000u);
  EXPECT_EQ(a.bw_in.depth, static_cast<vf::uint128>(2 * 9216) * kHz);
  EXPECT_EQ(a.bw_out.rate, 1'000'000'000u);
  EXPECT_EQ(a.bw_out.depth, static_cast<vf::uint128>(10'000'000) * kHz);
  EXPECT_EQ(a.pps.rate, 1000u);
  EXPECT_EQ(a.pps.depth, static_cast<vf::uint128>(32) * kHz);
  EXPECT_FALSE(AllowanceProfile::make(Limits{}, kHz).bw_in.limited());
  EXPECT_TRUE(AllowanceProfile::make(Limits{}, kHz).flow.limited()) << "EC2's 5 Gbps flow cap is on by default";
  EXPECT_EQ(AllowanceProfile::make(Limits{}, kHz).linklocal.rate, 1024u);
}

// Our bucket against DPDK's single-rate three-color marker (green only:
// EBS 0), fed the same packets at the same times.  Ours is exact; rte_meter
// rounds its rate to whole bytes per period of cycles (about 0.7 % at
// 25 Gbps), so the two agree within 1 %.
TEST(TokenBucket, AgreesWithRteMeter) {
  const uint64_t hz = rte_get_tsc_hz();
  ASSERT_GT(hz, 0u);
  std::mt19937_64 rng(42);
  for (uint64_t mbps : {10ull, 1000ull, 25000ull}) {
    const uint64_t rate = mbps * 125000, depth = rate / 100;  // 10 ms
    rte_meter_srtcm_params params{rate, depth, 0};
    rte_meter_srtcm_profile prof;
    rte_meter_srtcm m;
    ASSERT_EQ(rte_meter_srtcm_profile_config(&prof, &params), 0);
    ASSERT_EQ(rte_meter_srtcm_config(&m, &prof), 0);  // starts full, at the current TSC
    const BucketProfile p = BucketProfile::make(rate, depth, hz);
    TokenBucket b;
    uint64_t t = rte_get_tsc_cycles();
    b.refill(p, t);
    uint64_t ours = 0, theirs = 0;
    // 2 s of traffic offered at about four times the rate, sizes 64-9001 B.
    const double mean_gap = hz * 4532.0 / (4.0 * rate);
    std::exponential_distribution<double> gap(1.0 / mean_gap);
    std::uniform_int_distribution<uint32_t> size(64, 9001);
    for (const uint64_t end = t + 2 * hz; t < end; t += static_cast<uint64_t>(gap(rng)) + 1) {
      const uint32_t len = size(rng);
      b.refill(p, t);
      if (b.take(p, len)) ours += len;
      if (rte_meter_srtcm_color_blind_check(&m, &prof, t, len) == RTE_COLOR_GREEN) theirs += len;
    }
    const double exact = 2.0 * rate + depth;
    EXPECT_NEAR(static_cast<double>(ours), exact, exact * 0.002 + 9001) << mbps << " Mbps";
    EXPECT_NEAR(static_cast<double>(theirs), static_cast<double>(ours), exact * 0.01) << mbps << " Mbps";
  }
}

// ---- the per-flow cap -------------------------------------------------------

fastpath::ParsedPacket udp4(const char* src, const char* dst, uint16_t sport, uint16_t dport) {
  fastpath::ParsedPacket p;
  p.l3 = fastpath::L3::kIpv4;
  p.l4 = fastpath::L4::kUdp;
  in_addr a{};
  inet_pton(AF_INET, src, &a);
  p.src_ip4 = ntohl(a.s_addr);
  inet_pton(AF_INET, dst, &a);
  p.dst_ip4 = ntohl(a.s_addr);
  p.src_port = sport;
  p.dst_port = dport;
  p.l3_addresses = true;
  return p;
}

TEST(FlowKey, FiveTupleAndVf) {
  fastpath::FlowKey a, b;
  ASSERT_TRUE(fastpath::flow_key(udp4("10.0.0.1", "10.0.0.2", 1, 2), 3, a));
  ASSERT_TRUE(fastpath::flow_key(udp4("10.0.0.1", "10.0.0.2", 1, 2), 3, b));
  EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0);
  ASSERT_TRUE(fastpath::flow_key(udp4("10.0.0.1", "10.0.0.2", 1, 3), 3, b));
  EXPECT_NE(std::memcmp(&a, &b, sizeof a), 0) << "ports are part of the flow";
  ASSERT_TRUE(fastpath::flow_key(udp4("10.0.0.1", "10.0.0.2", 1, 2), 4, b));
  EXPECT_NE(std::memcmp(&a, &b, sizeof a), 0) << "so is the VF";
  fastpath::ParsedPacket arp;
  arp.l3 = fastpath::L3::kArp;
  EXPECT_FALSE(fastpath::flow_key(arp, 3, b)) << "only IP has flows";
}

// Both stages as the worker uses them: the VF's gate, then the flow's bucket.
bool capped_conform(fastpath::FlowMeter& flows, vf::FlowGate& gate, const fastpath::FlowKey& key,
                    const BucketProfile& cap, uint64_t now, uint32_t bytes) {
  return fastpath::FlowMeter::gate_passes(gate, cap, now, bytes) ||
         flows.conform_flow(key, gate.epoch, cap, now, bytes);
}

TEST(FlowMeter, EachFlowHasItsOwnCap) {
  const uint64_t hz = rte_get_tsc_hz();
  fastpath::FlowMeter flows(90, hz);
  // A 10 Mbps cap: 1.25 MB/s, 18432 B deep (the minimum).
  const BucketProfile cap = AllowanceProfile::make(Limits{0, 0, 0, 10, 10}, hz).flow;
  fastpath::FlowKey f1, f2;
  fastpath::flow_key(udp4("10.0.0.1", "10.0.0.2", 1000, 5001), 0, f1);
  fastpath::flow_key(udp4("10.0.0.1", "10.0.0.2", 1001, 5001), 0, f2);
  vf::FlowGate gate;
  uint64_t t = kT0, bytes1 = 0, bytes2 = 0;
  // Four seconds, both flows offering 8 MB/s in 1000-byte packets, interleaved.
  for (int i = 0; i < 32000; i++, t += hz / 8000) {
    if (capped_conform(flows, gate, f1, cap, t, 1000)) bytes1 += 1000;
    if (capped_conform(flows, gate, f2, cap, t, 1000)) bytes2 += 1000;
  }
  EXPECT_EQ(flows.flows(), 2u);
  // Each gets the cap (the VF twice that), give or take the bursts.
  EXPECT_NEAR(bytes1, 4 * 1'250'000.0, 3 * 18'432.0);
  EXPECT_NEAR(bytes2, 4 * 1'250'000.0, 3 * 18'432.0);
}

TEST(FlowMeter, TrafficUnderTheCapNeedsNoTable) {
  const uint64_t hz = rte_get_tsc_hz();
  fastpath::FlowMeter flows(92, hz);
  const BucketProfile cap = AllowanceProfile::make(Limits{0, 0, 0, 10, 10}, hz).flow;
  vf::FlowGate gate;
  // Half the cap, for two seconds: every packet passes on the gate alone.
  for (uint64_t t = kT0; t < kT0 + 2 * hz; t += hz / 625)
    EXPECT_TRUE(fastpath::FlowMeter::gate_passes(gate, cap, t, 1000));
  EXPECT_FALSE(gate.metering);
  EXPECT_EQ(flows.flows(), 0u);
}

// A flow that bursts and pauses, so the gate keeps switching between
// unmetered and metered, still gets no more than the cap over time: what it
// sent unmetered leaves its own bucket empty when metering starts again.
TEST(FlowMeter, OnOffBurstsGetNoMoreThanTheCap) {
  const uint64_t hz = rte_get_tsc_hz();
  fastpath::FlowMeter flows(93, hz);
  const BucketProfile cap = AllowanceProfile::make(Limits{0, 0, 0, 10, 10}, hz).flow;  // 1.25 MB/s, 18432 B
  fastpath::FlowKey f;
  fastpath::flow_key(udp4("10.0.0.1", "10.0.0.2", 1000, 5001), 0, f);
  vf::FlowGate gate;
  uint64_t passed = 0;
  uint32_t spells = 0;
  bool was_metering = false;
  // Every 20 ms, 40 packets of 1000 B at line rate (1.6x the cap on average), for 4 s.
  for (uint64_t cycle = 0; cycle < 200; cycle++) {
    const uint64_t start = kT0 + cycle * hz / 50;
    for (uint64_t k = 0; k < 40; k++) {
      if (capped_conform(flows, gate, f, cap, start + k * hz / 1'000'000, 1000)) passed += 1000;
      spells += gate.metering && !was_metering;
      was_metering = gate.metering;
    }
  }
  EXPECT_GT(spells, 10u) << "the pattern should switch the gate on and off";
  EXPECT_LE(passed, 4 * 1'250'000 + 18'432 + 1000);
  // ...and, the bucket being shallower than a pause's worth of the cap, a
  // bucketful (18 packets) per burst.
  EXPECT_GE(passed, 200 * 18 * 1000);
}

TEST(FlowMeter, IdleFlowsMakeRoomWhenTheTableIsFull) {
  const uint64_t hz = rte_get_tsc_hz();
  fastpath::FlowMeter flows(91, hz);
  const BucketProfile cap = AllowanceProfile::make(Limits{}, hz).flow;
  fastpath::FlowKey k;
  uint64_t t = kT0;
  uint32_t n = 0;
  // Fill the table (a cuckoo hash may refuse a little before its nominal size).
  for (uint32_t i = 0; i < 2 * fastpath::FlowMeter::kCapacity && flows.flows() == n; i++) {
    fastpath::flow_key(udp4("10.0.0.1", "10.0.0.2", static_cast<uint16_t>(i), static_cast<uint16_t>(i >> 16)), 0, k);
    flows.conform_flow(k, 0, cap, t, 100);
    n = flows.flows() == n + 1 ? n + 1 : n;
  }
  EXPECT_GT(n, fastpath::FlowMeter::kCapacity * 9 / 10);
  // Three seconds later those flows are idle: a new one evicts them.
  t += 3 * hz;
  fastpath::flow_key(udp4("10.9.9.9", "10.0.0.2", 7, 7), 0, k);
  flows.conform_flow(k, 0, cap, t, 100);
  EXPECT_EQ(flows.flows(), 1u) << "the idle flows were not forgotten";
}

}  // namespace
}  // namespace venic

// The flow table and rte_meter need EAL (memory, the TSC frequency).
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* eal[] = {"allowance_test",
                       "--no-huge",
                       "-m",
                       "64",
                       "--no-pci",
                       "--no-shconf",
                       "--no-telemetry",
                       "--log-level=lib.eal:error",
                       "-l",
                       "0"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) {
    fprintf(stderr, "allowance_test: rte_eal_init failed\n");
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}
