// Stage 7, route/switch: where each packet goes.  In a VPC, the VPC's
// router and mapping service decide (vpc_router.h: answers for the sender,
// routed to another subnet's ENI, or dropped); otherwise, and for unicast
// inside a subnet, the L2 table of the sender's segment; multicast floods
// the segment's polled peers; an unknown unicast goes to promiscuous peers
// or is dropped as no_route.  What it decides is planned for delivery.
#pragma once

#include "burst.h"
#include "deliver.h"
#include "snapshot.h"

namespace venic::fastpath {

void route_burst(const Snapshot& snap, const PortView& port, Burst& b, Delivery& out);
// The burst is done: frames for other hosts leave (underlay_port.h).
void route_flush();

}  // namespace venic::fastpath
