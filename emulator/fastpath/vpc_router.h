// What a VPC does with the frames of its ENIs, as EC2's mapping service and
// implied router do: ARP requests and IPv6 neighbour solicitations are
// answered from the model (the owner's MAC, or the router's for the subnet's
// gateway), IP packets sent to the router's MAC are routed to the ENI that
// has the destination address, in whatever subnet of the VPC, and nothing is
// ever flooded.
#pragma once

#include <cstdint>

#include "packet_parser.h"
#include "snapshot.h"

namespace venic::fastpath {

inline constexpr uint32_t kAnswerMax = 96;  // the largest answer built (an NA: 86 bytes)

struct VpcVerdict {
  enum class Kind : uint8_t {
    kSwitch,   // plain unicast to a MAC of the sender's subnet: switch it
    kAnswer,   // `answer` holds answer_len bytes for the sender itself
    kRouted,   // the header copy was rewritten (MACs, TTL) for dst
    kDrop,     // drop, counted as `drop` (venic_drop_reason)
    kService,  // for the instance's own services: the exception path (exception_port.h)
    kGateway,  // for an internet or NAT gateway: `gateway` names it (gateway_port.h)
  };
  Kind kind = Kind::kSwitch;
  const PortView* dst = nullptr;
  uint32_t answer_len = 0;
  int drop = 0;
  const char* gateway = nullptr;  // kGateway: its id, alive as long as the snapshot
};

// An address of the instance services a VPC port reaches (exception_port.h):
// a is host order.
bool service_address4(const PortView& src, uint32_t a);

// src is a VPC port (src.vpc != 0); hdr is the sender's private header copy
// (hdr_len bytes, what pkt was parsed from), rewritten in place when routed.
VpcVerdict vpc_forward(const Snapshot& snap, const PortView& src, const ParsedPacket& pkt, uint8_t* hdr,
                       uint32_t hdr_len, uint8_t (&answer)[kAnswerMax]);

}  // namespace venic::fastpath
