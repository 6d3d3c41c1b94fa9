// Route tables in the fast path: the compiled table's longest-prefix match
// (fastpath/route_table.h, DPDK's RIB), and the VPC router following it over
// the in-process rig (tools/worker-bench/port_rig.h): a NAT instance as a
// subnet's default route, peering without transitive routing, blackholes.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "port_rig.h"
#include "route_table.h"
#include "snapshot.h"
#include "venic_abi.h"

namespace venic::fastpath {
namespace {

using Kind = vf::RouteTarget::Kind;
using nlohmann::json;

class Eal : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(bench::init_eal("route_fastpath_test")); }
};
const auto* const kEal = ::testing::AddGlobalTestEnvironment(new Eal);

vf::Route route(const std::string& cidr, vf::RouteTarget t) {
  vf::Route r;
  vf::SgRule peer;
  if (!vf::parse_peer(cidr, peer)) throw std::runtime_error("bad CIDR " + cidr);
  r.dst.family = peer.family;
  r.dst.addr = peer.addr;
  r.dst.prefix = peer.prefix;
  r.target = t;
  return r;
}
vf::RouteTarget local() {
  return {};
}
vf::RouteTarget eni(uint16_t vf) {
  vf::RouteTarget t;
  t.kind = Kind::kEni;
  t.vf = vf;
  return t;
}
vf::RouteTarget peering(const std::string& vpc) {
  vf::RouteTarget t;
  t.kind = Kind::kPeering;
  t.vpc = vpc;
  return t;
}
vf::RouteTarget blackhole() {
  vf::RouteTarget t;
  t.kind = Kind::kBlackhole;
  return t;
}
uint32_t ip4(const char* s) {
  in_addr a{};
  inet_pton(AF_INET, s, &a);
  return ntohl(a.s_addr);
}
std::array<uint8_t, 16> ip6(const char* s) {
  std::array<uint8_t, 16> a{};
  inet_pton(AF_INET6, s, a.data());
  return a;
}
uint16_t numbers(const std::string& vpc) {
  return vpc == "vpc-b" ? 2 : 0;
}

// ---- longest-prefix match -------------------------------------------------------

TEST(RouteTableLpm, TheLongestPrefixWins) {
  RouteTable t({route("10.0.0.0/16", local()), route("0.0.0.0/0", eni(5)), route("10.0.5.0/24", eni(6)),
                route("10.0.5.7/32", blackhole())},
               numbers);
  EXPECT_EQ(t.lookup4(ip4("10.0.1.1"))->kind, Kind::kLocal);
  EXPECT_EQ(t.lookup4(ip4("8.8.8.8"))->kind, Kind::kEni);
  EXPECT_EQ(t.lookup4(ip4("8.8.8.8"))->vf, 5) << "the /0 default route";
  EXPECT_EQ(t.lookup4(ip4("10.0.5.1"))->vf, 6) << "a route more specific than the local one";
  EXPECT_EQ(t.lookup4(ip4("10.0.5.7"))->kind, Kind::kBlackhole) << "a /32";
  EXPECT_EQ(t.lookup4(ip4("10.0.5.8"))->vf, 6);
}

TEST(RouteTableLpm, NoMatchWithoutADefaultRoute) {
  RouteTable t({route("10.0.0.0/16", local()), route("192.168.0.0/16", peering("vpc-b")),
                route("172.16.0.0/12", peering("vpc-unknown"))},
               numbers);
  EXPECT_EQ(t.lookup4(ip4("8.8.8.8")), nullptr);
  const RouteHop* h = t.lookup4(ip4("192.168.3.4"));
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->kind, Kind::kPeering);
  EXPECT_EQ(h->vpc, 2);
  EXPECT_EQ(t.lookup4(ip4("172.20.0.1"))->kind, Kind::kBlackhole) << "a peer VPC the snapshot does not know";
}

TEST(RouteTableLpm, Ipv6RoutesAndFamiliesWithLocalRoutesOnly) {
  RouteTable t({route("10.0.0.0/16", local()), route("2600:1f18:1:100::/56", local()), route("::/0", eni(7)),
                route("2001:db8::/32", blackhole())},
               numbers);
  const auto inside = ip6("2600:1f18:1:1aa::5"), outside = ip6("2a00::1"), dead = ip6("2001:db8:1::1");
  EXPECT_EQ(t.lookup6(inside.data())->kind, Kind::kLocal);
  EXPECT_EQ(t.lookup6(outside.data())->vf, 7);
  EXPECT_EQ(t.lookup6(dead.data())->kind, Kind::kBlackhole);
  // IPv4 has local routes only here: its lookups are the local hop, whatever the address.
  EXPECT_EQ(t.lookup4(ip4("8.8.8.8"))->kind, Kind::kLocal);
  EXPECT_FALSE(RouteTable::needed({route("10.0.0.0/16", local()), route("2600:1f18:1:100::/56", local())}));
  EXPECT_TRUE(RouteTable::needed({route("10.0.0.0/16", local()), route("0.0.0.0/0", blackhole())}));
}

TEST(RouteTableLpm, GatewayIdsAreCopiedIntoTheHop) {
  vf::RouteTarget igw;
  igw.kind = Kind::kInternetGateway;
  igw.gateway = "igw-0123456789abcdef0";
  vf::RouteTarget too_long = igw;
  too_long.gateway = std::string(40, 'x');
  RouteTable t({route("0.0.0.0/0", igw), route("1.0.0.0/8", too_long)}, numbers);
  EXPECT_STREQ(t.lookup4(ip4("8.8.8.8"))->gateway, "igw-0123456789abcdef0");
  EXPECT_EQ(t.lookup4(ip4("1.1.1.1"))->kind, Kind::kBlackhole);
}

TEST(RouteTableLpm, ManyTablesLiveAtOnceAndAreRebuilt) {
  // Every snapshot compiles its own: the same routes twice, and again after one went.
  const std::vector<vf::Route> routes = {route("10.0.0.0/16", local()), route("0.0.0.0/0", eni(1))};
  std::vector<std::unique_ptr<RouteTable>> live;
  for (int i = 0; i < 64; i++) live.push_back(std::make_unique<RouteTable>(routes, numbers));
  live.erase(live.begin());
  live.push_back(std::make_unique<RouteTable>(
      std::vector<vf::Route>{route("10.0.0.0/16", local()), route("0.0.0.0/0", eni(9))}, numbers));
  EXPECT_EQ(live.front()->lookup4(ip4("8.8.8.8"))->vf, 1);
  EXPECT_EQ(live.back()->lookup4(ip4("8.8.8.8"))->vf, 9);
}

// ---- the VPC router over the rig -------------------------------------------------

std::vector<uint8_t> udp_to_router(const vf::VfConfig& from, uint32_t dst) {
  std::vector<uint8_t> f(64, 0);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
  const uint8_t router[6] = {0x02, 0x76, 0x70, 0x63, 0x00, 0x01};
  std::memcpy(&eth->dst_addr, router, 6);
  std::memcpy(&eth->src_addr, from.mac.data(), 6);
  eth->ether_type = htons(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = htons(static_cast<uint16_t>(f.size() - sizeof(rte_ether_hdr)));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = htonl(from.ip);
  ip->dst_addr = htonl(dst);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* u = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  u->src_port = htons(4000);
  u->dst_port = htons(9);
  u->dgram_len = htons(static_cast<uint16_t>(f.size() - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr)));
  return f;
}

struct Net {
  bench::PortRig rig;
  std::string vpc(const std::string& cidr) { return rig.ec2("CreateVpc", {{"CidrBlock", cidr}})["Vpc"]["VpcId"]; }
  std::string subnet(const std::string& v, const std::string& cidr) {
    return rig.ec2("CreateSubnet",
                   {{"VpcId", v}, {"CidrBlock", cidr}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"];
  }
  // An instance whose VF is started; everything in from the VPCs' addresses.
  json instance(const std::string& sn) {
    json in = rig.ec2("RunInstances", {{"InstanceType", "c5.large"}, {"SubnetId", sn}})["Instances"][0];
    rig.start(vf_of(in));
    return in;
  }
  static uint16_t vf_of(const json& in) { return in["NetworkInterfaces"][0]["VenicVfId"].get<uint16_t>(); }
  void open_default_group(const std::string& v) {
    const json g = rig.ec2("DescribeSecurityGroups", {{"Filters", {{{"Name", "vpc-id"}, {"Values", {v}}}}}});
    rig.ec2("AuthorizeSecurityGroupIngress",
            {{"GroupId", g["SecurityGroups"][0]["GroupId"]},
             {"IpPermissions", {{{"IpProtocol", "-1"}, {"IpRanges", {{{"CidrIp", "10.0.0.0/8"}}}}}}}});
  }
  std::string main_table(const std::string& v) {
    return rig.ec2("DescribeRouteTables",
                   {{"Filters", {{{"Name", "vpc-id"}, {"Values", {v}}}}}})["RouteTables"][0]["RouteTableId"];
  }
  std::string peer(const std::string& a, const std::string& b) {
    const std::string pcx = rig.ec2("CreateVpcPeeringConnection",
                                    {{"VpcId", a}, {"PeerVpcId", b}})["VpcPeeringConnection"]["VpcPeeringConnectionId"];
    rig.ec2("AcceptVpcPeeringConnection", {{"VpcPeeringConnectionId", pcx}});
    return pcx;
  }
  // VF from sends n frames to dst through the router; returns how many `to` took.
  uint32_t send(uint16_t from, uint32_t dst, uint16_t to, uint32_t n = 8) {
    rig.set_frames(from, {udp_to_router(rig.table().get(from).cfg, dst)});
    rig.send(from, n);
    while (rig.tx_pending(from)) rig.burst(from);
    return rig.drain_rx(to);
  }
  uint64_t tx_drops(uint16_t vf, int reason) { return rig.port(vf).rt->txq[0].c.drops[reason]; }
  uint64_t rx_drops(uint16_t vf, int reason) { return rig.port(vf).rt->rxq[0].c.drops[reason]; }
};

// The attack: a tenant's subnets, each with its own route table, until DPDK's
// memzones would be spent (about 850 tables did it, and the snapshot's own
// hash tables then failed: nothing was published any more).  Past
// kMaxRouteTables a subnet keeps its local routes; the snapshot is built and
// published, so every other change still takes effect.
TEST(VpcRouterRoutes, ManyRouteTablesNeverStopThePublication) {
  Net n;
  const std::string v = n.vpc("10.0.0.0/16");
  const std::string a_sn = n.subnet(v, "10.0.0.0/24"), b_sn = n.subnet(v, "10.0.1.0/24");
  n.open_default_group(v);
  const json a = n.instance(a_sn), b = n.instance(b_sn);
  vf::Network net = *n.rig.table().network();
  const std::vector<vf::Route> routes = {route("10.0.0.0/16", local()), route("0.0.0.0/0", eni(Net::vf_of(b)))};
  for (uint32_t i = 0; i < 1000; i++) {
    vf::SubnetNetwork sn;
    sn.id = "subnet-hog" + std::to_string(i);
    sn.addr = ip4("10.0.128.0") + i * 16;
    sn.prefix = 28;
    sn.routes = routes;
    net.vpcs.at(v).subnets.push_back(sn);
  }
  EXPECT_NO_THROW(n.rig.table().set_network(net));
  EXPECT_EQ(n.rig.snapshot().route_tables_failed(), 1000u - Snapshot::kMaxRouteTables);
  // And again (two snapshots alive), and traffic across subnets still flows.
  net.vpcs.at(v).subnets.pop_back();
  EXPECT_NO_THROW(n.rig.table().set_network(net));
  EXPECT_EQ(n.send(Net::vf_of(a), n.rig.table().get(Net::vf_of(b)).cfg.ip, Net::vf_of(b)), 8u);
}

TEST(VpcRouterRoutes, ANatInstanceIsThePrivateSubnetsDefaultRoute) {
  Net n;
  const std::string v = n.vpc("10.0.0.0/16");
  const std::string pub = n.subnet(v, "10.0.0.0/24"), priv = n.subnet(v, "10.0.1.0/24");
  n.open_default_group(v);
  const json nat = n.instance(pub), inner = n.instance(priv);
  const uint16_t nat_vf = Net::vf_of(nat), a = Net::vf_of(inner);
  const std::string rtb = n.rig.ec2("CreateRouteTable", {{"VpcId", v}})["RouteTable"]["RouteTableId"];
  n.rig.ec2("AssociateRouteTable", {{"RouteTableId", rtb}, {"SubnetId", priv}});
  n.rig.ec2("CreateRoute",
            {{"RouteTableId", rtb}, {"DestinationCidrBlock", "0.0.0.0/0"}, {"InstanceId", nat["InstanceId"]}});
  ASSERT_NE(n.rig.port(a).net, nullptr);
  ASSERT_NE(n.rig.port(a).net->routes, nullptr);
  EXPECT_EQ(n.rig.port(nat_vf).net->routes, nullptr) << "the public subnet's main table has its local route only";

  // The NAT instance's source/destination check drops what is not for it.
  EXPECT_EQ(n.send(a, ip4("8.8.8.8"), nat_vf), 0u);
  EXPECT_EQ(n.rx_drops(nat_vf, VENIC_DROP_DST_CHECK) + n.tx_drops(a, VENIC_DROP_DST_CHECK), 8u);
  // With it off, the frames arrive, for the router's next hop: its MAC, one hop less.
  n.rig.ec2("ModifyNetworkInterfaceAttribute",
            {{"NetworkInterfaceId", nat["NetworkInterfaces"][0]["NetworkInterfaceId"]},
             {"SourceDestCheck", {{"Value", false}}}});
  n.rig.set_frames(a, {udp_to_router(n.rig.table().get(a).cfg, ip4("8.8.8.8"))});
  n.rig.send(a, 1);
  while (n.rig.tx_pending(a)) n.rig.burst(a);
  const std::vector<uint8_t> got = n.rig.recv(nat_vf);
  ASSERT_GE(got.size(), 34u);
  EXPECT_EQ(std::memcmp(got.data(), n.rig.table().get(nat_vf).cfg.mac.data(), 6), 0);
  EXPECT_EQ(got[22], 63) << "TTL";
  uint32_t dst;
  std::memcpy(&dst, got.data() + 30, 4);
  EXPECT_EQ(ntohl(dst), ip4("8.8.8.8"));
  // Inside the VPC, the local route still wins.
  const json other = n.instance(pub);
  EXPECT_EQ(n.send(a, n.rig.table().get(Net::vf_of(other)).cfg.ip, Net::vf_of(other)), 8u);

  // Stopped, its route stays active, but its VF has no link: the frames are lost there.
  n.rig.ec2("StopInstances", {{"InstanceIds", {nat["InstanceId"]}}});
  n.send(a, ip4("8.8.8.8"), a);
  EXPECT_EQ(n.tx_drops(a, VENIC_DROP_RX_DOWN), 8u);
  // The NAT instance terminated: its route is a blackhole.
  n.rig.ec2("TerminateInstances", {{"InstanceIds", {nat["InstanceId"]}}});
  n.send(a, ip4("8.8.8.8"), a);
  EXPECT_EQ(n.tx_drops(a, VENIC_DROP_BLACKHOLE), 8u);
}

TEST(VpcRouterRoutes, PeeringRoutesButNeverTransitively) {
  Net n;
  const std::string va = n.vpc("10.0.0.0/16"), vb = n.vpc("10.1.0.0/16"), vc = n.vpc("10.2.0.0/16");
  for (const auto& v : {va, vb, vc}) n.open_default_group(v);
  const json ia = n.instance(n.subnet(va, "10.0.1.0/24")), ib = n.instance(n.subnet(vb, "10.1.1.0/24")),
             ic = n.instance(n.subnet(vc, "10.2.1.0/24"));
  const uint16_t a = Net::vf_of(ia), b = Net::vf_of(ib), c = Net::vf_of(ic);
  const uint32_t ip_b = n.rig.table().get(b).cfg.ip, ip_c = n.rig.table().get(c).cfg.ip;
  // Without a route, the peer VPC is no route away.
  EXPECT_EQ(n.send(a, ip_b, b), 0u);
  EXPECT_EQ(n.tx_drops(a, VENIC_DROP_NO_ROUTE), 8u);
  const std::string ab = n.peer(va, vb), bc = n.peer(vb, vc);
  auto add = [&](const std::string& v, const std::string& cidr, const std::string& pcx) {
    n.rig.ec2("CreateRoute",
              {{"RouteTableId", n.main_table(v)}, {"DestinationCidrBlock", cidr}, {"VpcPeeringConnectionId", pcx}});
  };
  add(va, "10.1.0.0/16", ab);
  add(vb, "10.0.0.0/16", ab);
  add(vb, "10.2.0.0/16", bc);
  add(vc, "10.1.0.0/16", bc);
  add(va, "10.2.0.0/16", ab);  // C through B: what peering does not carry
  EXPECT_EQ(n.send(a, ip_b, b), 8u);
  EXPECT_EQ(n.send(b, n.rig.table().get(a).cfg.ip, a), 8u);
  EXPECT_EQ(n.send(b, ip_c, c), 8u);
  const uint64_t before = n.tx_drops(a, VENIC_DROP_NO_ROUTE);
  EXPECT_EQ(n.send(a, ip_c, c), 0u);
  EXPECT_EQ(n.tx_drops(a, VENIC_DROP_NO_ROUTE) - before, 8u) << "C is looked up in B only, where it is not";
  // The peering deleted: its routes are blackholes.
  n.rig.ec2("DeleteVpcPeeringConnection", {{"VpcPeeringConnectionId", ab}});
  EXPECT_EQ(n.send(a, ip_b, b), 0u);
  EXPECT_EQ(n.tx_drops(a, VENIC_DROP_BLACKHOLE), 8u);
}

}  // namespace
}  // namespace venic::fastpath
