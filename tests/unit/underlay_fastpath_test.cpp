// ENIs on other hosts in the fast path (docs/multi-host.md): what a local
// ENI sends to one leaves through the underlay port with the VPC's VNI and
// the host's address; what arrives from the underlay is taken only from the
// host that owns the inner source, answered when it is ARP, and delivered
// through the receiver's checks (groups) as a local sender's packet is.
// Over the in-process rig (tools/worker-bench/port_rig.h).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>
#include <string>
#include <vector>

#include "port_rig.h"
#include "route_switch.h"
#include "snapshot.h"
#include "underlay_ingress.h"
#include "underlay_port.h"
#include "worker.h"

namespace venic::fastpath {
namespace {

using nlohmann::json;

class Eal : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(bench::init_eal("underlay_fastpath_test")); }
};
const auto* const kEal = ::testing::AddGlobalTestEnvironment(new Eal);

uint32_t ip4(const char* s) {
  in_addr a{};
  inet_pton(AF_INET, s, &a);
  return ntohl(a.s_addr);
}

constexpr uint32_t kVni = 4242;
const vf::MacAddr kRemoteMac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
const vf::MacAddr kHostMac = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
const uint8_t kRouter[6] = {0x02, 0x76, 0x70, 0x63, 0x00, 0x01};

std::vector<uint8_t> udp(const uint8_t* dst_mac, const uint8_t* src_mac, uint32_t src, uint32_t dst,
                         uint16_t dport = 9) {
  std::vector<uint8_t> f(64, 0);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
  std::memcpy(&eth->dst_addr, dst_mac, 6);
  std::memcpy(&eth->src_addr, src_mac, 6);
  eth->ether_type = htons(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = htons(static_cast<uint16_t>(f.size() - sizeof(rte_ether_hdr)));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = htonl(src);
  ip->dst_addr = htonl(dst);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* u = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  u->src_port = htons(4000);
  u->dst_port = htons(dport);
  u->dgram_len = htons(static_cast<uint16_t>(f.size() - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr)));
  return f;
}

std::vector<uint8_t> arp_request(const uint8_t* src_mac, uint32_t sender, uint32_t target) {
  std::vector<uint8_t> f(60, 0);
  std::memset(f.data(), 0xff, 6);
  std::memcpy(f.data() + 6, src_mac, 6);
  f[12] = 0x08, f[13] = 0x06;
  uint8_t* a = f.data() + 14;
  a[1] = 1, a[2] = 0x08, a[4] = 6, a[5] = 4, a[7] = 1;
  std::memcpy(a + 8, src_mac, 6);
  const uint32_t s = htonl(sender), t = htonl(target);
  std::memcpy(a + 14, &s, 4);
  std::memcpy(a + 24, &t, 4);
  return f;
}

// What the workers would hand the uplink.
struct CapturePort : UnderlayPort {
  struct Sent {
    uint32_t vni, host;
    std::vector<uint8_t> frame;
  };
  std::vector<Sent> sent;
  bool offer(uint16_t, const RemoteView& to, const uint8_t* f, uint32_t len) override {
    sent.push_back({to.vni, to.host_ip, {f, f + len}});
    return true;
  }
  void flush() override {}
  void attach_worker(unsigned) override {}
  uint32_t poll(const Snapshot&) override { return 0; }
};

class Underlay : public ::testing::Test {
 protected:
  bench::PortRig rig;
  CapturePort capture;
  std::string vpc, subnet, group;
  uint16_t local = 0;
  vf::VfConfig local_cfg;
  const uint32_t host_b = ip4("100.64.78.2"), stranger = ip4("100.64.78.9");
  const uint32_t remote_ip = ip4("10.0.1.200");

  void SetUp() override {
    vpc = rig.ec2("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}})["Vpc"]["VpcId"];
    subnet = rig.ec2(
        "CreateSubnet",
        {{"VpcId", vpc}, {"CidrBlock", "10.0.1.0/24"}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"];
    const json in = rig.ec2("RunInstances", {{"InstanceType", "c5.large"}, {"SubnetId", subnet}})["Instances"][0];
    local = in["NetworkInterfaces"][0]["VenicVfId"].get<uint16_t>();
    group = rig.ec2("DescribeSecurityGroups",
                    {{"Filters", {{{"Name", "vpc-id"}, {"Values", {vpc}}}}}})["SecurityGroups"][0]["GroupId"];
    open_udp(9);
    rig.start(local);
    local_cfg = rig.table().get(local).cfg;
    add_remote_host();
    route_use_underlay_port(&capture);
  }
  void TearDown() override { route_use_underlay_port(nullptr); }

  void open_udp(int port) {
    rig.ec2("AuthorizeSecurityGroupIngress", {{"GroupId", group},
                                              {"IpPermissions",
                                               {{{"IpProtocol", "udp"},
                                                 {"FromPort", port},
                                                 {"ToPort", port},
                                                 {"IpRanges", {{{"CidrIp", "10.0.0.0/8"}}}}}}}});
  }
  // Host B runs an ENI of the subnet at remote_ip (what the model would publish).
  void add_remote_host() {
    vf::Network net = *rig.table().network();
    net.vpcs.at(vpc).vni = kVni;
    net.hosts["b"] = {"b", host_b, kHostMac};
    vf::RemoteEni e;
    e.eni_id = "eni-remote";
    e.vpc_id = vpc;
    e.subnet_id = subnet;
    e.host = "b";
    e.mac = kRemoteMac;
    e.ip = remote_ip;
    e.subnet_addr = ip4("10.0.1.0");
    e.prefix = 24;
    net.remote.push_back(e);
    rig.table().set_network(net);
  }
  UnderlayArrival arrive(uint32_t vni, uint32_t outer_src, const std::vector<uint8_t>& inner) {
    return underlay_arrival(rig.snapshot(), vni, outer_src, inner.data(), static_cast<uint32_t>(inner.size()), answer);
  }
  uint8_t answer[kAnswerMax];
};

TEST_F(Underlay, ARemoteEniIsReachedThroughTheUnderlayWithItsVpcsVni) {
  // Switched (same subnet, the remote ENI's MAC) and routed (to the router's MAC).
  rig.set_frames(local, {udp(kRemoteMac.data(), local_cfg.mac.data(), local_cfg.ip, remote_ip),
                         udp(kRouter, local_cfg.mac.data(), local_cfg.ip, remote_ip)});
  rig.send(local, 2);
  while (rig.tx_pending(local)) rig.burst(local);
  ASSERT_EQ(capture.sent.size(), 2u);
  for (const auto& s : capture.sent) {
    EXPECT_EQ(s.vni, kVni);
    EXPECT_EQ(s.host, host_b);
    EXPECT_EQ(std::memcmp(s.frame.data(), kRemoteMac.data(), 6), 0) << "the inner frame is for the ENI's MAC";
  }
  EXPECT_EQ(capture.sent[1].frame[14 + 8], 63) << "routed: one hop less";
}

TEST_F(Underlay, ARouteToAnEniOnAnotherHostTunnelsToIt) {
  // A NAT instance's ENI on host B as the subnet's default route.
  vf::Network net = *rig.table().network();
  vf::Route r;
  r.dst.family = 4;
  r.dst.prefix = 0;
  r.target.kind = vf::RouteTarget::Kind::kEni;
  r.target.vf = local;  // what must not matter: the VF id is host A's
  r.target.remote_ip = remote_ip;
  for (auto& sn : net.vpcs.at(vpc).subnets) sn.routes.push_back(r);
  rig.table().set_network(net);
  rig.set_frames(local, {udp(kRouter, local_cfg.mac.data(), local_cfg.ip, ip4("8.8.8.8"))});
  rig.send(local, 1);
  while (rig.tx_pending(local)) rig.burst(local);
  ASSERT_EQ(capture.sent.size(), 1u);
  EXPECT_EQ(capture.sent[0].host, host_b);
  EXPECT_EQ(std::memcmp(capture.sent[0].frame.data(), kRemoteMac.data(), 6), 0);
  EXPECT_EQ(rig.drain_rx(local), 0u) << "never the local VF with the same id";
}

TEST_F(Underlay, WhatTheOwnerHostSendsIsDeliveredThroughTheGroups) {
  const auto frame = udp(local_cfg.mac.data(), kRemoteMac.data(), remote_ip, local_cfg.ip);
  const UnderlayArrival a = arrive(kVni, host_b, frame);
  ASSERT_EQ(a.kind, UnderlayArrival::Kind::kDeliver);
  ASSERT_NE(a.from, nullptr);
  EXPECT_TRUE(deliver_from_underlay(*a.dst, a.from, frame.data(), static_cast<uint32_t>(frame.size())));
  EXPECT_EQ(rig.drain_rx(local), 1u);
  // A port the group does not open: planned, judged, not delivered.
  const auto closed = udp(local_cfg.mac.data(), kRemoteMac.data(), remote_ip, local_cfg.ip, 7777);
  const UnderlayArrival b = arrive(kVni, host_b, closed);
  ASSERT_EQ(b.kind, UnderlayArrival::Kind::kDeliver);
  deliver_from_underlay(*b.dst, b.from, closed.data(), static_cast<uint32_t>(closed.size()));
  EXPECT_EQ(rig.drain_rx(local), 0u) << "the receiver's security group holds across hosts";
  EXPECT_EQ(rig.table().get(local).rt->rxq[0].c.drops[VENIC_DROP_SG_INGRESS], 1u);
}

TEST_F(Underlay, NoHostSpeaksForAnothersEnis) {
  const auto frame = udp(local_cfg.mac.data(), kRemoteMac.data(), remote_ip, local_cfg.ip);
  EXPECT_EQ(arrive(kVni, stranger, frame).drop, UnderlayDrop::kSpoofed) << "the right ENI from the wrong host";
  // Host B claiming this host's own ENI as the source.
  const auto own = udp(local_cfg.mac.data(), kRemoteMac.data(), local_cfg.ip, local_cfg.ip);
  EXPECT_EQ(arrive(kVni, host_b, own).drop, UnderlayDrop::kSpoofed);
  // An address no ENI has: only a host with a NAT instance (no src/dst check) may forward it.
  const auto forwarded = udp(local_cfg.mac.data(), kRemoteMac.data(), ip4("8.8.8.8"), local_cfg.ip);
  EXPECT_EQ(arrive(kVni, host_b, forwarded).drop, UnderlayDrop::kSpoofed);
  EXPECT_EQ(arrive(kVni + 1, host_b, frame).drop, UnderlayDrop::kUnknownVni);
  const auto elsewhere = udp(local_cfg.mac.data(), kRemoteMac.data(), remote_ip, ip4("10.0.1.99"));
  EXPECT_EQ(arrive(kVni, host_b, elsewhere).drop, UnderlayDrop::kNoDestination);
  const std::vector<uint8_t> runt(10, 0);
  EXPECT_EQ(arrive(kVni, host_b, runt).kind, UnderlayArrival::Kind::kDrop);
}

TEST_F(Underlay, ArpFromAnotherHostIsAnsweredWithTheEnisMac) {
  const UnderlayArrival a = arrive(kVni, host_b, arp_request(kRemoteMac.data(), remote_ip, local_cfg.ip));
  ASSERT_EQ(a.kind, UnderlayArrival::Kind::kAnswer);
  EXPECT_EQ(std::memcmp(answer, kRemoteMac.data(), 6), 0);
  EXPECT_EQ(std::memcmp(answer + 6, local_cfg.mac.data(), 6), 0);
  EXPECT_EQ(arrive(kVni, stranger, arp_request(kRemoteMac.data(), remote_ip, local_cfg.ip)).drop,
            UnderlayDrop::kSpoofed);
}

}  // namespace
}  // namespace venic::fastpath
