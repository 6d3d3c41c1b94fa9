// venic-worker-bench: the worker's own cost, in ns per packet, apart from the
// scheduler.  One thread plays every driver and the worker: it publishes
// frames into a VF's TX ring, runs the real fast path over them
// (process_tx_burst: every stage, as venicd's worker runs it), and takes
// the receiver's completions.  Only the worker's part is timed.  Beside each
// configuration, a floor measured in the same run: a loop doing only what
// any switch must (read the descriptor, copy the frame, write the RX
// descriptor's completion) over the same rings.
#include <arpa/inet.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_memcpy.h>
#include <rte_udp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "desc_check.h"
#include "flow_log_table.h"
#include "flow_meter.h"
#include "observe_taps.h"
#include "port_rig.h"
#include "worker.h"

namespace {

using venic::bench::PortRig;
using venic::fastpath::PortView;

struct Endpoint {
  uint16_t vf;
  venic::vf::MacAddr mac;
  uint32_t ip;  // host order
};

// An Ethernet/IPv4/UDP frame of `len` bytes (no CRC) from a to b, flow `flow`.
std::vector<uint8_t> udp_frame(const uint8_t* dst_mac, const Endpoint& a, uint32_t dst_ip, uint32_t len,
                               uint16_t flow) {
  uint8_t h[sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr)];
  auto* eth = reinterpret_cast<rte_ether_hdr*>(h);
  std::memcpy(&eth->dst_addr, dst_mac, 6);
  std::memcpy(&eth->src_addr, a.mac.data(), 6);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  std::memset(ip, 0, sizeof(*ip));
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len - sizeof(rte_ether_hdr)));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = htonl(a.ip);
  ip->dst_addr = htonl(dst_ip);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->src_port = rte_cpu_to_be_16(static_cast<uint16_t>(10000 + flow));
  udp->dst_port = rte_cpu_to_be_16(9);
  udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(len - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr)));
  udp->dgram_cksum = 0;
  std::vector<uint8_t> f(std::max<uint32_t>(len, sizeof(h)), 0x5a);
  std::memcpy(f.data(), h, sizeof(h));
  return f;
}

std::vector<std::vector<uint8_t>> flow_frames(const uint8_t* dst_mac, const Endpoint& a, uint32_t dst_ip, uint32_t len,
                                              unsigned n) {
  std::vector<std::vector<uint8_t>> v;
  for (unsigned i = 0; i < n; i++) v.push_back(udp_frame(dst_mac, a, dst_ip, len, static_cast<uint16_t>(i)));
  return v;
}

Endpoint endpoint_of(PortRig& rig, uint16_t vf) {
  const auto& c = rig.table().get(vf).cfg;
  return {vf, c.mac, c.ip};
}

// The switch floor: descriptors copied out and bounds-checked, the frame
// copied into the receiver's posted buffer, its completion written, the
// indices published.  No parse, no policy.
uint32_t floor_burst(const PortView& tx, const PortView& rx) {
  using namespace venic::fastpath;
  const QueueRings& t = tx.q[0];
  const QueueRings& r = rx.q[0];
  const uint32_t mask = tx.ring_size - 1;
  venic::vf::TxqRuntime& tq = tx.rt->txq[0];
  venic::vf::RxqRuntime& rq = rx.rt->rxq[0];
  const uint32_t prod = __atomic_load_n(&t.tx_sq->prod, __ATOMIC_ACQUIRE);
  const uint32_t n = std::min(prod - tq.cons, kBurstDescs);
  venic_desc d[kBurstDescs];
  for (uint32_t i = 0; i < n; i++) d[i] = t.tx_desc[(tq.cons + i) & mask];
  const DescMemory tm{tx.base, tx.buf_lo, tx.buf_hi, tx.dma, tx.n_dma};
  const DescMemory rm{rx.base, rx.buf_lo, rx.buf_hi, rx.dma, rx.n_dma};
  const uint32_t rx_prod = __atomic_load_n(&r.rx_sq->prod, __ATOMIC_ACQUIRE);
  uint32_t idx = rq.cons;
  for (uint32_t i = 0; i < n && idx != rx_prod; i++) {
    const uint8_t* src = translate(tm, d[i]);
    const venic_desc rd = r.rx_desc[idx & mask];
    uint8_t* dst = const_cast<uint8_t*>(translate(rm, rd));
    if (!src || !dst) continue;
    const uint32_t len = std::min(d[i].len, rd.len);
    rte_memcpy(dst, src, len);
    venic_cqe& c = r.rx_cqe[idx & mask];
    c.len = len;
    c.flags = d[i].flags & VENIC_DESC_F_MORE ? VENIC_CQE_F_MORE : 0;
    c.ptype = 0;
    idx++;
  }
  rq.cons = idx;
  __atomic_store_n(&r.rx_cq->prod, idx, __ATOMIC_RELEASE);
  __atomic_store_n(&r.rx_sq->cons, idx, __ATOMIC_RELEASE);
  tq.cons += n;
  __atomic_store_n(&t.tx_sq->cons, tq.cons, __ATOMIC_RELEASE);
  return n;
}

struct Result {
  double ns_per_pkt = 0;
  uint64_t sent = 0, delivered = 0;
};

// Runs `packets` frames from a to b through fn (the fast path or the
// floor), timing only fn.
template <typename Fn>
Result run(PortRig& rig, uint16_t a, uint16_t b, uint64_t packets, Fn&& fn) {
  Result r;
  uint64_t cycles = 0, moved = 0;
  while (moved < packets) {
    r.sent += rig.send(a, venic::fastpath::kBurstDescs);
    const uint64_t t0 = rte_rdtsc_precise();
    const uint32_t n = fn();
    cycles += rte_rdtsc_precise() - t0;
    moved += n;
    r.delivered += rig.drain_rx(b);
    if (n == 0 && rig.tx_pending(a) == 0) break;
  }
  // The rest of the ring goes too, untimed: every frame sent is accounted.
  for (unsigned spins = 0; rig.tx_pending(a) && spins < 1000; spins++) {
    fn();
    r.delivered += rig.drain_rx(b);
  }
  r.ns_per_pkt = moved ? cycles * 1e9 / rte_get_tsc_hz() / moved : 0;
  return r;
}

struct Config {
  std::string name;
  uint16_t a = 0, b = 0;
  std::vector<std::vector<uint8_t>> frames;
  uint32_t segs = 1;      // descriptors per frame
  bool flow_log = false;  // both VFs in a VPC Flow Log
};

venic::vf::VfConfig plain(uint16_t id, bool check, uint16_t mtu) {
  venic::vf::VfConfig c;
  c.id = id;
  c.mac = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(id)};
  c.ip = 0x0a000000u + id;  // 10.0.0.id/24
  c.prefix = 24;
  c.mtu = mtu;
  c.queues = 1;
  c.src_dst_check = check;
  c.limits.flow_mbps = 0;  // no per-flow cap: a plain L2 segment
  return c;
}

// Two ENIs of p4d.24xlarge instances (allowances far above one core's
// load) in a VPC, in one subnet or two, in a group that lets its members in
// (so every flow is tracked).
std::pair<uint16_t, uint16_t> two_enis(PortRig& rig, bool two_subnets) {
  auto vpc = rig.ec2("CreateVpc", {{"CidrBlock", "10.1.0.0/16"}})["Vpc"]["VpcId"];
  auto s1 = rig.ec2("CreateSubnet", {{"VpcId", vpc}, {"CidrBlock", "10.1.1.0/24"}, {"AvailabilityZone", "us-east-1a"}});
  auto s2 = two_subnets ? rig.ec2("CreateSubnet",
                                  {{"VpcId", vpc}, {"CidrBlock", "10.1.2.0/24"}, {"AvailabilityZone", "us-east-1a"}})
                        : s1;
  auto sg =
      rig.ec2("CreateSecurityGroup", {{"GroupName", "bench"}, {"Description", "bench"}, {"VpcId", vpc}})["GroupId"];
  rig.ec2("AuthorizeSecurityGroupIngress",
          {{"GroupId", sg},
           {"IpPermissions",
            {{{"IpProtocol", "udp"}, {"FromPort", 0}, {"ToPort", 65535}, {"UserIdGroupPairs", {{{"GroupId", sg}}}}}}}});
  auto run1 = [&](const nlohmann::json& subnet) {
    auto r = rig.ec2("RunInstances", {{"InstanceType", "p4d.24xlarge"},
                                      {"SubnetId", subnet["Subnet"]["SubnetId"]},
                                      {"MinCount", 1},
                                      {"MaxCount", 1},
                                      {"SecurityGroupIds", {sg}}});
    return static_cast<uint16_t>(r["Instances"][0]["NetworkInterfaces"][0]["VenicVfId"].get<int>());
  };
  uint16_t a = run1(s1);
  uint16_t b = run1(s2);
  return {a, b};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "venic-worker-bench: the fast path's cost per packet on one core, beside a copy-only switch floor.\n"
      "  venic-worker-bench                 every configuration, 2M packets each\n"
      "  venic-worker-bench --packets 500000 --only l2,sg"};
  uint64_t packets = 2000000;
  std::string only;
  unsigned reps = 3;
  app.add_option("--packets", packets, "packets per measurement")->capture_default_str();
  app.add_option("--reps", reps, "measurements per configuration (the best is kept)")->capture_default_str();
  app.add_option("--only", only,
                 "comma list of: l2,srcdst,allowances,sg,sg+flowlog,routed,routed+rtb,routed+nacl,jumbo");
  CLI11_PARSE(app, argc, argv);
  if (!venic::bench::init_eal(argv[0])) {
    std::fprintf(stderr, "worker-bench: EAL did not start\n");
    return 1;
  }
  venic::fastpath::FlowMeter meter(0, rte_get_tsc_hz());
  venic::fastpath::worker_thread_use_flows(&meter);
  auto want = [&](const std::string& n) {
    return only.empty() || ("," + only + ",").find("," + n + ",") != std::string::npos;
  };

  std::printf("%-12s %6s %9s %9s %10s %7s  %s\n", "config", "bytes", "ns/pkt", "Mpps", "floor ns", "ratio",
              "delivered");
  int failures = 0;
  auto measure = [&](const std::string& name, const std::function<void(PortRig&, Config&)>& setup, uint32_t len) {
    if (!want(name)) return;
    PortRig rig;
    Config c;
    c.name = name;
    setup(rig, c);
    rig.start(c.a);
    rig.start(c.b);
    rig.set_frames(c.a, c.frames);
    const PortView& pa = rig.port(c.a);
    const PortView& pb = rig.port(c.b);
    venic::observe::FlowLogSelection logged;
    venic::observe::FlowLogTable flow_table;
    if (c.flow_log) {
      std::vector<bool> vfs(256);
      vfs[c.a] = vfs[c.b] = true;
      logged.set(vfs);
      venic::fastpath::observe_use({&logged, &flow_table, nullptr});
    }
    double best = 1e9, best_floor = 1e9;
    Result last;
    for (unsigned i = 0; i < reps; i++) {
      Result f = run(rig, c.a, c.b, packets, [&] { return floor_burst(pa, pb); });
      best_floor = std::min(best_floor, f.ns_per_pkt * c.segs);  // per frame
      Result r = run(rig, c.a, c.b, packets / c.segs, [&] { return rig.burst(c.a); });
      best = std::min(best, r.ns_per_pkt * c.segs);
      last = r;
    }
    // Every frame that left the ring arrived, exactly once (the floor's too).
    const bool ok = last.delivered == last.sent && last.sent > 0;
    failures += !ok;
    std::printf("%-12s %6u %9.1f %9.2f %10.1f %7.2f  %lu/%lu%s\n", name.c_str(), len, best, 1e3 / best, best_floor,
                best / best_floor, (unsigned long)last.delivered, (unsigned long)last.sent, ok ? "" : "  LOST");
    if (!ok)
      for (uint16_t id : {c.a, c.b})
        std::printf("  VF %u: %s\n", id, rig.table().stats_json(rig.table().get(id)).dump().c_str());
    venic::fastpath::observe_use({});
    std::printf("RESULT %s %u %.2f %.3f %.2f %.3f\n", name.c_str(), len, best, 1e3 / best, best_floor,
                best / best_floor);
  };

  const uint32_t small = 60;  // a 64 B frame on the wire, without its CRC
  auto l2 = [&](bool check, uint16_t mtu, uint32_t len, uint32_t segs) {
    return [=](PortRig& rig, Config& c) {
      rig.table().create(plain(1, check, mtu), true);
      rig.table().create(plain(2, check, mtu), true);
      c.a = 1;
      c.b = 2;
      Endpoint a = endpoint_of(rig, 1), b = endpoint_of(rig, 2);
      c.frames = flow_frames(b.mac.data(), a, b.ip, len, 64);
      c.segs = segs;
    };
  };
  measure("l2", l2(false, 1500, small, 1), small);
  measure("srcdst", l2(true, 1500, small, 1), small);
  measure(
      "allowances",
      [&](PortRig& rig, Config& c) {
        for (uint16_t id : {1, 2}) {
          auto cfg = plain(id, true, 1500);
          cfg.limits.bw_in_mbps = cfg.limits.bw_out_mbps = 400000;
          cfg.limits.pps = 1000000000;
          cfg.limits.flow_mbps = 400000;
          rig.table().create(cfg, true);
        }
        c.a = 1;
        c.b = 2;
        Endpoint a = endpoint_of(rig, 1), b = endpoint_of(rig, 2);
        c.frames = flow_frames(b.mac.data(), a, b.ip, small, 64);
      },
      small);
  measure(
      "sg",
      [&](PortRig& rig, Config& c) {
        std::tie(c.a, c.b) = two_enis(rig, false);
        Endpoint a = endpoint_of(rig, c.a), b = endpoint_of(rig, c.b);
        c.frames = flow_frames(b.mac.data(), a, b.ip, small, 64);
      },
      small);
  measure(
      "sg+flowlog",
      [&](PortRig& rig, Config& c) {
        std::tie(c.a, c.b) = two_enis(rig, false);
        Endpoint a = endpoint_of(rig, c.a), b = endpoint_of(rig, c.b);
        c.frames = flow_frames(b.mac.data(), a, b.ip, small, 64);
        c.flow_log = true;
      },
      small);
  measure(
      "routed",
      [&](PortRig& rig, Config& c) {
        std::tie(c.a, c.b) = two_enis(rig, true);
        Endpoint a = endpoint_of(rig, c.a), b = endpoint_of(rig, c.b);
        c.frames = flow_frames(venic::fastpath::kRouterMac, a, b.ip, small, 64);
      },
      small);
  measure(
      "routed+rtb",  // the same, the subnet's route table compiled (a default route): one LPM per packet
      [&](PortRig& rig, Config& c) {
        std::tie(c.a, c.b) = two_enis(rig, true);
        const std::string eni = rig.ec2("DescribeNetworkInterfaces",
                                        nlohmann::json::object())["NetworkInterfaces"][1]["NetworkInterfaceId"];
        const std::string rtb =
            rig.ec2("DescribeRouteTables", nlohmann::json::object())["RouteTables"][0]["RouteTableId"];
        rig.ec2("CreateRoute",
                {{"RouteTableId", rtb}, {"DestinationCidrBlock", "0.0.0.0/0"}, {"NetworkInterfaceId", eni}});
        Endpoint a = endpoint_of(rig, c.a), b = endpoint_of(rig, c.b);
        c.frames = flow_frames(venic::fastpath::kRouterMac, a, b.ip, small, 64);
      },
      small);
  measure(
      "routed+nacl",
      [&](PortRig& rig, Config& c) {
        std::tie(c.a, c.b) = two_enis(rig, true);
        // Each subnet's ACL at EC2's quota, 20 entries each way, the one that
        // matches last: 19 that miss (other blocks), then allow all.
        const auto vpc = rig.ec2("DescribeSubnets", nlohmann::json::object())["Subnets"][0]["VpcId"];
        for (const auto& sn : rig.ec2("DescribeSubnets", nlohmann::json::object())["Subnets"]) {
          const auto acl = rig.ec2("CreateNetworkAcl", {{"VpcId", vpc}})["NetworkAcl"]["NetworkAclId"];
          for (bool egress : {true, false})
            for (int n = 1; n <= 20; n++)
              rig.ec2("CreateNetworkAclEntry",
                      {{"NetworkAclId", acl},
                       {"RuleNumber", n},
                       {"Protocol", n < 20 ? "udp" : "-1"},
                       {"RuleAction", n < 20 ? "deny" : "allow"},
                       {"Egress", egress},
                       {"CidrBlock", n < 20 ? "192.168." + std::to_string(n) + ".0/24" : "0.0.0.0/0"},
                       {"PortRange", {{"From", 0}, {"To", 65535}}}});
          auto assoc = rig.ec2("DescribeNetworkAcls",
                               {{"Filters", {{{"Name", "association.subnet-id"}, {"Values", {sn["SubnetId"]}}}}}});
          for (const auto& as : assoc["NetworkAcls"][0]["Associations"])
            if (as["SubnetId"] == sn["SubnetId"])
              rig.ec2("ReplaceNetworkAclAssociation",
                      {{"AssociationId", as["NetworkAclAssociationId"]}, {"NetworkAclId", acl}});
        }
        Endpoint a = endpoint_of(rig, c.a), b = endpoint_of(rig, c.b);
        c.frames = flow_frames(venic::fastpath::kRouterMac, a, b.ip, small, 64);
      },
      small);
  const uint32_t jumbo = 9001 + 14;
  measure("jumbo", l2(true, 9001, jumbo, (jumbo + 2047) / 2048), jumbo);
  venic::fastpath::worker_thread_use_flows(nullptr);
  return failures ? 1 : 0;
}
