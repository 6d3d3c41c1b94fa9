// VPC Flow Logs: the worker's table (double-buffered hand-over, full table),
// the record format, the flow-log resources and the writer's windows.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ec2_model.h"
#include "flow_log_config.h"
#include "flow_log_record.h"
#include "flow_log_table.h"
#include "flow_log_writer.h"

using namespace venic::observe;
using nlohmann::json;

namespace {

FlowLogKey key4(uint16_t vf, const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t proto = 6) {
  FlowLogKey k;
  k.vf = vf;
  k.family = 4;
  k.proto = proto;
  k.sport = sport;
  k.dport = dport;
  inet_pton(AF_INET, src, k.src);
  inet_pton(AF_INET, dst, k.dst);
  return k;
}

std::vector<FlowLogTable::Flow> harvest(FlowLogTable& t, std::map<uint16_t, uint64_t>* skipped = nullptr) {
  std::vector<FlowLogTable::Flow> out;
  t.harvest([&](const FlowLogTable::Flow& f) { out.push_back(f); },
            [&](uint16_t vf, uint64_t n) {
              if (skipped) (*skipped)[vf] += n;
            });
  return out;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST(FlowLogTable, CountsPerFlowAndActionAndHandsOverAfterFlip) {
  FlowLogTable t(64);
  const auto a = key4(1, "10.0.1.10", "10.0.1.11", 1000, 80);
  t.record(a, true, 100, 10);
  t.record(a, true, 200, 20);
  t.record(a, false, 60, 30);  // the same 5-tuple, rejected: its own record
  t.flip();
  t.record(a, true, 1, 40);  // after the flip: the next window's
  auto flows = harvest(t);
  ASSERT_EQ(flows.size(), 2u);
  for (auto& f : flows) {
    EXPECT_EQ(f.key, a);
    if (f.accepted) {
      EXPECT_EQ(f.packets, 2u);
      EXPECT_EQ(f.bytes, 300u);
      EXPECT_EQ(f.first_tsc, 10u);
      EXPECT_EQ(f.last_tsc, 20u);
    } else {
      EXPECT_EQ(f.packets, 1u);
    }
  }
  EXPECT_TRUE(harvest(t).empty());  // harvested buffers are cleared
  t.flip();
  flows = harvest(t);
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].packets, 1u);
}

TEST(FlowLogTable, AFullTableCountsSkippedPackets) {
  FlowLogTable t(16);
  for (uint16_t port = 0; port < 1000; port++) t.record(key4(3, "10.0.0.1", "10.0.0.2", port, 80), true, 64, port);
  t.flip();
  std::map<uint16_t, uint64_t> skipped;
  auto flows = harvest(t, &skipped);
  EXPECT_LE(flows.size(), 16u);
  uint64_t held = 0;
  for (auto& f : flows) held += f.packets;
  EXPECT_EQ(held + skipped[3], 1000u);
  EXPECT_GT(skipped[3], 0u);
}

TEST(FlowLogRecord, Version2Format) {
  FlowLogLine r{"000000001000", "eni-0a1b", key4(0, "10.0.1.10", "10.0.1.11", 49152, 443), 10, 840, 1733350000,
                1733350059,     true};
  EXPECT_EQ(flow_log_line(r),
            "2 000000001000 eni-0a1b 10.0.1.10 10.0.1.11 49152 443 6 10 840 1733350000 1733350059 ACCEPT OK");
  r.accepted = false;
  r.key.family = 6;
  std::memset(r.key.src, 0, 16);
  std::memset(r.key.dst, 0, 16);
  inet_pton(AF_INET6, "2600:1f18::10", r.key.src);
  inet_pton(AF_INET6, "2600:1f18::11", r.key.dst);
  EXPECT_EQ(flow_log_line(r),
            "2 000000001000 eni-0a1b 2600:1f18::10 2600:1f18::11 49152 443 6 10 840 1733350000 1733350059 REJECT OK");
  EXPECT_EQ(flow_log_status_line("000000001000", "eni-0a1b", 100, 160, "NODATA"),
            "2 000000001000 eni-0a1b - - - - - - - 100 160 - NODATA");
}

namespace {

json model_json() {
  return {{"vpcs", {{{"id", "vpc-1"}, {"owner", 1000}}}},
          {"subnets", {{{"id", "subnet-1"}, {"owner", 1000}, {"vpc", "vpc-1"}}}},
          {"enis", {{{"id", "eni-a"}, {"owner", 1000}}, {{"id", "eni-b"}, {"owner", 1000}}}}};
}

}  // namespace

TEST(FlowLogs, CreateDescribeDeleteWithOwnership) {
  FlowLogs logs;
  const venic::Caller owner{1000, false}, other{2000, false};
  auto r = logs.call("CreateFlowLogs",
                     {{"ResourceIds", {"vpc-1"}},
                      {"ResourceType", "VPC"},
                      {"TrafficType", "ALL"},
                      {"LogDestinationType", "file"},
                      {"LogDestination", "vpc1.log"},
                      {"MaxAggregationInterval", 60}},
                     owner, model_json());
  ASSERT_TRUE(r);
  ASSERT_EQ((*r)["FlowLogIds"].size(), 1u) << r->dump();
  const std::string id = (*r)["FlowLogIds"][0];
  // Another owner's VPC reads as missing; so does one that does not exist.
  auto denied =
      logs.call("CreateFlowLogs", {{"ResourceIds", {"vpc-1", "vpc-9"}}, {"ResourceType", "VPC"}}, other, model_json());
  EXPECT_TRUE((*denied)["FlowLogIds"].empty());
  ASSERT_EQ((*denied)["Unsuccessful"].size(), 2u);
  EXPECT_EQ((*denied)["Unsuccessful"][0]["Error"]["Code"], (*denied)["Unsuccessful"][1]["Error"]["Code"]);
  EXPECT_THROW(
      logs.call("CreateFlowLogs", {{"ResourceIds", {"vpc-1"}}, {"ResourceType", "VPC"}, {"MaxAggregationInterval", 30}},
                owner, model_json()),
      venic::model::Ec2Error);
  EXPECT_THROW(
      logs.call("CreateFlowLogs", {{"ResourceIds", {"vpc-1"}}, {"ResourceType", "VPC"}, {"LogDestination", "../x"}},
                owner, model_json()),
      venic::model::Ec2Error);
  EXPECT_THROW(
      logs.call("CreateFlowLogs", {{"ResourceIds", {"vpc-1"}}, {"ResourceType", "VPC"}, {"LogDestinationType", "s3"}},
                owner, model_json()),
      venic::model::Ec2Error);
  EXPECT_EQ((*logs.call("DescribeFlowLogs", json::object(), owner, model_json()))["FlowLogs"].size(), 1u);
  EXPECT_EQ((*logs.call("DescribeFlowLogs", json::object(), other, model_json()))["FlowLogs"].size(), 0u);
  EXPECT_EQ((*logs.call("DeleteFlowLogs", {{"FlowLogIds", {id}}}, other, model_json()))["Unsuccessful"].size(), 1u);
  EXPECT_EQ(logs.covering({"eni-a", "subnet-1", "vpc-1"}).size(), 1u);
  EXPECT_EQ((*logs.call("DeleteFlowLogs", {{"FlowLogIds", {id}}}, owner, model_json()))["Unsuccessful"].size(), 0u);
  EXPECT_TRUE(logs.covering({"eni-a", "subnet-1", "vpc-1"}).empty());
  EXPECT_FALSE(logs.call("DescribeVpcs", json::object(), owner, model_json()));
}

class FlowLogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("flow_log_test." + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string create(const std::string& resource, const std::string& type, const std::string& traffic,
                     unsigned interval, const std::string& dest) {
    auto r = logs_.call("CreateFlowLogs",
                        {{"ResourceIds", {resource}},
                         {"ResourceType", type},
                         {"TrafficType", traffic},
                         {"LogDestination", dest},
                         {"MaxAggregationInterval", interval}},
                        venic::Caller{}, model_json());
    return (*r)["FlowLogIds"][0];
  }
  FlowLogWriter writer(unsigned window_s = 0) {
    return FlowLogWriter(
        logs_, dir_.string(), 1,
        [](uint16_t vf) -> std::optional<FlowLogWriter::Place> {
          if (vf == 1) return FlowLogWriter::Place{{"eni-a", "subnet-1", "vpc-1"}, 1000};
          if (vf == 2) return FlowLogWriter::Place{{"eni-b", "subnet-1", "vpc-1"}, 1000};
          return std::nullopt;
        },
        [](std::function<void()> f) { f(); },  // no workers: the grace period is over at once
        {1000, [this] { return ticks_; }, [this] { return now_; }}, window_s);
  }
  std::string file(const std::string& name) { return (dir_ / "000000001000" / name).string(); }

  std::filesystem::path dir_;
  FlowLogs logs_;
  uint64_t ticks_ = 0;
  int64_t now_ = 1733350000;
};

TEST_F(FlowLogWriterTest, OneAcceptAndOneRejectRecordPerWindow) {
  create("vpc-1", "VPC", "ALL", 60, "vpc.log");
  auto w = writer();
  w.tick();
  EXPECT_TRUE(w.selection().logged(1));
  EXPECT_TRUE(w.selection().logged(2));
  EXPECT_FALSE(w.selection().logged(3));
  // An allowed flow (3 packets) and a denied one (2 packets), on VF 1.
  ticks_ = 5000;  // +5 s
  for (int i = 0; i < 3; i++)
    w.table(0).record(key4(1, "10.0.1.10", "10.0.1.11", 40000, 5001), true, 100, ticks_ + i * 1000);
  for (int i = 0; i < 2; i++) w.table(0).record(key4(1, "10.0.1.10", "10.0.1.11", 40001, 5002), false, 60, ticks_);
  now_ += 59;
  w.tick();  // not yet the end of the window
  EXPECT_FALSE(std::filesystem::exists(file("vpc.log")));
  now_ += 1;
  w.tick();
  auto lines = lines_of(file("vpc.log"));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "2 000000001000 eni-a 10.0.1.10 10.0.1.11 40001 5002 6 2 120 1733350005 1733350005 REJECT OK");
  EXPECT_EQ(lines[1], "2 000000001000 eni-a 10.0.1.10 10.0.1.11 40000 5001 6 3 300 1733350005 1733350007 ACCEPT OK");
  EXPECT_EQ(lines[2], "2 000000001000 eni-b - - - - - - - 1733350000 1733350060 - NODATA");
}

TEST_F(FlowLogWriterTest, TrafficTypeAndTenMinuteWindows) {
  create("eni-a", "NetworkInterface", "REJECT", 600, "rejects.log");
  auto w = writer();
  w.tick();
  EXPECT_TRUE(w.selection().logged(1));
  EXPECT_FALSE(w.selection().logged(2));
  w.table(0).record(key4(1, "10.0.1.10", "10.0.1.11", 1, 2), true, 100, 0);
  w.table(0).record(key4(1, "10.0.1.10", "10.0.1.11", 3, 4, 17), false, 100, 0);
  for (int minute = 1; minute < 10; minute++) {
    now_ += 60;
    w.tick();
  }
  EXPECT_FALSE(std::filesystem::exists(file("rejects.log"))) << "a 600 s window written before its end";
  w.table(0).record(key4(1, "10.0.1.10", "10.0.1.11", 3, 4, 17), false, 100, 0);
  now_ += 60;
  w.tick();
  auto lines = lines_of(file("rejects.log"));
  ASSERT_EQ(lines.size(), 1u);  // the accepted flow is not this log's; the two minutes' rejects are one record
  EXPECT_EQ(lines[0].rfind("2 000000001000 eni-a 10.0.1.10 10.0.1.11 3 4 17 2 200 ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(" REJECT OK"), std::string::npos);
}

TEST_F(FlowLogWriterTest, TestWindowFromTheEnvironment) {
  setenv("VENIC_FLOW_LOG_WINDOW_S", "2", 1);
  EXPECT_EQ(FlowLogWriter::window_from_env(), 2u);
  setenv("VENIC_FLOW_LOG_WINDOW_S", "0", 1);
  EXPECT_EQ(FlowLogWriter::window_from_env(), 0u);
  setenv("VENIC_FLOW_LOG_WINDOW_S", "2x", 1);
  EXPECT_EQ(FlowLogWriter::window_from_env(), 0u);
  unsetenv("VENIC_FLOW_LOG_WINDOW_S");
  create("subnet-1", "Subnet", "ACCEPT", 600, "s.log");
  auto w = writer(2);
  w.tick();
  w.table(0).record(key4(2, "10.0.1.11", "10.0.1.10", 5, 6), true, 10, 0);
  now_ += 2;
  w.tick();
  auto lines = lines_of(file("s.log"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("eni-a - - - - - - - 1733350000 1733350002 - NODATA"), std::string::npos) << lines[1];
  EXPECT_NE(lines[0].find("eni-b 10.0.1.11 10.0.1.10 5 6 6 1 10"), std::string::npos) << lines[0];
}
