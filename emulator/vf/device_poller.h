// A device emulated beside the Ethernet fast path (the EFA engine): polled
// by the first worker between bursts, told when the VF table changes, and
// given the control thread's periodic tick.
#pragma once

#include <cstdint>

namespace venic::vf {

class VfTable;

class DevicePoller {
 public:
  virtual ~DevicePoller() = default;
  // Worker thread: one pass over the device's queues; returns work done.
  virtual uint32_t poll() = 0;
  // Control thread: the VF table changed.
  virtual void on_table(const VfTable& table) = 0;
  // Control thread, about every 100 ms.
  virtual void tick() = 0;
};

}  // namespace venic::vf
