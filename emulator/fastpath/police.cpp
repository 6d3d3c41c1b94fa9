#include "police.h"

namespace venic::fastpath {

namespace {

thread_local FlowMeter* t_flows = nullptr;

}  // namespace

void police_use_flows(FlowMeter* flows) {
  t_flows = flows;
}

bool to_link_local_service(const PortView& port, const ParsedPacket& pkt) {
  if (!pkt.l3_addresses) return false;
  // The VPC's DNS server (its base + 2) counts as the Amazon DNS it is.
  if (pkt.l3 == L3::kIpv4) return (pkt.dst_ip4 >> 16) == 0xa9fe || (port.vpc_dns && pkt.dst_ip4 == port.vpc_dns);
  if (pkt.l3 == L3::kIpv6)
    return pkt.dst_ip6[0] == 0xfd && pkt.dst_ip6[1] == 0x00 && pkt.dst_ip6[2] == 0x0e && pkt.dst_ip6[3] == 0xc2;
  return false;
}

const vf::BucketProfile& flow_cap(const Snapshot& snap, const PortView& port, const ParsedPacket& pkt) {
  if (!port.cluster || !pkt.l3_addresses) return port.allow.flow;
  const PortView* dst =
      pkt.l3 == L3::kIpv4 ? snap.lookup_ip4(port.vpc, pkt.dst_ip4) : snap.lookup_ip6(port.vpc, pkt.dst_ip6);
  return dst && dst->cluster == port.cluster ? port.allow.flow_cluster : port.allow.flow;
}

int egress_policed(const Snapshot& snap, const PortView& port, const ParsedPacket& pkt, uint32_t len, uint64_t now) {
  if (pkt.l3 != L3::kIpv4 && pkt.l3 != L3::kIpv6) return -1;
  vf::AllowanceRuntime& al = port.rt->allowance;
  if (to_link_local_service(port, pkt)) {
    al.linklocal.refill(port.allow.linklocal, now);
    if (!al.linklocal.take(port.allow.linklocal, 1)) return VENIC_ALLOW_LINKLOCAL;
  }
  if (!port.allow.flow.limited() || !t_flows) return -1;
  // The gate holds the VF's whole egress to the lower cap: while it
  // conforms no flow can be over either; a cluster member's flows are told
  // apart (one lookup) only once they are metered.
  if (FlowMeter::gate_passes(al.flow_gate, port.allow.flow, now, len)) return -1;
  FlowKey key;
  if (!flow_key(pkt, port.vf, key)) return -1;
  const vf::BucketProfile& cap = flow_cap(snap, port, pkt);
  if (!cap.limited()) return -1;
  return t_flows->conform_flow(key, al.flow_gate.epoch, cap, now, len) ? -1 : VENIC_ALLOW_FLOW;
}

void police_burst(const Snapshot& snap, const PortView& port, Burst& b) {
  for (uint32_t k = 0; k < b.npkt; k++) {
    BurstPacket& p = b.p[k];
    if (!p.alive()) continue;
    if (int exceeded = egress_policed(snap, port, p.pkt, p.tx.total, b.now); exceeded >= 0) p.exceed(exceeded);
  }
}

}  // namespace venic::fastpath
