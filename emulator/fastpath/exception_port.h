// The exception path: frames the fast path does not switch itself leave it
// here — those a VPC port sends to the instance's own services (metadata
// 169.254.169.254, time sync 169.254.169.123, DNS 169.254.169.253 and the
// VPC's base + 2, and fd00:ec2::254/::123/::253) — and their answers come
// back through Dataplane::inject.  The services live above the fast path
// (emulator/services); this is all the fast path knows of them.
#pragma once

#include <cstdint>

namespace venic::fastpath {

class ExceptionPort {
 public:
  virtual ~ExceptionPort() = default;
  // From a worker: takes a copy of one whole Ethernet frame VF vf sent.
  // Never blocks; false when its queue is full (the frame is dropped and
  // counted as rx_no_buffer on the sender's TX queue).
  virtual bool offer(uint16_t vf, const uint8_t* frame, uint32_t len) = 0;
};

// The exception port the calling worker thread hands service frames to;
// nullptr: none (they are dropped as no_route, as before services existed).
void route_use_exception_port(ExceptionPort* port);

}  // namespace venic::fastpath
