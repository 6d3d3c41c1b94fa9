// Client side of the control socket: venicctl, drivers/ena and tests use it.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "unique_fd.h"

namespace venic::control {

// An error the daemon answered (code is one of protocol.h's err::*; aws_code
// EC2's code, for the ec2.* methods), or a transport failure (code "transport").
class ControlError : public std::runtime_error {
 public:
  ControlError(std::string code, const std::string& message, std::string aws_code = "")
      : std::runtime_error(message), code_(std::move(code)), aws_code_(std::move(aws_code)) {}
  const std::string& code() const { return code_; }
  const std::string& aws_code() const { return aws_code_; }
  // The daemon did not answer in time: it may still act on the request.
  bool timed_out() const { return timed_out_; }
  static ControlError timeout(const std::string& message) {
    ControlError e("transport", message);
    e.timed_out_ = true;
    return e;
  }

 private:
  std::string code_;
  std::string aws_code_;
  bool timed_out_ = false;
};

struct Reply {
  nlohmann::json result;
  std::vector<UniqueFd> fds;
};

class Client {
 public:
  // Throws ControlError("transport", ...) when the daemon is not there.
  static Client connect(const std::string& socket_path);

  // Sends a request and waits for its reply; throws ControlError on an error
  // reply or a transport failure.
  Reply call(const std::string& method, const nlohmann::json& params = nlohmann::json::object(),
             std::span<const int> fds = {});

  int fd() const { return sock_.get(); }

 private:
  explicit Client(UniqueFd s) : sock_(std::move(s)) {}
  UniqueFd sock_;
  long next_id_ = 1;
};

}  // namespace venic::control
