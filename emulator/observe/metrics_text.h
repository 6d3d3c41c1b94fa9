// The stats snapshot (snapshot_builder.h) in Prometheus's text exposition
// format (version 0.0.4): venic_ prefix, HELP and TYPE for every family,
// counters ending in _total, labels vf, eni, instance, type and, where they
// apply, queue, direction, reason, allowance, worker.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace venic::observe {

std::string prometheus_text(const nlohmann::json& snapshot);

// A label value with \, " and newline escaped as the format asks.
std::string prom_escape(const std::string& s);

}  // namespace venic::observe
