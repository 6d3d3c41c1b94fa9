// venicctl without a daemon: value validation, request building, output
// formatting and the command line's exit codes/messages; the EC2 commands'
// printing also against a stand-in venicd on a temporary socket.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "args.h"
#include "cli.h"
#include "cluster_command.h"
#include "commands.h"
#include "ec2_commands.h"
#include "format.h"
#include "requests.h"
#include "seqpacket.h"
#include "table.h"
#include "unique_fd.h"

namespace venic::ctl {
namespace {

using nlohmann::json;

// ---- MAC ------------------------------------------------------------------

TEST(VenicctlMac, AcceptsUnicastAndLowercasesIt) {
  std::string mac;
  EXPECT_EQ(parse_mac("02:00:00:00:00:01", mac), "");
  EXPECT_EQ(mac, "02:00:00:00:00:01");
  EXPECT_EQ(parse_mac("0A:BC:DE:F0:12:34", mac), "");
  EXPECT_EQ(mac, "0a:bc:de:f0:12:34");
  EXPECT_EQ(parse_mac("fe:ff:ff:ff:ff:ff", mac), "");
}

TEST(VenicctlMac, RejectsMalformedWithTheExpectedShape) {
  std::string mac = "untouched";
  EXPECT_EQ(parse_mac("02:zz:00:00:00:01", mac),
            "invalid MAC address '02:zz:00:00:00:01' (expected xx:xx:xx:xx:xx:xx)");
  for (const char* bad :
       {"", "02:00:00:00:00", "02:00:00:00:00:01:02", "02-00-00-00-00-01", "0200.0000.0001", "2:0:0:0:0:1",
        "02:00:00:00:00:1", "02:00:00:00:00:011", " 02:00:00:00:00:01", "02:00:00:00:00:0g"}) {
    const std::string error = parse_mac(bad, mac);
    EXPECT_NE(error.find("invalid MAC address"), std::string::npos) << bad;
  }
  EXPECT_EQ(mac, "untouched");  // nothing written on failure
}

TEST(VenicctlMac, RejectsMulticastBroadcastAndZero) {
  std::string mac;
  EXPECT_NE(parse_mac("01:00:5e:00:00:01", mac).find("multicast"), std::string::npos);
  EXPECT_NE(parse_mac("33:33:00:00:00:01", mac).find("multicast"), std::string::npos);
  EXPECT_NE(parse_mac("ff:ff:ff:ff:ff:ff", mac).find("multicast"), std::string::npos);
  EXPECT_NE(parse_mac("00:00:00:00:00:00", mac).find("all zeros"), std::string::npos);
}

// ---- IPv4 -----------------------------------------------------------------

TEST(VenicctlIpv4, AcceptsDottedQuads) {
  std::string ip;
  for (const char* good : {"10.0.1.10", "0.0.0.0", "255.255.255.255", "192.168.100.1"}) {
    EXPECT_EQ(parse_ipv4(good, ip), "") << good;
    EXPECT_EQ(ip, good);
  }
}

TEST(VenicctlIpv4, RejectsEverythingElse) {
  std::string ip;
  EXPECT_EQ(parse_ipv4("10.0.1", ip), "invalid IPv4 address '10.0.1' (expected a.b.c.d)");
  for (const char* bad : {"", "10.0.1.256", "10.0.1.10.1", "a.b.c.d", "010.0.0.1", " 10.0.0.1", "10..0.1",
                          "10.0.0.1/24", "10.0.0.", "-1.0.0.1", "1000.0.0.1", "::1"}) {
    EXPECT_NE(parse_ipv4(bad, ip), "") << bad;
  }
}

// ---- numbers --------------------------------------------------------------

TEST(VenicctlNumbers, PrefixIsOneToThirtyTwo) {
  int prefix = 0;
  EXPECT_EQ(parse_prefix("1", prefix), "");
  EXPECT_EQ(prefix, 1);
  EXPECT_EQ(parse_prefix("32", prefix), "");
  EXPECT_EQ(prefix, 32);
  EXPECT_EQ(parse_prefix("33", prefix), "invalid prefix length '33' (expected a number 1-32)");
  for (const char* bad : {"0", "-1", "", "24x", "+24", "abc", " 24"}) EXPECT_NE(parse_prefix(bad, prefix), "") << bad;
}

TEST(VenicctlNumbers, VfIdIsZeroTo255) {
  int id = -1;
  EXPECT_EQ(parse_vf_id("0", id), "");
  EXPECT_EQ(id, 0);
  EXPECT_EQ(parse_vf_id("255", id), "");
  EXPECT_EQ(id, 255);
  EXPECT_EQ(parse_vf_id("abc", id), "invalid VF id 'abc' (expected a number 0-255)");
  for (const char* bad : {"256", "-1", "", "1.5", "0x10", "99999999999999999999"})
    EXPECT_NE(parse_vf_id(bad, id), "") << bad;
}

TEST(VenicctlNumbers, MtuIs68To9001) {
  int mtu = 0;
  EXPECT_EQ(parse_mtu("68", mtu), "");
  EXPECT_EQ(parse_mtu("1500", mtu), "");
  EXPECT_EQ(mtu, 1500);
  EXPECT_EQ(parse_mtu("9001", mtu), "");
  EXPECT_EQ(parse_mtu("9711", mtu), "invalid MTU '9711' (expected a number 68-9710)");
  EXPECT_NE(parse_mtu("67", mtu), "");
  EXPECT_NE(parse_mtu("jumbo", mtu), "");
}

TEST(VenicctlNumbers, QueuesAreOneToEight) {
  int queues = 0;
  EXPECT_EQ(parse_queues("1", queues), "");
  EXPECT_EQ(parse_queues("8", queues), "");
  EXPECT_EQ(queues, 8);
  EXPECT_NE(parse_queues("0", queues), "");
  EXPECT_NE(parse_queues("9", queues), "");
}

TEST(VenicctlNumbers, WatchIntervalAllowsFractions) {
  double seconds = 0;
  EXPECT_EQ(parse_watch_interval("0.5", seconds), "");
  EXPECT_DOUBLE_EQ(seconds, 0.5);
  EXPECT_EQ(parse_watch_interval("2", seconds), "");
  EXPECT_DOUBLE_EQ(seconds, 2);
  for (const char* bad : {"0", "0.01", "-1", "nan", "inf", "", "1s", "3601"})
    EXPECT_NE(parse_watch_interval(bad, seconds), "") << bad;
}

// ---- allowances -------------------------------------------------------------

TEST(VenicctlAllowances, MbpsTakesNumbersAndUnlimited) {
  std::uint32_t mbps = 7;
  EXPECT_EQ(parse_mbps("--bw-mbps", "1000", mbps), "");
  EXPECT_EQ(mbps, 1000u);
  EXPECT_EQ(parse_mbps("--bw-mbps", "400000", mbps), "");
  EXPECT_EQ(mbps, 400000u);
  EXPECT_EQ(parse_mbps("--flow-mbps", "0", mbps), "");
  EXPECT_EQ(mbps, 0u);
  mbps = 7;
  EXPECT_EQ(parse_mbps("--flow-mbps", "unlimited", mbps), "");
  EXPECT_EQ(mbps, 0u);
}

TEST(VenicctlAllowances, MbpsRejectsOutOfRangeAndBadText) {
  std::uint32_t mbps = 7;
  EXPECT_EQ(parse_mbps("--bw-in-mbps", "400001", mbps),
            "invalid value '400001' for --bw-in-mbps (expected Mbit/s 0-400000, or unlimited)");
  EXPECT_EQ(parse_mbps("--flow-mbps", "fast", mbps),
            "invalid value 'fast' for --flow-mbps (expected Mbit/s 0-400000, or unlimited)");
  for (const char* bad : {"", "-1", "+5", "1e3", "1000.5", "10G", "10Gbps", "0x10", " 5", "5 ", "Unlimited",
                          "unlimited ", "none", "99999999999999999999"})
    EXPECT_NE(parse_mbps("--bw-mbps", bad, mbps), "") << bad;
  EXPECT_EQ(mbps, 7u);  // nothing written on failure
}

TEST(VenicctlAllowances, PpsUpToOneBillion) {
  std::uint32_t pps = 7;
  EXPECT_EQ(parse_pps("1000000000", pps), "");
  EXPECT_EQ(pps, 1000000000u);
  EXPECT_EQ(parse_pps("unlimited", pps), "");
  EXPECT_EQ(pps, 0u);
  EXPECT_EQ(parse_pps("1000000001", pps),
            "invalid value '1000000001' for --pps (expected packets/s 0-1000000000, or unlimited)");
  for (const char* bad : {"", "-1", "100k", "4294967296", "1.5"}) EXPECT_NE(parse_pps(bad, pps), "") << bad;
}

TEST(VenicctlAllowances, BurstIsOneMillisecondToOneHour) {
  std::uint32_t ms = 0;
  EXPECT_EQ(parse_burst_ms("1", ms), "");
  EXPECT_EQ(ms, 1u);
  EXPECT_EQ(parse_burst_ms("3600000", ms), "");
  EXPECT_EQ(ms, 3600000u);
  EXPECT_EQ(parse_burst_ms("0", ms), "invalid value '0' for --burst-ms (expected milliseconds 1-3600000)");
  for (const char* bad : {"3600001", "unlimited", "-5", "", "10ms", "2.5"})
    EXPECT_NE(parse_burst_ms(bad, ms), "") << bad;
}

// ---- words ----------------------------------------------------------------

TEST(VenicctlWords, TypeOnOffAndLink) {
  std::string text;
  EXPECT_EQ(parse_vf_type("ena", text), "");
  EXPECT_EQ(parse_vf_type("efa", text), "");
  EXPECT_EQ(parse_vf_type("ixgbevf", text), "");
  EXPECT_EQ(parse_vf_type("virtio", text), "invalid VF type 'virtio' (expected ena, efa or ixgbevf)");
  EXPECT_NE(parse_vf_type("ENA", text), "");

  bool on = false;
  EXPECT_EQ(parse_on_off("--trusted", "on", on), "");
  EXPECT_TRUE(on);
  EXPECT_EQ(parse_on_off("--trusted", "off", on), "");
  EXPECT_FALSE(on);
  EXPECT_EQ(parse_on_off("--trusted", "maybe", on), "invalid value 'maybe' for --trusted (expected on or off)");

  EXPECT_EQ(parse_link_state("up", text), "");
  EXPECT_EQ(text, "up");
  EXPECT_EQ(parse_link_state("down", text), "");
  EXPECT_NE(parse_link_state("sideways", text), "");
}

// ---- requests -------------------------------------------------------------

TEST(VenicctlRequests, CreateSendsOnlyWhatWasGiven) {
  VfCreateOptions options;
  options.type = "ena";
  options.mac = "02:00:00:00:00:0A";
  options.ip = "10.0.1.10";
  Request request = build_vf_create(options);
  EXPECT_EQ(request.method, "vf.create");
  EXPECT_EQ(request.params, json({{"type", "ena"}, {"mac", "02:00:00:00:00:0a"}, {"ip", "10.0.1.10"}}));

  options.prefix = "16";
  options.mtu = "9001";
  options.queues = "2";
  options.id = "7";
  options.trusted = true;
  request = build_vf_create(options);
  EXPECT_EQ(request.params["prefix"], 16);
  EXPECT_EQ(request.params["mtu"], 9001);
  EXPECT_EQ(request.params["queues"], 2);
  EXPECT_EQ(request.params["id"], 7);
  EXPECT_EQ(request.params["trusted"], true);
  EXPECT_FALSE(request.params.contains("owner_uid")) << "the daemon makes the caller the owner";
  options.owner_uid = "1001";
  EXPECT_EQ(build_vf_create(options).params["owner_uid"], 1001);
  options.owner_uid = "-1";
  EXPECT_THROW(build_vf_create(options), UsageError);
}

TEST(VenicctlRequests, CreateRejectsBadValues) {
  VfCreateOptions options;
  options.type = "ena";
  options.mac = "02:00:00:00:00:01";
  options.ip = "10.0.1.10";
  options.queues = "9";
  EXPECT_THROW(build_vf_create(options), UsageError);
  options.queues.reset();
  options.mac = "01:00:00:00:00:01";
  EXPECT_THROW(build_vf_create(options), UsageError);
}

TEST(VenicctlRequests, CreateVhostUserFrontend) {
  VfCreateOptions options;
  options.type = "ena";
  options.mac = "02:00:00:00:00:01";
  options.ip = "10.0.1.10";
  options.frontend = "vhost-user";
  Request request = build_vf_create(options);
  EXPECT_EQ(request.params["frontend"], "vhost-user");
  EXPECT_FALSE(request.params.contains("vhost_path"));  // the daemon picks one
  options.vhost_path = "/run/venic/guest0.sock";
  options.vhost_mode = "client";
  request = build_vf_create(options);
  EXPECT_EQ(request.params["vhost_path"], "/run/venic/guest0.sock");
  EXPECT_EQ(request.params["vhost_mode"], "client");
}

TEST(VenicctlRequests, CreateRejectsBadVhostOptions) {
  VfCreateOptions options;
  options.type = "ena";
  options.mac = "02:00:00:00:00:01";
  options.ip = "10.0.1.10";
  auto message = [&] {
    try {
      build_vf_create(options);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  options.frontend = "vfio-user";
  EXPECT_EQ(message(), "--frontend: 'vfio-user' is not a front-end (shm or vhost-user)");
  options.frontend.reset();
  options.vhost_path = "/run/x.sock";
  EXPECT_EQ(message(), "--vhost-path needs --frontend vhost-user");
  options.frontend = "vhost-user";
  options.vhost_path = "guest.sock";
  EXPECT_EQ(message(), "--vhost-path: 'guest.sock' is not an absolute path");
  options.vhost_path.reset();
  options.vhost_mode = "listen";
  EXPECT_EQ(message(), "--vhost-mode: 'listen' must be server or client");
  options.frontend = "shm";
  options.vhost_mode = "client";
  EXPECT_EQ(message(), "--vhost-mode needs --frontend vhost-user");
}

TEST(VenicctlRequests, SetNeedsSomethingToChange) {
  VfSetOptions options;
  options.vf = "3";
  EXPECT_THROW(build_vf_set(options), UsageError);
  options.trusted = "on";
  options.link = "down";
  const Request request = build_vf_set(options);
  EXPECT_EQ(request.method, "vf.set");
  EXPECT_EQ(request.params, json({{"vf", 3}, {"trusted", true}, {"link", "down"}}));
  options.vf = "300";
  EXPECT_THROW(build_vf_set(options), UsageError);
}

TEST(VenicctlRequests, CreateSendsAllowancesAsUnsignedNumbers) {
  VfCreateOptions options;
  options.type = "ena";
  options.mac = "02:00:00:00:00:01";
  options.ip = "10.0.1.10";
  options.limits.bw = "1000";
  options.limits.pps = "100000";
  options.limits.flow = "unlimited";
  options.limits.burst_ms = "50";
  const Request request = build_vf_create(options);
  EXPECT_EQ(request.params["bw_in_mbps"], 1000);
  EXPECT_EQ(request.params["bw_out_mbps"], 1000);
  EXPECT_EQ(request.params["pps"], 100000);
  EXPECT_EQ(request.params["flow_mbps"], 0);  // unlimited
  EXPECT_EQ(request.params["burst_ms"], 50);
  for (const char* key : {"bw_in_mbps", "bw_out_mbps", "pps", "flow_mbps", "burst_ms"})
    EXPECT_TRUE(request.params[key].is_number_unsigned()) << key;
  EXPECT_EQ(request.params.dump().find("\"1000\""), std::string::npos);  // numbers, not text
}

TEST(VenicctlRequests, SetWithOnlyAllowancesIsSomethingToSet) {
  VfSetOptions options;
  options.vf = "1";
  options.limits.bw_out = "200";
  EXPECT_EQ(build_vf_set(options).params, json({{"vf", 1}, {"bw_out_mbps", 200}}));  // inbound untouched

  options.limits = {};
  options.limits.burst_ms = "100";
  EXPECT_EQ(build_vf_set(options).params, json({{"vf", 1}, {"burst_ms", 100}}));

  options.limits = {};
  options.limits.bw = "unlimited";
  options.limits.pps = "0";
  EXPECT_EQ(build_vf_set(options).params, json({{"vf", 1}, {"bw_in_mbps", 0}, {"bw_out_mbps", 0}, {"pps", 0}}));

  options.limits = {};
  options.limits.bw_in = "5000";
  options.limits.bw_out = "unlimited";
  options.limits.flow = "10000";
  options.mtu = "9001";
  EXPECT_EQ(build_vf_set(options).params,
            json({{"vf", 1}, {"mtu", 9001}, {"bw_in_mbps", 5000}, {"bw_out_mbps", 0}, {"flow_mbps", 10000}}));
}

TEST(VenicctlRequests, BothDirectionsConflictWithEither) {
  VfSetOptions options;
  options.vf = "1";
  options.limits.bw = "1000";
  options.limits.bw_in = "500";
  try {
    build_vf_set(options);
    ADD_FAILURE() << "--bw-mbps with --bw-in-mbps accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "--bw-mbps sets both directions; give it or --bw-in-mbps/--bw-out-mbps, not both");
  }
  options.limits.bw_in.reset();
  options.limits.bw_out = "500";
  EXPECT_THROW(build_vf_set(options), UsageError);

  VfCreateOptions create;
  create.type = "ena";
  create.mac = "02:00:00:00:00:01";
  create.ip = "10.0.1.10";
  create.limits.bw = "unlimited";
  create.limits.bw_out = "unlimited";
  EXPECT_THROW(build_vf_create(create), UsageError);
}

TEST(VenicctlRequests, AllowancesOutOfRangeOrBadTextNameTheOption) {
  auto error_of = [](const LimitOptions& limits) -> std::string {
    VfSetOptions options;
    options.vf = "2";
    options.limits = limits;
    try {
      build_vf_set(options);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  };
  LimitOptions limits;
  limits.bw = "400001";
  EXPECT_NE(error_of(limits).find("'400001' for --bw-mbps"), std::string::npos) << error_of(limits);
  limits = {};
  limits.bw_in = "-1";
  EXPECT_NE(error_of(limits).find("for --bw-in-mbps"), std::string::npos);
  limits = {};
  limits.bw_out = "1G";
  EXPECT_NE(error_of(limits).find("for --bw-out-mbps"), std::string::npos);
  limits = {};
  limits.pps = "2000000000";
  EXPECT_NE(error_of(limits).find("for --pps"), std::string::npos);
  limits = {};
  limits.flow = "lots";
  EXPECT_NE(error_of(limits).find("for --flow-mbps"), std::string::npos);
  limits = {};
  limits.burst_ms = "unlimited";
  EXPECT_NE(error_of(limits).find("for --burst-ms (expected milliseconds 1-3600000)"), std::string::npos);
}

TEST(VenicctlRequests, StatsAndReset) {
  EXPECT_EQ(build_stats({}).method, "stats");
  EXPECT_EQ(build_stats({}).params, json::object());
  const Request reset = build_stats({std::string("4"), true});
  EXPECT_EQ(reset.method, "stats.reset");
  EXPECT_EQ(reset.params, json({{"vf", 4}}));
  EXPECT_EQ(build_vf_show("0").params, json({{"vf", 0}}));
  EXPECT_THROW(build_vf_delete("x"), UsageError);
}

// ---- formatting -----------------------------------------------------------

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

const json kVfList = json::parse(R"([
  {"id": 0, "type": "ena", "mac": "02:00:00:00:00:01", "ip": "10.0.1.10", "prefix": 24,
   "subnet": "10.0.1.0/24", "mtu": 1500, "trusted": false, "queues": 4, "link": "up",
   "attached": true, "owner_pid": 1234, "started": true, "active_queues": 1, "dma_regions": 1},
  {"id": 17, "type": "ena", "mac": "02:00:00:00:00:02", "ip": "10.0.2.200", "prefix": 16,
   "subnet": "10.0.0.0/16", "mtu": 9001, "trusted": true, "queues": 8, "link": "down",
   "attached": false, "owner_pid": null, "started": false, "active_queues": 0, "dma_regions": 0}
])");

TEST(VenicctlFormat, VfTableHasHeaderAndCells) {
  const std::string table = format_vf_table(kVfList);
  const auto lines = lines_of(table);
  ASSERT_EQ(lines.size(), 3u) << table;
  for (const char* header : {"ID", "TYPE", "MAC", "IP/PREFIX", "MTU", "QUEUES", "LINK", "TRUSTED", "ATTACHED"})
    EXPECT_NE(lines[0].find(header), std::string::npos) << header;
  for (const char* cell : {"02:00:00:00:00:01", "10.0.1.10/24", "1500", "up", "no", "1234"})
    EXPECT_NE(lines[1].find(cell), std::string::npos) << cell;
  for (const char* cell : {"17", "02:00:00:00:00:02", "10.0.2.200/16", "9001", "down", "yes"})
    EXPECT_NE(lines[2].find(cell), std::string::npos) << cell;
  // Unattached VFs show "-" as their last cell, and nothing trails it.
  EXPECT_EQ(lines[2].back(), '-');
  // Columns line up: the MAC starts at the same offset on every row.
  EXPECT_EQ(lines[0].find("MAC"), lines[1].find("02:00"));
  EXPECT_EQ(lines[1].find("02:00"), lines[2].find("02:00"));
}

// kVfList as a venicd with allowances reports it.
json with_limits(json vf, json in, json out, json pps, json flow, json burst) {
  vf["bw_in_mbps"] = std::move(in);
  vf["bw_out_mbps"] = std::move(out);
  vf["pps"] = std::move(pps);
  vf["flow_mbps"] = std::move(flow);
  vf["burst_ms"] = std::move(burst);
  return vf;
}

TEST(VenicctlFormat, VfTableShowsAllowancesCompactly) {
  // Without allowances (older venicd) there are no allowance columns.
  EXPECT_EQ(format_vf_table(kVfList).find("BW-IN/OUT"), std::string::npos);

  const json vfs =
      json::array({with_limits(kVfList[0], 1000, 0, 100000, 5000, 10), with_limits(kVfList[1], 0, 0, 0, 10000, 10)});
  // Mbit/s in/out and packets/s, "-" for unlimited.
  EXPECT_EQ(format_vf_table(vfs),
            "ID  TYPE  MAC                IP/PREFIX       MTU  QUEUES  LINK  TRUSTED  BW-IN/OUT     PPS  ATTACHED\n"
            " 0  ena   02:00:00:00:00:01  10.0.1.10/24   1500       4  up    no          1000/-  100000  1234\n"
            "17  ena   02:00:00:00:00:02  10.0.2.200/16  9001       8  down  yes              -       -  -\n");
}

TEST(VenicctlFormat, VfTableCopesWithEmptyAndOddInput) {
  EXPECT_EQ(format_vf_table(json::array()), "no VFs\n");
  EXPECT_EQ(format_vf_table(json()), "no VFs\n");
  // Missing and wrongly typed fields print as "-" or their JSON text.
  const std::string table = format_vf_table(json::parse(R"([{"id": 3, "mtu": "big"}])"));
  EXPECT_NE(table.find("big"), std::string::npos);
  EXPECT_NE(table.find('-'), std::string::npos);
}

TEST(VenicctlFormat, VfDetailsAreKeyValueLines) {
  const std::string details = format_vf_details(kVfList[0]);
  EXPECT_NE(details.find("mac:"), std::string::npos);
  EXPECT_NE(details.find("02:00:00:00:00:01"), std::string::npos);
  EXPECT_NE(details.find("attached:"), std::string::npos);
  EXPECT_NE(details.find("yes (pid 1234)"), std::string::npos);
  EXPECT_NE(details.find("subnet:"), std::string::npos);

  json newer = kVfList[1];
  newer["numa_node"] = 1;  // a field this venicctl does not know still shows
  EXPECT_NE(format_vf_details(newer).find("numa_node:"), std::string::npos);
}

TEST(VenicctlFormat, VfDetailsShowAllowances) {
  EXPECT_EQ(format_vf_details(kVfList[0]).find("bw in/out"), std::string::npos);  // older venicd: no lines

  const std::string details = format_vf_details(with_limits(kVfList[0], 1000, 0, 0, 5000, 10));
  const auto lines = lines_of(details);
  const auto link = std::find(lines.begin(), lines.end(), "link:          up");
  ASSERT_NE(link, lines.end()) << details;
  // Right after "link", values lined up with the others.
  EXPECT_EQ(*(link + 1), "bw in/out:     1000/unlimited Mbps");
  EXPECT_EQ(*(link + 2), "pps:           unlimited");
  EXPECT_EQ(*(link + 3), "flow:          5000 Mbps");
  EXPECT_EQ(*(link + 4), "burst:         10 ms");
  EXPECT_EQ(*(link + 5), "attached:      yes (pid 1234)");
  EXPECT_EQ(details.find("bw_in_mbps"), std::string::npos) << details;  // not repeated as unknown fields
  EXPECT_EQ(details.find("burst_ms"), std::string::npos) << details;

  const std::string limited = format_vf_details(with_limits(kVfList[1], 500, 200, 100000, 0, 100));
  EXPECT_NE(limited.find("bw in/out:     500/200 Mbps\n"), std::string::npos) << limited;
  EXPECT_NE(limited.find("pps:           100000\n"), std::string::npos) << limited;
  EXPECT_NE(limited.find("flow:          unlimited\n"), std::string::npos) << limited;
  EXPECT_NE(limited.find("burst:         100 ms\n"), std::string::npos) << limited;
  EXPECT_NE(format_vf_details(with_limits(kVfList[1], 0, 0, 0, 0, 10)).find("bw in/out:     unlimited/unlimited\n"),
            std::string::npos);
}

TEST(VenicctlFormat, ConfirmationsAndInfo) {
  EXPECT_EQ(format_vf_created(kVfList[0]),
            "created vf 0: ena 02:00:00:00:00:01 10.0.1.10/24 mtu 1500 queues 4 trusted no\n");
  EXPECT_EQ(format_vf_updated(with_limits(kVfList[1], 1000, 1000, 100000, 10000, 10)),
            "updated vf 17: mtu 9001 trusted yes link down bw in/out 1000/1000 Mbps pps 100000 flow 10000 Mbps "
            "burst 10 ms\n");
  EXPECT_EQ(format_vf_updated(kVfList[1]), "updated vf 17: mtu 9001 trusted yes link down\n");
  EXPECT_EQ(format_vf_deleted(json({{"deleted", 5}})), "deleted vf 5\n");
  EXPECT_EQ(format_stats_reset(json::parse(R"({"reset": [0, 2]})")), "reset counters of vf 0, 2\n");
  const std::string info =
      format_daemon_info(json::parse(R"({"version": "0.1.0", "abi": "1.0", "vfs": 2, "max_vfs": 256, "workers": 2,
                      "uptime_s": 93784})"));
  EXPECT_NE(info.find("2 of 256"), std::string::npos) << info;
  EXPECT_NE(info.find("1d 02:03:04"), std::string::npos) << info;
}

const json kStats = json::parse(R"([
  {"vf": 0, "tx_pkts": 10, "tx_bytes": 640, "rx_pkts": 4, "rx_bytes": 256,
   "drops": {"no_route": 3, "bad_desc": 0, "oversize": 1, "runt": 0,
             "rx_no_buffer": 0, "rx_oversize": 0, "rx_down": 0}},
  {"vf": 1, "tx_pkts": 0, "tx_bytes": 0, "rx_pkts": 7, "rx_bytes": 448,
   "drops": {"no_route": 0, "bad_desc": 0, "oversize": 0, "runt": 0,
             "rx_no_buffer": 0, "rx_oversize": 0, "rx_down": 0}}
])");

TEST(VenicctlFormat, StatsTableSumsDropsAndNamesReasons) {
  const std::string text = format_stats_table(kStats);
  const auto lines = lines_of(text);
  ASSERT_GE(lines.size(), 3u) << text;
  for (const char* header : {"VF", "TX-PKTS", "TX-BYTES", "RX-PKTS", "RX-BYTES", "DROPS"})
    EXPECT_NE(lines[0].find(header), std::string::npos) << header;
  EXPECT_EQ(lines[0].find("PKT/S"), std::string::npos);  // no rates outside --watch
  EXPECT_NE(lines[1].find("640"), std::string::npos);
  EXPECT_EQ(lines[1].back(), '4');  // 3 + 1 drops, right-aligned last column
  EXPECT_EQ(lines[2].back(), '0');
  EXPECT_NE(text.find("vf 0: no_route 3, oversize 1"), std::string::npos) << text;
  EXPECT_EQ(text.find("vf 1:"), std::string::npos) << text;  // VF 1 dropped nothing
  EXPECT_EQ(text.find("runt"), std::string::npos) << text;   // zero reasons are left out
}

TEST(VenicctlFormat, StatsNameExceededAllowances) {
  // Older venicd (no "allowance_exceeded"): no block.
  EXPECT_EQ(format_stats_table(kStats).find("allowance"), std::string::npos);

  json stats = kStats;
  stats[0]["allowance_exceeded"] = {{"bw_in_allowance_exceeded", 0},     {"bw_out_allowance_exceeded", 12},
                                    {"pps_allowance_exceeded", 3},       {"conntrack_allowance_exceeded", 0},
                                    {"linklocal_allowance_exceeded", 0}, {"flow_allowance_exceeded", 7}};
  stats[1]["allowance_exceeded"] = {{"bw_in_allowance_exceeded", 0},     {"bw_out_allowance_exceeded", 0},
                                    {"pps_allowance_exceeded", 0},       {"conntrack_allowance_exceeded", 0},
                                    {"linklocal_allowance_exceeded", 0}, {"flow_allowance_exceeded", 0}};
  const std::string text = format_stats_table(stats);
  // ENA's order, zero counters left out, after the drops block.
  EXPECT_NE(text.find("\ndrops by reason:\n  vf 0: no_route 3, oversize 1\n"
                      "\nallowance exceeded:\n"
                      "  vf 0: bw_out_allowance_exceeded 12, pps_allowance_exceeded 3, flow_allowance_exceeded 7\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("vf 1:"), std::string::npos) << text;  // nothing exceeded on VF 1
  EXPECT_EQ(text.find("bw_in_allowance"), std::string::npos) << text;

  // A VF that exceeded allowances but dropped nothing, a counter this venicctl
  // does not know, and odd values.
  stats[1]["allowance_exceeded"]["linklocal_allowance_exceeded"] = 2;
  stats[1]["allowance_exceeded"]["zz_new_allowance_exceeded"] = 1;
  stats[1]["allowance_exceeded"]["conntrack_allowance_exceeded"] = "many";
  stats[0]["allowance_exceeded"] = 5;
  const std::string odd = format_stats_table(stats);
  EXPECT_NE(odd.find("\nallowance exceeded:\n  vf 1: linklocal_allowance_exceeded 2, zz_new_allowance_exceeded 1\n"),
            std::string::npos)
      << odd;
  EXPECT_EQ(odd.find("vf 0: bw_out"), std::string::npos) << odd;
}

TEST(VenicctlFormat, RatesFromTwoSamples) {
  json later = kStats;
  later[0]["tx_pkts"] = 30;  // +20 in 2 s
  later[1]["rx_pkts"] = 3;   // went backwards (reset): 0, not a wrap-around
  const RatesByVf rates = compute_packet_rates(kStats, later, 2.0);
  ASSERT_EQ(rates.size(), 2u);
  EXPECT_DOUBLE_EQ(rates.at(0).tx_pps, 10.0);
  EXPECT_DOUBLE_EQ(rates.at(0).rx_pps, 0.0);
  EXPECT_DOUBLE_EQ(rates.at(1).rx_pps, 0.0);
  EXPECT_TRUE(compute_packet_rates(kStats, later, 0).empty());

  const std::string text = format_stats_table(later, rates);
  EXPECT_NE(text.find("TX-PKT/S"), std::string::npos);
  EXPECT_NE(text.find("10.0"), std::string::npos);
  // First --watch sample: rate columns present, cells "-".
  const auto first = lines_of(format_stats_table(kStats, RatesByVf{}));
  EXPECT_EQ(first[1].back(), '-');
}

TEST(VenicctlFormat, TableAlignsColumns) {
  Table table({{"NAME"}, {"N", Table::Align::kRight}});
  table.add_row({"a", "1"});
  table.add_row({"long-name", "100"});
  EXPECT_EQ(table.render(),
            "NAME         N\n"
            "a            1\n"
            "long-name  100\n");
}

// ---- command line (no daemon involved) --------------------------------------

struct Outcome {
  int status;
  std::string out;
  std::string err;
};

Outcome run_venicctl(std::vector<std::string> args) {
  args.insert(args.begin(), "venicctl");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out, err;
  const int status = run(static_cast<int>(argv.size()), argv.data(), out, err);
  return {status, out.str(), err.str()};
}

// A failure is exactly one "venicctl: ..." line.
void expect_one_error_line(const Outcome& outcome, const std::string& fragment) {
  EXPECT_EQ(outcome.err.rfind("venicctl: ", 0), 0u) << outcome.err;
  EXPECT_EQ(std::count(outcome.err.begin(), outcome.err.end(), '\n'), 1) << outcome.err;
  EXPECT_NE(outcome.err.find(fragment), std::string::npos) << outcome.err;
  EXPECT_EQ(outcome.out, "");
}

TEST(VenicctlCli, HelpShowsExamplesAndSucceeds) {
  const Outcome help = run_venicctl({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("Examples:"), std::string::npos);
  EXPECT_NE(help.out.find("venicctl vf create --type ena"), std::string::npos);
  EXPECT_NE(help.out.find("venicctl vf set 1 --bw-mbps 1000 --pps 100000 --flow-mbps 10000"), std::string::npos);
  EXPECT_EQ(run_venicctl({"vf", "create", "--help"}).status, 0);
  for (const char* command : {"create", "set"}) {
    const Outcome sub = run_venicctl({"vf", command, "--help"});
    EXPECT_EQ(sub.status, 0);
    for (const char* option : {"--bw-mbps", "--bw-in-mbps", "--bw-out-mbps", "--pps", "--flow-mbps", "--burst-ms"})
      EXPECT_NE(sub.out.find(option), std::string::npos) << command << " " << option;
  }
}

TEST(VenicctlCli, AllowanceOptions) {
  const std::string socket = "/nonexistent/venicd.sock";
  // Accepted: the only failure left is the missing daemon (status 1).
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"vf", "set", "1", "--flow-mbps", "10000"},
           {"vf", "set", "1", "--bw-mbps", "1000", "--pps", "100000", "--flow-mbps", "10000"},
           {"vf", "set", "1", "--bw-in-mbps", "unlimited", "--bw-out-mbps", "500", "--burst-ms", "100"},
           {"vf", "create", "--type", "ena", "--mac", "02:00:00:00:00:03", "--ip", "10.0.1.12", "--bw-mbps", "5000",
            "--pps", "unlimited"}}) {
    std::vector<std::string> full = args;
    full.insert(full.end(), {"--socket", socket});
    const Outcome outcome = run_venicctl(full);
    EXPECT_EQ(outcome.status, kExitDaemonError) << outcome.err;
    expect_one_error_line(outcome, "cannot reach venicd");
  }

  Outcome outcome = run_venicctl({"vf", "set", "1", "--bw-mbps", "1000", "--bw-in-mbps", "500", "--socket", socket});
  EXPECT_EQ(outcome.status, kExitUsage);
  EXPECT_EQ(outcome.err, "venicctl: --bw-mbps sets both directions; give it or --bw-in-mbps/--bw-out-mbps, not both\n");

  outcome = run_venicctl({"vf", "set", "1", "--pps", "lots", "--socket", socket});
  EXPECT_EQ(outcome.status, kExitUsage);
  EXPECT_EQ(outcome.err, "venicctl: invalid value 'lots' for --pps (expected packets/s 0-1000000000, or unlimited)\n");

  outcome = run_venicctl({"vf", "create", "--type", "ena", "--mac", "02:00:00:00:00:03", "--ip", "10.0.1.12",
                          "--bw-out-mbps", "400001", "--socket", socket});
  EXPECT_EQ(outcome.status, kExitUsage);
  expect_one_error_line(outcome, "invalid value '400001' for --bw-out-mbps");

  outcome = run_venicctl({"vf", "set", "1", "--burst-ms", "0", "--socket", socket});
  EXPECT_EQ(outcome.status, kExitUsage);
  expect_one_error_line(outcome, "invalid value '0' for --burst-ms");

  outcome = run_venicctl({"vf", "set", "1", "--flow-mbps", "--socket", socket});  // value missing
  EXPECT_EQ(outcome.status, kExitUsage);
  expect_one_error_line(outcome, "--help");
}

TEST(VenicctlCli, BadValuesExitTwoBeforeConnecting) {
  // The socket does not exist: reaching it would give status 1, not 2.
  const std::string socket = "/nonexistent/venicd.sock";
  Outcome outcome = run_venicctl(
      {"--socket", socket, "vf", "create", "--type", "ena", "--mac", "02:zz:00:00:00:01", "--ip", "10.0.1.10"});
  EXPECT_EQ(outcome.status, kExitUsage);
  EXPECT_EQ(outcome.err, "venicctl: invalid MAC address '02:zz:00:00:00:01' (expected xx:xx:xx:xx:xx:xx)\n");

  outcome = run_venicctl({"vf", "show", "256", "--socket", socket});
  EXPECT_EQ(outcome.status, kExitUsage);
  expect_one_error_line(outcome, "invalid VF id '256'");

  outcome = run_venicctl({"vf", "set", "1", "--socket", socket});
  EXPECT_EQ(outcome.status, kExitUsage);
  expect_one_error_line(outcome, "nothing to change");

  outcome = run_venicctl({"stats", "--watch", "0", "--socket", socket});
  EXPECT_EQ(outcome.status, kExitUsage);
  expect_one_error_line(outcome, "invalid watch interval");
}

TEST(VenicctlCli, ParseErrorsAreOneLineAndExitTwo) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{},
                                             {"vf"},
                                             {"frobnicate"},
                                             {"vf", "create", "--mac", "02:00:00:00:00:01"},
                                             {"vf", "list", "--bogus"},
                                             {"stats", "--reset", "--watch"}}) {
    const Outcome outcome = run_venicctl(args);
    EXPECT_EQ(outcome.status, kExitUsage) << outcome.err;
    expect_one_error_line(outcome, "--help");
  }
}

TEST(VenicctlCli, AbsentDaemonExitsOne) {
  // Global options may come before or after the command.
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--socket", "/nonexistent/venicd.sock", "vf", "list"},
                                             {"vf", "list", "--json", "--socket", "/nonexistent/venicd.sock"}}) {
    const Outcome outcome = run_venicctl(args);
    EXPECT_EQ(outcome.status, kExitDaemonError);
    expect_one_error_line(outcome, "cannot reach venicd at /nonexistent/venicd.sock");
  }
}

// ---- EC2 commands -----------------------------------------------------------

TEST(VenicctlEc2Args, CidrBlocksAndNumbers) {
  std::string cidr;
  for (const char* good : {"10.0.0.0/16", "0.0.0.0/0", "10.0.1.0/24", "10.0.1.10/32"}) {
    EXPECT_EQ(parse_ipv4_cidr(good, cidr), "") << good;
    EXPECT_EQ(cidr, good);
  }
  EXPECT_EQ(parse_ipv4_cidr("10.0.0.0", cidr), "invalid IPv4 CIDR block '10.0.0.0' (expected a.b.c.d/n, n 0-32)");
  for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/33", "10.0.0/16", "10.0.0.0/16/1", "10.0.0.0/-1", "10.0.0.0/016",
                          "10.0.0.0 /16", "/16", "2600::/56"})
    EXPECT_NE(parse_ipv4_cidr(bad, cidr), "") << bad;

  EXPECT_EQ(parse_ipv6_cidr("2600:1f18:1234:5600::/56", cidr), "");
  EXPECT_EQ(cidr, "2600:1f18:1234:5600::/56");
  EXPECT_EQ(parse_ipv6_cidr("2600::", cidr), "invalid IPv6 CIDR block '2600::' (expected ADDRESS/n, n 0-128)");
  for (const char* bad : {"2600::/129", "10.0.0.0/16", "2600:::/56", "::/"}) EXPECT_NE(parse_ipv6_cidr(bad, cidr), "");

  long number = 0;
  EXPECT_EQ(parse_number("--device-index", "3", 0, 63, number), "");
  EXPECT_EQ(number, 3);
  EXPECT_EQ(parse_number("--device-index", "x", 0, 63, number),
            "invalid value 'x' for --device-index (expected a number 0-63)");
  for (const char* bad : {"", "-1", "64", "1.0", "+1", "0x1"})
    EXPECT_NE(parse_number("--device-index", bad, 0, 63, number), "") << bad;
}

Request ec2(const std::vector<std::string>& args) {
  return ec2_request_for(args);
}

// The UsageError an EC2 command line gives, or "accepted".
std::string ec2_error(const std::vector<std::string>& args) {
  try {
    ec2_request_for(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(VenicctlEc2Requests, VpcsAndSubnets) {
  Request request = ec2({"create-vpc", "--cidr-block", "10.0.0.0/16"});
  EXPECT_EQ(request.method, "ec2.CreateVpc");
  EXPECT_EQ(request.params, json({{"CidrBlock", "10.0.0.0/16"}}));
  EXPECT_EQ(ec2({"create-vpc", "--cidr-block", "10.1.0.0/16", "--ipv6-cidr-block", "2600:1f18::/56"}).params,
            json({{"CidrBlock", "10.1.0.0/16"}, {"Ipv6CidrBlock", "2600:1f18::/56"}}));

  request = ec2({"describe-vpcs"});
  EXPECT_EQ(request.method, "ec2.DescribeVpcs");
  EXPECT_EQ(request.params, json::object());
  EXPECT_EQ(ec2({"describe-vpcs", "--vpc-ids", "vpc-0123456789abcdef0", "vpc-0123456789abcdef1"}).params,
            json::parse(R"({"VpcIds": ["vpc-0123456789abcdef0", "vpc-0123456789abcdef1"]})"));
  // Repeated, as CLI11 allows: the lists add up.
  EXPECT_EQ(ec2({"describe-subnets", "--subnet-ids", "subnet-a", "--subnet-ids", "subnet-b"}).params,
            json::parse(R"({"SubnetIds": ["subnet-a", "subnet-b"]})"));

  request = ec2({"create-subnet", "--vpc-id", "vpc-0123456789abcdef0", "--cidr-block", "10.0.1.0/24",
                 "--availability-zone", "us-east-1a"});
  EXPECT_EQ(request.method, "ec2.CreateSubnet");
  EXPECT_EQ(
      request.params,
      json({{"VpcId", "vpc-0123456789abcdef0"}, {"CidrBlock", "10.0.1.0/24"}, {"AvailabilityZone", "us-east-1a"}}));

  request = ec2({"modify-subnet-attribute", "--subnet-id", "subnet-1", "--map-public-ip-on-launch"});
  EXPECT_EQ(request.method, "ec2.ModifySubnetAttribute");
  EXPECT_EQ(request.params, json::parse(R"({"SubnetId": "subnet-1", "MapPublicIpOnLaunch": {"Value": true}})"));
  EXPECT_EQ(ec2({"modify-subnet-attribute", "--subnet-id", "subnet-1", "--no-map-public-ip-on-launch"}).params,
            json::parse(R"({"SubnetId": "subnet-1", "MapPublicIpOnLaunch": {"Value": false}})"));
  EXPECT_EQ(ec2_error({"modify-subnet-attribute", "--subnet-id", "subnet-1"}),
            "modify-subnet-attribute needs --map-public-ip-on-launch/--no-map-public-ip-on-launch");
  EXPECT_EQ(ec2_error({"modify-subnet-attribute", "--subnet-id", "subnet-1", "--map-public-ip-on-launch",
                       "--no-map-public-ip-on-launch"}),
            "give --map-public-ip-on-launch or --no-map-public-ip-on-launch, not both");
}

TEST(VenicctlEc2Requests, LocalValidationNamesTheFlag) {
  EXPECT_EQ(ec2_error({"create-vpc", "--cidr-block", "10.0.0.0"}),
            "--cidr-block: invalid IPv4 CIDR block '10.0.0.0' (expected a.b.c.d/n, n 0-32)");
  EXPECT_EQ(ec2_error({"create-vpc", "--cidr-block", "10.0.0.0/16", "--ipv6-cidr-block", "10.0.0.0/16"}),
            "--ipv6-cidr-block: invalid IPv6 CIDR block '10.0.0.0/16' (expected ADDRESS/n, n 0-128)");
  EXPECT_EQ(ec2_error({"create-vpc"}), "--cidr-block is required");
  EXPECT_EQ(ec2({"create-subnet", "--vpc-id", "vpc-1", "--cidr-block", "10.0.1.0/24"}).params,
            json({{"VpcId", "vpc-1"}, {"CidrBlock", "10.0.1.0/24"}}))
      << "venicd picks the zone, as EC2 does";
  EXPECT_NE(ec2_error({"create-vpc", "--cidr-block", "10.0.0.0/16", "--vpc-ids", "vpc-1"}).find("--vpc-ids"),
            std::string::npos);  // another command's flag
  // Semantic checks are venicd's: a /8 VPC or host bits are sent as typed.
  EXPECT_EQ(ec2({"create-vpc", "--cidr-block", "10.0.0.1/8"}).params, json({{"CidrBlock", "10.0.0.1/8"}}));
}

TEST(VenicctlEc2Requests, SecurityGroupsAndTheAuthorizeShorthand) {
  Request request =
      ec2({"create-security-group", "--group-name", "web", "--description", "web tier", "--vpc-id", "vpc-1"});
  EXPECT_EQ(request.method, "ec2.CreateSecurityGroup");
  EXPECT_EQ(request.params, json({{"GroupName", "web"}, {"Description", "web tier"}, {"VpcId", "vpc-1"}}));
  EXPECT_EQ(ec2({"describe-security-groups", "--group-ids", "sg-1"}).params, json::parse(R"({"GroupIds": ["sg-1"]})"));

  const std::vector<std::string> ingress = {"authorize-security-group-ingress", "--group-id", "sg-1"};
  auto with = [&](std::vector<std::string> extra, std::vector<std::string> base) {
    base.insert(base.end(), extra.begin(), extra.end());
    return ec2(base);
  };
  request = with({"--protocol", "tcp", "--port", "22", "--cidr", "10.0.0.0/16"}, ingress);
  EXPECT_EQ(request.method, "ec2.AuthorizeSecurityGroupIngress");
  EXPECT_EQ(request.params, json::parse(R"({"GroupId": "sg-1", "IpPermissions": [
              {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}]})"));
  EXPECT_EQ(with({"--protocol", "udp", "--port", "1024-65535", "--source-group", "sg-2"}, ingress).params,
            json::parse(R"({"GroupId": "sg-1", "IpPermissions": [
              {"IpProtocol": "udp", "FromPort": 1024, "ToPort": 65535, "UserIdGroupPairs": [{"GroupId": "sg-2"}]}]})"));
  for (const char* all : {"all", "-1"})
    EXPECT_EQ(with({"--protocol", all, "--source-group", "sg-1"}, ingress).params["IpPermissions"],
              json::parse(R"([{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-1"}]}])"))
        << all;
  // icmp: every type and code unless --port names a type-code.
  EXPECT_EQ(
      with({"--protocol", "icmp", "--cidr", "0.0.0.0/0"}, ingress).params["IpPermissions"],
      json::parse(R"([{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])"));
  EXPECT_EQ(
      with({"--protocol", "icmp", "--port", "8-0", "--cidr", "0.0.0.0/0"}, ingress).params["IpPermissions"][0],
      json::parse(R"({"IpProtocol": "icmp", "FromPort": 8, "ToPort": 0, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})"));
  EXPECT_EQ(with({"--protocol", "icmp", "--port", "3--1", "--cidr", "0.0.0.0/0"}, ingress)
                .params["IpPermissions"][0]["ToPort"],
            -1);
  EXPECT_EQ(with({"--protocol", "6", "--port", "443", "--cidr", "0.0.0.0/0"}, ingress)
                .params["IpPermissions"][0]["IpProtocol"],
            "tcp");
  // tcp/udp: -1, the default, is every port, which EC2 takes as 0-65535.
  for (const std::vector<std::string>& all_ports :
       {std::vector<std::string>{"--protocol", "tcp", "--port", "-1", "--cidr", "0.0.0.0/0"},
        std::vector<std::string>{"--protocol", "udp", "--cidr", "0.0.0.0/0"}}) {
    const json p = with(all_ports, ingress).params["IpPermissions"][0];
    EXPECT_EQ(p["FromPort"], 0) << p;
    EXPECT_EQ(p["ToPort"], 65535) << p;
  }
  // As the AWS CLI: a --source-group that is no sg- id is a group name.
  EXPECT_EQ(with({"--protocol", "tcp", "--port", "80", "--source-group", "web"}, ingress)
                .params["IpPermissions"][0]["UserIdGroupPairs"],
            json::parse(R"([{"GroupName": "web"}])"));

  const std::string permissions =
      R"([{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 81, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
          {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-3"}]}])";
  request = ec2({"authorize-security-group-egress", "--group-id", "sg-1", "--ip-permissions", permissions});
  EXPECT_EQ(request.method, "ec2.AuthorizeSecurityGroupEgress");
  EXPECT_EQ(request.params, json({{"GroupId", "sg-1"}, {"IpPermissions", json::parse(permissions)}}));
}

TEST(VenicctlEc2Requests, TheLifecyclesEnd) {
  EXPECT_EQ(ec2({"terminate-instances", "--instance-ids", "i-1", "i-2"}).params,
            json::parse(R"({"InstanceIds": ["i-1", "i-2"]})"));
  EXPECT_EQ(ec2({"terminate-instances", "--instance-ids", "i-1"}).method, "ec2.TerminateInstances");
  EXPECT_EQ(ec2({"delete-vpc", "--vpc-id", "vpc-1"}).params, json({{"VpcId", "vpc-1"}}));
  EXPECT_EQ(ec2({"delete-subnet", "--subnet-id", "subnet-1"}).params, json({{"SubnetId", "subnet-1"}}));
  EXPECT_EQ(ec2({"delete-security-group", "--group-id", "sg-1"}).params, json({{"GroupId", "sg-1"}}));
  EXPECT_EQ(ec2({"delete-placement-group", "--group-name", "hpc"}).params, json({{"GroupName", "hpc"}}));
  const Request revoke =
      ec2({"revoke-security-group-egress", "--group-id", "sg-1", "--protocol", "all", "--cidr", "0.0.0.0/0"});
  EXPECT_EQ(revoke.method, "ec2.RevokeSecurityGroupEgress");
  EXPECT_EQ(revoke.params, json::parse(R"({"GroupId": "sg-1", "IpPermissions": [
              {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]})"));
  EXPECT_EQ(ec2({"unassign-private-ip-addresses", "--network-interface-id", "eni-1", "--private-ip-addresses",
                 "10.0.1.30", "10.0.1.31"})
                .params,
            json::parse(R"({"NetworkInterfaceId": "eni-1", "PrivateIpAddresses": ["10.0.1.30", "10.0.1.31"]})"));
  EXPECT_EQ(ec2({"unassign-ipv6-addresses", "--network-interface-id", "eni-1", "--ipv6-addresses", "2600::10"}).params,
            json::parse(R"({"NetworkInterfaceId": "eni-1", "Ipv6Addresses": ["2600::10"]})"));
  EXPECT_EQ(ec2({"run-instances", "--instance-type", "m5.large", "--subnet-id", "s-1", "--image-id", "ami-12345678"})
                .params["ImageId"],
            "ami-12345678");
}

TEST(VenicctlEc2Requests, FiltersInTheAwsShorthand) {
  EXPECT_EQ(ec2({"describe-vpcs", "--filters", "Name=vpc-id,Values=vpc-1"}).params,
            json::parse(R"({"Filters": [{"Name": "vpc-id", "Values": ["vpc-1"]}]})"));
  EXPECT_EQ(ec2({"describe-instances", "--filters", "Name=instance-state-name,Values=running,stopped",
                 "Name=vpc-id,Values=[vpc-1]"})
                .params,
            json::parse(R"({"Filters": [{"Name": "instance-state-name", "Values": ["running", "stopped"]},
                                         {"Name": "vpc-id", "Values": ["vpc-1"]}]})"));
  for (const char* name : {"describe-vpcs", "describe-subnets", "describe-security-groups", "describe-placement-groups",
                           "describe-instance-types", "describe-instances", "describe-network-interfaces"})
    EXPECT_EQ(ec2({name, "--filters", "Name=x,Values=y"}).params["Filters"][0]["Name"], "x") << name;
  for (const char* bad : {"Name=vpc-id", "Values=x", "vpc-id=x", "Name=,Values=x"})
    EXPECT_NE(ec2_error({"describe-vpcs", "--filters", bad}).find("--filters"), std::string::npos) << bad;
}

TEST(VenicctlEc2Requests, DeleteOnTerminationShorthand) {
  EXPECT_EQ(ec2({"modify-network-interface-attribute", "--network-interface-id", "eni-1", "--attachment",
                 "AttachmentId=eni-attach-1,DeleteOnTermination=true"})
                .params,
            json::parse(R"({"NetworkInterfaceId": "eni-1",
                            "Attachment": {"AttachmentId": "eni-attach-1", "DeleteOnTermination": true}})"));
  EXPECT_NE(ec2_error({"modify-network-interface-attribute", "--network-interface-id", "eni-1", "--attachment",
                       "AttachmentId=eni-attach-1,DeleteOnTermination=yes"})
                .find("true or false"),
            std::string::npos);
}

TEST(VenicctlEc2Requests, AuthorizeShorthandErrors) {
  auto error = [](std::vector<std::string> extra) {
    std::vector<std::string> args = {"authorize-security-group-ingress", "--group-id", "sg-1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return ec2_error(args);
  };
  EXPECT_EQ(error({}), "give --protocol with --cidr or --source-group (and --port), or --ip-permissions");
  EXPECT_EQ(error({"--port", "22", "--cidr", "10.0.0.0/16"}), "--port, --cidr and --source-group need --protocol");
  EXPECT_EQ(error({"--protocol", "tcp", "--port", "22"}),
            "--protocol needs --cidr or --source-group: the other end of the rule");
  EXPECT_EQ(error({"--protocol", "tcp", "--cidr", "10.0.0.0/16", "--source-group", "sg-2"}),
            "give --cidr or --source-group, not both (one rule each)");
  EXPECT_EQ(error({"--protocol", "gre", "--cidr", "10.0.0.0/16"}),
            "invalid value 'gre' for --protocol (expected tcp, udp, icmp, icmpv6, all, or a number 6, 17, 1, 58, -1)");
  for (const char* port : {"http", "22-", "-", "70000", "1-2-3", "22-x", "1.5"})
    EXPECT_EQ(error({"--protocol", "tcp", "--port", port, "--cidr", "10.0.0.0/16"}),
              "invalid value '" + std::string(port) + "' for --port (expected N, N-M or -1)");
  EXPECT_EQ(error({"--protocol", "tcp", "--port", "22", "--cidr", "10.0.0.0"}),
            "--cidr: invalid IPv4 CIDR block '10.0.0.0' (expected a.b.c.d/n, n 0-32)");
  EXPECT_EQ(error({"--ip-permissions", "[]", "--protocol", "tcp"}),
            "--ip-permissions cannot be combined with --protocol, --port, --cidr or --source-group");
  for (const char* bad : {R"({"IpProtocol": "tcp"})", "[{", "tcp"})
    EXPECT_EQ(error({"--ip-permissions", bad}).rfind("--ip-permissions: expected a JSON list, e.g. '[{", 0), 0u) << bad;
}

TEST(VenicctlEc2Requests, PlacementGroupsAndInstanceTypes) {
  Request request = ec2({"create-placement-group", "--group-name", "hpc", "--strategy", "cluster"});
  EXPECT_EQ(request.method, "ec2.CreatePlacementGroup");
  EXPECT_EQ(request.params, json({{"GroupName", "hpc"}, {"Strategy", "cluster"}}));
  EXPECT_EQ(ec2_error({"create-placement-group", "--group-name", "hpc", "--strategy", "tight"}),
            "invalid value 'tight' for --strategy (expected cluster, spread or partition)");
  EXPECT_EQ(
      ec2({"create-placement-group", "--group-name", "racks", "--strategy", "partition", "--partition-count", "3"})
          .params,
      json({{"GroupName", "racks"}, {"Strategy", "partition"}, {"PartitionCount", 3}}));
  EXPECT_EQ(ec2({"describe-placement-groups", "--group-names", "hpc", "web"}).params,
            json::parse(R"({"GroupNames": ["hpc", "web"]})"));
  request = ec2({"describe-instance-types", "--instance-types", "c5n.18xlarge"});
  EXPECT_EQ(request.method, "ec2.DescribeInstanceTypes");
  EXPECT_EQ(request.params, json::parse(R"({"InstanceTypes": ["c5n.18xlarge"]})"));
}

TEST(VenicctlEc2Requests, RunInstances) {
  const std::vector<std::string> base = {"run-instances", "--instance-type", "m5.large", "--subnet-id", "subnet-1"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  Request request = ec2(base);
  EXPECT_EQ(request.method, "ec2.RunInstances");
  EXPECT_EQ(request.params, json({{"InstanceType", "m5.large"}, {"SubnetId", "subnet-1"}}));  // counts: venicd's 1

  request = ec2(with({"--count", "2", "--placement", "GroupName=pg", "--security-group-ids", "sg-1", "sg-2",
                      "--network-interface-type", "efa", "--owner-uid", "1000"}));
  EXPECT_EQ(request.params, json::parse(R"({"InstanceType": "m5.large", "SubnetId": "subnet-1", "MinCount": 2,
              "MaxCount": 2, "Placement": {"GroupName": "pg"}, "SecurityGroupIds": ["sg-1", "sg-2"],
              "NetworkInterfaceType": "efa", "OwnerUid": 1000})"));
  EXPECT_EQ(ec2(with({"--count", "1:3"})).params["MinCount"], 1);
  EXPECT_EQ(ec2(with({"--count", "1:3"})).params["MaxCount"], 3);
  EXPECT_EQ(ec2(with({"--private-ip-address", "10.0.1.10"})).params["PrivateIpAddress"], "10.0.1.10");
  EXPECT_EQ(ec2(with({"--placement", R"({"GroupName": "pg", "AvailabilityZone": "us-east-1a"})"})).params["Placement"],
            json({{"GroupName", "pg"}, {"AvailabilityZone", "us-east-1a"}}));
  EXPECT_EQ(ec2(with({"--placement", "AvailabilityZone=us-east-1a,GroupName=pg"})).params["Placement"],
            json({{"GroupName", "pg"}, {"AvailabilityZone", "us-east-1a"}}));
  EXPECT_EQ(ec2(with({"--placement", "GroupName=1234,PartitionNumber=2"})).params["Placement"],
            json({{"GroupName", "1234"}, {"PartitionNumber", 2}}))
      << "a group's name stays text, its partition is a number";

  for (const char* count : {"0", "x", "3:1", "1:", ":2", "-1", "2:3:4"})
    EXPECT_EQ(ec2_error(with({"--count", count})),
              "invalid value '" + std::string(count) + "' for --count (expected N or MIN:MAX, from 1)");
  EXPECT_EQ(ec2_error(with({"--placement", "pg"})),
            "--placement: expected GroupName=NAME (Key=Value,... or a JSON object), got 'pg'");
  EXPECT_EQ(ec2_error(with({"--placement", ""})),
            "--placement: expected GroupName=NAME (Key=Value,... or a JSON object), got ''");
  EXPECT_EQ(ec2_error(with({"--placement", "{\"GroupName\""})), "--placement: '{\"GroupName\"' is not a JSON object");
  EXPECT_EQ(ec2_error(with({"--network-interface-type", "ena"})),
            "invalid value 'ena' for --network-interface-type (expected efa or interface)");
  EXPECT_EQ(ec2_error(with({"--owner-uid", "-1"})),
            "invalid value '-1' for --owner-uid (expected a number 0-2147483647)");
  EXPECT_EQ(ec2_error(with({"--private-ip-address", "10.0.1"})),
            "--private-ip-address: invalid IPv4 address '10.0.1' (expected a.b.c.d)");
  EXPECT_EQ(ec2_error({"run-instances", "--subnet-id", "subnet-1"}), "--instance-type is required");
}

TEST(VenicctlEc2Requests, StartStopDescribeInstances) {
  Request request = ec2({"stop-instances", "--instance-ids", "i-1", "i-2"});
  EXPECT_EQ(request.method, "ec2.StopInstances");
  EXPECT_EQ(request.params, json::parse(R"({"InstanceIds": ["i-1", "i-2"]})"));
  request = ec2({"start-instances", "--instance-ids", "i-1"});
  EXPECT_EQ(request.method, "ec2.StartInstances");
  EXPECT_EQ(request.params, json::parse(R"({"InstanceIds": ["i-1"]})"));
  EXPECT_EQ(ec2({"describe-instances"}).method, "ec2.DescribeInstances");
  EXPECT_EQ(ec2({"describe-instances"}).params, json::object());
  EXPECT_EQ(ec2_error({"start-instances"}), "--instance-ids is required");
  EXPECT_NE(ec2_error({"stop-instances", "--instance-ids"}), "accepted");  // a list needs one id at least
}

TEST(VenicctlEc2Requests, NetworkInterfaces) {
  Request request = ec2({"create-network-interface", "--subnet-id", "subnet-1", "--private-ip-address", "10.0.1.20",
                         "--private-ip-addresses", "10.0.1.21", "10.0.1.22", "--groups", "sg-1", "--description",
                         "MPI rank 0", "--interface-type", "efa", "--secondary-private-ip-address-count", "2"});
  EXPECT_EQ(request.method, "ec2.CreateNetworkInterface");
  EXPECT_EQ(request.params, json::parse(R"({"SubnetId": "subnet-1", "PrivateIpAddress": "10.0.1.20",
              "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.21", "Primary": false},
                                     {"PrivateIpAddress": "10.0.1.22", "Primary": false}],
              "Groups": ["sg-1"], "Description": "MPI rank 0", "InterfaceType": "efa",
              "SecondaryPrivateIpAddressCount": 2})"));
  EXPECT_EQ(ec2({"create-network-interface", "--subnet-id", "subnet-1"}).params, json({{"SubnetId", "subnet-1"}}));
  EXPECT_EQ(ec2_error({"create-network-interface", "--subnet-id", "subnet-1", "--private-ip-addresses", "10.0.1.21",
                       "10.0.1.300"}),
            "--private-ip-addresses: invalid IPv4 address '10.0.1.300' (expected a.b.c.d)");
  EXPECT_EQ(
      ec2_error({"create-network-interface", "--subnet-id", "subnet-1", "--secondary-private-ip-address-count", "two"}),
      "invalid value 'two' for --secondary-private-ip-address-count (expected a number 0-2147483647)");

  request = ec2({"delete-network-interface", "--network-interface-id", "eni-1"});
  EXPECT_EQ(request.method, "ec2.DeleteNetworkInterface");
  EXPECT_EQ(request.params, json({{"NetworkInterfaceId", "eni-1"}}));

  request = ec2(
      {"attach-network-interface", "--network-interface-id", "eni-1", "--instance-id", "i-1", "--device-index", "1"});
  EXPECT_EQ(request.method, "ec2.AttachNetworkInterface");
  EXPECT_EQ(request.params, json({{"NetworkInterfaceId", "eni-1"}, {"InstanceId", "i-1"}, {"DeviceIndex", 1}}));
  EXPECT_EQ(ec2_error({"attach-network-interface", "--network-interface-id", "eni-1", "--instance-id", "i-1",
                       "--device-index", "one"}),
            "invalid value 'one' for --device-index (expected a number 0-2147483647)");
  EXPECT_EQ(ec2_error({"attach-network-interface", "--network-interface-id", "eni-1", "--instance-id", "i-1"}),
            "--device-index is required");

  request = ec2({"detach-network-interface", "--attachment-id", "eni-attach-1"});
  EXPECT_EQ(request.method, "ec2.DetachNetworkInterface");
  EXPECT_EQ(request.params, json({{"AttachmentId", "eni-attach-1"}}));
  EXPECT_EQ(ec2({"detach-network-interface", "--attachment-id", "eni-attach-1", "--force"}).params["Force"], true);
  EXPECT_EQ(ec2({"detach-network-interface", "--attachment-id", "eni-attach-1", "--no-force"}).params["Force"], false);

  request = ec2({"describe-network-interfaces", "--network-interface-ids", "eni-1", "eni-2"});
  EXPECT_EQ(request.method, "ec2.DescribeNetworkInterfaces");
  EXPECT_EQ(request.params, json::parse(R"({"NetworkInterfaceIds": ["eni-1", "eni-2"]})"));
}

TEST(VenicctlEc2Requests, ModifyNetworkInterfaceTakesOneAttribute) {
  const std::vector<std::string> base = {"modify-network-interface-attribute", "--network-interface-id", "eni-1"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  Request request = ec2(with({"--no-source-dest-check"}));
  EXPECT_EQ(request.method, "ec2.ModifyNetworkInterfaceAttribute");
  EXPECT_EQ(request.params, json::parse(R"({"NetworkInterfaceId": "eni-1", "SourceDestCheck": {"Value": false}})"));
  EXPECT_EQ(ec2(with({"--source-dest-check"})).params["SourceDestCheck"], json({{"Value", true}}));
  EXPECT_EQ(ec2(with({"--description", "NAT instance"})).params,
            json::parse(R"({"NetworkInterfaceId": "eni-1", "Description": {"Value": "NAT instance"}})"));
  EXPECT_EQ(ec2(with({"--groups", "sg-1", "sg-2"})).params,
            json::parse(R"({"NetworkInterfaceId": "eni-1", "Groups": ["sg-1", "sg-2"]})"));

  // The AWS CLI's shorthand for a structure; whole numbers become numbers.
  EXPECT_EQ(ec2(with({"--connection-tracking-specification", "TcpEstablishedTimeout=3600,UdpTimeout=60"})).params,
            json::parse(R"({"NetworkInterfaceId": "eni-1",
                            "ConnectionTrackingSpecification": {"TcpEstablishedTimeout": 3600, "UdpTimeout": 60}})"));
  EXPECT_EQ(ec2(with({"--connection-tracking-specification", R"({"UdpTimeout": 45})"}))
                .params["ConnectionTrackingSpecification"],
            json({{"UdpTimeout", 45}}));
  EXPECT_EQ(
      ec2_error(with({"--connection-tracking-specification", "UdpTimeout"})),
      "--connection-tracking-specification: expected Key=Value[,Key=Value...] or a JSON object, got 'UdpTimeout'");

  EXPECT_EQ(ec2_error(base),
            "modify-network-interface-attribute needs one of --source-dest-check/--no-source-dest-check, "
            "--description, --groups, --connection-tracking-specification or --attachment");
  EXPECT_EQ(ec2_error(with({"--no-source-dest-check", "--groups", "sg-1"})),
            "modify-network-interface-attribute takes one of --source-dest-check/--no-source-dest-check, "
            "--description, --groups, --connection-tracking-specification or --attachment at a time (got "
            "--no-source-dest-check and --groups)");
  EXPECT_EQ(ec2_error(with({"--source-dest-check", "--no-source-dest-check"})),
            "give --source-dest-check or --no-source-dest-check, not both");
}

TEST(VenicctlEc2Requests, AssignPrivateIps) {
  const std::vector<std::string> base = {"assign-private-ip-addresses", "--network-interface-id", "eni-1"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  Request request = ec2(with({"--private-ip-addresses", "10.0.1.30", "10.0.1.31"}));
  EXPECT_EQ(request.method, "ec2.AssignPrivateIpAddresses");
  EXPECT_EQ(request.params,
            json::parse(R"({"NetworkInterfaceId": "eni-1", "PrivateIpAddresses": ["10.0.1.30", "10.0.1.31"]})"));
  EXPECT_EQ(ec2(with({"--secondary-private-ip-address-count", "2"})).params,
            json::parse(R"({"NetworkInterfaceId": "eni-1", "SecondaryPrivateIpAddressCount": 2})"));
  EXPECT_EQ(ec2_error(base),
            "assign-private-ip-addresses needs one of --private-ip-addresses or --secondary-private-ip-address-count");
  EXPECT_EQ(ec2_error(with({"--private-ip-addresses", "10.0.1.30", "--secondary-private-ip-address-count", "1"})),
            "assign-private-ip-addresses takes one of --private-ip-addresses or --secondary-private-ip-address-count "
            "at a time (got --private-ip-addresses and --secondary-private-ip-address-count)");
  EXPECT_EQ(ec2_error(with({"--private-ip-addresses", "10.0.1"})),
            "--private-ip-addresses: invalid IPv4 address '10.0.1' (expected a.b.c.d)");
}

// Words of a shell command line: blanks separate, '...' and "..." quote.
std::vector<std::string> shell_words(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote != 0) {
      if (c == quote)
        quote = 0;
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

TEST(VenicctlEc2Cli, EveryCommandHasHelpAndExamplesThatParse) {
  const std::vector<std::string> names = ec2_command_names();
  EXPECT_EQ(names.size(), 34u + 14u + 7u);  // the methods of docs/ec2-api.md (+ route tables and peering, + ACLs)
  const std::string top = run_venicctl({"--help"}).out;
  EXPECT_NE(top.find("EC2 commands"), std::string::npos) << top;
  EXPECT_NE(top.find("venicctl create-vpc --cidr-block 10.0.0.0/16"), std::string::npos) << top;
  for (const std::string& name : names) {
    const Outcome help = run_venicctl({name, "--help"});
    EXPECT_EQ(help.status, 0) << name;
    const std::string first_example = "Examples:\n  venicctl " + name;
    const std::size_t at = help.out.find(first_example);
    ASSERT_NE(at, std::string::npos) << help.out;
    EXPECT_NE(std::string(" \n").find(help.out.at(at + first_example.size())), std::string::npos) << help.out;
    EXPECT_NE(top.find("\n  " + name), std::string::npos) << name;  // listed in the top-level help
    const std::vector<std::string> examples = ec2_examples(name);
    EXPECT_FALSE(examples.empty()) << name;
    for (const std::string& example : examples) {
      std::vector<std::string> words = shell_words(example);
      ASSERT_GE(words.size(), 2u) << example;
      EXPECT_EQ(words[0], "venicctl");
      EXPECT_EQ(words[1], name) << example;
      words.erase(words.begin());
      EXPECT_EQ(ec2_error(words), "accepted") << example;
      EXPECT_EQ(ec2(words).method.rfind("ec2.", 0), 0u) << example;
    }
  }
  // The top-level examples parse too.
  for (const std::string& line : lines_of(top)) {
    if (line.rfind("  venicctl ", 0) != 0) continue;
    std::vector<std::string> words = shell_words(line.substr(2));
    words.erase(words.begin());
    if (std::find(names.begin(), names.end(), words[0]) != names.end()) {
      EXPECT_EQ(ec2_error(words), "accepted") << line;
    }
  }
}

TEST(VenicctlEc2Cli, VersionAndUnknownCommands) {
  const Outcome version = run_venicctl({"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.out, VENIC_VERSION "\n");
  const Outcome unknown = run_venicctl({"--socket", "/nonexistent", "frobnicate", "--json"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_EQ(unknown.err.rfind("venicctl: unknown command 'frobnicate'", 0), 0u) << unknown.err;
  const Outcome none = run_venicctl({});
  EXPECT_EQ(none.status, 2);
  EXPECT_EQ(none.err, "venicctl: no command given (see 'venicctl --help')\n");
}

TEST(VenicctlEc2Cli, BadValuesExitTwoAbsentDaemonOne) {
  const std::string socket = "/nonexistent/venicd.sock";
  Outcome outcome = run_venicctl({"create-vpc", "--cidr-block", "10.0.0.0", "--socket", socket});
  EXPECT_EQ(outcome.status, kExitUsage);
  EXPECT_EQ(outcome.err, "venicctl: --cidr-block: invalid IPv4 CIDR block '10.0.0.0' (expected a.b.c.d/n, n 0-32)\n");

  outcome = run_venicctl({"create-subnet", "--vpc-id", "vpc-1", "--socket", socket});
  EXPECT_EQ(outcome.status, kExitUsage);
  expect_one_error_line(outcome, "is required (see 'venicctl create-subnet --help')");

  outcome = run_venicctl({"describe-vpcs", "--vpc-ids", "vpc-1", "--socket", socket});
  EXPECT_EQ(outcome.status, kExitDaemonError);
  expect_one_error_line(outcome, "cannot reach venicd at /nonexistent/venicd.sock");
}

TEST(VenicctlEc2Format, ErrorsAsTheAwsCliPrintsThem) {
  EXPECT_EQ(format_daemon_error(DaemonError("ec2.CreateSubnet", "not_found", "InvalidVpcID.NotFound",
                                            "The vpc ID 'vpc-1' does not exist")),
            "An error occurred (InvalidVpcID.NotFound) when calling the CreateSubnet operation: "
            "The vpc ID 'vpc-1' does not exist");
  // No aws_code (an older venicd): venic's code stands in.
  EXPECT_EQ(format_daemon_error(DaemonError("ec2.CreateVpc", "unknown_method", "", "unknown method 'ec2.CreateVpc'")),
            "An error occurred (unknown_method) when calling the CreateVpc operation: unknown method 'ec2.CreateVpc'");
  // Outside the EC2 model, venicctl's own form.
  EXPECT_EQ(format_daemon_error(DaemonError("vf.show", "not_found", "", "no VF 3")), "venicctl: no VF 3");
}

TEST(VenicctlEc2Format, ResultsAsTheAwsCliPrintsThem) {
  EXPECT_EQ(format_aws_result(json::object()), "");
  EXPECT_EQ(format_aws_result(json::parse(R"({"Return": true})")), "{\n    \"Return\": true\n}\n");
  EXPECT_EQ(format_aws_result(json::parse(R"({"Vpc": {"VpcId": "vpc-1", "Ipv6CidrBlockAssociationSet": [],
                                                       "Tags": [{"Key": "a"}]}})")),
            "{\n"
            "    \"Vpc\": {\n"
            "        \"Ipv6CidrBlockAssociationSet\": [],\n"
            "        \"Tags\": [\n"
            "            {\n"
            "                \"Key\": \"a\"\n"
            "            }\n"
            "        ],\n"
            "        \"VpcId\": \"vpc-1\"\n"
            "    }\n"
            "}\n");
}

// A venicd stand-in on a temporary socket: answers one connection's request
// with `reply` (its "id" set to the request's) and keeps the request.
class FakeVenicd {
 public:
  explicit FakeVenicd(json reply) : reply_(std::move(reply)) {
    char dir[] = "/tmp/venicctl-test-XXXXXX";
    if (::mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    path_ = dir_ + "/venicd.sock";
    listener_ = UniqueFd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listener_.get(), 1) != 0)
      throw std::runtime_error("cannot listen on " + path_);
    server_ = std::thread([this] { serve(); });
  }
  ~FakeVenicd() {
    server_.join();
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  // The request it got; valid once venicctl returned.
  const json& request() const { return request_; }

 private:
  void serve() {
    pollfd ready{listener_.get(), POLLIN, 0};
    if (::poll(&ready, 1, 5000) != 1) return;  // venicctl never came
    UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    std::string payload;
    std::vector<UniqueFd> fds;
    if (control::recv_message(connection.get(), payload, fds) <= 0) return;
    request_ = json::parse(payload, nullptr, false);
    json reply = reply_;
    reply["id"] = request_.is_object() ? request_.value("id", json()) : json();
    control::send_message(connection.get(), reply.dump());
  }

  json reply_;
  json request_;
  std::string dir_, path_;
  UniqueFd listener_;
  std::thread server_;
};

TEST(VenicctlEc2Cli, PrintsTheResultAsJsonWithFourSpaces) {
  FakeVenicd daemon(
      json::parse(R"({"result": {"Vpc": {"VpcId": "vpc-0123456789abcdef0", "CidrBlock": "10.0.0.0/16"}}})"));
  const Outcome outcome = run_venicctl({"create-vpc", "--cidr-block", "10.0.0.0/16", "--socket", daemon.path()});
  EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.err, "");
  EXPECT_EQ(outcome.out,
            "{\n    \"Vpc\": {\n        \"CidrBlock\": \"10.0.0.0/16\",\n"
            "        \"VpcId\": \"vpc-0123456789abcdef0\"\n    }\n}\n");
  EXPECT_EQ(daemon.request()["method"], "ec2.CreateVpc");
  json params = daemon.request()["params"];
  EXPECT_TRUE(params.contains("ClientToken"));
  params.erase("ClientToken");
  EXPECT_EQ(params, json({{"CidrBlock", "10.0.0.0/16"}}));
}

TEST(VenicctlEc2Cli, CreatesSendAFreshClientTokenEachTime) {
  auto token_of = [](std::vector<std::string> args) {
    FakeVenicd daemon(json::parse(R"({"result": {}})"));
    args.insert(args.end(), {"--socket", daemon.path()});
    const Outcome outcome = run_venicctl(args);
    EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
    const json& p = daemon.request()["params"];
    return p.contains("ClientToken") ? p["ClientToken"].get<std::string>() : std::string();
  };
  const std::vector<std::string> create = {"create-network-interface", "--subnet-id", "subnet-1"};
  const std::string a = token_of(create), b = token_of(create);
  EXPECT_FALSE(a.empty());
  EXPECT_LE(a.size(), 64u) << "EC2's limit";
  EXPECT_NE(a, b) << "a fresh token for each command";
  EXPECT_EQ(
      token_of({"run-instances", "--instance-type", "m5.large", "--subnet-id", "subnet-1", "--client-token", "mine"}),
      "mine");
  EXPECT_FALSE(token_of({"attach-network-interface", "--network-interface-id", "eni-1", "--instance-id", "i-1",
                         "--device-index", "1"})
                   .empty());
  EXPECT_EQ(token_of({"describe-vpcs"}), "") << "only the actions that take one";
}

TEST(VenicctlEc2Cli, EmptyResultPrintsNothing) {
  FakeVenicd daemon(json::parse(R"({"result": {}})"));
  const Outcome outcome =
      run_venicctl({"--socket", daemon.path(), "delete-network-interface", "--network-interface-id", "eni-1"});
  EXPECT_EQ(outcome.status, kExitOk) << outcome.err;
  EXPECT_EQ(outcome.out, "");
  EXPECT_EQ(outcome.err, "");
  EXPECT_EQ(daemon.request()["method"], "ec2.DeleteNetworkInterface");
}

TEST(VenicctlEc2Cli, RefusalPrintsTheAwsCode) {
  FakeVenicd daemon(json::parse(R"({"error": {"code": "not_found", "aws_code": "InvalidSubnetID.NotFound",
      "message": "The subnet ID 'subnet-0123456789abcdef0' does not exist"}})"));
  const Outcome outcome = run_venicctl({"run-instances", "--instance-type", "m5.large", "--subnet-id",
                                        "subnet-0123456789abcdef0", "--socket", daemon.path()});
  EXPECT_EQ(outcome.status, kExitDaemonError);
  EXPECT_EQ(outcome.out, "");
  EXPECT_EQ(outcome.err,
            "An error occurred (InvalidSubnetID.NotFound) when calling the RunInstances operation: "
            "The subnet ID 'subnet-0123456789abcdef0' does not exist\n");
}

TEST(VenicctlEc2Cli, RefusalWithoutAwsCodePrintsVenicsCode) {
  FakeVenicd daemon(
      json::parse(R"({"error": {"code": "unknown_method", "message": "unknown method 'ec2.DescribeVpcs'"}})"));
  const Outcome outcome = run_venicctl({"describe-vpcs", "--socket", daemon.path()});
  EXPECT_EQ(outcome.status, kExitDaemonError);
  EXPECT_EQ(outcome.err,
            "An error occurred (unknown_method) when calling the DescribeVpcs operation: "
            "unknown method 'ec2.DescribeVpcs'\n");
}

TEST(VenicctlEc2Cli, VfCommandsKeepTheirErrorLine) {
  FakeVenicd daemon(json::parse(R"({"error": {"code": "not_found", "message": "no VF 3"}})"));
  const Outcome outcome = run_venicctl({"vf", "show", "3", "--socket", daemon.path()});
  EXPECT_EQ(outcome.status, kExitDaemonError);
  EXPECT_EQ(outcome.err, "venicctl: no VF 3\n");
  EXPECT_EQ(daemon.request()["method"], "vf.show");
}

}  // namespace
}  // namespace venic::ctl

namespace venic::ctl {
namespace {
// An ENI-backed VF: its security groups as rule counts, its conntrack use.
TEST(VenicctlFormat, VfDetailsShowSecurityGroupsAndConntrack) {
  using nlohmann::json;
  json v = kVfList[0];
  v["security"] = {{"enforced", true},
                   {"ingress", json::array({{{"proto", 6}, {"from", 5001}, {"to", 5001}, {"peer", "10.0.0.0/16"}}})},
                   {"egress", json::array()}};
  v["conntrack"] = {{"tracked", 4}, {"max", 16}, {"group", "i-0123456789abcdef0"}};
  const std::string details = format_vf_details(v);
  EXPECT_NE(details.find("1 ingress, 0 egress rules"), std::string::npos) << details;
  EXPECT_NE(details.find("4 of 16 flows tracked (i-0123456789abcdef0)"), std::string::npos) << details;
  EXPECT_EQ(details.find("10.0.0.0/16"), std::string::npos) << "the rules belong to --json";
  v["security"]["enforced"] = false;
  v.erase("conntrack");
  EXPECT_EQ(format_vf_details(v).find("security groups"), std::string::npos) << "a plain VF has none";
}

// ---- cluster (docs/multi-host.md) ----------------------------------------------

TEST(VenicctlCluster, AddHostChecksItsValuesBeforeAsking) {
  const Outcome bad_ip = run_venicctl({"--socket", "/nonexistent/venicd.sock", "cluster", "add-host", "peer",
                                       "--underlay-ip", "1.2.3", "--mac", "02:00:00:00:00:09"});
  EXPECT_EQ(bad_ip.status, kExitUsage);
  expect_one_error_line(bad_ip, "--underlay-ip");
  const Outcome no_mac =
      run_venicctl({"--socket", "/nonexistent/venicd.sock", "cluster", "add-host", "peer", "--underlay-ip", "1.2.3.4"});
  EXPECT_EQ(no_mac.status, kExitUsage);
}

TEST(VenicctlCluster, StatusListsHostsAndVnis) {
  const json s = {{"host", "a"},
                  {"cluster", true},
                  {"etcd", {"http://127.0.0.1:2379"}},
                  {"revision", 12},
                  {"hosts", {{{"name", "a"}, {"underlay_ip", "192.168.50.1"}, {"mac", "02:00:00:00:50:01"}}}},
                  {"vpcs", {{{"id", "vpc-1"}, {"vni", 1}}}}};
  const std::string text = format_cluster_status(s);
  EXPECT_NE(text.find("revision 12"), std::string::npos) << text;
  EXPECT_NE(text.find("a  192.168.50.1  02:00:00:00:50:01"), std::string::npos) << text;
  EXPECT_NE(text.find("vpc-1  VNI 1"), std::string::npos) << text;
  EXPECT_NE(format_cluster_status({{"host", "x"}, {"cluster", false}}).find("single host"), std::string::npos);
}

}  // namespace
}  // namespace venic::ctl
