// Sends venicctl's requests to venicd and prints what comes back.
// Failures surface as venic::control::ControlError (daemon error or transport).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "requests.h"

namespace venic::ctl {

struct OutputOptions {
  bool json = false;  // raw pretty JSON instead of the human text
};

// Turns a method's result into the human text.
using ResultFormatter = std::function<std::string(const nlohmann::json& result)>;

// One request, one printed result.
void run_request(const std::string& socket_path, const Request& request, const OutputOptions& output,
                 const ResultFormatter& format, std::ostream& out);

struct WatchOptions {
  double interval_seconds = 1;
  bool clear_screen = false;  // only sensible when `out` is a terminal
};

// Prints `request` (a "stats" request) every interval until SIGINT, with
// packet rates from the previous sample.  A second SIGINT while a request is
// stuck ends the process at once.
void watch_stats(const std::string& socket_path, const Request& request, const OutputOptions& output,
                 const WatchOptions& watch, std::ostream& out);

}  // namespace venic::ctl
