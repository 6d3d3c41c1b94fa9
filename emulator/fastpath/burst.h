// One burst of one TX queue as it flows through the worker's stages
// (worker.cpp): the private copies of its descriptors, the packets they
// make with a private copy of each one's headers, what each stage decided
// about each packet, and where the packets go.  Lives in thread-local
// storage (one per worker), never on a client's memory.
#pragma once

#include <cstdint>

#include "desc_check.h"
#include "packet_parser.h"
#include "vpc_router.h"

namespace venic::fastpath {

inline constexpr uint32_t kBurstDescs = 64;

struct BurstPacket {
  TxPacket tx;         // its descriptors' segments (validated copies)
  uint32_t first = 0;  // its first descriptor, as an index into the burst
  uint32_t hdr_len = 0;
  alignas(64) uint8_t hdr[kHeaderCopy];  // what every decision reads, and the receiver gets
  ParsedPacket pkt;
  // The verdict so far: -1, or the venic_drop_reason / venic_allowance the
  // TX queue counts for it.  A packet with either set goes no further.
  int16_t drop = -1;
  int8_t exceeded = -1;
  bool alive() const { return drop < 0 && exceeded < 0; }
  void drop_as(int reason) { drop = static_cast<int16_t>(reason); }
  void exceed(int allowance) { exceeded = static_cast<int8_t>(allowance); }
};

struct Burst {
  uint64_t now = 0;       // one TSC reading for every bucket of the burst
  uint32_t ndesc = 0;     // descriptors copied
  uint32_t npkt = 0;      // packets admitted (taken off the ring)
  uint32_t consumed = 0;  // descriptors those packets used
  // Frames the instance services answer with (Dataplane::inject): the VPC's
  // own, which security groups do not judge (EC2's groups never filter the
  // metadata, DNS and time services).
  bool from_services = false;
  bool from_internet = false;  // (with from_services) a gateway injected it: groups judge it
  // The sender's subnet (route_burst sets it; nullptr: none compiled): what
  // the receivers' network ACLs take for inside their subnet.
  const SubnetView* sender_net = nullptr;
  venic_desc d[kBurstDescs];
  Segment seg[kBurstDescs];  // seg[i]: descriptor i's buffer (a packet's segs point here)
  BurstPacket p[kBurstDescs];
  // Answers the VPC makes for the sender itself (ARP, neighbour advertisements).
  uint8_t answer[kBurstDescs][kAnswerMax];
  ParsedPacket answer_pkt[kBurstDescs];
  uint32_t answer_len[kBurstDescs];
};

}  // namespace venic::fastpath
