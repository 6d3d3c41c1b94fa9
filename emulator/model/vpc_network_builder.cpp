#include "vpc_network_builder.h"

#include <algorithm>

#include "security_policy.h"

namespace venic::model {

namespace {

// One direction of a network ACL as the fast path matches it, by number.
std::vector<vf::NaclEntry> nacl_entries(const NetworkAcl& a, bool egress) {
  std::vector<vf::NaclEntry> out;
  for (const NaclRule& r : a.entries) {
    if (r.egress != egress) continue;
    vf::SgRule peer;
    if (!vf::parse_peer(r.cidr.empty() ? r.ipv6_cidr : r.cidr, peer)) continue;  // the model keeps them canonical
    vf::NaclEntry e;
    e.number = static_cast<uint16_t>(r.number);
    e.allow = r.allow;
    e.peer.family = peer.family;
    e.peer.addr = peer.addr;
    e.peer.prefix = peer.prefix;
    e.proto = static_cast<int16_t>(r.protocol);
    if (r.protocol == 6 || r.protocol == 17) {
      e.port_lo = static_cast<uint16_t>(r.from_port);
      e.port_hi = static_cast<uint16_t>(r.to_port);
    } else if (r.protocol == 1 || r.protocol == 58) {
      e.port_lo = r.icmp_type < 0 ? 0xffff : static_cast<uint16_t>(r.icmp_type);
      e.port_hi = r.icmp_code < 0 ? 0xffff : static_cast<uint16_t>(r.icmp_code);
    }
    out.push_back(e);
  }
  std::sort(out.begin(), out.end(), [](const vf::NaclEntry& x, const vf::NaclEntry& y) { return x.number < y.number; });
  return out;
}

}  // namespace

vf::Network network_of(const Ec2Model& m) {
  vf::Network n;
  for (auto& [id, v] : m.vpcs()) {
    vf::VpcNetwork& out = n.vpcs[id];
    out.id = id;
    out.addr = v.cidr.addr;
    out.prefix = v.cidr.prefix;
  }
  for (auto& [id, s] : m.subnets()) {
    auto it = n.vpcs.find(s.vpc);
    if (it == n.vpcs.end()) continue;
    vf::SubnetNetwork sn;
    sn.id = id;
    sn.addr = s.cidr.addr;
    sn.prefix = s.cidr.prefix;
    for (auto& [aid, acl] : m.network_acls())
      if (acl.associations.count(id)) {
        sn.nacl_in = nacl_entries(acl, false);
        sn.nacl_out = nacl_entries(acl, true);
        sn.nacl = true;
      }
    it->second.subnets.push_back(std::move(sn));
  }
  return n;
}

}  // namespace venic::model
