// What emulator/observe adds to the control protocol: the workers' load in
// stats (for admins only), ec2.*FlowLogs through the EC2 extension, and
// capture.* through the method extension (ownership, fds, limits).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "capture_service.h"
#include "control_methods.h"
#include "flow_log_config.h"
#include "protocol.h"
#include "vf_table.h"

namespace venic::control {
namespace {

using nlohmann::json;

class NoWorkers : public vf::Publisher {
 public:
  void publish(const vf::VfTable&) override {}
};

struct Fixture {
  NoWorkers pub;
  vf::VfTable table{pub, nullptr};
  ControlMethods methods{table, {"test", 1, std::chrono::steady_clock::now(), {}}};
  observe::CaptureService captures{table, [](std::function<void()> f) { f(); }};

  Fixture() {
    methods.set_worker_stats([] { return json::array({{{"busy_cycles", 5}, {"idle_cycles", 5}, {"packets", 1}}}); });
    methods.set_extension([this](const std::string& m, const json& p, const Caller& c, uint64_t s,
                                 std::vector<UniqueFd>& fds) { return captures.call(m, p, c, s, fds); },
                          [this](uint64_t s) { captures.session_closed(s); });
  }
  json call(const std::string& method, const json& params, uid_t uid, std::vector<UniqueFd> fds = {},
            uint64_t session = 1) {
    std::vector<int> out;
    Session s{session, 1, uid, 0};
    return json::parse(methods.handle(json{{"id", 1}, {"method", method}, {"params", params}}.dump(), s, fds, out));
  }
};

UniqueFd writable_tmp() {
  char path[] = "/tmp/control_observe_test.XXXXXX";
  int fd = ::mkstemp(path);
  ::unlink(path);
  return UniqueFd(fd);
}

}  // namespace

TEST(ControlObserve, WorkerLoadOnlyForAdmins) {
  Fixture f;
  EXPECT_EQ(f.call("stats", json::object(), 0)["result"]["workers"][0]["busy_cycles"], 5);
  EXPECT_FALSE(f.call("stats", json::object(), 4321)["result"].contains("workers"));
}

TEST(ControlObserve, CaptureOwnershipFdsAndLimits) {
  Fixture f;
  ASSERT_FALSE(
      f.call("vf.create", {{"type", "ena"}, {"mac", "02:00:00:00:00:01"}, {"ip", "10.0.1.10"}, {"owner_uid", 4321}}, 0)
          .contains("error"));
  // Not the owner: the VF reads as missing, as one that does not exist.
  std::vector<UniqueFd> fds;
  fds.push_back(writable_tmp());
  json r = f.call("capture.start", {{"vf", 0}}, 999, std::move(fds));
  EXPECT_EQ(r["error"]["code"], "not_found") << r;
  fds.clear();
  fds.push_back(writable_tmp());
  EXPECT_EQ(
      f.call("capture.start", {{"vf", 7}}, 999, std::move(fds))["error"]["message"],
      r["error"]["message"].get<std::string>().replace(r["error"]["message"].get<std::string>().find('0'), 1, "7"));
  // No fd, or one not open for writing: refused.
  EXPECT_EQ(f.call("capture.start", {{"vf", 0}}, 4321)["error"]["code"], "invalid_params");
  fds.clear();
  fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_EQ(f.call("capture.start", {{"vf", 0}}, 4321, std::move(fds))["error"]["code"], "invalid_params");
  fds.clear();
  fds.push_back(writable_tmp());
  EXPECT_EQ(f.call("capture.start", {{"vf", 0}, {"direction", "sideways"}}, 4321, std::move(fds))["error"]["code"],
            "invalid_params");
}

TEST(ControlObserve, FlowLogsThroughTheEc2Extension) {
  Fixture f;
  observe::FlowLogs logs;
  json model = {{"vpcs", {{{"id", "vpc-1"}, {"owner", 4321}}}}};
  f.methods.set_ec2_extension([&](const std::string& action, const json& p, const Caller& c) -> std::optional<json> {
    if (!observe::FlowLogs::handles(action)) return std::nullopt;
    return logs.call(action, p, c, model);
  });
  json r = f.call("ec2.CreateFlowLogs", {{"ResourceIds", {"vpc-1"}}, {"ResourceType", "VPC"}}, 4321);
  ASSERT_EQ(r["result"]["FlowLogIds"].size(), 1u) << r;
  r = f.call("ec2.CreateFlowLogs", {{"ResourceIds", {"vpc-1"}}, {"ResourceType", "VPC"}, {"MaxAggregationInterval", 5}},
             4321);
  EXPECT_EQ(r["error"]["aws_code"], "InvalidParameter") << r;
  EXPECT_EQ(f.call("ec2.DescribeFlowLogs", json::object(), 1234)["result"]["FlowLogs"].size(), 0u);
  EXPECT_EQ(f.call("ec2.DescribeFlowLogs", json::object(), 4321)["result"]["FlowLogs"].size(), 1u);
}

}  // namespace venic::control
