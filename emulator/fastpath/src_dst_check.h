// EC2's source/destination check.  Source: a VF sends only from its own MAC
// and its own addresses (ARP included; 0.0.0.0 is allowed for DHCP and ARP
// probes, link-local and :: for IPv6 neighbour discovery and DAD), and a VPC
// port sends only what a VPC carries.  Destination: unicast IP reaches a
// checked VF only for its own addresses; broadcast, multicast and non-IP
// frames pass as on a real VF.
#pragma once

#include "burst.h"
#include "snapshot.h"

namespace venic::fastpath {

// The drop reason for a packet p may not send, or -1.
int source_violation(const PortView& p, const ParsedPacket& pkt);

// Whether dst may receive pkt.
bool destination_allowed(const PortView& dst, const ParsedPacket& pkt);

// The stage: every live packet of b sent by port.
void check_sources(const PortView& port, Burst& b);

}  // namespace venic::fastpath
