// Security groups: rule matching (vf/security_policy), connection tracking on
// a deterministic clock (fastpath/conntrack, a real rte_hash under EAL), and
// how an ENI's groups become its VF's rules (model/ec2_service).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rte_eal.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "conntrack.h"
#include "ec2_model.h"
#include "ec2_service.h"
#include "packet_parser.h"
#include "security_policy.h"
#include "sg_scope.h"
#include "vf_config.h"

namespace venic {
namespace {

using nlohmann::json;
using vf::SgPacket;
using vf::SgRule;

SgRule v4(uint8_t proto, uint16_t lo, uint16_t hi, const char* addr, uint8_t prefix) {
  SgRule r;
  r.proto = proto;
  r.port_lo = lo;
  r.port_hi = hi;
  r.family = 4;
  r.prefix = prefix;
  inet_pton(AF_INET, addr, r.addr.data());
  return r;
}

struct Peer {
  uint8_t a[16]{};
  explicit Peer(const char* s) {
    if (inet_pton(AF_INET, s, a) != 1) inet_pton(AF_INET6, s, a);
  }
};

SgPacket pkt(uint8_t proto, const Peer& remote, uint16_t port, uint8_t family = 4) {
  SgPacket p;
  p.family = family;
  p.proto = proto;
  p.remote = remote.a;
  p.port = port;
  return p;
}

// ---- rules --------------------------------------------------------------------

TEST(SecurityRules, PortRangeAndPrefix) {
  std::vector<SgRule> rules{v4(IPPROTO_TCP, 5001, 5003, "10.0.1.0", 24)};
  EXPECT_TRUE(vf::evaluate(rules, pkt(IPPROTO_TCP, Peer("10.0.1.77"), 5001)).allowed);
  EXPECT_TRUE(vf::evaluate(rules, pkt(IPPROTO_TCP, Peer("10.0.1.77"), 5003)).allowed);
  EXPECT_FALSE(vf::evaluate(rules, pkt(IPPROTO_TCP, Peer("10.0.1.77"), 5004)).allowed) << "port above the range";
  EXPECT_FALSE(vf::evaluate(rules, pkt(IPPROTO_TCP, Peer("10.0.1.77"), 5000)).allowed) << "port below the range";
  EXPECT_FALSE(vf::evaluate(rules, pkt(IPPROTO_TCP, Peer("10.0.2.77"), 5001)).allowed) << "peer outside the /24";
  EXPECT_FALSE(vf::evaluate(rules, pkt(IPPROTO_UDP, Peer("10.0.1.77"), 5001)).allowed) << "another protocol";
  EXPECT_FALSE(vf::evaluate(rules, pkt(IPPROTO_TCP, Peer("::1"), 5001, 6)).allowed) << "another family";
  EXPECT_FALSE(vf::evaluate(rules, pkt(IPPROTO_TCP, Peer("10.0.1.77"), 5001)).any_peer);
  EXPECT_FALSE(vf::evaluate({}, pkt(IPPROTO_TCP, Peer("10.0.1.77"), 5001)).allowed) << "no rule: denied";
}

TEST(SecurityRules, OddPrefixLengthsAndIpv6) {
  std::vector<SgRule> rules{v4(IPPROTO_UDP, 0, 0xffff, "10.0.0.0", 13)};
  EXPECT_TRUE(vf::evaluate(rules, pkt(IPPROTO_UDP, Peer("10.7.255.1"), 53)).allowed);
  EXPECT_FALSE(vf::evaluate(rules, pkt(IPPROTO_UDP, Peer("10.8.0.1"), 53)).allowed);
  SgRule six;
  six.proto = 0;
  six.family = 6;
  six.prefix = 128;
  inet_pton(AF_INET6, "2600:1f18::5", six.addr.data());
  EXPECT_TRUE(vf::evaluate({six}, pkt(IPPROTO_TCP, Peer("2600:1f18::5"), 80, 6)).allowed);
  EXPECT_FALSE(vf::evaluate({six}, pkt(IPPROTO_TCP, Peer("2600:1f18::6"), 80, 6)).allowed);
}

TEST(SecurityRules, IcmpTypeAndCode) {
  // EC2: FromPort is the ICMP type, ToPort the code, -1 any.
  std::vector<SgRule> echo{v4(IPPROTO_ICMP, 8, 0xffff, "0.0.0.0", 0)};
  SgPacket p = pkt(IPPROTO_ICMP, Peer("192.0.2.1"), 0);
  p.icmp_type = 8;
  EXPECT_TRUE(vf::evaluate(echo, p).allowed);
  p.icmp_type = 13;
  EXPECT_FALSE(vf::evaluate(echo, p).allowed) << "another ICMP type";
  std::vector<SgRule> frag_needed{v4(IPPROTO_ICMP, 3, 4, "0.0.0.0", 0)};
  p.icmp_type = 3;
  p.icmp_code = 4;
  EXPECT_TRUE(vf::evaluate(frag_needed, p).allowed);
  p.icmp_code = 1;
  EXPECT_FALSE(vf::evaluate(frag_needed, p).allowed) << "another ICMP code";
}

TEST(SecurityRules, AllProtocolsAndAnyPeer) {
  std::vector<SgRule> rules{v4(IPPROTO_TCP, 22, 22, "203.0.113.1", 32), v4(0, 0, 0, "0.0.0.0", 0)};
  const auto v = vf::evaluate(rules, pkt(IPPROTO_UDP, Peer("198.51.100.9"), 9));
  EXPECT_TRUE(v.allowed);
  EXPECT_TRUE(v.any_peer) << "allowed by the 0.0.0.0/0 rule";
}

TEST(SecurityRules, UntrackedNeedsAllPortsFromEverywhere) {
  EXPECT_TRUE(vf::opens_all_ports({v4(0, 0, 0, "0.0.0.0", 0)}, 4, IPPROTO_TCP));
  EXPECT_TRUE(vf::opens_all_ports({v4(IPPROTO_UDP, 0, 0xffff, "0.0.0.0", 0)}, 4, IPPROTO_UDP));
  EXPECT_FALSE(vf::opens_all_ports({v4(IPPROTO_UDP, 0, 0xffff, "0.0.0.0", 0)}, 4, IPPROTO_TCP));
  EXPECT_FALSE(vf::opens_all_ports({v4(IPPROTO_TCP, 1, 0xffff, "0.0.0.0", 0)}, 4, IPPROTO_TCP)) << "not port 0";
  EXPECT_FALSE(vf::opens_all_ports({v4(0, 0, 0, "10.0.0.0", 8)}, 4, IPPROTO_TCP)) << "not everywhere";
  EXPECT_FALSE(vf::opens_all_ports({v4(0, 0, 0, "0.0.0.0", 0)}, 6, IPPROTO_TCP)) << "0.0.0.0/0 is not ::/0";
}

TEST(SecurityRules, ProtocolNames) {
  EXPECT_EQ(vf::protocol_number("-1"), 0);
  EXPECT_EQ(vf::protocol_number("all"), 0);
  EXPECT_EQ(vf::protocol_number("tcp"), IPPROTO_TCP);
  EXPECT_EQ(vf::protocol_number("icmpv6"), IPPROTO_ICMPV6);
  EXPECT_EQ(vf::protocol_number("47"), 47);
  EXPECT_EQ(vf::protocol_number("256"), -1);
  EXPECT_EQ(vf::protocol_number("sctp"), -1);
  EXPECT_EQ(vf::protocol_number(""), -1);
}

TEST(SecurityRules, JsonRoundTripAndErrors) {
  vf::SecurityPolicy p;
  p.enforced = true;
  p.ingress = {v4(IPPROTO_TCP, 5001, 5001, "10.0.0.0", 16), v4(IPPROTO_ICMP, 0xffff, 0xffff, "0.0.0.0", 0)};
  p.egress = {v4(0, 0, 0xffff, "0.0.0.0", 0)};
  p.timeouts.udp = 45;
  p.conntrack_max = 100;
  p.conntrack_group = "i-0123";
  const json j = vf::to_json(p);
  EXPECT_EQ(j["ingress"][0]["peer"], "10.0.0.0/16");
  EXPECT_EQ(j["ingress"][1]["from"], -1) << "ICMP any type reads as EC2's -1";
  EXPECT_EQ(vf::security_policy_from_json(j), p);

  auto error_of = [](json bad) {
    try {
      vf::security_policy_from_json(bad);
    } catch (const vf::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  json bad = j;
  bad["udp_timeout"] = 10;
  EXPECT_NE(error_of(bad).find("udp_timeout"), std::string::npos) << "EC2's range is 30-60 s";
  bad = j;
  bad["ingress"][0]["peer"] = "10.0.0.0/33";
  EXPECT_NE(error_of(bad).find("10.0.0.0/33"), std::string::npos);
  bad = j;
  bad["ingress"][0]["peer"] = "10.0.0.0";
  EXPECT_NE(error_of(bad).find("not a CIDR"), std::string::npos);
  bad = j;
  bad["egress"][0].erase("proto");
  EXPECT_NE(error_of(bad).find("egress"), std::string::npos);
  bad = j;
  bad["ingress"][0]["from"] = 70000;
  EXPECT_NE(error_of(bad).find("from"), std::string::npos);
}

// ---- connection tracking ----------------------------------------------------------

// A frame's parse for ct_key: IPv4 TCP/UDP src:sport -> dst:dport.
struct Frame {
  uint8_t bytes[64]{};
  fastpath::ParsedPacket p;
  Frame(uint8_t proto, const char* src, uint16_t sport, const char* dst, uint16_t dport, uint8_t tcp_flags = 0x10) {
    bytes[12] = 0x08;
    bytes[14] = 0x45;
    bytes[14 + 9] = proto;
    inet_pton(AF_INET, src, &bytes[26]);
    inet_pton(AF_INET, dst, &bytes[30]);
    bytes[34] = uint8_t(sport >> 8);
    bytes[35] = uint8_t(sport);
    bytes[36] = uint8_t(dport >> 8);
    bytes[37] = uint8_t(dport);
    bytes[34 + 13] = tcp_flags;
    fastpath::parse_packet({bytes, sizeof bytes}, sizeof bytes, p);
  }
};

constexpr uint64_t kHz = 1000;  // the test's clock ticks in milliseconds
constexpr uint64_t kSec = kHz;

TEST(Conntrack, ARequestAndItsReplyAreOneFlow) {
  Frame req(IPPROTO_TCP, "10.0.1.10", 40000, "10.0.1.11", 5001, 0x02);
  Frame reply(IPPROTO_TCP, "10.0.1.11", 5001, "10.0.1.10", 40000, 0x12);
  fastpath::CtKey out, in, other;
  ASSERT_TRUE(fastpath::ct_key(req.p, 3, fastpath::CtDir::kOut, out));
  ASSERT_TRUE(fastpath::ct_key(reply.p, 3, fastpath::CtDir::kIn, in));
  EXPECT_EQ(std::memcmp(&out, &in, sizeof out), 0) << "the reply must find the request's entry";
  ASSERT_TRUE(fastpath::ct_key(reply.p, 3, fastpath::CtDir::kOut, other));
  EXPECT_NE(std::memcmp(&out, &other, sizeof out), 0) << "the same packet sent out is another flow";
  ASSERT_TRUE(fastpath::ct_key(req.p, 4, fastpath::CtDir::kOut, other));
  EXPECT_NE(std::memcmp(&out, &other, sizeof out), 0) << "another VF's flow";

  fastpath::Conntrack ct("ct_test_pair", 16, kHz);
  vf::ConntrackTimeouts t;
  EXPECT_FALSE(ct.refresh(out, fastpath::CtDir::kOut, 0x02, t, 1));
  ASSERT_TRUE(ct.add(out, fastpath::CtDir::kOut, 0x02, t, 1));
  EXPECT_TRUE(ct.refresh(in, fastpath::CtDir::kIn, 0x12, t, 2));
  EXPECT_EQ(ct.size(), 1u);
}

TEST(Conntrack, TimeoutsFollowTheFlowsState) {
  vf::ConntrackTimeouts t;  // EC2's defaults: 432000 / 180 / 30 s
  fastpath::Conntrack ct("ct_test_timeouts", 16, kHz);
  auto key = [](uint8_t proto, uint16_t port) {
    Frame f(proto, "10.0.1.10", port, "10.0.1.11", 5001);
    fastpath::CtKey k;
    fastpath::ct_key(f.p, 0, fastpath::CtDir::kOut, k);
    return k;
  };
  const uint64_t t0 = 10 * kSec;
  // UDP seen one way: 30 s.
  auto udp1 = key(IPPROTO_UDP, 1);
  ASSERT_TRUE(ct.add(udp1, fastpath::CtDir::kOut, 0, t, t0));
  EXPECT_TRUE(ct.refresh(udp1, fastpath::CtDir::kOut, 0, t, t0 + 29 * kSec)) << "refreshed at 29 s";
  EXPECT_FALSE(ct.refresh(udp1, fastpath::CtDir::kOut, 0, t, t0 + 29 * kSec + 31 * kSec)) << "idle 31 s: gone";
  // UDP seen both ways (a stream): 180 s.
  auto udp2 = key(IPPROTO_UDP, 2);
  ASSERT_TRUE(ct.add(udp2, fastpath::CtDir::kOut, 0, t, t0));
  ASSERT_TRUE(ct.refresh(udp2, fastpath::CtDir::kIn, 0, t, t0 + kSec));
  EXPECT_TRUE(ct.refresh(udp2, fastpath::CtDir::kOut, 0, t, t0 + 170 * kSec)) << "a stream lives 180 s";
  EXPECT_FALSE(ct.refresh(udp2, fastpath::CtDir::kOut, 0, t, t0 + 351 * kSec));
  // TCP: one way only 60 s; established (both ways) 432000 s; after RST 10 s.
  auto tcp1 = key(IPPROTO_TCP, 3);
  ASSERT_TRUE(ct.add(tcp1, fastpath::CtDir::kOut, 0x02, t, t0));
  EXPECT_FALSE(ct.refresh(tcp1, fastpath::CtDir::kOut, 0x02, t, t0 + 61 * kSec)) << "an unanswered SYN";
  auto tcp2 = key(IPPROTO_TCP, 4);
  ASSERT_TRUE(ct.add(tcp2, fastpath::CtDir::kOut, 0x02, t, t0));
  ASSERT_TRUE(ct.refresh(tcp2, fastpath::CtDir::kIn, 0x12, t, t0 + kSec));
  EXPECT_TRUE(ct.refresh(tcp2, fastpath::CtDir::kOut, 0x10, t, t0 + 400000 * kSec)) << "established: 5 days idle";
  ASSERT_TRUE(ct.refresh(tcp2, fastpath::CtDir::kIn, 0x04, t, t0 + 400001 * kSec));  // RST
  EXPECT_FALSE(ct.refresh(tcp2, fastpath::CtDir::kOut, 0x10, t, t0 + 400012 * kSec)) << "reset: 10 s";
  // The ENI's own timeouts (ConnectionTrackingSpecification).
  vf::ConntrackTimeouts shorter;
  shorter.udp = 60;
  auto udp3 = key(IPPROTO_UDP, 5);
  ASSERT_TRUE(ct.add(udp3, fastpath::CtDir::kOut, 0, shorter, t0));
  EXPECT_TRUE(ct.refresh(udp3, fastpath::CtDir::kOut, 0, shorter, t0 + 59 * kSec));
}

TEST(Conntrack, AFullTableRefusesNewFlowsUntilOnesExpire) {
  vf::ConntrackTimeouts t;
  fastpath::Conntrack ct("ct_test_full", 8, kHz);
  std::vector<fastpath::CtKey> keys;
  for (uint16_t port = 1; port <= 9; port++) {
    Frame f(IPPROTO_UDP, "10.0.1.10", port, "10.0.1.11", 5001);
    fastpath::CtKey k;
    fastpath::ct_key(f.p, 0, fastpath::CtDir::kOut, k);
    keys.push_back(k);
  }
  for (int i = 0; i < 8; i++) ASSERT_TRUE(ct.add(keys[i], fastpath::CtDir::kOut, 0, t, kSec)) << i;
  EXPECT_EQ(ct.size(), 8u);
  EXPECT_FALSE(ct.add(keys[8], fastpath::CtDir::kOut, 0, t, 2 * kSec)) << "the ninth flow: full";
  EXPECT_TRUE(ct.add(keys[3], fastpath::CtDir::kOut, 0, t, 2 * kSec)) << "a tracked flow is no new entry";
  // After 30 s the idle ones are gone and the new flow finds room.
  for (int i = 0; i < 8; i++)
    if (i != 3) {
      ASSERT_TRUE(ct.refresh(keys[i], fastpath::CtDir::kOut, 0, t, 20 * kSec));
    }
  EXPECT_TRUE(ct.add(keys[8], fastpath::CtDir::kOut, 0, t, 33 * kSec)) << "keys[3] expired at 32 s";
  EXPECT_EQ(ct.size(), 8u);
  ct.sweep(100 * kSec, 1000);
  EXPECT_EQ(ct.size(), 0u) << "the sweep forgets idle flows";
}

TEST(Conntrack, LaterFragmentsAndNonIpHaveNoFlow) {
  Frame f(IPPROTO_UDP, "10.0.1.10", 1, "10.0.1.11", 5001);
  f.p.fragment = true;
  fastpath::CtKey k;
  EXPECT_FALSE(fastpath::ct_key(f.p, 0, fastpath::CtDir::kOut, k));
  uint8_t arp[64]{};
  arp[12] = 0x08;
  arp[13] = 0x06;
  fastpath::ParsedPacket p;
  fastpath::parse_packet({arp, sizeof arp}, sizeof arp, p);
  EXPECT_FALSE(fastpath::ct_key(p, 0, fastpath::CtDir::kOut, k));
}

// ---- ENI groups to VF rules ----------------------------------------------------------

bool has(const std::vector<SgRule>& rules, const SgRule& r) {
  return std::find(rules.begin(), rules.end(), r) != rules.end();
}

class EniPolicy : public ::testing::Test {
 protected:
  json call(const std::string& action, const json& params) {
    return m_.call(action, params, [this](const model::Eni&) { return vf_++; });
  }
  void SetUp() override {
    vpc_ = call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}})["Vpc"]["VpcId"];
    subnet_ =
        call("CreateSubnet",
             {{"VpcId", vpc_}, {"CidrBlock", "10.0.1.0/24"}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"];
    web_ = call("CreateSecurityGroup", {{"GroupName", "web"}, {"Description", "web"}, {"VpcId", vpc_}})["GroupId"];
    call("AuthorizeSecurityGroupIngress",
         {{"GroupId", web_},
          {"IpPermissions",
           {{{"IpProtocol", "tcp"}, {"FromPort", 5001}, {"ToPort", 5001}, {"IpRanges", {{{"CidrIp", "10.0.0.0/16"}}}}},
            {{"IpProtocol", "icmp"}, {"FromPort", 8}, {"ToPort", -1}, {"UserIdGroupPairs", {{{"GroupId", web_}}}}}}}});
  }
  const model::Eni& primary(const json& run) {
    return m_.enis().at(run["Instances"][0]["NetworkInterfaces"][0]["NetworkInterfaceId"]);
  }
  model::Ec2Model m_{[n = uint64_t{1}]() mutable { return n++; }};
  uint16_t vf_ = 0;
  std::string vpc_, subnet_, web_;
};

TEST_F(EniPolicy, GroupReferencesBecomeTheMembersAddresses) {
  auto a = call("RunInstances", {{"InstanceType", "t3.micro"},
                                 {"SubnetId", subnet_},
                                 {"PrivateIpAddress", "10.0.1.10"},
                                 {"SecurityGroupIds", {web_}}});
  auto b = call("RunInstances", {{"InstanceType", "t3.micro"},
                                 {"SubnetId", subnet_},
                                 {"PrivateIpAddress", "10.0.1.11"},
                                 {"SecurityGroupIds", {web_}},
                                 {"ConntrackLimit", 12}});
  const vf::SecurityPolicy p = model::security_policy(m_, primary(a));
  EXPECT_TRUE(p.enforced);
  // tcp 5001 from the /16, then ICMP echo from each member (10.0.1.10, 10.0.1.11).
  ASSERT_EQ(p.ingress.size(), 3u);
  EXPECT_EQ(p.ingress[0], v4(IPPROTO_TCP, 5001, 5001, "10.0.0.0", 16));
  EXPECT_TRUE(has(p.ingress, v4(IPPROTO_ICMP, 8, 0xffff, "10.0.1.10", 32)));
  EXPECT_TRUE(has(p.ingress, v4(IPPROTO_ICMP, 8, 0xffff, "10.0.1.11", 32)));
  ASSERT_EQ(p.egress.size(), 1u) << "a new group allows all out";
  EXPECT_EQ(p.egress[0], v4(0, 0, 0xffff, "0.0.0.0", 0));
  EXPECT_EQ(p.conntrack_group, a["Instances"][0]["InstanceId"]);
  EXPECT_EQ(p.conntrack_max, model::find_instance_type("t3.micro")->conntrack);
  EXPECT_EQ(model::security_policy(m_, primary(b)).conntrack_max, 12u) << "the instance's ConntrackLimit";
  EXPECT_EQ(b["Instances"][0]["VenicConntrackLimit"], 12);
}

TEST_F(EniPolicy, TheDefaultGroupAdmitsItsMembersOnly) {
  auto a =
      call("RunInstances", {{"InstanceType", "t3.micro"}, {"SubnetId", subnet_}, {"PrivateIpAddress", "10.0.1.20"}});
  const vf::SecurityPolicy p = model::security_policy(m_, primary(a));
  ASSERT_EQ(p.ingress.size(), 1u);
  EXPECT_EQ(p.ingress[0], v4(0, 0, 0xffff, "10.0.1.20", 32));
  // A second member's address joins every member's rules.
  auto b =
      call("RunInstances", {{"InstanceType", "t3.micro"}, {"SubnetId", subnet_}, {"PrivateIpAddress", "10.0.1.21"}});
  const vf::SecurityPolicy q = model::security_policy(m_, primary(a));
  ASSERT_EQ(q.ingress.size(), 2u);
  EXPECT_TRUE(has(q.ingress, v4(0, 0, 0xffff, "10.0.1.20", 32)));
  EXPECT_TRUE(has(q.ingress, v4(0, 0, 0xffff, "10.0.1.21", 32)));
  (void)b;
}

TEST_F(EniPolicy, Ipv6RangesAndMembersIpv6AddressesBecomeIpv6Rules) {
  const std::string v6 =
      call("CreateVpc", {{"CidrBlock", "10.2.0.0/16"}, {"Ipv6CidrBlock", "2600:1f18:aa:b00::/56"}})["Vpc"]["VpcId"];
  const std::string sn =
      call("CreateSubnet",
           {{"VpcId", v6}, {"CidrBlock", "10.2.1.0/24"}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"];
  auto a = call("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", sn}, {"PrivateIpAddress", "10.2.1.10"}});
  const std::string eni = a["Instances"][0]["NetworkInterfaces"][0]["NetworkInterfaceId"];
  call("AssignIpv6Addresses", {{"NetworkInterfaceId", eni}, {"Ipv6Addresses", {"2600:1f18:aa:b01::10"}}});
  const vf::SecurityPolicy p = model::security_policy(m_, m_.enis().at(eni));
  SgRule self6;
  self6.family = 6;
  self6.prefix = 128;
  inet_pton(AF_INET6, "2600:1f18:aa:b01::10", self6.addr.data());
  EXPECT_TRUE(has(p.ingress, self6)) << "the default group admits its members' IPv6 addresses";
  SgRule all6;
  all6.family = 6;
  EXPECT_TRUE(has(p.egress, all6)) << "::/0 out";
  EXPECT_TRUE(vf::evaluate(p.egress, pkt(IPPROTO_UDP, Peer("2600:1f18:aa:b02::20"), 5001, 6)).allowed);
}

TEST_F(EniPolicy, EfaOsBypassNeedsAGroupAllowingAllToAndFromItself) {
  auto in =
      call("RunInstances", {{"InstanceType", "c5n.18xlarge"}, {"SubnetId", subnet_}, {"NetworkInterfaceType", "efa"}});
  const std::string eni = in["Instances"][0]["NetworkInterfaces"][0]["NetworkInterfaceId"];
  json d = in["Instances"][0]["NetworkInterfaces"][0];
  EXPECT_EQ(d["VenicEfaOsBypass"]["Ready"], false) << "the default group lets all out, but not to itself";
  EXPECT_NE(d["VenicEfaOsBypass"]["Reason"].get<std::string>().find("itself"), std::string::npos);
  EXPECT_FALSE(model::security_policy(m_, m_.enis().at(eni)).efa_os_bypass);
  const std::string dflt = m_.enis().at(eni).groups.at(0);
  call("AuthorizeSecurityGroupEgress",
       {{"GroupId", dflt},
        {"IpPermissions",
         json::array({{{"IpProtocol", "-1"}, {"UserIdGroupPairs", json::array({{{"GroupId", dflt}}})}}})}});
  d = call("DescribeNetworkInterfaces", {{"NetworkInterfaceIds", {eni}}})["NetworkInterfaces"][0];
  EXPECT_EQ(d["VenicEfaOsBypass"], json({{"Ready", true}}));
  EXPECT_TRUE(model::security_policy(m_, m_.enis().at(eni)).efa_os_bypass);
  // An ENA ENI has no such attribute.
  auto ena = call("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", subnet_}});
  EXPECT_FALSE(ena["Instances"][0]["NetworkInterfaces"][0].contains("VenicEfaOsBypass"));
}

TEST_F(EniPolicy, ConnectionTrackingSpecificationSetsTheTimeouts) {
  auto in = call("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", subnet_}});
  const std::string eni = in["Instances"][0]["NetworkInterfaces"][0]["NetworkInterfaceId"];
  EXPECT_EQ(in["Instances"][0]["NetworkInterfaces"][0]["ConnectionTrackingConfiguration"],
            json({{"TcpEstablishedTimeout", 432000}, {"UdpStreamTimeout", 180}, {"UdpTimeout", 30}}))
      << "EC2's defaults";
  call("ModifyNetworkInterfaceAttribute",
       {{"NetworkInterfaceId", eni},
        {"ConnectionTrackingSpecification", {{"TcpEstablishedTimeout", 3600}, {"UdpTimeout", 60}}}});
  const vf::ConntrackTimeouts t = model::security_policy(m_, m_.enis().at(eni)).timeouts;
  EXPECT_EQ(t.tcp_established, 3600u);
  EXPECT_EQ(t.udp_stream, 180u) << "a key left out keeps its value";
  EXPECT_EQ(t.udp, 60u);
  auto refused = [&](const json& spec, const std::string& names) {
    try {
      call("ModifyNetworkInterfaceAttribute", {{"NetworkInterfaceId", eni}, {"ConnectionTrackingSpecification", spec}});
    } catch (const model::Ec2Error& e) {
      return std::string(e.what()).find(names) != std::string::npos;
    }
    return false;
  };
  EXPECT_TRUE(refused({{"UdpTimeout", 29}}, "UdpTimeout")) << "EC2's range is 30-60";
  EXPECT_TRUE(refused({{"TcpEstablishedTimeout", 59}}, "TcpEstablishedTimeout"));
  EXPECT_TRUE(refused({{"UdpStreamTimeout", 181}}, "UdpStreamTimeout"));
  EXPECT_TRUE(refused({{"IcmpTimeout", 30}}, "IcmpTimeout"));
  EXPECT_EQ(model::security_policy(m_, m_.enis().at(eni)).timeouts.udp, 60u) << "a refused change changes nothing";
  model::Ec2Model copy;
  copy.load(m_.to_json());
  EXPECT_EQ(model::security_policy(copy, copy.enis().at(eni)).timeouts.tcp_established, 3600u) << "persisted";
}

// ---- what the groups judge (sg_scope.h) -------------------------------------------

// A frame of 128 bytes, parsed: raw (any ethertype), IPv4 or IPv6 with a
// TCP/UDP header (ports) or an ICMPv6 one (type in sport's place).
struct Wire {
  uint8_t b[128]{};
  fastpath::ParsedPacket p;
  explicit Wire(uint16_t ethertype, bool multicast = false) {
    b[0] = multicast ? 0x33 : 0x02;
    b[6] = 0x02;
    b[11] = 1;
    b[12] = uint8_t(ethertype >> 8);
    b[13] = uint8_t(ethertype);
  }
  void parse() { fastpath::parse_packet({b, sizeof b}, sizeof b, p); }
  static Wire ip4(uint8_t proto, const char* src, uint16_t sport, const char* dst, uint16_t dport) {
    Wire w(0x0800);
    w.b[14] = 0x45;
    w.b[17] = 128 - 14;
    w.b[22] = 64;
    w.b[23] = proto;
    inet_pton(AF_INET, src, &w.b[26]);
    inet_pton(AF_INET, dst, &w.b[30]);
    w.ports(34, sport, dport);
    w.parse();
    return w;
  }
  static Wire ip6(uint8_t proto, const char* src, uint16_t sport, const char* dst, uint16_t dport,
                  bool multicast = false) {
    Wire w(0x86dd, multicast);
    w.b[14] = 0x60;
    w.b[19] = 128 - 54;
    w.b[20] = proto;
    w.b[21] = proto == IPPROTO_ICMPV6 ? 255 : 64;
    inet_pton(AF_INET6, src, &w.b[22]);
    inet_pton(AF_INET6, dst, &w.b[38]);
    if (proto == IPPROTO_ICMPV6)
      w.b[54] = uint8_t(sport);
    else
      w.ports(54, sport, dport);
    w.parse();
    return w;
  }
  void ports(int off, uint16_t sport, uint16_t dport) {
    b[off] = uint8_t(sport >> 8);
    b[off + 1] = uint8_t(sport);
    b[off + 2] = uint8_t(dport >> 8);
    b[off + 3] = uint8_t(dport);
    b[off + 12] = 0x50;  // TCP data offset, harmless for UDP
  }
};

constexpr uint32_t kGateway = 0x0a000101;  // 10.0.1.1
using fastpath::CtDir;

bool judged(const Wire& w, CtDir dir) {
  return !fastpath::outside_security_groups(w.p, dir, kGateway);
}

TEST(SgScope, OnlyIpv4Ipv6AndArpLeaveAVpcPort) {
  for (uint16_t t : {0x88b5, 0x88cc, 0x8906, 0x1234}) {
    Wire w(t);
    w.parse();
    EXPECT_FALSE(fastpath::vpc_carries(w.p)) << std::hex << t;
  }
  Wire vlan(0x8100);  // a tagged frame of another ethertype
  vlan.b[16] = 0x88;
  vlan.b[17] = 0xb5;
  vlan.parse();
  EXPECT_FALSE(fastpath::vpc_carries(vlan.p));
  Wire arp(0x0806);
  arp.b[14 + 1] = 1;
  arp.b[14 + 2] = 0x08;
  arp.b[14 + 4] = 6;
  arp.b[14 + 5] = 4;
  arp.parse();
  EXPECT_TRUE(fastpath::vpc_carries(arp.p));
  EXPECT_TRUE(fastpath::vpc_carries(Wire::ip4(IPPROTO_TCP, "10.0.1.10", 1, "10.0.1.11", 2).p));
  EXPECT_TRUE(fastpath::vpc_carries(Wire::ip6(IPPROTO_UDP, "fe80::1", 1, "fe80::2", 2).p));
}

TEST(SgScope, LinkLocalTrafficBetweenInstancesIsJudged) {
  for (auto proto : {IPPROTO_TCP, IPPROTO_UDP})
    for (uint16_t port : {22, 161}) {
      Wire w = Wire::ip6(proto, "fe80::1", 40000, "fe80::2", port);
      EXPECT_TRUE(judged(w, CtDir::kOut)) << proto << " " << port;
      EXPECT_TRUE(judged(w, CtDir::kIn)) << proto << " " << port;
      Wire v4 = Wire::ip4(proto, "169.254.10.1", 40000, "169.254.10.2", port);
      EXPECT_TRUE(judged(v4, CtDir::kOut)) << proto << " " << port;
      EXPECT_TRUE(judged(v4, CtDir::kIn)) << proto << " " << port;
    }
}

TEST(SgScope, AServiceAddressAsSourceIsJudged) {
  // An instance with its source/destination check off may send as anyone.
  EXPECT_TRUE(judged(Wire::ip4(IPPROTO_TCP, "169.254.169.254", 80, "10.0.1.11", 22), CtDir::kIn));
  EXPECT_TRUE(judged(Wire::ip4(IPPROTO_UDP, "169.254.169.123", 123, "10.0.1.11", 161), CtDir::kIn));
  EXPECT_TRUE(judged(Wire::ip6(IPPROTO_TCP, "fd00:ec2::254", 80, "2600:1f18::11", 22), CtDir::kIn));
  // Nor is the way in to a service's address exempt: no instance is one.
  EXPECT_TRUE(judged(Wire::ip4(IPPROTO_TCP, "10.0.1.10", 40000, "169.254.169.254", 80), CtDir::kIn));
}

TEST(SgScope, WhatAnInstanceSendsToEc2sServicesIsNot) {
  EXPECT_FALSE(judged(Wire::ip4(IPPROTO_TCP, "10.0.1.10", 40000, "169.254.169.254", 80), CtDir::kOut));
  EXPECT_FALSE(judged(Wire::ip4(IPPROTO_UDP, "10.0.1.10", 40000, "169.254.169.123", 123), CtDir::kOut));
  EXPECT_FALSE(judged(Wire::ip4(IPPROTO_UDP, "10.0.1.10", 40000, "169.254.169.253", 53), CtDir::kOut));
  EXPECT_FALSE(judged(Wire::ip6(IPPROTO_TCP, "2600:1f18::10", 40000, "fd00:ec2::254", 80), CtDir::kOut));
  EXPECT_FALSE(judged(Wire::ip6(IPPROTO_UDP, "2600:1f18::10", 40000, "fd00:ec2::123", 123), CtDir::kOut));
  // DHCP: broadcast discovery, and a unicast renewal to the subnet's router.
  EXPECT_FALSE(judged(Wire::ip4(IPPROTO_UDP, "0.0.0.0", 68, "255.255.255.255", 67), CtDir::kOut));
  EXPECT_FALSE(judged(Wire::ip4(IPPROTO_UDP, "10.0.1.10", 68, "10.0.1.1", 67), CtDir::kOut));
  // Anything else to the router's address, or elsewhere in 169.254/16 and
  // fd00:ec2::/32, is judged.
  EXPECT_TRUE(judged(Wire::ip4(IPPROTO_TCP, "10.0.1.10", 40000, "10.0.1.1", 22), CtDir::kOut));
  EXPECT_TRUE(judged(Wire::ip4(IPPROTO_TCP, "10.0.1.10", 40000, "169.254.169.1", 80), CtDir::kOut));
  EXPECT_TRUE(judged(Wire::ip6(IPPROTO_TCP, "2600:1f18::10", 40000, "fd00:ec2::1", 80), CtDir::kOut));
}

TEST(SgScope, NeighbourDiscoveryIsNot) {
  for (uint8_t type : {133, 134, 135, 136, 137}) {
    EXPECT_FALSE(judged(Wire::ip6(IPPROTO_ICMPV6, "fe80::1", type, "ff02::1:ff00:2", 0, true), CtDir::kOut));
    EXPECT_FALSE(judged(Wire::ip6(IPPROTO_ICMPV6, "fe80::2", type, "fe80::1", 0), CtDir::kIn));
  }
  // Echo requests are ICMPv6 too, and judged.
  EXPECT_TRUE(judged(Wire::ip6(IPPROTO_ICMPV6, "fe80::1", 128, "fe80::2", 0), CtDir::kIn));
}

}  // namespace
}  // namespace venic

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* eal[] = {
      "security_groups_test",      "--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--no-telemetry",
      "--log-level=lib.eal:error", "-l",        "0"};
  if (rte_eal_init(static_cast<int>(std::size(eal)), const_cast<char**>(eal)) < 0) {
    fprintf(stderr, "security_groups_test: rte_eal_init failed\n");
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}
