// The ICMP messages the gateways send back to an instance themselves.
#pragma once

#include <cstdint>

#include "ip_rewrite.h"

namespace venic::gateways {

// The MTU past the VPC (EC2: 1500 through an internet or NAT gateway,
// 9001 inside the VPC).
inline constexpr uint32_t kInternetMtu = 1500;

// An Ethernet frame to mac from router_mac holding ICMP "fragmentation
// needed and DF set" (type 3 code 4, next-hop MTU `mtu`) about `too_big`,
// from too_big's destination to its source, quoting its IP header and first
// 8 bytes of payload (RFC 792, RFC 1191).  Writes at most 14+20+8+60+8 bytes
// into out; returns the frame's length.
uint32_t frag_needed_frame(const Ipv4Packet& too_big, uint16_t mtu, const uint8_t mac[6], const uint8_t router_mac[6],
                           uint8_t* out);
inline constexpr uint32_t kFragNeededMax = 14 + 20 + 8 + 60 + 8;

}  // namespace venic::gateways
