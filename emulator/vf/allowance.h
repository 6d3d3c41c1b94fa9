// The allowances a VF is held to (EC2's bandwidth, PPS and per-flow limits)
// as token buckets.  A bucket fills at `rate` units per second up to `depth`
// units; a packet conforms when the bucket holds its units.  Time is the
// caller's clock in ticks (the TSC in the fast path, anything in tests), and
// tokens are kept as units x ticks-per-second so that a refill is one
// multiplication and no rounding ever accumulates.
#pragma once

#include <algorithm>
#include <cstdint>

namespace venic::vf {

using uint128 = unsigned __int128;

struct BucketProfile {
  uint64_t rate = 0;  // units per second; 0: unlimited
  uint64_t hz = 1;    // clock ticks per second
  uint128 depth = 0;  // scaled: units x hz
  uint64_t depth_units = 0;

  bool limited() const { return rate != 0; }
  // depth_units: how many units a full bucket lets through at once.
  static BucketProfile make(uint64_t rate, uint64_t depth_units, uint64_t hz) {
    BucketProfile p;
    p.rate = rate;
    p.hz = hz;
    p.depth = static_cast<uint128>(depth_units) * hz;
    p.depth_units = depth_units;
    return p;
  }
};

class TokenBucket {
 public:
  // A bucket never used (or idle for long) starts full: that is the burst.
  void refill(const BucketProfile& p, uint64_t now) {
    if (now <= last_) return;  // another core's clock a hair behind: no time passed
    const uint64_t dt = now - last_;
    last_ = now;
    // dt < 2^64 and rate < 2^40: the product fits 128 bits with room for the sum.
    tokens_ = std::min(p.depth, tokens_ + static_cast<uint128>(dt) * p.rate);
  }
  bool take(const BucketProfile& p, uint64_t units) {
    const uint128 need = static_cast<uint128>(units) * p.hz;
    if (tokens_ < need) return false;
    tokens_ -= need;
    return true;
  }
  // Takes up to `units` whole units, leaving at least `keep`; returns how many it took.
  uint64_t take_up_to(const BucketProfile& p, uint64_t units, uint64_t keep = 0) {
    const uint64_t whole = static_cast<uint64_t>(tokens_ / p.hz);
    const uint64_t have = whole > keep ? std::min(whole - keep, units) : 0;
    tokens_ -= static_cast<uint128>(have) * p.hz;
    return have;
  }
  // Empties the bucket as of now (it fills from here at the rate).
  void drain(uint64_t now) {
    tokens_ = 0;
    last_ = now;
  }
  void give_back(const BucketProfile& p, uint64_t units) {
    tokens_ = std::min(p.depth, tokens_ + static_cast<uint128>(units) * p.hz);
  }
  uint64_t tokens(const BucketProfile& p) const { return static_cast<uint64_t>(tokens_ / p.hz); }
  bool half_full(const BucketProfile& p) const { return tokens_ >= p.depth / 2; }

 private:
  uint128 tokens_ = 0;
  uint64_t last_ = 0;
};

// The per-flow cap's first stage: the VF's whole egress against the cap.
// While it conforms, no single flow can exceed the cap and flows need no
// table; once it does not, flows are metered one by one (`metering`) until
// the VF is back under the cap for half a bucket.  `epoch` counts the
// metering spells: a flow's bucket from an earlier spell starts empty, so a
// flow gets no second burst on top of what it sent unmetered.
struct FlowGate {
  TokenBucket bucket;
  bool metering = false;
  uint32_t epoch = 0;
};

// What the operator sets per VF (VfConfig::limits); 0 means unlimited.
struct Limits {
  uint64_t bw_in_mbps = 0;
  uint64_t bw_out_mbps = 0;
  uint64_t pps = 0;  // both directions together, as EC2 counts it
  uint64_t flow_mbps = kDefaultFlowMbps;
  uint64_t burst_ms = kDefaultBurstMs;  // bucket depth, in time at the rate

  // EC2: a single flow gets 5 Gbps, 10 Gbps between members of a cluster
  // placement group (VfConfig::cluster_group).
  static constexpr uint64_t kDefaultFlowMbps = 5000;
  static constexpr uint64_t kClusterFlowMbps = 10000;
  static constexpr uint64_t kDefaultBurstMs = 10;
  static constexpr uint64_t kMaxMbps = 400000;
  static constexpr uint64_t kMaxPps = 1000000000;
  static constexpr uint64_t kMaxBurstMs = 3600000;
  // Packets per second a VF may send to link-local services (DNS, instance
  // metadata, time sync), as on EC2.
  static constexpr uint64_t kLinkLocalPps = 1024;

  bool operator==(const Limits&) const = default;
};

// Bucket profiles derived from Limits for a clock of hz ticks per second.
struct AllowanceProfile {
  BucketProfile bw_in, bw_out;  // bytes
  BucketProfile pps;            // packets
  BucketProfile flow;           // bytes, per flow
  BucketProfile flow_cluster;   // bytes, per flow to a member of the VF's cluster placement group
  BucketProfile linklocal;      // packets

  static AllowanceProfile make(const Limits& l, uint64_t hz) {
    // A bucket holds at least a burst's worth of jumbo frames or packets,
    // else a low rate could never pass a large frame.
    constexpr uint64_t kMinBytes = 2 * 9216, kMinPackets = 32;
    auto bytes = [&](uint64_t mbps) {
      const uint64_t rate = mbps * 125000;  // bytes per second
      return BucketProfile::make(rate, std::max(kMinBytes, rate / 1000 * l.burst_ms), hz);
    };
    auto packets = [&](uint64_t pps, uint64_t burst_ms) {
      return BucketProfile::make(pps, std::max(kMinPackets, pps * burst_ms / 1000), hz);
    };
    AllowanceProfile a;
    a.bw_in = bytes(l.bw_in_mbps);
    a.bw_out = bytes(l.bw_out_mbps);
    a.pps = packets(l.pps, l.burst_ms);
    a.flow = bytes(l.flow_mbps);
    a.flow_cluster = bytes(Limits::kClusterFlowMbps);
    a.linklocal = packets(Limits::kLinkLocalPps, 0);  // a fixed EC2 limit: the minimum burst only
    return a;
  }
};

}  // namespace venic::vf
