// The worker's stages one by one, each over a hand-built burst and a fake
// port (a PortView with its own runtime, no rings, no threads), and the
// stages that need rings (fetch, route, deliver) and the whole pipeline over
// the in-process rig (tools/worker-bench/port_rig.h): real VF table and
// snapshot, drivers that are only ring indices.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>
#include <memory>
#include <vector>

#include "burst.h"
#include "conntrack.h"
#include "deliver.h"
#include "fetch.h"
#include "parse_burst.h"
#include "police.h"
#include "port_rig.h"
#include "route_switch.h"
#include "security_groups.h"
#include "shape.h"
#include "src_dst_check.h"
#include "worker.h"

namespace venic::fastpath {
namespace {

constexpr uint8_t kMacA[6] = {0x02, 0, 0, 0, 0, 0x0a};
constexpr uint8_t kMacB[6] = {0x02, 0, 0, 0, 0, 0x0b};
constexpr uint32_t kIpA = 0x0a000001, kIpB = 0x0a000002;  // 10.0.0.1, .2

std::vector<uint8_t> udp(const uint8_t* dst_mac, const uint8_t* src_mac, uint32_t src, uint32_t dst, uint16_t sport,
                         uint32_t len = 60) {
  uint8_t h[sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr)] = {};
  auto* eth = reinterpret_cast<rte_ether_hdr*>(h);
  std::memcpy(&eth->dst_addr, dst_mac, 6);
  std::memcpy(&eth->src_addr, src_mac, 6);
  eth->ether_type = htons(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = htons(static_cast<uint16_t>(len - sizeof(rte_ether_hdr)));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = htonl(src);
  ip->dst_addr = htonl(dst);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* u = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  u->src_port = htons(sport);
  u->dst_port = htons(9);
  u->dgram_len = htons(static_cast<uint16_t>(len - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr)));
  std::vector<uint8_t> f(std::max<size_t>(len, sizeof(h)), 0);
  std::memcpy(f.data(), h, sizeof(h));
  return f;
}

// A port with a runtime of its own and nothing else: what the stages that
// judge packets need.
struct FakePort {
  std::unique_ptr<vf::VfRuntime> rt = std::make_unique<vf::VfRuntime>();
  PortView view;
  FakePort(const uint8_t* mac, uint32_t ip) {
    view.vf = 1;
    std::memcpy(view.mac.data(), mac, 6);
    view.ips = {ip};
    view.subnet = ip & 0xffffff00u;
    view.prefix = 24;
    view.frame_max = 1514;
    view.rt = rt.get();
  }
};

// A burst of single-segment packets whose frames live in `frames`.
struct TestBurst {
  std::unique_ptr<Burst> b = std::make_unique<Burst>();
  std::vector<std::vector<uint8_t>> frames;
  void add(std::vector<uint8_t> f) {
    frames.push_back(std::move(f));
    BurstPacket& p = b->p[b->npkt];
    p = BurstPacket{};
    p.first = p.tx.end = b->npkt;
    p.tx.nseg = 1;
    p.tx.segs = &b->seg[b->npkt];
    p.tx.total = static_cast<uint32_t>(frames.back().size());
    p.tx.segs[0] = {frames.back().data(), p.tx.total};
    b->npkt++;
  }
  void parse() {
    // Frames moved when the vector grew: point the segments at them again.
    for (uint32_t k = 0; k < b->npkt; k++) b->p[k].tx.segs[0].ptr = frames[k].data();
    b->now = rte_rdtsc();
    parse_burst(*b);
  }
  BurstPacket& operator[](uint32_t k) { return b->p[k]; }
};

class Eal : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(bench::init_eal("pipeline_stages_test")); }
};
const auto* const kEal = ::testing::AddGlobalTestEnvironment(new Eal);

// ---- fetch and validate ----------------------------------------------------

TEST(FetchStage, JudgesDescriptorsAndSize) {
  FakePort a(kMacA, kIpA);
  TxPacket tx{};
  tx.total = 60;
  EXPECT_EQ(invalid_reason(a.view, tx), -1);
  tx.total = 13;
  EXPECT_EQ(invalid_reason(a.view, tx), VENIC_DROP_RUNT);
  tx.total = 1515;
  EXPECT_EQ(invalid_reason(a.view, tx), VENIC_DROP_OVERSIZE);
  tx.bad = true;
  EXPECT_EQ(invalid_reason(a.view, tx), VENIC_DROP_BAD_DESC) << "bad descriptors first";
}

TEST(FetchStage, AnImpossibleProducerIndexResetsTheVf) {
  bench::PortRig rig;
  vf::VfConfig c;
  c.id = 1;
  c.mac = {2, 0, 0, 0, 0, 1};
  c.queues = 1;
  rig.table().create(c, true);
  rig.start(1);
  const PortView& p = rig.port(1);
  p.q[0].tx_sq->prod = p.ring_size + 5;  // more than the ring holds
  auto b = std::make_unique<Burst>();
  EXPECT_EQ(fetch_descriptors(p, 0, *b), 0u);
  EXPECT_TRUE(p.rt->mdd_tripped.load());
}

// ---- shape ---------------------------------------------------------------------

TEST(ShapeStage, PpsHoldsTheRestOfTheBurstAndCountsEachHeldPacketOnce) {
  FakePort a(kMacA, kIpA);
  vf::Limits l;
  l.pps = 100;  // a bucket of 32 packets (the minimum depth)
  a.view.allow = vf::AllowanceProfile::make(l, rte_get_tsc_hz());
  a.view.shaped_out = true;
  a.rt->allowance.pps.refill(a.view.allow.pps, rte_rdtsc());
  auto b = std::make_unique<Burst>();
  b->ndesc = kBurstDescs;
  for (auto& d : b->d) d.flags = 0;
  b->now = rte_rdtsc();
  vf::TxqRuntime& tq = a.rt->txq[0];
  uint32_t admitted = 0;
  {
    Shaper s(a.view, tq, *b);
    while (admitted < kBurstDescs && s.admit(60, admitted)) admitted++;
    s.finish();
  }
  // A full bucket of 32, less the quarter kept for inbound traffic.
  EXPECT_EQ(admitted, 24u);
  EXPECT_EQ(tq.c.allowance[VENIC_ALLOW_PPS], 1u);
  {
    Shaper s(a.view, tq, *b);
    EXPECT_FALSE(s.admit(60, admitted)) << "the same packet is still held";
    s.finish();
  }
  EXPECT_EQ(tq.c.allowance[VENIC_ALLOW_PPS], 1u) << "and counted once";
}

// ---- parse -----------------------------------------------------------------------

TEST(ParseStage, CopiesHeadersAcrossSegments) {
  TestBurst t;
  t.add(udp(kMacB, kMacA, kIpA, kIpB, 7, 200));
  std::vector<uint8_t>& f = t.frames[0];
  for (size_t i = 42; i < f.size(); i++) f[i] = static_cast<uint8_t>(i);
  BurstPacket& p = t[0];
  p.tx.nseg = 3;  // 10 + 30 + the rest: the header spans three segments
  Segment segs[3];
  p.tx.segs = segs;
  t.b->now = rte_rdtsc();
  p.tx.segs[0] = {f.data(), 10};
  p.tx.segs[1] = {f.data() + 10, 30};
  p.tx.segs[2] = {f.data() + 40, 160};
  parse_burst(*t.b);
  EXPECT_EQ(p.hdr_len, kHeaderCopy);
  EXPECT_EQ(std::memcmp(p.hdr, f.data(), kHeaderCopy), 0);
  EXPECT_EQ(p.pkt.l3, L3::kIpv4);
  EXPECT_EQ(p.pkt.l4, L4::kUdp);
  EXPECT_EQ(p.pkt.src_port, 7);
  EXPECT_EQ(p.pkt.dst_ip4, kIpB);
  EXPECT_EQ(p.pkt.l3_csum, VENIC_CQE_F_L3_CSUM_OK);
}

// ---- source/destination check ----------------------------------------------

TEST(SrcDstCheckStage, DropsSpoofedSourcesAndNothingElse) {
  FakePort a(kMacA, kIpA);
  TestBurst t;
  t.add(udp(kMacB, kMacA, kIpA, kIpB, 1));        // its own
  t.add(udp(kMacB, kMacB, kIpA, kIpB, 1));        // another MAC
  t.add(udp(kMacB, kMacA, 0x0a000063, kIpB, 1));  // another address
  t.add(udp(kMacB, kMacA, 0, kIpB, 1));           // 0.0.0.0 (DHCP)
  t.parse();
  check_sources(a.view, *t.b);
  EXPECT_TRUE(t[0].alive());
  EXPECT_EQ(t[1].drop, VENIC_DROP_SPOOF_MAC);
  EXPECT_EQ(t[2].drop, VENIC_DROP_SPOOF_IP);
  EXPECT_TRUE(t[3].alive());

  a.view.src_dst_check = false;  // a NAT instance
  TestBurst u;
  u.add(udp(kMacB, kMacB, 0x0a000063, kIpB, 1));
  u.parse();
  check_sources(a.view, *u.b);
  EXPECT_TRUE(u[0].alive());
}

TEST(SrcDstCheckStage, VpcPortsSendOnlyWhatAVpcCarries) {
  FakePort a(kMacA, kIpA);
  a.view.vpc = 1;
  TestBurst t;
  auto f = udp(kMacB, kMacA, kIpA, kIpB, 1);
  f[12] = 0x88;  // an ethertype no VPC carries (0x88cc, LLDP)
  f[13] = 0xcc;
  t.add(f);
  t.parse();
  check_sources(a.view, *t.b);
  EXPECT_EQ(t[0].drop, VENIC_DROP_ETHERTYPE);
}

TEST(SrcDstCheckStage, DestinationTakesItsOwnAddressesAndBroadcasts) {
  FakePort b(kMacB, kIpB);
  TestBurst t;
  t.add(udp(kMacB, kMacA, kIpA, kIpB, 1));
  t.add(udp(kMacB, kMacA, kIpA, 0x0a000063, 1));
  t.add(udp(kMacB, kMacA, kIpA, 0x0a0000ff, 1));  // the subnet's broadcast
  t.parse();
  EXPECT_TRUE(destination_allowed(b.view, t[0].pkt));
  EXPECT_FALSE(destination_allowed(b.view, t[1].pkt));
  EXPECT_TRUE(destination_allowed(b.view, t[2].pkt));
}

// ---- security groups -------------------------------------------------------------

struct SgPort : FakePort {
  std::unique_ptr<Conntrack> ct;
  SgPort(uint32_t capacity) : FakePort(kMacA, kIpA) {
    static int serial = 0;
    ct = std::make_unique<Conntrack>("sg_test_" + std::to_string(++serial), capacity, rte_get_tsc_hz());
    view.sg.enforced = true;
    view.vpc = 1;
    view.gateway = 0x0a000001 + 1000;
    vf::SgRule out;  // UDP to 10.0.0.2/32 only
    out.proto = IPPROTO_UDP;
    const uint32_t be = htonl(kIpB);
    std::memcpy(out.addr.data(), &be, 4);
    out.prefix = 32;
    view.sg.egress = {out};
    view.ct = ct.get();
  }
};

TEST(SecurityGroupsStage, EgressRulesDecideNewFlowsWhichAreThenTracked) {
  SgPort a(1024);
  TestBurst t;
  for (uint16_t s = 0; s < 4; s++) t.add(udp(kMacB, kMacA, kIpA, kIpB, s));  // allowed, 4 flows
  t.add(udp(kMacB, kMacA, kIpA, 0x0a000003, 1));                             // denied
  t.add(udp(kMacB, kMacA, kIpA, kIpB, 0));                                   // flow 0 again
  t.parse();
  egress_groups(a.view, *t.b);
  for (uint32_t k = 0; k < 4; k++) EXPECT_TRUE(t[k].alive()) << k;
  EXPECT_EQ(t[4].drop, VENIC_DROP_SG_EGRESS);
  EXPECT_TRUE(t[5].alive());
  EXPECT_EQ(a.ct->size(), 4u) << "one entry per flow, none for the denied one";

  // Tracked flows pass on their entry even after the rule is gone.
  a.view.sg.egress.clear();
  TestBurst u;
  u.add(udp(kMacB, kMacA, kIpA, kIpB, 2));
  u.add(udp(kMacB, kMacA, kIpA, kIpB, 9));  // a new flow: no rule now
  u.parse();
  egress_groups(a.view, *u.b);
  EXPECT_TRUE(u[0].alive());
  EXPECT_EQ(u[1].drop, VENIC_DROP_SG_EGRESS);
}

TEST(SecurityGroupsStage, AFullTableIsTheConntrackAllowance) {
  SgPort a(2);
  TestBurst t;
  for (uint16_t s = 0; s < 5; s++) t.add(udp(kMacB, kMacA, kIpA, kIpB, s));
  t.parse();
  egress_groups(a.view, *t.b);
  uint32_t passed = 0, exceeded = 0;
  for (uint32_t k = 0; k < 5; k++) {
    passed += t[k].alive();
    exceeded += t[k].exceeded == VENIC_ALLOW_CONNTRACK;
  }
  EXPECT_EQ(passed, 2u);
  EXPECT_EQ(exceeded, 3u);
}

TEST(SecurityGroupsStage, IngressRepliesOfTrackedFlowsPass) {
  SgPort a(64);
  a.view.sg.ingress.clear();  // nothing may open a flow inward
  TestBurst out;
  out.add(udp(kMacB, kMacA, kIpA, kIpB, 5));
  out.parse();
  egress_groups(a.view, *out.b);
  ASSERT_TRUE(out[0].alive());
  TestBurst in;
  auto reply = udp(kMacA, kMacB, kIpB, kIpA, 9);
  reply[34] = 0;  // UDP source port 9 -> destination port 5
  reply[35] = 9;
  reply[36] = 0;
  reply[37] = 5;
  in.add(reply);
  in.add(udp(kMacA, kMacB, kIpB, kIpA, 77));  // not a reply
  in.parse();
  EXPECT_EQ(security_groups(a.view, in[0].pkt, CtDir::kIn, in.b->now), SgVerdict::kPass);
  EXPECT_EQ(security_groups(a.view, in[1].pkt, CtDir::kIn, in.b->now), SgVerdict::kDenied);
}

// ---- police ------------------------------------------------------------------------

TEST(PoliceStage, LinkLocalServicesGetTheirPpsAllowanceAndNoMore) {
  bench::PortRig rig;  // an empty snapshot: police looks destinations up there
  FakePort a(kMacA, kIpA);
  a.view.allow = vf::AllowanceProfile::make(vf::Limits{}, rte_get_tsc_hz());
  const uint64_t t0 = rte_rdtsc();
  a.rt->allowance.linklocal.refill(a.view.allow.linklocal, t0);
  uint32_t passed = 0, exceeded = 0, bursts = 0;
  while (bursts++ < 40) {  // 40 x 64 = 2560 packets at once: more than any bucket depth
    TestBurst t;
    for (uint32_t k = 0; k < kBurstDescs; k++) t.add(udp(kMacB, kMacA, kIpA, 0xa9fea9fe, 1));  // 169.254.169.254
    t.parse();
    police_burst(rig.snapshot(), a.view, *t.b);
    for (uint32_t k = 0; k < kBurstDescs; k++) {
      passed += t[k].alive();
      exceeded += t[k].exceeded == VENIC_ALLOW_LINKLOCAL;
    }
  }
  const double seconds = double(rte_rdtsc() - t0) / rte_get_tsc_hz();
  // Invariant of a token bucket: never more than rate x time + depth.
  EXPECT_LE(passed, vf::Limits::kLinkLocalPps * seconds + a.view.allow.linklocal.depth_units + 1);
  EXPECT_GT(exceeded, 0u);
  EXPECT_EQ(passed + exceeded, 40u * kBurstDescs);
}

// ---- route/switch, deliver and the whole pipeline, over the rig ------------

vf::VfConfig plain(uint16_t id) {
  vf::VfConfig c;
  c.id = id;
  c.mac = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(id)};
  c.ip = 0x0a000000u + id;
  c.queues = 1;
  c.limits.flow_mbps = 0;
  return c;
}

std::vector<uint8_t> to(bench::PortRig& rig, uint16_t from, uint16_t dst, uint16_t seq, uint32_t len = 60) {
  const auto& a = rig.table().get(from).cfg;
  const auto& b = rig.table().get(dst).cfg;
  return udp(b.mac.data(), a.mac.data(), a.ip, b.ip, seq, len);
}

// ---- police, with the cluster placement group's cap, over the rig --------------

// Three c5n.18xlarge in one subnet: a and b in a cluster placement group,
// c outside it.  Returns their VFs (a started: the stages need its port).
struct ClusterTrio {
  uint16_t a, b, c;
};
ClusterTrio cluster_trio(bench::PortRig& rig) {
  auto vpc = rig.ec2("CreateVpc", {{"CidrBlock", "10.8.0.0/16"}})["Vpc"]["VpcId"];
  auto sn = rig.ec2("CreateSubnet", {{"VpcId", vpc}, {"CidrBlock", "10.8.1.0/24"}, {"AvailabilityZone", "us-east-1a"}});
  rig.ec2("CreatePlacementGroup", {{"GroupName", "tight"}, {"Strategy", "cluster"}});
  auto run = [&](bool member) {
    nlohmann::json p = {{"InstanceType", "c5n.18xlarge"}, {"SubnetId", sn["Subnet"]["SubnetId"]}};
    if (member) p["Placement"] = {{"GroupName", "tight"}};
    auto r = rig.ec2("RunInstances", p);
    return static_cast<uint16_t>(r["Instances"][0]["NetworkInterfaces"][0]["VenicVfId"].get<int>());
  };
  ClusterTrio t{run(true), run(true), run(false)};
  for (uint16_t id : {t.a, t.b, t.c}) rig.start(id);
  return t;
}

TEST(PoliceStage, TheClusterFlowCapIsForFlowsBetweenMembersOnly) {
  bench::PortRig rig;
  const ClusterTrio t = cluster_trio(rig);
  const PortView& a = rig.port(t.a);
  const PortView& c = rig.port(t.c);
  EXPECT_NE(a.cluster, 0u);
  EXPECT_EQ(a.cluster, rig.port(t.b).cluster);
  EXPECT_EQ(c.cluster, 0u);
  EXPECT_EQ(a.allow.flow.rate * 2, a.allow.flow_cluster.rate) << "5 and 10 Gbps";
  TestBurst pk;
  pk.add(to(rig, t.a, t.b, 1));
  pk.add(to(rig, t.a, t.c, 2));
  pk.add(to(rig, t.c, t.a, 3));
  pk.add(udp(kRouterMac, a.mac.data(), rig.table().get(t.a).cfg.ip, 0x08080808, 4));  // out of the VPC
  pk.parse();
  const Snapshot& snap = rig.snapshot();
  EXPECT_EQ(&flow_cap(snap, a, pk[0].pkt), &a.allow.flow_cluster) << "member to member";
  EXPECT_EQ(&flow_cap(snap, a, pk[1].pkt), &a.allow.flow) << "member to a non-member";
  EXPECT_EQ(&flow_cap(snap, c, pk[2].pkt), &c.allow.flow) << "a non-member to a member";
  EXPECT_EQ(&flow_cap(snap, a, pk[3].pkt), &a.allow.flow) << "member to an address no member has";
}

TEST(PoliceStage, AMembersFlowToAMemberGetsTwiceTheCapOfItsOtherFlows) {
  // On a clock of our own: 100 ms in 10 us steps, each offering both flows
  // 2 x 9000 B (14.4 Gbps each), far above either cap.
  bench::PortRig rig;
  const ClusterTrio t = cluster_trio(rig);
  const PortView& a = rig.port(t.a);
  FlowMeter meter(77, a.allow.flow.hz);
  police_use_flows(&meter);
  TestBurst pk;
  pk.add(to(rig, t.a, t.b, 1, 9000));
  pk.add(to(rig, t.a, t.c, 2, 9000));
  pk.parse();
  const uint64_t hz = a.allow.flow.hz, step = hz / 100000, steps = 10000;
  const uint64_t t0 = uint64_t{1} << 40;
  uint64_t passed[2] = {0, 0}, exceeded[2] = {0, 0};
  for (uint64_t s = 0; s <= steps; s++)
    for (int k = 0; k < 4; k++) {
      const int which = k % 2;
      const int r = egress_policed(rig.snapshot(), a, pk[which].pkt, 9000, t0 + s * step);
      if (r < 0) {
        passed[which] += 9000;
      } else {
        exceeded[which]++;
        EXPECT_EQ(r, VENIC_ALLOW_FLOW);
      }
    }
  police_use_flows(nullptr);
  const double seconds = double(steps * step) / double(hz);
  const vf::BucketProfile* cap[2] = {&a.allow.flow_cluster, &a.allow.flow};
  for (int which : {0, 1}) {
    const double rate = double(cap[which]->rate);
    // A token bucket: never more than rate x time + depth, and with the
    // flow always over its cap, close to the rate.
    EXPECT_LE(double(passed[which]), rate * seconds + double(cap[which]->depth_units) + 9000) << which;
    EXPECT_GE(double(passed[which]), 0.95 * rate * seconds) << which;
    EXPECT_GT(exceeded[which], 0u) << which;
  }
}

TEST(RouteSwitchStage, SwitchesFloodsAndDropsUnknownUnicast) {
  bench::PortRig rig;
  for (uint16_t id : {1, 2, 3}) rig.table().create(plain(id), true);
  for (uint16_t id : {1, 2, 3}) rig.start(id);
  TestBurst t;
  t.add(to(rig, 1, 2, 1));
  uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  t.add(udp(bcast, rig.table().get(1).cfg.mac.data(), 0x0a000001, 0xffffffff, 2));
  uint8_t nobody[6] = {0x02, 9, 9, 9, 9, 9};
  t.add(udp(nobody, rig.table().get(1).cfg.mac.data(), 0x0a000001, 0x0a000002, 3));
  t.parse();
  Delivery d;
  d.begin(*t.b);
  route_burst(rig.snapshot(), rig.port(1), *t.b, d);
  EXPECT_TRUE(t[0].alive());
  EXPECT_TRUE(t[1].alive());
  EXPECT_EQ(t[2].drop, VENIC_DROP_NO_ROUTE);
  d.run();
  EXPECT_EQ(rig.drain_rx(2), 2u) << "the unicast and the broadcast";
  EXPECT_EQ(rig.drain_rx(3), 1u) << "the broadcast";
  EXPECT_EQ(rig.drain_rx(1), 0u) << "a flood never returns to its sender";
}

TEST(DeliverStage, PacketOrderPerDestinationAndOnePublicationPerQueue) {
  bench::PortRig rig;
  for (uint16_t id : {1, 2, 3}) rig.table().create(plain(id), true);
  for (uint16_t id : {1, 2, 3}) rig.start(id);
  std::vector<std::vector<uint8_t>> frames;
  for (uint16_t s = 0; s < 40; s++) frames.push_back(to(rig, 1, s % 3 ? 2 : 3, s));
  rig.set_frames(1, frames);
  ASSERT_EQ(rig.send(1, 40), 40u);
  EXPECT_EQ(rig.burst(1), 40u);
  // Each receiver got its frames in the order they were sent.
  for (uint16_t id : {2, 3}) {
    int last = -1;
    for (auto f = rig.recv(id); !f.empty(); f = rig.recv(id)) {
      const int seq = f[34] << 8 | f[35];
      EXPECT_GT(seq, last);
      EXPECT_EQ(seq % 3 ? 2 : 3, id);
      last = seq;
    }
    EXPECT_GE(last, 0);
  }
}

TEST(DeliverStage, AFullRxRingDropsAndCountsWhatDoesNotFit) {
  bench::PortRig rig;
  for (uint16_t id : {1, 2}) rig.table().create(plain(id), true);
  for (uint16_t id : {1, 2}) rig.start(id);
  rig.set_frames(1, {to(rig, 1, 2, 1)});
  const uint32_t ring = rig.port(2).ring_size;
  uint32_t sent = 0;
  while (sent < ring + 100) {  // never draining VF 2
    const uint32_t n = rig.send(1, 64);
    sent += n;
    while (rig.tx_pending(1)) rig.burst(1);
  }
  const vf::RxqRuntime& rq = rig.port(2).rt->rxq[0];
  EXPECT_EQ(rq.c.pkts, ring);
  EXPECT_EQ(rq.c.drops[VENIC_DROP_RX_NO_BUFFER], sent - ring);
  EXPECT_GT(worker_take_rx_full(), 0u);
}

// The whole pipeline: a mix of good frames, spoofed ones and runts from one
// VF to two; every counter adds up and every good frame arrives once.
TEST(Pipeline, EveryFrameIsCountedOnceAndEveryGoodOneDeliveredOnce) {
  bench::PortRig rig;
  for (uint16_t id : {1, 2, 3}) rig.table().create(plain(id), true);
  for (uint16_t id : {1, 2, 3}) rig.start(id);
  std::vector<std::vector<uint8_t>> frames;
  std::vector<char> kind;  // per frame: 'g' good, 's' spoofed, 'r' runt
  for (uint16_t s = 0; s < 100; s++) {
    if (s % 10 == 3) {
      auto f = to(rig, 1, 2, s);
      f[26] = 99;  // source address not its own
      frames.push_back(f);
      kind.push_back('s');
    } else if (s % 17 == 5) {
      frames.push_back(std::vector<uint8_t>(10, 0));
      kind.push_back('r');
    } else {
      frames.push_back(to(rig, 1, s % 2 ? 2 : 3, s, s % 4 ? 60 : 1514));
      kind.push_back('g');
    }
  }
  rig.set_frames(1, frames);
  uint32_t sent = 0, delivered = 0;
  for (int round = 0; round < 20; round++) {
    sent += rig.send(1, 37);
    while (rig.tx_pending(1)) rig.burst(1);
    delivered += rig.drain_rx(2) + rig.drain_rx(3);
  }
  uint64_t good = 0, spoofed = 0, runts = 0;
  for (uint32_t i = 0; i < sent; i++) {
    const char k = kind[i % kind.size()];
    good += k == 'g';
    spoofed += k == 's';
    runts += k == 'r';
  }
  const vf::TxqRuntime& tq = rig.port(1).rt->txq[0];
  EXPECT_EQ(tq.c.pkts, good);
  EXPECT_EQ(tq.c.drops[VENIC_DROP_SPOOF_IP], spoofed);
  EXPECT_EQ(tq.c.drops[VENIC_DROP_RUNT], runts);
  EXPECT_EQ(delivered, good) << "every good frame arrived, once";
  EXPECT_EQ(rig.port(2).rt->rxq[0].c.pkts + rig.port(3).rt->rxq[0].c.pkts, good);
}

// ---- the exception path to the instance services -----------------------------

struct CollectingPort : ExceptionPort {
  bool offer(uint16_t vf, const uint8_t* frame, uint32_t len) override {
    frames.push_back({vf, std::vector<uint8_t>(frame, frame + len)});
    return frames.size() <= capacity;
  }
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> frames;
  size_t capacity = 1000;
};

// Two ENIs of a VPC (one subnet), their group letting nothing in.
std::pair<uint16_t, uint16_t> closed_enis(bench::PortRig& rig) {
  auto vpc = rig.ec2("CreateVpc", {{"CidrBlock", "10.9.0.0/16"}})["Vpc"]["VpcId"];
  auto sn = rig.ec2("CreateSubnet", {{"VpcId", vpc}, {"CidrBlock", "10.9.1.0/24"}, {"AvailabilityZone", "us-east-1a"}});
  auto sg = rig.ec2("CreateSecurityGroup", {{"GroupName", "closed"}, {"Description", "nothing in"}, {"VpcId", vpc}});
  auto run = [&] {
    auto r = rig.ec2("RunInstances", {{"InstanceType", "c5.large"},
                                      {"SubnetId", sn["Subnet"]["SubnetId"]},
                                      {"MinCount", 1},
                                      {"MaxCount", 1},
                                      {"SecurityGroupIds", {sg["GroupId"]}}});
    return static_cast<uint16_t>(r["Instances"][0]["NetworkInterfaces"][0]["VenicVfId"].get<int>());
  };
  const uint16_t a = run(), b = run();
  rig.start(a);
  rig.start(b);
  return {a, b};
}

std::vector<uint8_t> arp_request(const vf::VfConfig& c, uint32_t target) {
  std::vector<uint8_t> f(60, 0);
  std::memset(f.data(), 0xff, 6);
  std::memcpy(f.data() + 6, c.mac.data(), 6);
  f[12] = 0x08;
  f[13] = 0x06;
  const uint8_t head[8] = {0, 1, 8, 0, 6, 4, 0, 1};
  std::memcpy(f.data() + 14, head, 8);
  std::memcpy(f.data() + 22, c.mac.data(), 6);
  const uint32_t spa = htonl(c.ip), tpa = htonl(target);
  std::memcpy(f.data() + 28, &spa, 4);
  std::memcpy(f.data() + 38, &tpa, 4);
  return f;
}

TEST(ExceptionPath, ServiceFramesLeaveTheFastPathAndAnswersComeBack) {
  bench::PortRig rig;
  auto [a, b] = closed_enis(rig);
  const vf::VfConfig ca = rig.table().get(a).cfg;
  CollectingPort services;
  route_use_exception_port(&services);

  // ARP for the metadata server: the router's MAC answers.
  rig.set_frames(a, {arp_request(ca, 0xa9fea9fe)});
  rig.send(a, 1);
  rig.burst(a);
  auto reply = rig.recv(a);
  ASSERT_EQ(reply.size(), 60u);
  EXPECT_EQ(std::memcmp(reply.data() + 22, kRouterMac, 6), 0) << "169.254.169.254 is at the router";

  // A time sync query and a DNS query to the VPC's base + 2 leave the fast
  // path whole, tagged with the sender's VF; an ENI's own traffic does not.
  auto ntp = udp(kRouterMac, ca.mac.data(), ca.ip, 0xa9fea97b, 123, 90);   // to 169.254.169.123
  auto dns = udp(kRouterMac, ca.mac.data(), ca.ip, 0x0a090002, 5353, 70);  // to 10.9.0.2, the VPC's DNS
  dns[36] = 0;
  dns[37] = 53;
  rig.set_frames(a, {ntp, dns, to(rig, a, b, 1)});
  rig.send(a, 3);
  rig.burst(a);
  ASSERT_EQ(services.frames.size(), 2u);
  EXPECT_EQ(services.frames[0].first, a);
  EXPECT_EQ(services.frames[0].second, ntp);
  EXPECT_EQ(services.frames[1].second, dns);
  EXPECT_EQ(rig.drain_rx(b), 0u) << "b's group lets nothing in";

  // The answer reaches a although a's group lets nothing in: the VPC's own.
  auto answer = udp(ca.mac.data(), kRouterMac, 0xa9fea97b, ca.ip, 123, 90);
  EXPECT_TRUE(deliver_from_services(rig.snapshot(), a, answer.data(), static_cast<uint32_t>(answer.size())));
  EXPECT_EQ(rig.recv(a), answer);
  EXPECT_FALSE(deliver_from_services(rig.snapshot(), 200, answer.data(), 60)) << "no such VF";

  // A full service queue drops, counted; without services, no route as before.
  services.capacity = 0;
  rig.set_frames(a, {ntp});
  rig.send(a, 1);
  rig.burst(a);
  EXPECT_EQ(rig.port(a).rt->txq[0].c.drops[VENIC_DROP_RX_NO_BUFFER], 1u);
  route_use_exception_port(nullptr);
  const uint64_t no_route = rig.port(a).rt->txq[0].c.drops[VENIC_DROP_NO_ROUTE];
  rig.send(a, 1);
  rig.burst(a);
  EXPECT_EQ(rig.port(a).rt->txq[0].c.drops[VENIC_DROP_NO_ROUTE], no_route + 1);
}

TEST(ExceptionPath, AFloodOfServiceFramesIsCappedByTheLinkLocalAllowance) {
  bench::PortRig rig;
  auto [a, b] = closed_enis(rig);
  (void)b;
  const vf::VfConfig ca = rig.table().get(a).cfg;
  CollectingPort services;
  route_use_exception_port(&services);
  rig.set_frames(a, {udp(kRouterMac, ca.mac.data(), ca.ip, 0xa9fea9fe, 4000, 60)});
  const uint64_t t0 = rte_rdtsc();
  uint32_t sent = 0;
  for (int i = 0; i < 50; i++) {
    sent += rig.send(a, 64);
    while (rig.tx_pending(a)) rig.burst(a);
  }
  const double seconds = double(rte_rdtsc() - t0) / rte_get_tsc_hz();
  const auto& tq = rig.port(a).rt->txq[0];
  const uint64_t capped = tq.c.allowance[VENIC_ALLOW_LINKLOCAL];
  EXPECT_EQ(services.frames.size() + capped, sent);
  EXPECT_LE(services.frames.size(), vf::Limits::kLinkLocalPps * seconds + rig.port(a).allow.linklocal.depth_units + 1);
  EXPECT_GT(capped, 0u);
  route_use_exception_port(nullptr);
}

}  // namespace
}  // namespace venic::fastpath
