#include "network_acl.h"

#include <netinet/in.h>

#include <cstring>

namespace venic::fastpath {

namespace {

constexpr uint16_t kAny = 0xffff;

// What an entry asks of the packet's L4 header, beyond its protocol.
template <typename Rule, typename L4Match>
bool l4_matches(const Rule& r, const ParsedPacket& pkt, L4Match ports, L4Match icmp) {
  if (r.proto >= 0 && r.proto != pkt.ip_proto) return false;
  if (r.l4 == ports) {
    // A later fragment has no ports: only an entry for every port takes it.
    if (pkt.fragment) return r.lo == 0 && r.hi == 0xffff;
    return pkt.dst_port >= r.lo && pkt.dst_port <= r.hi;
  }
  if (r.l4 == icmp) {
    if (pkt.fragment) return r.lo == kAny && r.hi == kAny;
    return (r.lo == kAny || r.lo == pkt.icmp_type) && (r.hi == kAny || r.hi == pkt.icmp_code);
  }
  return true;
}

}  // namespace

NetworkAcl::NetworkAcl(const std::vector<vf::NaclEntry>& entries, Side side) : side_(side) {
  for (const vf::NaclEntry& e : entries) {
    L4Match l4 = L4Match::kNone;
    if (e.proto == IPPROTO_TCP || e.proto == IPPROTO_UDP) l4 = L4Match::kPorts;
    // ICMP in its own family only (an ICMPv6 entry with an IPv4 block takes all of ICMPv6: none of IPv4).
    if (e.proto == IPPROTO_ICMP || e.proto == IPPROTO_ICMPV6) l4 = L4Match::kIcmp;
    if (e.peer.family == 4) {
      Rule4 r{};
      uint32_t be;
      std::memcpy(&be, e.peer.addr.data(), 4);
      r.mask = e.peer.prefix == 0 ? 0 : ~0u << (32 - e.peer.prefix);
      r.net = ntohl(be) & r.mask;
      r.lo = e.port_lo;
      r.hi = e.port_hi;
      r.proto = e.proto;
      r.l4 = l4;
      r.allow = e.allow;
      v4_.push_back(r);
    } else {
      Rule6 r{};
      uint8_t mask[16] = {};
      for (int bit = 0; bit < e.peer.prefix && bit < 128; bit++)
        mask[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
      std::memcpy(r.mask, mask, 16);
      std::memcpy(r.net, e.peer.addr.data(), 16);
      r.net[0] &= r.mask[0];
      r.net[1] &= r.mask[1];
      r.lo = e.port_lo;
      r.hi = e.port_hi;
      r.proto = e.proto;
      r.l4 = l4;
      r.allow = e.allow;
      v6_.push_back(r);
    }
  }
}

bool NetworkAcl::allows4(const ParsedPacket& pkt) const {
  const uint32_t peer = side_ == Side::kIn ? pkt.src_ip4 : pkt.dst_ip4;
  for (const Rule4& r : v4_)
    if ((peer & r.mask) == r.net && l4_matches(r, pkt, L4Match::kPorts, L4Match::kIcmp)) return r.allow;
  return false;  // the `*` entry
}

bool NetworkAcl::allows6(const ParsedPacket& pkt) const {
  uint64_t peer[2];
  std::memcpy(peer, side_ == Side::kIn ? pkt.src_ip6 : pkt.dst_ip6, 16);
  for (const Rule6& r : v6_)
    if ((peer[0] & r.mask[0]) == r.net[0] && (peer[1] & r.mask[1]) == r.net[1] &&
        l4_matches(r, pkt, L4Match::kPorts, L4Match::kIcmp))
      return r.allow;
  return false;
}

}  // namespace venic::fastpath
