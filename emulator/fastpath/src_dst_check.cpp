#include "src_dst_check.h"

#include <cstring>

#include "sg_scope.h"

namespace venic::fastpath {

namespace {

bool ipv6_link_local(const uint8_t* a) {
  return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}
bool ipv6_unspecified(const uint8_t* a) {
  for (int i = 0; i < 16; i++)
    if (a[i]) return false;
  return true;
}

}  // namespace

int source_violation(const PortView& p, const ParsedPacket& pkt) {
  if (!p.src_dst_check) return -1;
  if (std::memcmp(pkt.src_mac, p.mac.data(), 6) != 0) return VENIC_DROP_SPOOF_MAC;
  const bool ip_like = pkt.l3 == L3::kIpv4 || pkt.l3 == L3::kIpv6 || pkt.l3 == L3::kArp;
  if (ip_like && !pkt.l3_addresses) return VENIC_DROP_SPOOF_IP;  // a source that cannot be checked
  if (pkt.l3 == L3::kIpv4 && pkt.src_ip4 != 0 && !p.owns_ip(pkt.src_ip4)) return VENIC_DROP_SPOOF_IP;
  if (pkt.l3 == L3::kArp && pkt.arp_sender != 0 && !p.owns_ip(pkt.arp_sender)) return VENIC_DROP_SPOOF_IP;
  if (pkt.l3 == L3::kIpv6 && !ipv6_link_local(pkt.src_ip6) && !ipv6_unspecified(pkt.src_ip6) &&
      !p.owns_ipv6(pkt.src_ip6))
    return VENIC_DROP_SPOOF_IP;
  return -1;
}

bool destination_allowed(const PortView& dst, const ParsedPacket& pkt) {
  if (!dst.src_dst_check || pkt.is_multicast()) return true;
  if ((pkt.l3 == L3::kIpv4 || pkt.l3 == L3::kIpv6) && !pkt.l3_addresses) return false;
  if (pkt.l3 == L3::kIpv6) return pkt.dst_ip6[0] == 0xff || ipv6_link_local(pkt.dst_ip6) || dst.owns_ipv6(pkt.dst_ip6);
  if (pkt.l3 != L3::kIpv4) return true;
  const uint32_t a = pkt.dst_ip4;
  if (a == 0xffffffffu || (a >> 28) == 0xe) return true;  // limited broadcast, 224.0.0.0/4
  const uint32_t mask = dst.prefix == 0 ? 0 : ~0u << (32 - dst.prefix);
  if ((a & ~mask) == ~mask && (a & mask) == dst.subnet) return true;  // subnet broadcast
  return dst.owns_ip(a);
}

void check_sources(const PortView& port, Burst& b) {
  const bool vpc_rules = port.vpc || port.sg.enforced;
  if (!port.src_dst_check && !vpc_rules) return;
  for (uint32_t k = 0; k < b.npkt; k++) {
    BurstPacket& p = b.p[k];
    if (!p.alive()) continue;
    if (int reason = source_violation(port, p.pkt); reason >= 0)
      p.drop_as(reason);
    else if (vpc_rules && !vpc_carries(p.pkt))
      p.drop_as(VENIC_DROP_ETHERTYPE);
  }
}

}  // namespace venic::fastpath
