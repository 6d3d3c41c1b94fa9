#include "underlay_ingress.h"

#include <algorithm>
#include <cstring>
#include <span>

#include "packet_parser.h"

namespace venic::fastpath {

namespace {

using Kind = UnderlayArrival::Kind;

UnderlayArrival dropped(UnderlayDrop why) {
  UnderlayArrival a;
  a.drop = why;
  return a;
}

// The remote ENI that owns a source: it must live on the outer sender's host.
bool sent_by_host(const PortView* from, uint32_t outer_src) {
  return from && from->remote && from->remote->host_ip == outer_src;
}

// A local polled port in vpc with this address whose MAC the frame names.
const PortView* local_destination(const Snapshot& snap, uint16_t vpc, const ParsedPacket& pkt) {
  const PortView* dst = pkt.l3 == L3::kIpv4 ? snap.lookup_ip4(vpc, pkt.dst_ip4) : snap.lookup_ip6(vpc, pkt.dst_ip6);
  if (!dst || dst->remote || !dst->polled || std::memcmp(dst->mac.data(), pkt.dst_mac, 6) != 0) return nullptr;
  return dst;
}

}  // namespace

const char* underlay_drop_name(UnderlayDrop d) {
  switch (d) {
    case UnderlayDrop::kUnknownVni:
      return "unknown_vni";
    case UnderlayDrop::kSpoofed:
      return "spoofed";
    case UnderlayDrop::kNoDestination:
      return "no_destination";
    case UnderlayDrop::kNotCarried:
    case UnderlayDrop::kCount:
      break;
  }
  return "not_carried";
}

UnderlayArrival underlay_arrival(const Snapshot& snap, uint32_t vni, uint32_t outer_src, const uint8_t* inner,
                                 uint32_t len, uint8_t (&answer)[kAnswerMax]) {
  const uint16_t vpc = snap.vpc_of_vni(vni);
  if (!vpc) return dropped(UnderlayDrop::kUnknownVni);
  if (len < 14) return dropped(UnderlayDrop::kNotCarried);
  if ((inner[12] << 8 | inner[13]) == kSrdEtherType) {
    // EFA: between two ENIs of one subnet, named by their MACs.
    const PortView* from = snap.lookup_remote_mac(vpc, inner + 6);
    if (!sent_by_host(from, outer_src)) return dropped(UnderlayDrop::kSpoofed);
    // (An EFA device needs no Ethernet driver: the engine judges the rest.)
    const PortView* dst = snap.lookup(vpc, from->subnet, from->prefix, inner);
    if (!dst || dst->remote) return dropped(UnderlayDrop::kNoDestination);
    UnderlayArrival a;
    a.kind = Kind::kSrd;
    a.dst = dst;
    a.from = from;
    return a;
  }
  // The parser reads a header copy; what decides is in its first bytes.
  uint8_t hdr[kHeaderCopy];
  const uint32_t hdr_len = std::min<uint32_t>(len, kHeaderCopy);
  std::memcpy(hdr, inner, hdr_len);
  ParsedPacket pkt;
  if (!parse_packet({hdr, hdr_len}, len, pkt) || pkt.l3_off != 14 || !pkt.l3_addresses)
    return dropped(UnderlayDrop::kNotCarried);
  if (pkt.l3 == L3::kArp) {
    const PortView* from = snap.lookup_ip4(vpc, pkt.arp_sender);
    if (!sent_by_host(from, outer_src)) return dropped(UnderlayDrop::kSpoofed);
    const VpcVerdict v = vpc_forward(snap, *from, pkt, hdr, hdr_len, answer);
    if (v.kind != VpcVerdict::Kind::kAnswer) return dropped(UnderlayDrop::kNoDestination);
    UnderlayArrival a;
    a.kind = Kind::kAnswer;
    a.from = from;
    a.answer_len = v.answer_len;
    return a;
  }
  if ((pkt.l3 != L3::kIpv4 && pkt.l3 != L3::kIpv6) || pkt.is_multicast()) return dropped(UnderlayDrop::kNotCarried);
  const PortView* from = pkt.l3 == L3::kIpv4 ? snap.lookup_ip4(vpc, pkt.src_ip4) : snap.lookup_ip6(vpc, pkt.src_ip6);
  if (from ? !sent_by_host(from, outer_src) : !snap.forwarder_on(vpc, outer_src))
    return dropped(UnderlayDrop::kSpoofed);
  const PortView* dst = local_destination(snap, vpc, pkt);
  if (!dst) return dropped(UnderlayDrop::kNoDestination);
  UnderlayArrival a;
  a.kind = Kind::kDeliver;
  a.dst = dst;
  a.from = from;
  return a;
}

}  // namespace venic::fastpath
