// A VPC subnet as the fast path sees it: where it is, its route table and
// its network ACL, compiled by the snapshot from vf::Network.  A VPC port
// points at its subnet's view (PortView::net).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace venic::fastpath {

class RouteTable;  // route_table.h
class NetworkAcl;  // network_acl.h

struct SubnetView {
  SubnetView();
  ~SubnetView();
  SubnetView(SubnetView&&) noexcept;
  uint16_t vpc = 0;   // the VPC's number in the snapshot
  uint32_t addr = 0;  // IPv4 network, host order
  uint8_t prefix = 0;
  bool contains4(uint32_t a) const { return prefix == 0 || (a & (~0u << (32 - prefix))) == addr; }
  // nullptr: none compiled (the VPC's local routes only; no ACL).
  std::unique_ptr<RouteTable> routes;
  std::unique_ptr<NetworkAcl> acl_in, acl_out;
};

}  // namespace venic::fastpath
