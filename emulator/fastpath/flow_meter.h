// The per-flow cap (EC2: one 5-tuple flow gets at most 5 Gbps, 10 Gbps inside
// a cluster placement group): one token bucket per flow, found by an rte_hash
// of 5-tuples.  One table per worker, so only its own thread touches it.
#pragma once

#include <cstdint>
#include <vector>

#include "allowance.h"
#include "packet_parser.h"

struct rte_hash;

namespace venic::fastpath {

struct FlowKey {
  uint8_t src[16];  // IPv4 in the first four bytes
  uint8_t dst[16];
  uint16_t src_port;
  uint16_t dst_port;
  uint16_t vf;
  uint8_t proto;  // IPPROTO_*; 0 for other L4
  uint8_t family;
};
static_assert(sizeof(FlowKey) == 40);

// The flow a parsed IPv4/IPv6 packet belongs to; false for other frames.
bool flow_key(const ParsedPacket& pkt, uint16_t vf, FlowKey& key);

class FlowMeter {
 public:
  // Flows tracked per worker; idle ones are forgotten to make room.
  static constexpr uint32_t kCapacity = 32768;

  FlowMeter(unsigned worker, uint64_t hz);
  ~FlowMeter();
  FlowMeter(const FlowMeter&) = delete;
  FlowMeter& operator=(const FlowMeter&) = delete;

  // The per-flow cap for one packet of a VF, first stage: true when the
  // packet passes on the VF's gate alone; false when its flow must be
  // metered (conform_flow with gate.epoch).
  static bool gate_passes(vf::FlowGate& gate, const vf::BucketProfile& cap, uint64_t now, uint32_t bytes);
  // Second stage: false when the packet's flow is over the cap.
  bool conform_flow(const FlowKey& key, uint32_t epoch, const vf::BucketProfile& cap, uint64_t now, uint32_t bytes);
  uint32_t flows() const;

 private:
  struct Entry {
    vf::TokenBucket bucket;
    uint64_t last_seen = 0;
    uint32_t epoch = 0;  // the gate's metering spell this bucket belongs to
  };
  int32_t find_or_add(const FlowKey& key, uint64_t now);
  void expire(uint64_t now);

  rte_hash* table_ = nullptr;
  std::vector<Entry> entries_;  // by rte_hash key position
  uint64_t idle_ticks_;
  uint64_t next_sweep_ = 0;
  FlowKey last_key_{};  // bursts are mostly one flow: skip the lookup
  int32_t last_pos_ = -1;
};

}  // namespace venic::fastpath
