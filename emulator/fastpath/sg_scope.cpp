#include "sg_scope.h"

#include <netinet/in.h>

namespace venic::fastpath {

namespace {

constexpr uint32_t kServiceNet4 = 0xa9fea900;  // 169.254.169.0
constexpr uint16_t kDhcpServerPort = 67;

bool service_host(uint32_t low) {
  return low == 254 || low == 123 || low == 253;
}

bool neighbour_discovery(const ParsedPacket& pkt) {
  // Router/neighbour solicitation and advertisement, redirect.
  return pkt.l3 == L3::kIpv6 && pkt.ip_proto == IPPROTO_ICMPV6 && pkt.icmp_type >= 133 && pkt.icmp_type <= 137;
}

}  // namespace

bool vpc_carries(const ParsedPacket& pkt) {
  return pkt.l3 == L3::kIpv4 || pkt.l3 == L3::kIpv6 || pkt.l3 == L3::kArp;
}

bool ec2_service4(uint32_t a) {
  return (a & ~0xffu) == kServiceNet4 && service_host(a & 0xff);
}

bool ec2_service6(const uint8_t* a) {
  // fd00:ec2:: then zeros up to the last two bytes.
  static constexpr uint8_t kPrefix[4] = {0xfd, 0x00, 0x0e, 0xc2};
  for (int i = 0; i < 16; i++) {
    const uint8_t want = i < 4 ? kPrefix[i] : 0;
    if (i < 14 && a[i] != want) return false;
  }
  // ::254, ::123 and ::253 are written in hex digits that read as decimal.
  const uint16_t last = static_cast<uint16_t>(a[14] << 8 | a[15]);
  return last == 0x254 || last == 0x123 || last == 0x253;
}

bool outside_security_groups(const ParsedPacket& pkt, CtDir dir, uint32_t gateway, uint32_t vpc_dns) {
  if (neighbour_discovery(pkt)) return true;
  // Everything else a port receives was sent by an instance: judged.
  if (dir == CtDir::kIn) return false;
  // Multicast and broadcast frames go to the VPC's router only (a VPC floods
  // nothing): DHCP discovery, IPv6 router and neighbour solicitation.
  if (pkt.is_multicast()) return true;
  if (pkt.l3 == L3::kIpv4) {
    const uint32_t a = pkt.dst_ip4;
    if (a == 0xffffffffu || (a >> 28) == 0xe) return true;
    if (ec2_service4(a)) return true;
    // The Amazon DNS at the VPC's base + 2.
    if (vpc_dns && a == vpc_dns && pkt.dst_port == 53 && (pkt.ip_proto == IPPROTO_UDP || pkt.ip_proto == IPPROTO_TCP))
      return true;
    return a == gateway && pkt.ip_proto == IPPROTO_UDP && pkt.dst_port == kDhcpServerPort;
  }
  return pkt.l3 == L3::kIpv6 && ec2_service6(pkt.dst_ip6);
}

}  // namespace venic::fastpath
