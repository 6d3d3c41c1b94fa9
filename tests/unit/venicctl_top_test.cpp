// venicctl top's screen and stats --watch's bit rates, from fixed samples.
#include <gtest/gtest.h>

#include "format.h"
#include "top.h"

using nlohmann::json;
using venic::ctl::format_top;
using venic::ctl::TopSample;

namespace {

json vf_stats(long id, uint64_t tx_pkts, uint64_t tx_bytes, uint64_t nobuf, uint64_t flow, json q) {
  return {
      {"vf", id},
      {"tx_pkts", tx_pkts},
      {"tx_bytes", tx_bytes},
      {"rx_pkts", 0},
      {"rx_bytes", 0},
      {"drops", {{"rx_no_buffer", nobuf}, {"no_route", 0}}},
      {"allowance_exceeded", {{"flow_allowance_exceeded", flow}, {"pps_allowance_exceeded", 0}}},
      {"queues",
       {{"tx", q},
        {"rx", json::array({{{"pkts", 0}, {"bytes", 0}, {"drops", 0}}, {{"pkts", 0}, {"bytes", 0}, {"drops", 0}}})}}}};
}

json queues(uint64_t q0, uint64_t q1) {
  return json::array(
      {{{"pkts", q0}, {"bytes", q0 * 100}, {"drops", 0}}, {{"pkts", q1}, {"bytes", q1 * 100}, {"drops", 0}}});
}

}  // namespace

TEST(VenicctlTop, RatesPerVfAndQueueDropsAllowancesWorkers) {
  TopSample a{{{"vfs", {vf_stats(0, 0, 0, 0, 10, queues(0, 0))}},
               {"workers", {{{"busy_cycles", 100}, {"idle_cycles", 100}, {"packets", 0}}}}},
              {{"vfs", {{{"id", 0}, {"eni_id", "eni-0abc"}}}}}};
  // 2 s later: 4M packets of 125 bytes (2 Mpps, 2 Gbps), split over two
  // queues; 1000 no-buffer drops; the flow allowance rose by 5.
  TopSample b{{{"vfs", {vf_stats(0, 4000000, 500000000, 1000, 15, queues(3000000, 1000000))}},
               {"workers", {{{"busy_cycles", 400}, {"idle_cycles", 200}, {"packets", 4000000}}}}},
              a.vfs};
  const std::string t = format_top(a, b, 2.0);
  EXPECT_NE(t.find("0   eni-0abc  all    2.000    2.000    0.000    0.000     500"), std::string::npos) << t;
  EXPECT_NE(t.find("  0      1.500"), std::string::npos) << t;  // queue 0: 1.5 Mpps
  EXPECT_NE(t.find("  1      0.500"), std::string::npos) << t;
  EXPECT_NE(t.find("vf 0: rx_no_buffer 500/s\n"), std::string::npos) << t;
  EXPECT_NE(t.find("vf 0: flow_allowance_exceeded +5 (15)\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("pps_allowance_exceeded"), std::string::npos) << t;  // did not rise
  EXPECT_NE(t.find("0: busy 75.0 %, 2.000 Mpps, 0 cycles/packet"), std::string::npos) << t;
}

TEST(VenicctlTop, OddSamplesDoNotThrow) {
  EXPECT_NO_THROW(format_top({json(), json()}, {json::array(), "x"}, 0));
  EXPECT_NO_THROW(
      format_top({{{"vfs", {{{"vf", "x"}}}}}, json()}, {{{"vfs", {{{"vf", 1}, {"queues", 3}}}}}, json()}, 1));
}

TEST(VenicctlWatch, BitRatesBesidePacketRates) {
  json before = json::array({{{"vf", 0}, {"tx_pkts", 0}, {"tx_bytes", 0}, {"rx_pkts", 0}, {"rx_bytes", 0}}});
  json after = json::array({{{"vf", 0}, {"tx_pkts", 1000}, {"tx_bytes", 1250000}, {"rx_pkts", 0}, {"rx_bytes", 0}}});
  auto rates = venic::ctl::compute_packet_rates(before, after, 1.0);
  EXPECT_DOUBLE_EQ(rates.at(0).tx_bps, 10e6);
  const std::string t = venic::ctl::format_stats_table(after, rates);
  EXPECT_NE(t.find("TX-BIT/S"), std::string::npos) << t;
  EXPECT_NE(t.find("10.0M"), std::string::npos) << t;
  EXPECT_EQ(venic::ctl::si_rate(0), "0");
  EXPECT_EQ(venic::ctl::si_rate(950), "950");
  EXPECT_EQ(venic::ctl::si_rate(1234), "1.23k");
  EXPECT_EQ(venic::ctl::si_rate(98.7e9), "98.7G");
}
