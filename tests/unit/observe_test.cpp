// What venicd shows of itself: the Prometheus text of a stats snapshot, and
// the snapshot's hand-over between threads.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <thread>

#include "metrics_text.h"
#include "stats_snapshot.h"

using venic::observe::prometheus_text;
using venic::observe::StatsSnapshot;

namespace {

nlohmann::json snapshot() {
  return {{"info", {{"version", "0.1.0"}, {"abi", "1.3"}, {"workers", 2}, {"vfs", 2}, {"uptime_s", 5}}},
          {"vfs",
           {{{"vf", 0},
             {"type", "ena"},
             {"eni", "eni-1"},
             {"instance", "i-\"x\\y\n"},
             {"attached", true},
             {"stats",
              {{"tx_pkts", 10},
               {"rx_pkts", 3},
               {"drops", {{"no_route", 1}, {"spoof_ip", 2}}},
               {"allowance_exceeded", {{"pps_allowance_exceeded", 4}}},
               {"queues", {{"tx", {{{"pkts", 10}, {"bytes", 640}, {"drops", 0}}}}, {"rx", nlohmann::json::array()}}}}},
             {"conntrack", {{"tracked", 7}, {"max", 100}}}},
            {{"vf", 1}, {"type", "efa"}, {"stats", {{"tx_pkts", 1}}}, {"efa", {{"contexts", 1}, {"tx_msgs", 9}}}}}},
          {"workers", {{{"busy_cycles", 100}, {"load", 50}}}},
          {"underlay", {{"tx_frames", 12}, {"rx_frames", 5}, {"drops", {{"spoofed", 3}, {"unknown_vni", 0}}}}}};
}

}  // namespace

TEST(PrometheusText, FamiliesAreContiguousWithHelpAndType) {
  std::istringstream in(prometheus_text(snapshot()));
  std::set<std::string> closed;
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_FALSE(closed.count(name)) << name << " appears twice";
      if (!current.empty()) closed.insert(current);
      current = name;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_EQ(line.rfind("# TYPE " + current + " ", 0), 0u) << line;
      if (line.find(" counter") != std::string::npos) {
        EXPECT_TRUE(current.ends_with("_total")) << line;
      }
      continue;
    }
    EXPECT_EQ(line.rfind(current, 0), 0u) << line << " outside its family " << current;
    EXPECT_EQ(line.rfind("venic_", 0), 0u) << line;
  }
}

TEST(PrometheusText, LabelsAndValues) {
  std::string t = prometheus_text(snapshot());
  EXPECT_NE(t.find("venic_vf_tx_packets_total{vf=\"0\",eni=\"eni-1\",instance=\"i-\\\"x\\\\y\\n\",type=\"ena\"} 10\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find(",reason=\"spoof_ip\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find(",allowance=\"pps_allowance_exceeded\"} 4\n"), std::string::npos);
  EXPECT_NE(t.find(",queue=\"0\",direction=\"tx\"} 10\n"), std::string::npos);
  EXPECT_NE(t.find("venic_vf_conntrack_tracked{vf=\"0\""), std::string::npos);
  EXPECT_NE(t.find("venic_efa_tx_msgs_total{vf=\"1\""), std::string::npos);
  EXPECT_NE(t.find("venic_efa_contexts{vf=\"1\""), std::string::npos);
  EXPECT_NE(t.find("venic_worker_busy_cycles_total{worker=\"0\"} 100\n"), std::string::npos);
  EXPECT_NE(t.find("venic_underlay_tx_frames_total 12\n"), std::string::npos) << t;
  EXPECT_NE(t.find("venic_underlay_drops_total{reason=\"spoofed\"} 3\n"), std::string::npos);
  // Derived figures (a load share, ns per packet) are not exported: a query takes the ratio.
  EXPECT_EQ(t.find("venic_worker_load"), std::string::npos);
  EXPECT_EQ(prometheus_text(nullptr), "");
}

TEST(StatsSnapshot, ReaderWaitsForTheControlThreadsCopy) {
  StatsSnapshot s;
  EXPECT_FALSE(s.wanted());
  std::thread control([&] {
    while (!s.wanted()) std::this_thread::yield();
    s.publish({{"n", 1}});
  });
  auto j = s.read(std::chrono::milliseconds(100), std::chrono::seconds(10));
  control.join();
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["n"], 1);
  EXPECT_FALSE(s.wanted());
  // A fresh copy is served without asking again.
  EXPECT_EQ((*s.read(std::chrono::seconds(60)))["n"], 1);
  EXPECT_FALSE(s.wanted());
}

TEST(StatsSnapshot, ReaderGivesUpWhenNobodyAnswers) {
  StatsSnapshot s;
  EXPECT_EQ(s.read(std::chrono::milliseconds(0), std::chrono::milliseconds(10)), nullptr);
  EXPECT_TRUE(s.wanted());
}
