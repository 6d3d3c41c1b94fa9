#include "packet_parser.h"

#include "checksum.h"
#include "venic_abi.h"

namespace venic::fastpath {

namespace {

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr uint16_t kEthArp = 0x0806;
constexpr uint16_t kEthVlan = 0x8100;
constexpr uint16_t kEthQinQ = 0x88a8;

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

void parse_l4(std::span<const uint8_t> h, uint8_t proto, uint32_t off, ParsedPacket& out) {
  out.ip_proto = proto;
  switch (proto) {
    case 6:
      out.l4 = L4::kTcp;
      break;
    case 17:
      out.l4 = L4::kUdp;
      break;
    case 1:
    case 58:
      out.l4 = L4::kIcmp;
      out.l4_off = static_cast<uint16_t>(off);
      if (off + 8 > h.size()) {
        out.truncated = true;
        return;
      }
      out.icmp_type = h[off];
      out.icmp_code = h[off + 1];
      out.icmp_id = be16(&h[off + 4]);
      return;
    default:
      out.l4 = L4::kOther;
      return;
  }
  out.l4_off = static_cast<uint16_t>(off);
  if (off + 4 > h.size()) {
    out.truncated = true;
    return;
  }
  out.src_port = be16(&h[off]);
  out.dst_port = be16(&h[off + 2]);
  if (proto == 6 && off + 14 <= h.size()) out.tcp_flags = h[off + 13];
}

}  // namespace

bool parse_packet(std::span<const uint8_t> h, uint32_t frame_len, ParsedPacket& out) {
  out = ParsedPacket{};
  if (h.size() < 14 || frame_len < 14) return false;
  out.dst_mac = &h[0];
  out.src_mac = &h[6];
  uint32_t off = 12;
  uint16_t type = be16(&h[off]);
  // Up to two VLAN tags (802.1Q inside 802.1ad).
  for (int tags = 0; (type == kEthVlan || type == kEthQinQ) && tags < 2; tags++) {
    if (off + 6 > h.size()) {
      out.truncated = true;
      return true;
    }
    if (tags == 0) out.vlan = be16(&h[off + 2]) & 0x0fff;
    off += 4;
    type = be16(&h[off]);
  }
  out.ethertype = type;
  off += 2;
  out.l3_off = static_cast<uint16_t>(off);
  if (type == kEthIpv4) {
    out.l3 = L3::kIpv4;
    if (off + 20 > h.size() || (h[off] >> 4) != 4) {
      out.truncated = true;
      return true;
    }
    uint32_t ihl = (h[off] & 0x0f) * 4u;
    if (ihl < 20 || off + ihl > h.size()) {
      out.truncated = true;
      return true;
    }
    out.src_ip4 = be32(&h[off + 12]);
    out.dst_ip4 = be32(&h[off + 16]);
    out.l3_addresses = true;
    out.l3_csum = ipv4_header_ok(&h[off], ihl) ? VENIC_CQE_F_L3_CSUM_OK : VENIC_CQE_F_L3_CSUM_BAD;
    uint16_t frag = be16(&h[off + 6]);
    if (frag & 0x1fff) {
      out.fragment = true;
      out.ip_proto = h[off + 9];
      out.l4 = L4::kOther;
      return true;
    }
    parse_l4(h, h[off + 9], off + ihl, out);
  } else if (type == kEthIpv6) {
    out.l3 = L3::kIpv6;
    if (off + 40 > h.size() || (h[off] >> 4) != 6) {
      out.truncated = true;
      return true;
    }
    out.src_ip6 = &h[off + 8];
    out.dst_ip6 = &h[off + 24];
    out.l3_addresses = true;
    // Extension headers are not walked: their L4 counts as "other".
    parse_l4(h, h[off + 6], off + 40, out);
  } else if (type == kEthArp) {
    out.l3 = L3::kArp;
    // Ethernet/IPv4 ARP: sender protocol address at 14, target at 24.
    if (off + 28 > h.size()) {
      out.truncated = true;
      return true;
    }
    out.arp_sender = be32(&h[off + 14]);
    out.arp_target = be32(&h[off + 24]);
    out.l3_addresses = true;
  } else {
    out.l3 = L3::kOther;
  }
  return true;
}

uint16_t ParsedPacket::ptype() const {
  uint16_t t = 0;
  switch (l3) {
    case L3::kIpv4:
      t = VENIC_PTYPE_L3_IPV4;
      break;
    case L3::kIpv6:
      t = VENIC_PTYPE_L3_IPV6;
      break;
    case L3::kArp:
      t = VENIC_PTYPE_L3_ARP;
      break;
    default:
      break;
  }
  switch (l4) {
    case L4::kTcp:
      t |= VENIC_PTYPE_L4_TCP;
      break;
    case L4::kUdp:
      t |= VENIC_PTYPE_L4_UDP;
      break;
    case L4::kIcmp:
      t |= VENIC_PTYPE_L4_ICMP;
      break;
    default:
      break;
  }
  return t;
}

}  // namespace venic::fastpath
