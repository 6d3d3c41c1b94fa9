// The way out of a VPC beyond its router: frames a route sends to an
// internet gateway or a NAT gateway (vf::RouteTarget) leave the fast path
// here, whole, with the gateway's id; what comes back from the internet
// enters through Dataplane::inject, as the services' answers do.  The
// gateways live above the fast path (address translation, the uplink);
// this is all the fast path knows of them.
#pragma once

#include <cstdint>

namespace venic::fastpath {

class GatewayPort {
 public:
  virtual ~GatewayPort() = default;
  // From a worker: takes a copy of one whole Ethernet frame VF vf sent
  // through `gateway` (its id, "igw-..." or "nat-...").  Never blocks;
  // false when its queue is full (the frame is dropped, rx_no_buffer).
  virtual bool offer(uint16_t vf, const char* gateway, const uint8_t* frame, uint32_t len) = 0;
};

// The gateway port the calling worker thread hands such frames to;
// nullptr: none (they are dropped as no_route).
void route_use_gateway_port(GatewayPort* port);

}  // namespace venic::fastpath
