// Stage 2, shape: the VF's outbound allowances (bandwidth out, PPS).  A
// packet over them stays in the TX ring, as ENA queues it, until the
// buckets refill; ENA's bw_out / pps allowance_exceeded count each packet
// held once.  PPS tokens for the burst are reserved up front, so the PPS
// bucket the VF shares with its inbound traffic is locked once per burst.
#pragma once

#include "burst.h"
#include "snapshot.h"

namespace venic::fastpath {

class Shaper {
 public:
  // Refills the buckets to b.now and reserves PPS for b's complete packets.
  Shaper(const PortView& port, vf::TxqRuntime& tq, const Burst& b);
  // Whether a packet of `total` bytes that starts at ring index `at` may
  // leave now; when not, it is counted (once) as held and the burst stops.
  bool admit(uint32_t total, uint32_t at);
  // Returns the PPS reserved for packets the burst did not have.
  void finish();
  bool active() const { return port_.shaped_out; }

 private:
  const PortView& port_;
  vf::TxqRuntime& tq_;
  uint64_t pps_left_ = UINT64_MAX;  // UINT64_MAX: PPS not limited
};

}  // namespace venic::fastpath
