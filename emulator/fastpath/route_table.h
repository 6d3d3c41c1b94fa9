// A subnet's route table compiled for the fast path: longest-prefix match
// over its routes (vf::Route) with DPDK's RIB (rte_rib for IPv4, rte_rib6 for
// IPv6), each route's target resolved to a RouteHop.  rte_lpm/rte_lpm6 were
// the first choice, but each holds a 2^24-entry first level (64 MiB): one per
// route table does not fit venicd's EAL memory (-m 128), while a RIB takes
// memory in proportion to its routes (a route table has at most 51).
//
// A family whose routes are all local gets no RIB: its lookups answer the
// local hop, which is what a VPC without route tables does (the ENI that has
// the address, in the sender's VPC).  Immutable once built; built by the
// control thread with the snapshot, read by the workers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "vpc_network.h"

struct rte_rib;
struct rte_rib6;

namespace venic::fastpath {

struct RouteHop {
  vf::RouteTarget::Kind kind = vf::RouteTarget::Kind::kLocal;
  uint16_t vpc = 0;        // kPeering: the peer VPC's number in the snapshot
  uint16_t vf = 0;         // kEni: the VF that backs the ENI
  uint32_t remote_ip = 0;  // kEni on another host: its address (the VPC's ENI there)
  char gateway[32] = {};   // kInternetGateway, kNatGateway: its id, NUL-terminated
};

class RouteTable {
 public:
  // vpc_number: a VPC id's number in the snapshot (0: unknown, its routes
  // become blackholes).  Throws std::runtime_error when DPDK cannot make a RIB.
  RouteTable(const std::vector<vf::Route>& routes, const std::function<uint16_t(const std::string&)>& vpc_number);
  ~RouteTable();
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  // Whether routes need a table at all (some route is not local).
  static bool needed(const std::vector<vf::Route>& routes);

  // The hop for a destination (IPv4 host order; IPv6 network order), or
  // nullptr when no route matches.
  const RouteHop* lookup4(uint32_t dst) const;
  const RouteHop* lookup6(const uint8_t* dst) const;

 private:
  std::vector<RouteHop> hops_;  // the RIBs' next hops are indices into it
  rte_rib* rib4_ = nullptr;
  rte_rib6* rib6_ = nullptr;
};

}  // namespace venic::fastpath
