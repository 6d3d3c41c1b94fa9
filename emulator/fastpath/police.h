// Stage 6, police: the egress allowances that drop rather than hold — the
// link-local services' PPS (1024 per ENI, linklocal_allowance_exceeded)
// and the per-flow cap (5 Gbps; 10 between members of one cluster
// placement group; flow_allowance_exceeded), metered in the worker's flow
// table.
#pragma once

#include "burst.h"
#include "flow_meter.h"
#include "snapshot.h"

namespace venic::fastpath {

// The flow table the calling worker thread meters with; nullptr: none.
void police_use_flows(FlowMeter* flows);

// The venic_allowance a packet of len bytes exceeds, or -1.
int egress_policed(const Snapshot& snap, const PortView& port, const ParsedPacket& pkt, uint32_t len, uint64_t now);

// The stage over b's live packets.
void police_burst(const Snapshot& snap, const PortView& port, Burst& b);

// The cap pkt's flow is held to: port.allow.flow_cluster when port and the
// destination (a port of its VPC) are members of one cluster placement
// group, else port.allow.flow.
const vf::BucketProfile& flow_cap(const Snapshot& snap, const PortView& port, const ParsedPacket& pkt);

// EC2's link-local services (Amazon DNS, instance metadata, time sync) live
// in 169.254.0.0/16 and fd00:ec2::/32; a VPC port's DNS also at its VPC's base + 2.
bool to_link_local_service(const PortView& port, const ParsedPacket& pkt);

}  // namespace venic::fastpath
