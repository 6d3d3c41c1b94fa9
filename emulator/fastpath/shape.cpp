#include "shape.h"

namespace venic::fastpath {

Shaper::Shaper(const PortView& port, vf::TxqRuntime& tq, const Burst& b) : port_(port), tq_(tq) {
  if (!port.shaped_out) return;
  vf::AllowanceRuntime& al = port.rt->allowance;
  const vf::AllowanceProfile& ap = port.allow;
  if (ap.bw_out.limited()) al.bw_out.refill(ap.bw_out, b.now);
  if (ap.pps.limited()) {
    // One token per complete packet in the burst, and never the last
    // quarter of the bucket: a backlogged sender must not starve the VF's
    // inbound traffic of the PPS they share.
    uint32_t packets = 0;
    for (uint32_t k = 0; k < b.ndesc; k++) packets += (b.d[k].flags & VENIC_DESC_F_MORE) == 0;
    al.lock.lock();
    al.pps.refill(ap.pps, b.now);
    pps_left_ = al.pps.take_up_to(ap.pps, packets, ap.pps.depth_units / 4);
    al.lock.unlock();
  }
}

bool Shaper::admit(uint32_t total, uint32_t at) {
  vf::AllowanceRuntime& al = port_.rt->allowance;
  const vf::AllowanceProfile& ap = port_.allow;
  int held = -1;
  if (pps_left_ == 0)
    held = VENIC_ALLOW_PPS;
  else if (ap.bw_out.limited() && !al.bw_out.take(ap.bw_out, total))
    held = VENIC_ALLOW_BW_OUT;
  if (held >= 0) {
    if (!tq_.holding || tq_.held_at != at) vf::counter_add(tq_.c.allowance[held], 1);
    tq_.holding = true;
    tq_.held_at = at;
    return false;
  }
  if (pps_left_ != UINT64_MAX) pps_left_--;
  return true;
}

void Shaper::finish() {
  if (pps_left_ == UINT64_MAX || pps_left_ == 0) return;
  vf::AllowanceRuntime& al = port_.rt->allowance;
  al.lock.lock();
  al.pps.give_back(port_.allow.pps, pps_left_);  // reserved for packets this burst did not have
  al.lock.unlock();
  pps_left_ = 0;
}

}  // namespace venic::fastpath
