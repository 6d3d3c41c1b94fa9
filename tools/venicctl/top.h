// venicctl top: one screen of what venicd's VFs and workers are doing, from
// two "stats" samples (and vf.list for the ENI names).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace venic::ctl {

struct TopSample {
  nlohmann::json stats;  // the stats method's result: {"vfs": [...], "workers": [...] (admins)}
  nlohmann::json vfs;    // vf.list's result: {"vfs": [...]}
};

// Per VF (and per queue when more than one queue carried traffic): Mpps and
// Gbps each way and drops per second; then drops per second by reason, the
// allowance counters that rose, and each worker's load (busy share of its
// cycles, Mpps, cycles per packet) from its busy_cycles, idle_cycles and
// packets counters.  elapsed_seconds: between the two samples.
std::string format_top(const TopSample& before, const TopSample& now, double elapsed_seconds);

}  // namespace venic::ctl
