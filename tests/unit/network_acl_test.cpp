// Network ACLs in the fast path: one direction's entries as NetworkAcl
// evaluates them (lowest number first, the first match deciding, the `*`
// deny, ports, ICMP type and code, IPv6), then the stage over the
// in-process rig (tools/worker-bench/port_rig.h) with the EC2 model: the
// sender subnet's outbound ACL in route/switch, the receiver subnet's
// inbound ACL in deliver before its groups, nothing within one subnet.
#include "network_acl.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <vector>

#include "port_rig.h"
#include "route_switch.h"
#include "venic_abi.h"
#include "worker.h"

namespace venic::fastpath {
namespace {

// ---- NetworkAcl alone ------------------------------------------------------

vf::Prefix v4(uint32_t addr, uint8_t prefix) {
  vf::Prefix p;
  p.family = 4;
  const uint32_t be = htonl(addr);
  std::memcpy(p.addr.data(), &be, 4);
  p.prefix = prefix;
  return p;
}

vf::Prefix v6(const char* text, uint8_t prefix) {
  vf::Prefix p;
  p.family = 6;
  EXPECT_EQ(inet_pton(AF_INET6, text, p.addr.data()), 1);
  p.prefix = prefix;
  return p;
}

vf::NaclEntry entry(uint16_t number, bool allow, vf::Prefix peer, int16_t proto = -1, uint16_t lo = 0,
                    uint16_t hi = 0xffff) {
  vf::NaclEntry e;
  e.number = number;
  e.allow = allow;
  e.peer = peer;
  e.proto = proto;
  e.port_lo = lo;
  e.port_hi = hi;
  return e;
}

ParsedPacket ip4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t dst_port = 0) {
  ParsedPacket p;
  p.l3 = L3::kIpv4;
  p.l3_addresses = true;
  p.src_ip4 = src;
  p.dst_ip4 = dst;
  p.ip_proto = proto;
  p.dst_port = dst_port;
  p.src_port = 40000;
  return p;
}

constexpr uint32_t kA = 0x0a000105, kB = 0x0a000205;  // 10.0.1.5, 10.0.2.5

TEST(NetworkAcl, TheLowestNumberDecidesAndNothingMatchedIsDenied) {
  // Entries arrive by number: 90 denies one host, 100 allows its /16.
  NetworkAcl in({entry(90, false, v4(kA, 32)), entry(100, true, v4(0x0a000000, 16))}, NetworkAcl::Side::kIn);
  EXPECT_FALSE(in.allows(ip4(kA, kB, IPPROTO_UDP, 53))) << "deny 90 before allow 100";
  EXPECT_TRUE(in.allows(ip4(kA + 1, kB, IPPROTO_UDP, 53)));
  EXPECT_FALSE(in.allows(ip4(0xc0a80001, kB, IPPROTO_UDP, 53))) << "the * deny";
  // An allow before a deny: the allow decides.
  NetworkAcl first({entry(10, true, v4(kA, 32)), entry(20, false, v4(0, 0))}, NetworkAcl::Side::kIn);
  EXPECT_TRUE(first.allows(ip4(kA, kB, IPPROTO_TCP, 22)));
  EXPECT_FALSE(first.allows(ip4(kA + 1, kB, IPPROTO_TCP, 22)));
  EXPECT_FALSE(NetworkAcl({}, NetworkAcl::Side::kIn).allows(ip4(kA, kB, IPPROTO_TCP, 22))) << "a new ACL: only *";
}

TEST(NetworkAcl, ThePeerIsTheSourceInAndTheDestinationOut) {
  std::vector<vf::NaclEntry> e = {entry(100, true, v4(kA, 32))};
  NetworkAcl in(e, NetworkAcl::Side::kIn), out(e, NetworkAcl::Side::kOut);
  EXPECT_TRUE(in.allows(ip4(kA, kB, IPPROTO_UDP, 1)));
  EXPECT_FALSE(in.allows(ip4(kB, kA, IPPROTO_UDP, 1)));
  EXPECT_TRUE(out.allows(ip4(kB, kA, IPPROTO_UDP, 1)));
  EXPECT_FALSE(out.allows(ip4(kA, kB, IPPROTO_UDP, 1)));
}

TEST(NetworkAcl, PortsAreTheDestinationsAndOnlyForTheirProtocol) {
  NetworkAcl in({entry(100, true, v4(0, 0), IPPROTO_TCP, 80, 443), entry(110, true, v4(0, 0), IPPROTO_UDP, 53, 53)},
                NetworkAcl::Side::kIn);
  EXPECT_TRUE(in.allows(ip4(kA, kB, IPPROTO_TCP, 80)));
  EXPECT_TRUE(in.allows(ip4(kA, kB, IPPROTO_TCP, 443)));
  EXPECT_FALSE(in.allows(ip4(kA, kB, IPPROTO_TCP, 444)));
  EXPECT_FALSE(in.allows(ip4(kA, kB, IPPROTO_TCP, 79)));
  EXPECT_FALSE(in.allows(ip4(kA, kB, IPPROTO_UDP, 80))) << "a TCP entry is no UDP entry";
  EXPECT_TRUE(in.allows(ip4(kA, kB, IPPROTO_UDP, 53)));
  ParsedPacket p = ip4(kA, kB, IPPROTO_TCP, 8080);
  p.src_port = 80;
  EXPECT_FALSE(in.allows(p)) << "the source port does not count";
  p = ip4(kA, kB, IPPROTO_TCP);
  p.fragment = true;
  EXPECT_FALSE(in.allows(p)) << "a later fragment has no port to match a range";
  NetworkAcl every({entry(100, true, v4(0, 0), IPPROTO_TCP, 0, 65535)}, NetworkAcl::Side::kIn);
  EXPECT_TRUE(every.allows(p)) << "...but every port takes it";
}

TEST(NetworkAcl, IcmpTypeAndCode) {
  // Echo request (8) only, any code; then destination unreachable 3/4 only.
  NetworkAcl in({entry(100, true, v4(0, 0), IPPROTO_ICMP, 8, 0xffff), entry(110, true, v4(0, 0), IPPROTO_ICMP, 3, 4)},
                NetworkAcl::Side::kIn);
  ParsedPacket p = ip4(kA, kB, IPPROTO_ICMP);
  p.icmp_type = 8;
  EXPECT_TRUE(in.allows(p));
  p.icmp_type = 0;
  EXPECT_FALSE(in.allows(p)) << "echo reply needs its own entry: stateless";
  p.icmp_type = 3;
  p.icmp_code = 4;
  EXPECT_TRUE(in.allows(p));
  p.icmp_code = 1;
  EXPECT_FALSE(in.allows(p));
  EXPECT_FALSE(in.allows(ip4(kA, kB, IPPROTO_UDP, 8))) << "ICMP entries take ICMP only";
}

TEST(NetworkAcl, Ipv6EntriesTakeIpv6PacketsOnly) {
  NetworkAcl in({entry(100, false, v6("2600:1f18:0:100::", 64)), entry(101, true, v6("::", 0), IPPROTO_TCP, 22, 22),
                 entry(102, true, v4(0, 0))},
                NetworkAcl::Side::kIn);
  uint8_t inside[16], outside[16], me[16];
  inet_pton(AF_INET6, "2600:1f18:0:100::7", inside);
  inet_pton(AF_INET6, "2600:1f18:0:200::7", outside);
  inet_pton(AF_INET6, "2600:1f18:0:300::1", me);
  ParsedPacket p;
  p.l3 = L3::kIpv6;
  p.l3_addresses = true;
  p.ip_proto = IPPROTO_TCP;
  p.dst_port = 22;
  p.dst_ip6 = me;
  p.src_ip6 = inside;
  EXPECT_FALSE(in.allows(p)) << "deny 100 takes the /64";
  p.src_ip6 = outside;
  EXPECT_TRUE(in.allows(p));
  p.dst_port = 23;
  EXPECT_FALSE(in.allows(p)) << "the IPv4 allow-all does not take IPv6";
  EXPECT_TRUE(in.allows(ip4(kA, kB, IPPROTO_TCP, 23)));
  ParsedPacket icmp6 = p;
  icmp6.ip_proto = IPPROTO_ICMPV6;
  NetworkAcl pings({entry(100, true, v6("::", 0), IPPROTO_ICMPV6, 128, 0xffff)}, NetworkAcl::Side::kIn);
  icmp6.icmp_type = 128;
  EXPECT_TRUE(pings.allows(icmp6));
  icmp6.icmp_type = 129;
  EXPECT_FALSE(pings.allows(icmp6));
}

TEST(NetworkAcl, OnlyIpIsJudgedAndUnreadableIpIsDenied) {
  NetworkAcl none({}, NetworkAcl::Side::kIn);
  ParsedPacket arp;
  arp.l3 = L3::kArp;
  EXPECT_TRUE(none.allows(arp));
  NetworkAcl all({entry(100, true, v4(0, 0))}, NetworkAcl::Side::kIn);
  ParsedPacket bad = ip4(kA, kB, IPPROTO_UDP, 1);
  bad.l3_addresses = false;
  EXPECT_FALSE(all.allows(bad));
}

// ---- the stage, over the rig and the EC2 model ------------------------------

class Eal : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(bench::init_eal("network_acl_test")); }
};
const auto* const kEal = ::testing::AddGlobalTestEnvironment(new Eal);

std::vector<uint8_t> udp_frame(const uint8_t* dst_mac, const uint8_t* src_mac, uint32_t src, uint32_t dst,
                               uint16_t dport) {
  std::vector<uint8_t> f(60, 0);
  std::memcpy(f.data(), dst_mac, 6);
  std::memcpy(f.data() + 6, src_mac, 6);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  ip[3] = 46;  // total length: 60 - 14
  ip[8] = 64;
  ip[9] = IPPROTO_UDP;
  const uint32_t s = htonl(src), d = htonl(dst);
  std::memcpy(ip + 12, &s, 4);
  std::memcpy(ip + 16, &d, 4);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += ip[i] << 8 | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = static_cast<uint8_t>(~sum >> 8);
  ip[11] = static_cast<uint8_t>(~sum);
  uint8_t* u = ip + 20;
  u[0] = 0x9c;  // source port 40000
  u[1] = 0x40;
  u[2] = static_cast<uint8_t>(dport >> 8);
  u[3] = static_cast<uint8_t>(dport);
  u[5] = 26;
  return f;
}

// A VPC with two subnets: A and C in 10.7.1.0/24, B in 10.7.2.0/24, all in
// one group that lets in UDP 5000-5001 from the VPC (5002 not).
struct AclWorld {
  bench::PortRig rig;
  std::string vpc, s1, s2, acl1, acl2;
  uint16_t a = 0, b = 0, c = 0;

  AclWorld() {
    vpc = rig.ec2("CreateVpc", {{"CidrBlock", "10.7.0.0/16"}})["Vpc"]["VpcId"];
    s1 = rig.ec2(
        "CreateSubnet",
        {{"VpcId", vpc}, {"CidrBlock", "10.7.1.0/24"}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"];
    s2 = rig.ec2(
        "CreateSubnet",
        {{"VpcId", vpc}, {"CidrBlock", "10.7.2.0/24"}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"];
    const std::string sg =
        rig.ec2("CreateSecurityGroup", {{"GroupName", "udp"}, {"Description", "udp"}, {"VpcId", vpc}})["GroupId"];
    rig.ec2("AuthorizeSecurityGroupIngress", {{"GroupId", sg},
                                              {"IpPermissions",
                                               {{{"IpProtocol", "udp"},
                                                 {"FromPort", 5000},
                                                 {"ToPort", 5001},
                                                 {"IpRanges", {{{"CidrIp", "10.7.0.0/16"}}}}}}}});
    auto run = [&](const std::string& subnet) {
      auto r = rig.ec2("RunInstances", {{"InstanceType", "c5.large"},
                                        {"SubnetId", subnet},
                                        {"MinCount", 1},
                                        {"MaxCount", 1},
                                        {"SecurityGroupIds", {sg}}});
      return static_cast<uint16_t>(r["Instances"][0]["NetworkInterfaces"][0]["VenicVfId"].get<int>());
    };
    a = run(s1);
    b = run(s2);
    c = run(s1);
    for (uint16_t id : {a, b, c}) rig.start(id);
    // Each subnet gets a custom ACL that allows all but UDP 5001, both ways.
    for (auto* sn : {&s1, &s2}) {
      const std::string acl = rig.ec2("CreateNetworkAcl", {{"VpcId", vpc}})["NetworkAcl"]["NetworkAclId"];
      for (bool egress : {true, false}) {
        rig.ec2("CreateNetworkAclEntry", {{"NetworkAclId", acl},
                                          {"RuleNumber", 90},
                                          {"Protocol", "udp"},
                                          {"RuleAction", "deny"},
                                          {"Egress", egress},
                                          {"CidrBlock", "0.0.0.0/0"},
                                          {"PortRange", {{"From", 5001}, {"To", 5001}}}});
        rig.ec2("CreateNetworkAclEntry", {{"NetworkAclId", acl},
                                          {"RuleNumber", 100},
                                          {"Protocol", "-1"},
                                          {"RuleAction", "allow"},
                                          {"Egress", egress},
                                          {"CidrBlock", "0.0.0.0/0"}});
      }
      associate(*sn, acl);
      (sn == &s1 ? acl1 : acl2) = acl;
    }
  }
  void associate(const std::string& subnet, const std::string& acl) {
    auto acls = rig.ec2("DescribeNetworkAcls",
                        {{"Filters", {{{"Name", "association.subnet-id"}, {"Values", {subnet}}}}}})["NetworkAcls"];
    for (const auto& as : acls[0]["Associations"])
      if (as["SubnetId"] == subnet)
        rig.ec2("ReplaceNetworkAclAssociation",
                {{"AssociationId", as["NetworkAclAssociationId"]}, {"NetworkAclId", acl}});
  }
  void entry(const std::string& acl, int number, bool egress, bool allow, int from, int to) {
    rig.ec2("CreateNetworkAclEntry", {{"NetworkAclId", acl},
                                      {"RuleNumber", number},
                                      {"Protocol", "udp"},
                                      {"RuleAction", allow ? "allow" : "deny"},
                                      {"Egress", egress},
                                      {"CidrBlock", "0.0.0.0/0"},
                                      {"PortRange", {{"From", from}, {"To", to}}}});
  }
  // n frames from `from` to `to`'s UDP port, routed when in another subnet.
  uint32_t send(uint16_t from, uint16_t to, uint16_t port, uint32_t n, bool routed) {
    const auto& f = rig.table().get(from).cfg;
    const auto& t = rig.table().get(to).cfg;
    rig.set_frames(from, {udp_frame(routed ? kRouterMac : t.mac.data(), f.mac.data(), f.ip, t.ip, port)});
    const uint32_t sent = rig.send(from, n);
    while (rig.tx_pending(from)) rig.burst(from);
    return sent;
  }
  uint64_t tx_drops(uint16_t id, int reason) { return rig.port(id).rt->txq[0].c.drops[reason]; }
  uint64_t rx_drops(uint16_t id, int reason) { return rig.port(id).rt->rxq[0].c.drops[reason]; }
};

TEST(NetworkAclStage, TheSendersOutboundAclDropsWhatLeavesItsSubnet) {
  AclWorld w;
  EXPECT_EQ(w.send(w.a, w.b, 5000, 10, true), 10u);
  EXPECT_EQ(w.rig.drain_rx(w.b), 10u) << "the ACLs and the group allow 5000";
  EXPECT_EQ(w.send(w.a, w.b, 5001, 10, true), 10u);
  EXPECT_EQ(w.rig.drain_rx(w.b), 0u);
  EXPECT_EQ(w.tx_drops(w.a, VENIC_DROP_NACL_EGRESS), 10u) << "every frame counted at the sender";
  EXPECT_EQ(w.rx_drops(w.b, VENIC_DROP_NACL_INGRESS), 0u);
}

TEST(NetworkAclStage, TheReceiversInboundAclDropsBeforeItsGroups) {
  AclWorld w;
  // A's subnet lets 5001 out now (an earlier number), B's still denies it in.
  w.entry(w.acl1, 80, true, true, 5001, 5001);
  EXPECT_EQ(w.send(w.a, w.b, 5001, 10, true), 10u);
  EXPECT_EQ(w.rig.drain_rx(w.b), 0u);
  EXPECT_EQ(w.rx_drops(w.b, VENIC_DROP_NACL_INGRESS), 10u);
  EXPECT_EQ(w.rx_drops(w.b, VENIC_DROP_SG_INGRESS), 0u) << "the ACL judged first";
  EXPECT_EQ(w.tx_drops(w.a, VENIC_DROP_NACL_EGRESS), 0u);
}

TEST(NetworkAclStage, AnAclAllowDoesNotBypassTheGroup) {
  AclWorld w;
  EXPECT_EQ(w.send(w.a, w.b, 5002, 10, true), 10u);  // the ACLs allow it, the group does not
  EXPECT_EQ(w.rig.drain_rx(w.b), 0u);
  EXPECT_EQ(w.rx_drops(w.b, VENIC_DROP_SG_INGRESS), 10u);
  EXPECT_EQ(w.rx_drops(w.b, VENIC_DROP_NACL_INGRESS), 0u);
}

TEST(NetworkAclStage, TrafficWithinOneSubnetIgnoresTheAcl) {
  AclWorld w;
  EXPECT_EQ(w.send(w.a, w.c, 5001, 10, false), 10u);  // switched
  EXPECT_EQ(w.rig.drain_rx(w.c), 10u);
  EXPECT_EQ(w.send(w.a, w.c, 5001, 10, true), 10u);  // through the router, still inside
  EXPECT_EQ(w.rig.drain_rx(w.c), 10u);
  EXPECT_EQ(w.tx_drops(w.a, VENIC_DROP_NACL_EGRESS), 0u);
  EXPECT_EQ(w.rx_drops(w.c, VENIC_DROP_NACL_INGRESS), 0u);
}

TEST(NetworkAclStage, TheDefaultAclAllowsAllAndAReplacedOneTakesEffect) {
  AclWorld w;
  // Back to the default ACL: 5001 passes both ways.
  auto dflt = w.rig.ec2("DescribeNetworkAcls", {{"Filters", {{{"Name", "default"}, {"Values", {"true"}}}}}});
  const std::string d = dflt["NetworkAcls"][0]["NetworkAclId"];
  w.associate(w.s1, d);
  w.associate(w.s2, d);
  EXPECT_EQ(w.send(w.a, w.b, 5001, 10, true), 10u);
  EXPECT_EQ(w.rig.drain_rx(w.b), 10u);
  // A deny-all entry before rule 100 in the default ACL.
  w.rig.ec2("CreateNetworkAclEntry", {{"NetworkAclId", d},
                                      {"RuleNumber", 1},
                                      {"Protocol", "-1"},
                                      {"RuleAction", "deny"},
                                      {"Egress", false},
                                      {"CidrBlock", "10.7.1.0/24"}});
  EXPECT_EQ(w.send(w.a, w.b, 5000, 10, true), 10u);
  EXPECT_EQ(w.rig.drain_rx(w.b), 0u);
  EXPECT_EQ(w.rx_drops(w.b, VENIC_DROP_NACL_INGRESS), 10u);
}

TEST(NetworkAclStage, GatewayFramesAreJudgedTheServicesAnswersAreNot) {
  AclWorld w;
  // B's subnet: nothing in at all (its ACL's entries replaced by a deny).
  w.rig.ec2("ReplaceNetworkAclEntry", {{"NetworkAclId", w.acl2},
                                       {"RuleNumber", 100},
                                       {"Protocol", "-1"},
                                       {"RuleAction", "deny"},
                                       {"Egress", false},
                                       {"CidrBlock", "0.0.0.0/0"}});
  const auto& cb = w.rig.table().get(w.b).cfg;
  // The time service's answer (169.254.169.123) is the VPC's own.
  auto ntp = udp_frame(cb.mac.data(), kRouterMac, 0xa9fea97b, cb.ip, 5000);
  EXPECT_TRUE(deliver_from_services(w.rig.snapshot(), w.b, ntp.data(), static_cast<uint32_t>(ntp.size())));
  EXPECT_EQ(w.rig.drain_rx(w.b), 1u);
  // What an internet gateway injects comes from outside the subnet.
  auto web = udp_frame(cb.mac.data(), kRouterMac, 0x08080808, cb.ip, 5000);
  deliver_from_services(w.rig.snapshot(), w.b, web.data(), static_cast<uint32_t>(web.size()));
  EXPECT_EQ(w.rig.drain_rx(w.b), 0u);
  EXPECT_EQ(w.rx_drops(w.b, VENIC_DROP_NACL_INGRESS), 1u);
}

// The attack: what the internet sends to an instance's Elastic IP is judged
// by its groups (and conntrack) as any other traffic from outside, never
// let through as the VPC's own services' answers are.
TEST(NetworkAclStage, InternetFramesMeetTheReceiversGroups) {
  AclWorld w;
  const auto& cb = w.rig.table().get(w.b).cfg;
  // UDP 5000 from 8.8.8.8: the ACL allows it, the group (10.7.0.0/16 only) does not.
  auto web = udp_frame(cb.mac.data(), kRouterMac, 0x08080808, cb.ip, 5000);
  deliver_from_services(w.rig.snapshot(), w.b, web.data(), static_cast<uint32_t>(web.size()), InjectFrom::kInternet);
  EXPECT_EQ(w.rig.drain_rx(w.b), 0u);
  EXPECT_EQ(w.rx_drops(w.b, VENIC_DROP_SG_INGRESS), 1u);
  // The services' answers stay the VPC's own (no group judges them).
  auto ntp = udp_frame(cb.mac.data(), kRouterMac, 0xa9fea97b, cb.ip, 5000);
  EXPECT_TRUE(deliver_from_services(w.rig.snapshot(), w.b, ntp.data(), static_cast<uint32_t>(ntp.size())));
  EXPECT_EQ(w.rig.drain_rx(w.b), 1u);
}

}  // namespace
}  // namespace venic::fastpath
