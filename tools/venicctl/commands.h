// Sends venicctl's requests to venicd and prints what comes back.
// Failures surface as venic::control::ControlError (daemon error or transport).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "control_client.h"
#include "requests.h"

namespace venic::ctl {

// venicd refused a request of run_aws_request: its error's code and message,
// and the EC2 error code ("aws_code") that ec2.* methods add; empty when the
// reply has none (an older venicd, or an error outside the EC2 model).
class DaemonError : public control::ControlError {
 public:
  DaemonError(std::string method, std::string code, std::string aws_code, const std::string& message)
      : ControlError(std::move(code), message), method_(std::move(method)), aws_code_(std::move(aws_code)) {}
  const std::string& method() const { return method_; }
  const std::string& aws_code() const { return aws_code_; }

 private:
  std::string method_;
  std::string aws_code_;
};

// The line (without newline) venicctl prints on stderr for a refusal.  For an
// ec2.* method it is the AWS CLI's: "An error occurred (AWS_CODE) when calling
// the ACTION operation: MESSAGE", with venic's code when there is no
// aws_code; for any other method it is "venicctl: MESSAGE", as for every
// other failure.
std::string format_daemon_error(const DaemonError& error);

// A result as the AWS CLI prints it: JSON indented by 4 spaces and a newline;
// nothing at all for an empty object (the {} of DeleteNetworkInterface...).
std::string format_aws_result(const nlohmann::json& result);

// One ec2.* request (docs/ec2-api.md), its result printed by
// format_aws_result.  A refusal throws DaemonError, a transport failure
// ControlError("transport").
void run_aws_request(const std::string& socket_path, const Request& request, std::ostream& out);

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

// venicctl top: a screen (top.h) every interval until SIGINT, or `count`
// screens (0: no end).
void watch_top(const std::string& socket_path, const WatchOptions& watch, unsigned count, std::ostream& out);

// venicctl capture: opens `path` (as the caller), hands it to venicd with
// capture.start, reports progress until `count` packets (0: Ctrl-C), then
// capture.stop.  Messages go to `err` (stdout may be the capture itself).
struct CaptureOptions {
  std::string vf, direction = "both", path;
  uint64_t count = 0;
};
void run_capture(const std::string& socket_path, const CaptureOptions& c, std::ostream& err);

}  // namespace venic::ctl
