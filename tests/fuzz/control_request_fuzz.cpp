// The control protocol's request decoder: ControlMethods::handle on arbitrary
// bytes, with the EC2 service behind it, as a client's messages reach it.
// One input is up to kMaxRequests requests, one per line, run in order on a
// fresh table (so a seed can create something and then act on it).  Every
// reply must be one JSON object with the request's answer or a typed error;
// an "internal" error means a check is missing (an exception escaped a
// method's validation), and counts as a finding.  VENIC_FUZZ_ECHO=1 prints
// every request and reply (to read a reproducer).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "control_methods.h"
#include "ec2_service.h"
#include "fuzz_check.h"

using venic::fuzz::require;

namespace {

constexpr size_t kMaxRequests = 8;

class NoPublisher : public venic::vf::Publisher {
 public:
  void publish(const venic::vf::VfTable&) override {}
};

void check_reply(const std::string& reply) {
  const nlohmann::json r = nlohmann::json::parse(reply, nullptr, false);
  require(!r.is_discarded() && r.is_object(), "reply is a JSON object", reply);
  require(r.contains("id"), "reply has an id", reply);
  require(r.contains("result") != r.contains("error"), "reply has a result or an error", reply);
  if (r.contains("error")) {
    const auto& e = r["error"];
    require(e.is_object() && e.contains("code") && e["code"].is_string() && e.contains("message") &&
                e["message"].is_string(),
            "error has a code and a message", reply);
    require(e["code"] != "internal", "no internal error", reply);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  NoPublisher publisher;
  venic::vf::VfTable table(publisher, nullptr);
  uint64_t counter = 0;
  venic::model::Ec2Service ec2(table, nullptr, [&counter] { return ++counter * 0x9e3779b97f4a7c15ull; });
  venic::control::DaemonInfo info;
  info.version = "fuzz";
  info.workers = 1;
  venic::control::ControlMethods methods(table, info, &ec2);
  const venic::control::Session session{1, ::getpid(), 0, 0};

  static const bool echo = std::getenv("VENIC_FUZZ_ECHO") != nullptr;  // shows each exchange
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (size_t n = 0; n < kMaxRequests && !input.empty(); n++) {
    const size_t eol = input.find('\n');
    const std::string request(input.substr(0, eol));
    input = eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);
    std::vector<venic::UniqueFd> fds_in;
    std::vector<int> fds_out;
    const std::string reply = methods.handle(request, session, fds_in, fds_out);
    if (echo) std::fprintf(stderr, "> %s\n< %s\n", request.c_str(), reply.c_str());
    check_reply(reply);
  }
  methods.session_closed(session.id);
  return 0;
}
