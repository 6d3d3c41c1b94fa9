// venicd's rte_telemetry commands (dpdk-telemetry.py -f venicd):
//   /venic/info              the daemon: version, ABI, pid, workers, VFs
//   /venic/vf/list           VF ids
//   /venic/vf/stats,<id>     one VF's counters: packets, bytes, drops by
//                            reason, allowance counters, per queue
//   /venic/efa/stats,<id>    an EFA VF's engine counters
//   /venic/conntrack,<inst>  an instance's tracked flows, per ENI
//   /venic/worker/stats      per-worker load (as the worker source gives it)
// They run on DPDK's telemetry thread and read only the StatsSnapshot.
#pragma once

#include <memory>

#include "stats_snapshot.h"

namespace venic::observe {

// Registers the commands (once per process) and serves them from snap.
// Returns 0 or a negative errno from rte_telemetry_register_cmd.
int register_telemetry(std::shared_ptr<StatsSnapshot> snap);
// Stops serving (the commands stay registered and answer with an error).
void unregister_telemetry();

}  // namespace venic::observe
