#include "route_switch.h"

#include <cstring>

namespace venic::fastpath {

void route_burst(const Snapshot& snap, const PortView& port, Burst& b, Delivery& out) {
  // Most bursts go to one destination: remember the last lookup.
  uint8_t mac_cache[6];
  const uint8_t* last_mac = nullptr;
  const PortView* last_dst = nullptr;
  for (uint32_t k = 0; k < b.npkt; k++) {
    BurstPacket& p = b.p[k];
    if (!p.alive()) continue;
    const ParsedPacket& pkt = p.pkt;
    if (port.vpc) {
      const VpcVerdict v = vpc_forward(snap, port, pkt, p.hdr, p.hdr_len, b.answer[k]);
      if (v.kind == VpcVerdict::Kind::kAnswer) {
        b.answer_len[k] = v.answer_len;
        parse_packet({b.answer[k], v.answer_len}, v.answer_len, b.answer_pkt[k]);
        out.plan(port, k, true);
        continue;
      }
      if (v.kind == VpcVerdict::Kind::kDrop) {
        p.drop_as(v.drop);
        continue;
      }
      if (v.kind == VpcVerdict::Kind::kRouted) {
        if (!v.dst->polled || !out.plan(*v.dst, k)) p.drop_as(VENIC_DROP_RX_DOWN);
        continue;
      }
    }
    if (pkt.is_multicast()) {
      for (const PortView* peer : port.flood) out.plan(*peer, k);
      continue;
    }
    const PortView* dst;
    if (last_mac && std::memcmp(last_mac, pkt.dst_mac, 6) == 0) {
      dst = last_dst;
    } else {
      dst = snap.lookup(port.vpc, port.subnet, port.prefix, pkt.dst_mac);
      std::memcpy(mac_cache, pkt.dst_mac, 6);
      last_mac = mac_cache;
      last_dst = dst;
    }
    if (dst && dst->polled) {
      if (!out.plan(*dst, k)) p.drop_as(VENIC_DROP_RX_DOWN);
    } else if (dst) {
      p.drop_as(VENIC_DROP_RX_DOWN);
    } else if (!port.promisc_peers.empty()) {
      for (const PortView* peer : port.promisc_peers) out.plan(*peer, k);
    } else {
      p.drop_as(VENIC_DROP_NO_ROUTE);
    }
  }
}

}  // namespace venic::fastpath
