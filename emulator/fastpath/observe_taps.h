// What the fast path hands the observers of emulator/observe: the packets
// of the VFs a VPC Flow Log covers (counted in the worker's own
// FlowLogTable, no lock, no I/O) and the frames of VFs being captured (a
// copy into the VF's CaptureTap).  Checked once per burst and VF; nothing
// else costs when neither is on.
#pragma once

#include <cstdint>

#include "burst.h"
#include "snapshot.h"

namespace venic::observe {
class FlowLogSelection;
class FlowLogTable;
class CaptureTap;
}  // namespace venic::observe

namespace venic::fastpath {

struct ObserveTaps {
  const observe::FlowLogSelection* flow_logged = nullptr;  // which VFs are logged
  observe::FlowLogTable* flow_table = nullptr;             // this worker's
  observe::CaptureTap* capture = nullptr;                  // capture[vf], 256 of them
};

// The taps the calling worker thread uses (copied); all null: none.
void observe_use(const ObserveTaps& taps);

// A capture verdict for an allowance that dropped a frame (the rest are
// -1, delivered, or a VENIC_DROP_* reason).
inline constexpr int kCaptureAllowance = 0x100;

// The sender's side of a burst, after every stage: flow log records for
// what its groups judged, and its frames with their verdicts to a capture.
void observe_sent(const PortView& port, const Burst& b);

// Whether dst's received frames are to be observed (once per burst and queue).
bool observe_wants(const PortView& dst);
// The receiver's side: packet k of the burst (its VPC answer when `answer`)
// for dst, with its verdict there, as for a capture.
void observe_received(const PortView& dst, const Burst& b, uint32_t k, bool answer, int verdict);

}  // namespace venic::fastpath
