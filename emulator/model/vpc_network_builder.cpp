#include "vpc_network_builder.h"

#include <algorithm>

#include "security_policy.h"

namespace venic::model {

namespace {

// A route's destination as a prefix; false when its text is none (the model
// checked it).
bool prefix_of(const RouteEntry& r, vf::Prefix& out) {
  vf::SgRule peer;
  if (!vf::parse_peer(r.destination, peer)) return false;
  out.family = peer.family;
  out.addr = peer.addr;
  out.prefix = peer.prefix;
  return true;
}

// What a route of a table in vpc does: its target, or a blackhole when the
// target is gone.  A stopped instance's route stays: its VF has no link, so
// what it carries is lost there, as EC2 loses it.
vf::RouteTarget target_of(const Ec2Model& m, const RouteEntry& r, const std::string& vpc,
                          const std::string& local_host) {
  using K = vf::RouteTarget::Kind;
  vf::RouteTarget t;
  if (!m.route_active(r, vpc)) {
    t.kind = K::kBlackhole;
    return t;
  }
  switch (r.target) {
    case RouteEntry::Target::kLocal:
      t.kind = K::kLocal;
      break;
    case RouteEntry::Target::kGateway:
      t.kind = K::kInternetGateway;
      t.gateway = r.target_id;
      break;
    case RouteEntry::Target::kNatGateway:
      t.kind = K::kNatGateway;
      t.gateway = r.target_id;
      break;
    case RouteEntry::Target::kInstance:
    case RouteEntry::Target::kEni: {
      const Eni& e = m.enis().at(r.target_id);
      t.kind = K::kEni;
      t.eni = e.id;
      // Another host's VF id would name one of ours here.
      const bool here = e.host.empty() || e.host == local_host;
      t.vf = here ? e.vf : vf::RouteTarget::kOtherHost;
      if (!here) t.remote_ip = e.ip;  // the fast path tunnels to the ENI that has it
      break;
    }
    case RouteEntry::Target::kPeering: {
      const VpcPeering& x = m.peerings().at(r.target_id);
      t.kind = K::kPeering;
      t.vpc = x.requester_vpc == vpc ? x.accepter_vpc : x.requester_vpc;
      break;
    }
  }
  return t;
}

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

// The ENIs other hosts serve that traffic can reach: attached to a running
// instance (a detached ENI, or a stopped instance's, has no link).
void add_remote(const Ec2Model& m, const std::string& local_host, vf::Network& n) {
  n.hosts = m.hosts();
  for (auto& [id, e] : m.enis()) {
    if (e.host.empty() || e.host == local_host || !e.attached()) continue;
    const Instance* in = m.instance(e.instance);
    const Subnet* sn = m.subnet(e.subnet);
    if (!in || !in->running || !sn) continue;
    vf::RemoteEni r;
    r.eni_id = id;
    r.vpc_id = sn->vpc;
    r.subnet_id = sn->id;
    r.host = e.host;
    r.mac = e.mac;
    r.ip = e.ip;
    r.secondary_ips = e.secondary_ips;
    r.ipv6 = e.ipv6;
    r.subnet_addr = sn->cidr.addr;
    r.prefix = sn->cidr.prefix;
    r.src_dst_check = e.src_dst_check;
    r.efa = e.efa;
    n.remote.push_back(std::move(r));
  }
}

}  // namespace

vf::Network network_of(const Ec2Model& m, const std::string& local_host) {
  vf::Network n;
  for (auto& [id, v] : m.vpcs()) {
    vf::VpcNetwork& out = n.vpcs[id];
    out.id = id;
    out.addr = v.cidr.addr;
    out.prefix = v.cidr.prefix;
    out.vni = v.vni;
  }
  add_remote(m, local_host, n);
  for (auto& [id, s] : m.subnets()) {
    auto it = n.vpcs.find(s.vpc);
    if (it == n.vpcs.end()) continue;
    vf::SubnetNetwork sn;
    sn.id = id;
    sn.addr = s.cidr.addr;
    sn.prefix = s.cidr.prefix;
    // Its route table's routes (the main table's when none is associated).
    if (const RouteTable* t = m.route_table_of(s)) {
      for (const RouteEntry& r : t->routes) {
        vf::Route route;
        if (!prefix_of(r, route.dst)) continue;
        route.target = target_of(m, r, s.vpc, local_host);
        sn.routes.push_back(std::move(route));
      }
    }
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
