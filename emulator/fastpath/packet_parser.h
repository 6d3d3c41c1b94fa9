// L2-L4 header parsing on a private copy of a packet's first bytes.
#pragma once

#include <cstdint>
#include <span>

namespace venic::fastpath {

inline constexpr uint32_t kHeaderCopy = 128;  // bytes copied out before parsing

enum class L3 : uint8_t { kNone, kIpv4, kIpv6, kArp, kOther };
enum class L4 : uint8_t { kNone, kTcp, kUdp, kIcmp, kOther };

struct ParsedPacket {
  const uint8_t* dst_mac = nullptr;
  const uint8_t* src_mac = nullptr;
  uint16_t ethertype = 0;  // after any VLAN tags
  uint16_t vlan = 0;       // outermost VLAN id, 0 when untagged
  L3 l3 = L3::kNone;
  L4 l4 = L4::kNone;
  uint16_t l3_off = 0;
  uint16_t l4_off = 0;
  uint32_t src_ip4 = 0;  // host order
  uint32_t dst_ip4 = 0;
  const uint8_t* src_ip6 = nullptr;
  const uint8_t* dst_ip6 = nullptr;
  uint32_t arp_sender = 0;  // ARP sender / target protocol address, host order
  uint32_t arp_target = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t ip_proto = 0;   // the IPv4 protocol / IPv6 next header
  uint8_t tcp_flags = 0;  // FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10
  uint8_t icmp_type = 0, icmp_code = 0;
  uint16_t icmp_id = 0;       // echo request/reply identifier
  bool fragment = false;      // a non-first IPv4 fragment: no L4 header
  bool truncated = false;     // a header claimed more bytes than there are
  bool l3_addresses = false;  // the IPv4/IPv6/ARP addresses above were read

  bool is_multicast() const { return dst_mac[0] & 1; }
  bool is_broadcast() const {
    for (int i = 0; i < 6; i++)
      if (dst_mac[i] != 0xff) return false;
    return true;
  }
  uint16_t ptype() const;  // VENIC_PTYPE_* bits for a completion
  // VENIC_CQE_F_L3_CSUM_OK or _BAD for IPv4, 0 otherwise (what ENA reports).
  uint16_t l3_csum = 0;
};

// hdr holds the first min(frame_len, kHeaderCopy) bytes of a frame of
// frame_len bytes.  Returns false when it is shorter than an Ethernet header.
bool parse_packet(std::span<const uint8_t> hdr, uint32_t frame_len, ParsedPacket& out);

}  // namespace venic::fastpath
