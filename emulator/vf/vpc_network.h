// What the VPCs' routers and subnet boundaries do, as the EC2 model sets it:
// each subnet's route table and network ACL, and the gateways routes point
// at.  The model (emulator/model/vpc_network_builder) builds it, the VF table
// publishes it with the VFs, and the fast path's snapshot compiles it
// (fastpath/route_table.h, fastpath/network_acl.h).  VF configs say which
// VPC and subnet a port is in; this says what lies around them.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "vf_config.h"

namespace venic::vf {

// An IPv4 or IPv6 prefix; addr is network order (IPv4 in the first four bytes).
struct Prefix {
  uint8_t family = 4;  // 4 or 6
  std::array<uint8_t, 16> addr{};
  uint8_t prefix = 0;
  bool operator==(const Prefix&) const = default;
};

// Where a route sends what matches it.
struct RouteTarget {
  enum class Kind : uint8_t {
    kLocal,            // the VPC itself: the ENI that has the address
    kEni,              // an instance's ENI (a NAT or firewall instance): `vf` backs it
    kPeering,          // a VPC peering connection: the address is looked up in `vpc`
    kInternetGateway,  // `gateway` (igw-...): out to the internet uplink, 1:1 NAT
    kNatGateway,       // `gateway` (nat-...): many-to-one NAT, then the internet
    kBlackhole,        // its target is gone: drop, counted as blackhole
  };
  Kind kind = Kind::kLocal;
  // kEni: its VF here, or kOtherHost when the ENI's VF is on another host
  // (then `eni` names it in Network::remote and remote_ip is its address);
  // no local port has that id.
  static constexpr uint16_t kOtherHost = 0xffff;
  uint16_t vf = 0;         // kEni
  uint32_t remote_ip = 0;  // kEni on another host: its primary address, host order
  std::string vpc;         // kPeering: the peer VPC's id
  std::string gateway;     // kInternetGateway, kNatGateway
  std::string eni;         // kEni: the ENI's id
  bool operator==(const RouteTarget&) const = default;
};

struct Route {
  Prefix dst;
  RouteTarget target;
  bool operator==(const Route&) const = default;
};

// One numbered network ACL entry.  proto -1: all; ports (TCP/UDP) or ICMP
// type/code (0xffff: any) as in SgRule.
struct NaclEntry {
  uint16_t number = 0;  // evaluated lowest first; the first match decides
  bool allow = false;
  Prefix peer;  // the remote side's addresses
  int16_t proto = -1;
  uint16_t port_lo = 0, port_hi = 0xffff;
  bool operator==(const NaclEntry&) const = default;
};

struct SubnetNetwork {
  std::string id;
  uint32_t addr = 0;  // IPv4 network, host order
  uint8_t prefix = 0;
  std::vector<Route> routes;  // its route table's (the main table's when none is associated)
  std::vector<NaclEntry> nacl_in, nacl_out;
  bool nacl = false;  // false: no ACL applies (everything passes)
  bool operator==(const SubnetNetwork&) const = default;
};

struct VpcNetwork {
  std::string id;
  uint32_t addr = 0;  // its IPv4 CIDR, host order
  uint8_t prefix = 0;
  uint32_t vni = 0;  // its 24-bit id on the underlay between hosts (docs/multi-host.md); 0: none yet
  std::vector<SubnetNetwork> subnets;
  bool operator==(const VpcNetwork&) const = default;
};

// A venic host's tunnel endpoint on the underlay (docs/multi-host.md): a
// venicd, or any Geneve/VXLAN endpoint an operator registered.
struct UnderlayHost {
  std::string name;
  uint32_t ip = 0;  // its underlay IPv4 address, host order
  MacAddr mac{};    // its uplink's MAC (hosts share one L2 underlay segment)
  bool operator==(const UnderlayHost&) const = default;
};

// An ENI whose VF lives on another host, attached to a running instance
// there: the fast path tunnels what is routed to it, and takes what comes
// from it only from its host's underlay address.
struct RemoteEni {
  std::string eni_id, vpc_id, subnet_id, host;
  MacAddr mac{};
  uint32_t ip = 0;  // host order
  std::vector<uint32_t> secondary_ips;
  std::vector<Ipv6Addr> ipv6;
  uint32_t subnet_addr = 0;  // its subnet's IPv4 network, host order
  uint8_t prefix = 0;
  bool src_dst_check = true;  // false: it may send from any address (a NAT instance)
  bool efa = false;           // an EFA device: vefa's traffic reaches it over the underlay
  bool operator==(const RemoteEni&) const = default;
};

// Every VPC by id, and, with several hosts, the ENIs on the others.
struct Network {
  std::map<std::string, VpcNetwork> vpcs;
  std::map<std::string, UnderlayHost> hosts;  // by name; empty on a single host
  std::vector<RemoteEni> remote;
  bool operator==(const Network&) const = default;
};

}  // namespace venic::vf
