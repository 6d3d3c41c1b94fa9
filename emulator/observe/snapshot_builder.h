// Builds StatsSnapshot's JSON on the control thread, from the VF table, the
// EC2 model (which ENI and instance each VF backs), the EFA engine and the
// workers.  The one place that knows the snapshot's shape:
//   {"info": {version, abi, pid, workers, vfs, max_vfs, uptime_s},
//    "vfs": [{vf, type, mac, eni, instance, owner_id, attached,
//             stats: VfTable::stats_json, efa: EfaEngine::vf_stats (EFA VFs),
//             conntrack: {tracked, max} (VFs with connection tracking)}],
//    "workers": [whatever the worker source returns, one object a worker]}
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace venic::vf {
class VfTable;
}
namespace venic::model {
class Ec2Service;
}
namespace venic::efa {
class EfaEngine;
}

namespace venic::observe {

struct SnapshotSources {
  const vf::VfTable* table = nullptr;
  const model::Ec2Service* ec2 = nullptr;  // optional
  const efa::EfaEngine* efa = nullptr;     // optional
  std::string version;
  unsigned workers = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // Per-worker load (busy/idle cycles, packets), called on the control
  // thread; unset: an empty list.
  std::function<nlohmann::json()> worker_stats;
  // The uplink to other hosts' counters (uplink_port.h); unset: no uplink.
  std::function<nlohmann::json()> underlay_stats;
};

nlohmann::json build_snapshot(const SnapshotSources& s);

}  // namespace venic::observe
