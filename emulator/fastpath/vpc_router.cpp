#include "vpc_router.h"

#include <arpa/inet.h>

#include <cstring>

#include "checksum.h"
#include "route_table.h"
#include "sg_scope.h"
#include "venic_abi.h"

namespace venic::fastpath {

namespace {

using Kind = VpcVerdict::Kind;
using RouteKind = vf::RouteTarget::Kind;

constexpr uint8_t kIcmp6 = 58;
constexpr uint8_t kNeighbourSolicitation = 135, kNeighbourAdvertisement = 136;

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

VpcVerdict drop(int reason) {
  VpcVerdict v;
  v.kind = Kind::kDrop;
  v.drop = reason;
  return v;
}

VpcVerdict service() {
  VpcVerdict v;
  v.kind = Kind::kService;
  return v;
}

// ARP: an answer for a request whose target the VPC knows in the sender's
// subnet (or the subnet's gateway); every other ARP frame stops here.
VpcVerdict arp(const Snapshot& snap, const PortView& src, const ParsedPacket& pkt, const uint8_t* hdr, uint32_t hdr_len,
               uint8_t (&answer)[kAnswerMax]) {
  const uint8_t* a = hdr + pkt.l3_off;
  if (!pkt.l3_addresses || pkt.l3_off + 28u > hdr_len) return drop(VENIC_DROP_NOT_FLOODED);
  const bool ethernet_ipv4 = be16(a) == 1 && be16(a + 2) == 0x0800 && a[4] == 6 && a[5] == 4;
  if (!ethernet_ipv4 || be16(a + 6) != 1) return drop(VENIC_DROP_NOT_FLOODED);  // replies, gratuitous ARP
  const uint32_t target = pkt.arp_target;
  const uint8_t* mac = nullptr;
  if (target == src.gateway || service_address4(src, target)) {
    mac = kRouterMac;
  } else if (const PortView* owner = snap.lookup_ip4(src.vpc, target);
             owner && owner->subnet == src.subnet && owner->prefix == src.prefix) {
    mac = owner->mac.data();
  }
  if (!mac) return drop(VENIC_DROP_NOT_FLOODED);  // no one has it: no answer, as in a VPC
  std::memset(answer, 0, 60);
  std::memcpy(answer, a + 8, 6);  // to the requester's hardware address
  std::memcpy(answer + 6, mac, 6);
  put16(answer + 12, 0x0806);
  uint8_t* r = answer + 14;
  put16(r, 1);
  put16(r + 2, 0x0800);
  r[4] = 6;
  r[5] = 4;
  put16(r + 6, 2);  // reply
  std::memcpy(r + 8, mac, 6);
  std::memcpy(r + 14, a + 24, 4);  // the target's address, as asked
  std::memcpy(r + 18, a + 8, 6);
  std::memcpy(r + 24, a + 14, 4);
  VpcVerdict v;
  v.kind = Kind::kAnswer;
  v.answer_len = 60;
  return v;
}

// IPv6 neighbour solicitation for an address of the VPC: the owner's
// advertisement (solicited, override), with its link-layer address.
VpcVerdict neighbour(const Snapshot& snap, const PortView& src, const ParsedPacket& pkt, const uint8_t* hdr,
                     uint32_t hdr_len, uint8_t (&answer)[kAnswerMax]) {
  if (pkt.l3 != L3::kIpv6 || pkt.ip_proto != kIcmp6 || pkt.icmp_type != kNeighbourSolicitation ||
      pkt.l4_off + 24u > hdr_len)
    return drop(VENIC_DROP_NOT_FLOODED);
  const uint8_t* target = hdr + pkt.l4_off + 8;
  const PortView* owner = snap.lookup_ip6(src.vpc, target);
  // The instance services' addresses are the router's, as the gateway's are.
  const uint8_t* owner_mac = owner ? owner->mac.data() : ec2_service6(target) ? kRouterMac : nullptr;
  if (!owner_mac) return drop(VENIC_DROP_NOT_FLOODED);
  static constexpr uint8_t kUnspecified[16] = {};
  static constexpr uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const bool dad = std::memcmp(pkt.src_ip6, kUnspecified, 16) == 0;  // duplicate address detection
  std::memset(answer, 0, 86);
  if (dad) {
    const uint8_t all_nodes_mac[6] = {0x33, 0x33, 0, 0, 0, 1};
    std::memcpy(answer, all_nodes_mac, 6);
  } else {
    std::memcpy(answer, pkt.src_mac, 6);
  }
  std::memcpy(answer + 6, owner_mac, 6);
  put16(answer + 12, 0x86dd);
  uint8_t* ip = answer + 14;
  ip[0] = 0x60;
  put16(ip + 4, 32);  // ICMPv6 NA with one option
  ip[6] = kIcmp6;
  ip[7] = 255;  // ND messages must arrive with hop limit 255
  std::memcpy(ip + 8, target, 16);
  std::memcpy(ip + 24, dad ? kAllNodes : pkt.src_ip6, 16);
  uint8_t* na = ip + 40;
  na[0] = kNeighbourAdvertisement;
  na[4] = dad ? 0x20 : 0x60;  // solicited (not for DAD) + override
  std::memcpy(na + 8, target, 16);
  na[24] = 2;  // target link-layer address option, 8 bytes
  na[25] = 1;
  std::memcpy(na + 26, owner_mac, 6);
  // Over the pseudo-header (addresses, length 32, next header) and the NA.
  const uint16_t s = csum_add(na, 32, csum_add(ip + 8, 32, 32 + kIcmp6));
  put16(na + 2, static_cast<uint16_t>(~s));
  VpcVerdict v;
  v.kind = Kind::kAnswer;
  v.answer_len = 86;
  return v;
}

VpcVerdict gateway(const char* id) {
  VpcVerdict v;
  v.kind = Kind::kGateway;
  v.gateway = id;
  return v;
}

// An IP packet for the router: its subnet's route table decides (longest
// prefix; without one, the VPC's local routes), then to the ENI that has the
// destination address (local: in the sender's VPC; through a peering: in the
// peer VPC and nowhere else, so nothing is routed on from there) or the ENI
// a route names, with the router as its source MAC and one hop less.
VpcVerdict route(const Snapshot& snap, const PortView& src, const ParsedPacket& pkt, uint8_t* hdr, uint32_t hdr_len) {
  if (!pkt.l3_addresses || (pkt.l3 != L3::kIpv4 && pkt.l3 != L3::kIpv6)) return drop(VENIC_DROP_NO_ROUTE);
  uint8_t* ip = hdr + pkt.l3_off;
  const bool v4 = pkt.l3 == L3::kIpv4;
  if (v4) {
    if (pkt.l3_off + 20u > hdr_len) return drop(VENIC_DROP_NO_ROUTE);
    if (service_address4(src, pkt.dst_ip4)) return service();
  } else {
    if (pkt.l3_off + 40u > hdr_len) return drop(VENIC_DROP_NO_ROUTE);
    if (ec2_service6(pkt.dst_ip6)) return service();
  }
  uint16_t vpc = src.vpc;
  const PortView* dst = nullptr;
  if (src.net && src.net->routes) {
    const RouteTable& rt = *src.net->routes;
    const RouteHop* hop = v4 ? rt.lookup4(pkt.dst_ip4) : rt.lookup6(pkt.dst_ip6);
    if (!hop) return drop(VENIC_DROP_NO_ROUTE);
    switch (hop->kind) {
      case RouteKind::kLocal:
        break;
      case RouteKind::kPeering:
        vpc = hop->vpc;
        break;
      case RouteKind::kEni:
        // On another host: the remote ENI that has the address (tunnelled).
        dst = hop->remote_ip ? snap.lookup_ip4(src.vpc, hop->remote_ip) : snap.polled_port(hop->vf);
        if (!dst || (hop->remote_ip && !dst->remote)) return drop(VENIC_DROP_RX_DOWN);  // e.g. a stopped NAT instance
        break;
      case RouteKind::kInternetGateway:
      case RouteKind::kNatGateway:
        return gateway(hop->gateway);
      case RouteKind::kBlackhole:
        return drop(VENIC_DROP_BLACKHOLE);
    }
  }
  if (!dst) dst = v4 ? snap.lookup_ip4(vpc, pkt.dst_ip4) : snap.lookup_ip6(vpc, pkt.dst_ip6);
  if (!dst) return drop(VENIC_DROP_NO_ROUTE);
  if (v4) {
    if (ip[8] <= 1) return drop(VENIC_DROP_TTL_EXPIRED);
    // TTL - 1 (the word TTL|protocol), the header checksum updated for it.
    csum_replace16(ip + 8, static_cast<uint16_t>(be16(ip + 8) - 0x100), ip + 10);
  } else {
    if (ip[7] <= 1) return drop(VENIC_DROP_TTL_EXPIRED);
    ip[7]--;
  }
  std::memcpy(hdr, dst->mac.data(), 6);
  std::memcpy(hdr + 6, kRouterMac, 6);
  VpcVerdict v;
  v.kind = Kind::kRouted;
  v.dst = dst;
  return v;
}

}  // namespace

bool service_address4(const PortView& src, uint32_t a) {
  return ec2_service4(a) || (src.vpc_dns && a == src.vpc_dns);
}

VpcVerdict vpc_forward(const Snapshot& snap, const PortView& src, const ParsedPacket& pkt, uint8_t* hdr,
                       uint32_t hdr_len, uint8_t (&answer)[kAnswerMax]) {
  if (pkt.l3_off != 14) return drop(VENIC_DROP_NOT_FLOODED);  // VLAN tags: a VPC has none
  if (pkt.l3 == L3::kArp) return arp(snap, src, pkt, hdr, hdr_len, answer);
  if (pkt.is_multicast()) return neighbour(snap, src, pkt, hdr, hdr_len, answer);
  if (std::memcmp(pkt.dst_mac, kRouterMac, 6) == 0) return route(snap, src, pkt, hdr, hdr_len);
  return {};
}

}  // namespace venic::fastpath
