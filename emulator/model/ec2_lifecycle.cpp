// The EC2 model's lifecycle end: TerminateInstances and every Delete*,
// Revoke* and Unassign* action, with EC2's dependency errors.  What an
// action removes from the model, Ec2Service removes from the VF table (a
// VF whose ENI is gone goes, and with it the EFA contexts opened on it).
#include <algorithm>

#include "ec2_model.h"
#include "ec2_params.h"

namespace venic::model {

using nlohmann::json;
using namespace params;

void Ec2Model::forget_terminated() {
  const int64_t now = clock_();
  for (auto it = s_.terminated.begin(); it != s_.terminated.end();)
    it = now - it->second.terminated_at >= kTerminatedListedSeconds ? s_.terminated.erase(it) : std::next(it);
  while (s_.terminated.size() > kMaxTerminated) {
    auto oldest = std::min_element(s_.terminated.begin(), s_.terminated.end(), [](const auto& a, const auto& b) {
      return a.second.terminated_at < b.second.terminated_at;
    });
    s_.terminated.erase(oldest);
  }
}

json Ec2Model::terminate_instances(const json& p) {
  only(p, {"InstanceIds"});
  auto ids = str_list(p, "InstanceIds");
  if (ids.empty()) fail(kInvalid, "MissingParameter", "The request must contain the parameter InstanceIds");
  if (ids.size() > 1000) bad_param("At most 1000 InstanceIds");
  json out = json::array();
  for (const auto& id : ids) {
    if (auto t = s_.terminated.find(id); t != s_.terminated.end() && visible(t->second.owner_uid)) {
      out.push_back(
          {{"InstanceId", id}, {"PreviousState", state_json(t->second)}, {"CurrentState", state_json(t->second)}});
      continue;  // EC2 answers a repeat with the state it is in
    }
    auto it = s_.instances.find(id);
    if (it == s_.instances.end())
      fail(kNotFound, "InvalidInstanceID.NotFound", "The instance ID '" + id + "' does not exist");
    require_owner(it->second.owner_uid);
    Instance in = it->second;
    const json previous = state_json(in);
    // Its interfaces: those to delete with it go (and their VFs); the
    // others are detached and stay, as EC2 does.
    for (auto& [idx, eid] : in.enis) {
      Eni& e = s_.enis.at(eid);
      if (e.delete_on_termination) {
        s_.enis.erase(eid);
        continue;
      }
      e.clear_attachment();
    }
    s_.instances.erase(it);
    in.enis.clear();
    in.subnet.clear();
    in.running = false;
    in.terminated_at = std::max<int64_t>(clock_(), 1);
    s_.terminated[id] = in;
    out.push_back({{"InstanceId", id}, {"PreviousState", previous}, {"CurrentState", state_json(in)}});
  }
  forget_terminated();
  return {{"TerminatingInstances", out}};
}

namespace {
[[noreturn]] void dependency(const std::string& id, const std::string& what) {
  fail(kBusy, "DependencyViolation", "The " + id + " has dependencies and cannot be deleted: " + what);
}
}  // namespace

json Ec2Model::delete_vpc(const json& p) {
  only(p, {"VpcId"});
  const std::string id = str(p, "VpcId");
  auto it = s_.vpcs.find(id);
  if (it == s_.vpcs.end() || !visible(it->second.owner))
    fail(kNotFound, "InvalidVpcID.NotFound", "The vpc ID '" + id + "' does not exist");
  require_owner(it->second.owner);
  for (auto& [sid, sn] : s_.subnets)
    if (sn.vpc == id) dependency("vpc '" + id + "'", "its subnet " + sid);
  for (auto& [gid, g] : s_.groups)
    if (g.vpc == id && gid != it->second.default_group) dependency("vpc '" + id + "'", "its security group " + gid);
  check_gateway_dependencies(id, "");
  routes_on_delete_vpc(id);                   // ec2_routes.cpp
  nacl_vpc_deleting(id);                      // custom ACLs hold it; the default goes with it
  s_.groups.erase(it->second.default_group);  // goes with its VPC
  s_.vpcs.erase(it);
  return json::object();
}

json Ec2Model::delete_subnet(const json& p) {
  only(p, {"SubnetId"});
  const std::string id = str(p, "SubnetId");
  auto it = s_.subnets.find(id);
  if (it == s_.subnets.end() || !visible(it->second.owner))
    fail(kNotFound, "InvalidSubnetID.NotFound", "The subnet ID '" + id + "' does not exist");
  require_owner(it->second.owner);
  for (auto& [eid, e] : s_.enis)
    if (e.subnet == id) dependency("subnet '" + id + "'", "the network interface " + eid + " is in it");
  for (auto& [iid, in] : s_.instances)
    if (in.subnet == id) dependency("subnet '" + id + "'", "the instance " + iid + " is in it");
  check_gateway_dependencies(it->second.vpc, id);
  routes_on_delete_subnet(id);  // ec2_routes.cpp
  nacl_subnet_deleted(id);
  s_.subnets.erase(it);
  return json::object();
}

json Ec2Model::delete_security_group(const json& p) {
  only(p, {"GroupId", "GroupName"});
  if (field(p, "GroupId") && field(p, "GroupName"))
    fail(kInvalid, "InvalidParameterCombination", "Give GroupId or GroupName, not both");
  std::string id;
  if (field(p, "GroupName")) {
    // By name, as the AWS CLI's --group-name: it must name one group the caller sees.
    const std::string name = str(p, "GroupName");
    int found = 0;
    for (auto& [gid, g] : s_.groups)
      if (g.name == name && visible(g.owner)) found++, id = gid;
    if (found == 0) fail(kNotFound, "InvalidGroup.NotFound", "The security group '" + name + "' does not exist");
    if (found > 1)
      fail(kInvalid, "InvalidParameterCombination",
           "The security group name '" + name + "' is in several VPCs: give GroupId");
  } else {
    id = str(p, "GroupId");
  }
  auto it = s_.groups.find(id);
  if (it == s_.groups.end() || !visible(it->second.owner))
    fail(kNotFound, "InvalidGroup.NotFound", "The security group '" + id + "' does not exist");
  require_owner(it->second.owner);
  if (s_.vpcs.at(it->second.vpc).default_group == id)
    fail(kInvalid, "CannotDelete", "the specified group: \"" + id + "\" name: \"default\" cannot be deleted by a user");
  // Dependents of another account (a peer VPC's group) are not named: their
  // ids are theirs to know.
  for (auto& [eid, e] : s_.enis)
    if (std::count(e.groups.begin(), e.groups.end(), id))
      dependency("security group '" + id + "'",
                 visible(e.owner) ? "the network interface " + eid + " uses it" : "a network interface uses it");
  for (auto& [gid, g] : s_.groups) {
    if (gid == id) continue;  // its own rules may name itself
    for (const auto* rules : {&g.ingress, &g.egress})
      for (const SgRule& r : *rules)
        if (std::count(r.groups.begin(), r.groups.end(), id))
          dependency("security group '" + id + "'", visible(g.owner)
                                                        ? "a rule of " + gid + " references it"
                                                        : "a rule of another account's group references it");
  }
  s_.groups.erase(it);
  return json::object();
}

json Ec2Model::revoke(const json& p, bool ingress) {
  only(p, {"GroupId", "IpPermissions"});
  const std::string id = str(p, "GroupId");
  auto it = s_.groups.find(id);
  if (it == s_.groups.end() || !visible(it->second.owner))
    fail(kNotFound, "InvalidGroup.NotFound", "The security group '" + id + "' does not exist");
  require_owner(it->second.owner);
  const json* perms = field(p, "IpPermissions");
  if (!perms || !perms->is_array() || perms->empty())
    fail(kInvalid, "MissingParameter", "The request must contain the parameter IpPermissions");
  if (perms->size() > 60) bad_param("At most 60 IpPermissions");
  std::vector<SgRule>& rules = ingress ? it->second.ingress : it->second.egress;
  // EC2 keeps one rule per peer: each peer named is revoked on its own, and
  // one that no rule of this protocol and port range holds is an error.
  auto same_cidr = [](const Cidr4& a, const Cidr4& b) { return a.addr == b.addr && a.prefix == b.prefix; };
  auto not_found = [&] {
    fail(kNotFound, "InvalidPermission.NotFound",
         "The specified rule does not exist in this security group (" + id + ", " + (ingress ? "ingress" : "egress") +
             ")");
  };
  for (const auto& e : *perms) {
    const SgRule want = permission(e, it->second);
    auto matching = [&](const SgRule& r) {
      return r.protocol == want.protocol && r.from_port == want.from_port && r.to_port == want.to_port;
    };
    for (const Cidr4& c : want.cidrs) {
      auto r = std::find_if(rules.begin(), rules.end(), [&](const SgRule& r) {
        return matching(r) &&
               std::any_of(r.cidrs.begin(), r.cidrs.end(), [&](const Cidr4& x) { return same_cidr(x, c); });
      });
      if (r == rules.end()) not_found();
      r->cidrs.erase(std::find_if(r->cidrs.begin(), r->cidrs.end(), [&](const Cidr4& x) { return same_cidr(x, c); }));
    }
    for (const std::string& c : want.ipv6_cidrs) {
      auto r = std::find_if(rules.begin(), rules.end(), [&](const SgRule& r) {
        return matching(r) && std::count(r.ipv6_cidrs.begin(), r.ipv6_cidrs.end(), c);
      });
      if (r == rules.end()) not_found();
      r->ipv6_cidrs.erase(std::find(r->ipv6_cidrs.begin(), r->ipv6_cidrs.end(), c));
    }
    for (const std::string& g : want.groups) {
      auto r = std::find_if(rules.begin(), rules.end(), [&](const SgRule& r) {
        return matching(r) && std::count(r.groups.begin(), r.groups.end(), g);
      });
      if (r == rules.end()) not_found();
      r->groups.erase(std::find(r->groups.begin(), r->groups.end(), g));
    }
    rules.erase(
        std::remove_if(rules.begin(), rules.end(),
                       [](const SgRule& r) { return r.cidrs.empty() && r.ipv6_cidrs.empty() && r.groups.empty(); }),
        rules.end());
  }
  return {{"Return", true}};
}

json Ec2Model::unassign_ips(const json& p) {
  only(p, {"NetworkInterfaceId", "PrivateIpAddresses"});
  const std::string id = str(p, "NetworkInterfaceId");
  Eni& e = owned_eni(id);
  const auto wanted = str_list(p, "PrivateIpAddresses");
  if (wanted.empty()) fail(kInvalid, "MissingParameter", "The request must contain the parameter PrivateIpAddresses");
  for (const auto& text : wanted) {
    const uint32_t a = ipv4(text, "PrivateIpAddresses");
    if (a == e.ip)
      fail(kInvalid, "InvalidParameterValue",
           "The primary private address " + text + " of " + id + " cannot be unassigned");
    auto it = std::find(e.secondary_ips.begin(), e.secondary_ips.end(), a);
    if (it == e.secondary_ips.end())
      fail(kInvalid, "InvalidParameterValue",
           "Some of the specified addresses are not assigned to interface " + id + ": " + text);
    e.secondary_ips.erase(it);
  }
  return json::object();
}

json Ec2Model::unassign_ipv6(const json& p) {
  only(p, {"NetworkInterfaceId", "Ipv6Addresses"});
  const std::string id = str(p, "NetworkInterfaceId");
  Eni& e = owned_eni(id);
  const auto wanted = str_list(p, "Ipv6Addresses");
  if (wanted.empty()) fail(kInvalid, "MissingParameter", "The request must contain the parameter Ipv6Addresses");
  json out = json::array();
  for (const auto& text : wanted) {
    const auto a = vf::parse_ipv6(text);
    if (!a) bad_param("Invalid IPv6 address '" + text + "' for Ipv6Addresses");
    auto it = std::find(e.ipv6.begin(), e.ipv6.end(), *a);
    if (it == e.ipv6.end())
      fail(kInvalid, "InvalidParameterValue",
           "Some of the specified addresses are not assigned to interface " + id + ": " + text);
    e.ipv6.erase(it);
    out.push_back(vf::format_ipv6(*a));
  }
  return {{"NetworkInterfaceId", id}, {"UnassignedIpv6Addresses", out}};
}

json Ec2Model::delete_placement_group(const json& p) {
  only(p, {"GroupName"});
  const std::string name = str(p, "GroupName");
  auto it = s_.placement.find(placement_key(caller_.uid, name));  // the caller's own
  if (it == s_.placement.end())
    fail(kNotFound, "InvalidPlacementGroup.Unknown", "The placement group '" + name + "' is unknown");
  require_owner(it->second.owner);
  for (auto& [iid, in] : s_.instances)
    if (in.placement_group == name && in.placement_owner == it->second.owner)
      fail(kBusy, "InvalidPlacementGroup.InUse", "The placement group '" + name + "' is in use by " + iid);
  s_.placement.erase(it);
  return json::object();
}

}  // namespace venic::model
