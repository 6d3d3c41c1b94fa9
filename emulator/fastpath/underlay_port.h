// The way to ENIs on other hosts (docs/multi-host.md): frames the VPC router
// or the switch sends to a remote ENI (PortView::remote) leave the fast path
// here, whole and already routed, for the uplink (emulator/underlay) to
// encapsulate toward the ENI's host.  What other hosts send comes back in
// through poll(), on the first worker, and meets the receiver's checks as a
// local sender's packet does.  This is all the fast path knows of the uplink.
#pragma once

#include <cstdint>

namespace venic::fastpath {

class Snapshot;
struct RemoteView;

class UnderlayPort {
 public:
  virtual ~UnderlayPort() = default;
  // From a worker: takes a copy of one whole Ethernet frame that VF vf sent
  // to the remote ENI `to`.  Never blocks; false when it cannot take it (the
  // frame is dropped, counted rx_no_buffer by the sender).
  virtual bool offer(uint16_t vf, const RemoteView& to, const uint8_t* frame, uint32_t len) = 0;
  // From a worker: its burst is done; what it offered may leave now.
  virtual void flush() = 0;
  // On each worker thread as it starts (index 0 ... workers-1), before any
  // offer(): the worker sends through its own queue.
  virtual void attach_worker(unsigned index) = 0;
  // The first worker, every loop: takes what arrived from the underlay and
  // delivers it (deliver_from_underlay).  Returns frames taken.
  virtual uint32_t poll(const Snapshot& snap) = 0;
};

// The underlay port the calling worker thread hands such frames to;
// nullptr: none (they are dropped as no_route).
void route_use_underlay_port(UnderlayPort* port);

}  // namespace venic::fastpath
