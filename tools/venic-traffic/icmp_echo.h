// ICMP echo on a VF, for walkthroughs and tests without a guest: answer the
// pings sent to the VF's addresses (as an instance's kernel would), or ping
// an address through the VPC's router and count the replies.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "vf_config.h"

namespace venic::tools {

// An echo request from (src_mac, src_ip) to dst_ip through dst_mac (the VPC
// router's MAC for any address outside the subnet).
std::vector<uint8_t> make_echo_request(const vf::MacAddr& dst_mac, const vf::MacAddr& src_mac, uint32_t src_ip,
                                       uint32_t dst_ip, uint16_t id, uint16_t seq, uint32_t payload_len,
                                       bool dont_fragment);

// The reply to frame (len bytes) when it is an intact IPv4 echo request to
// one of `mine` (host order); nullopt otherwise.
std::optional<std::vector<uint8_t>> echo_reply_for(const uint8_t* frame, uint32_t len,
                                                   const std::vector<uint32_t>& mine);

struct EchoReply {
  uint32_t from = 0;  // host order
  uint16_t id = 0, seq = 0;
};
// frame as an intact IPv4 echo reply to us (our MAC), else nullopt.
std::optional<EchoReply> parse_echo_reply(const uint8_t* frame, uint32_t len, const vf::MacAddr& mac);

// frame as an ICMP "fragmentation needed" (type 3 code 4) to us: the next-hop MTU it names.
std::optional<uint16_t> parse_frag_needed(const uint8_t* frame, uint32_t len, const vf::MacAddr& mac);

}  // namespace venic::tools
