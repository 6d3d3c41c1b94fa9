// Turns a JSON object into an rte_telemetry dict.  DPDK 22.11's telemetry
// nests one level (a dict holds scalars and containers of scalars) and names
// hold only [A-Za-z0-9_/], so deeper JSON is flattened:
//   {"a": {"b": 1}}                 -> "a": {"b": 1}          (a dict container)
//   {"a": {"b": {"c": 1}}}          -> "a_b": {"c": 1}
//   {"q": [{"pkts": 1}, {"pkts": 2}]} -> "q_pkts": [1, 2]      (per-field arrays,
//                                      as /ethdev/stats's q_ipackets)
// Booleans become 0/1, nulls are left out, strings are cut at 127 bytes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

struct rte_tel_data;

namespace venic::observe {

// d is the callback's (fresh) data; obj must be an object.  Returns 0, or a
// negative errno when DPDK refused (too many entries).
int json_to_tel_dict(const nlohmann::json& obj, rte_tel_data* d);

// A name telemetry accepts: every other byte becomes '_'.
std::string tel_name(const std::string& s);

}  // namespace venic::observe
