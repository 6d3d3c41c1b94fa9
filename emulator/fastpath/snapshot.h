// The fast path's view of the VF table: immutable, built by the control
// thread and published to the workers (dataplane.h), freed after a quiescent
// period.  Workers read it without locks.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conntrack.h"
#include "subnet_view.h"
#include "vf_table.h"

struct rte_hash;

namespace venic::fastpath {

struct QueueRings {
  venic_ring* tx_sq = nullptr;
  const venic_desc* tx_desc = nullptr;
  venic_ring* rx_sq = nullptr;
  const venic_desc* rx_desc = nullptr;
  venic_ring* rx_cq = nullptr;
  venic_cqe* rx_cqe = nullptr;
};

struct PortView;

// An ENI on another host (vf::RemoteEni): where its frames are tunnelled.
struct RemoteView {
  uint32_t host_ip = 0;  // its host's underlay address, host order
  vf::MacAddr host_mac{};
  uint32_t vni = 0;  // its VPC's
  bool src_dst_check = true;
  const PortView* port = nullptr;  // the PortView that stands for it
};

struct PortView {
  uint16_t vf = 0;
  uint16_t vpc = 0;                 // the VPC (1...) an ENI-backed VF is in; 0: a plain VF
  uint32_t gateway = 0;             // VPC ports: the implied router's address in the subnet (its base + 1)
  uint32_t vpc_dns = 0;             // VPC ports: the Amazon DNS (the VPC's base + 2)
  const SubnetView* net = nullptr;  // VPC ports: their subnet's routes and ACL (nullptr: local routes only)
  uint32_t cluster = 0;             // its cluster placement group (1...); 0: none
  bool polled = false;              // attached, started, link up
  bool promisc = false;
  uint32_t subnet = 0;
  uint8_t prefix = 0;
  vf::MacAddr mac{};
  uint32_t frame_max = 0;  // MTU + L2 overhead
  uint32_t active_qps = 0;
  uint32_t ring_size = 0;
  uint8_t* base = nullptr;
  uint64_t buf_lo = 0, buf_hi = 0;  // copy-mode buffer area, mem_id 0
  std::array<QueueRings, VENIC_MAX_QPS> q{};
  const vf::DmaRegion* dma = nullptr;  // mem_id k is dma[k - 1]
  uint32_t n_dma = 0;
  vf::RssConfig rss;
  bool src_dst_check = true;
  bool rx_l4_csum = false;    // the driver wants TCP/UDP checksums verified
  std::vector<uint32_t> ips;  // primary first, then secondaries
  std::vector<vf::Ipv6Addr> ipv6;
  bool owns_ipv6(const uint8_t* a) const {
    for (const auto& x : ipv6)
      if (std::memcmp(x.data(), a, 16) == 0) return true;
    return false;
  }
  bool owns_ip(uint32_t a) const {
    for (uint32_t x : ips)
      if (x == a) return true;
    return false;
  }
  vf::AllowanceProfile allow;  // for the TSC
  bool shaped_out = false;     // bw_out or PPS limited: hold packets in the TX ring
  bool policed_in = false;     // bw_in or PPS limited: drop what exceeds them
  // Security groups (ENI-backed VFs): sg.enforced, their rules, and the
  // instance's conntrack table (nullptr when it could not be allocated:
  // new flows are then refused as over the conntrack allowance).
  vf::SecurityPolicy sg;
  Conntrack* ct = nullptr;
  // Per (family, protocol): the ingress / egress rules allow every port to
  // or from everywhere, which makes flows EC2 would not track.  Bit
  // kOpenTcp4 ... kOpenUdp6.
  uint8_t open_in = 0, open_out = 0;
  vf::VfRuntime* rt = nullptr;
  vf::Bridge* bridge = nullptr;        // in-daemon driver (vhost-user), polled around TX
  std::vector<const PortView*> flood;  // polled peers in the subnet
  std::vector<const PortView*> promisc_peers;
  // An ENI on another host (never polled, no rings): what is routed or
  // switched to it goes to the underlay port (underlay_port.h).
  const RemoteView* remote = nullptr;
};

struct L2Key {
  uint32_t subnet;
  uint16_t vpc;
  uint8_t prefix;
  uint8_t mac[6];
  uint8_t pad[3];
};
static_assert(sizeof(L2Key) == 16);

// An address of a VPC port: IPv4 in the first four bytes (network order).
struct L3Key {
  uint16_t vpc;
  uint8_t family;
  uint8_t pad;
  uint8_t addr[16];
};
static_assert(sizeof(L3Key) == 20);

// The MAC of every VPC's implied router (a locally administered unicast address).
inline constexpr uint8_t kRouterMac[6] = {0x02, 0x76, 0x70, 0x63, 0x00, 0x01};

inline constexpr uint8_t kOpenTcp4 = 1, kOpenUdp4 = 2, kOpenTcp6 = 4, kOpenUdp6 = 8;

// The conntrack table a VF with security groups uses (the Dataplane keeps them).
using ConntrackFor = std::function<std::shared_ptr<Conntrack>(const vf::Vf&)>;

class Snapshot {
 public:
  Snapshot(const vf::VfTable& table, unsigned workers, uint64_t generation, const ConntrackFor& conntrack = {});
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  // The port that owns mac in (vpc, subnet, prefix), or nullptr.
  const PortView* lookup(uint16_t vpc, uint32_t subnet, uint8_t prefix, const uint8_t* mac) const;
  // The VPC port that has this address (host-order IPv4 / network-order IPv6), or nullptr.
  const PortView* lookup_ip4(uint16_t vpc, uint32_t ip) const;
  const PortView* lookup_ip6(uint16_t vpc, const uint8_t* ip) const;
  const std::vector<const PortView*>& shard(unsigned worker) const { return shards_[worker]; }
  // VF id's port when it is polled, else nullptr.
  const PortView* polled_port(uint16_t vf) const { return vf < by_id_.size() ? by_id_[vf] : nullptr; }
  // A VPC's number in this snapshot (PortView::vpc), 0 when unknown.
  uint16_t vpc_number(const std::string& id) const;
  // The VPC (its number) a VNI from the underlay names, 0 when none.
  uint16_t vpc_of_vni(uint32_t vni) const;
  // A VPC's VNI (0: none).
  uint32_t vni_of(uint16_t vpc) const { return vpc < vnis_.size() ? vnis_[vpc] : 0; }
  // The ENI of another host that has this MAC in VPC vpc (0: in any VPC), or nullptr.
  const PortView* lookup_remote_mac(uint16_t vpc, const uint8_t* mac) const;
  // Whether the host at underlay address host_ip (host order) runs an ENI
  // of VPC vpc that may send from addresses not its own (no src/dst check).
  bool forwarder_on(uint16_t vpc, uint32_t host_ip) const;
  // The VPCs' subnets (vf::Network) compiled.
  const std::vector<std::unique_ptr<SubnetView>>& subnets() const { return subnets_; }
  // Subnets whose route table was not compiled (past kMaxRouteTables, or
  // DPDK's memory spent): they route locally only.
  uint32_t route_tables_failed() const { return route_tables_failed_; }
  // Compiled route tables per snapshot at most (about 3 memzones each, of
  // DPDK's 2560, and two snapshots live through a grace period).
  static constexpr uint32_t kMaxRouteTables = 256;

 private:
  void compile_network(const vf::Network& net);

  void add_remote_ports(const vf::Network& net, size_t& addresses);

  std::vector<PortView> ports_;
  std::vector<RemoteView> remotes_;
  std::vector<std::pair<uint32_t, uint16_t>> vni_vpc_;  // sorted by VNI
  std::vector<uint32_t> vnis_;                          // by VPC number
  std::map<std::string, uint16_t> vpc_numbers_;
  std::vector<std::unique_ptr<SubnetView>> subnets_;
  uint32_t route_tables_failed_ = 0;
  std::shared_ptr<const vf::Network> network_;  // what subnets_ was compiled from
  std::vector<std::vector<const PortView*>> shards_;
  std::vector<const PortView*> by_id_;  // polled ports by VF id
  std::vector<std::shared_ptr<const vf::DmaTable>> dma_refs_;
  std::vector<std::shared_ptr<Conntrack>> ct_refs_;
  rte_hash* l2_ = nullptr;
  rte_hash* l3_ = nullptr;  // VPC ports' addresses
};

}  // namespace venic::fastpath
