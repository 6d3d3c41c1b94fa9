#include "rss.h"

#include <rte_thash.h>

namespace venic::fastpath {

namespace {

uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

}  // namespace

RssHash rss_hash(const vf::RssConfig& rss, const ParsedPacket& pkt) {
  if (rss.types == 0 || pkt.truncated) return {};
  const bool tcp = pkt.l4 == L4::kTcp, udp = pkt.l4 == L4::kUdp;
  // Words in host order, as rte_softrss takes them: addresses, then
  // (source port << 16 | destination port).
  uint32_t tuple[9];
  uint32_t words = 0;
  bool l4 = false;
  if (pkt.l3 == L3::kIpv4) {
    l4 = !pkt.fragment && ((tcp && (rss.types & VENIC_RSS_IPV4_TCP)) || (udp && (rss.types & VENIC_RSS_IPV4_UDP)));
    if (!l4 && !(rss.types & VENIC_RSS_IPV4)) return {};
    tuple[words++] = pkt.src_ip4;
    tuple[words++] = pkt.dst_ip4;
  } else if (pkt.l3 == L3::kIpv6) {
    l4 = (tcp && (rss.types & VENIC_RSS_IPV6_TCP)) || (udp && (rss.types & VENIC_RSS_IPV6_UDP));
    if (!l4 && !(rss.types & VENIC_RSS_IPV6)) return {};
    for (int i = 0; i < 4; i++) tuple[words++] = be32(pkt.src_ip6 + 4 * i);
    for (int i = 0; i < 4; i++) tuple[words++] = be32(pkt.dst_ip6 + 4 * i);
  } else {
    return {};
  }
  if (l4) tuple[words++] = uint32_t(pkt.src_port) << 16 | pkt.dst_port;
  return {rte_softrss(tuple, words, rss.key.data()), true};
}

}  // namespace venic::fastpath
