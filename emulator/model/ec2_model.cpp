#include "ec2_model.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <random>
#include <regex>
#include <set>

#include "ec2_filters.h"
#include "ec2_params.h"
#include "ec2_validation.h"
#include "venic_abi.h"

namespace venic::model {

namespace {

using nlohmann::json;
using namespace params;

// What ImageId says when RunInstances names none: venic boots no image.
constexpr const char* kDefaultImage = "ami-00000000000000000";

}  // namespace

namespace params {

json state_json(const Instance& i) {
  if (i.terminated_at) return {{"Code", 48}, {"Name", "terminated"}};
  return i.running ? json{{"Code", 16}, {"Name", "running"}} : json{{"Code", 80}, {"Name", "stopped"}};
}

std::string iso8601(int64_t seconds) {
  const time_t t = static_cast<time_t>(seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return buf;
}

}  // namespace params

namespace {}  // namespace

std::optional<Cidr4> parse_cidr4(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto a = vf::parse_ipv4(s.substr(0, slash));
  std::string len = s.substr(slash + 1);
  if (!a || len.empty() || len.size() > 2 || !std::all_of(len.begin(), len.end(), ::isdigit)) return std::nullopt;
  int prefix = std::stoi(len);
  if (prefix > 32) return std::nullopt;
  Cidr4 c{*a, static_cast<uint8_t>(prefix)};
  if ((c.addr & c.mask()) != c.addr) return std::nullopt;
  return c;
}

std::string format_cidr4(const Cidr4& c) {
  return ip_s(c.addr) + "/" + std::to_string(c.prefix);
}

vf::Limits limits_for(const InstanceType& t) {
  vf::Limits l;
  // Each network card has its own allowance (p4d.24xlarge: 4 x 100 Gbps).
  l.bw_in_mbps = l.bw_out_mbps = static_cast<uint64_t>(t.card_baseline_gbps() * 1000);
  l.pps = t.pps / t.network_cards;
  // EC2: one flow gets 5 Gbps (10 Gbps between members of a cluster
  // placement group: vf::Limits::kClusterFlowMbps, chosen per flow).
  l.flow_mbps = vf::Limits::kDefaultFlowMbps;
  return l;
}

Ec2Model::Ec2Model(Random random, Clock clock) : random_(std::move(random)), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return static_cast<int64_t>(::time(nullptr)); };
  if (!random_) {
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    random_ = [gen] { return (*gen)(); };
  }
}

std::string Ec2Model::new_id(const char* prefix) {
  // EC2's long ids: a prefix and 17 hex digits.
  for (;;) {
    char buf[48];
    const unsigned high = static_cast<unsigned>(random_() & 0xf);
    std::snprintf(buf, sizeof(buf), "%s-%x%016llx", prefix, high, static_cast<unsigned long long>(random_()));
    std::string id = buf;
    bool used = s_.vpcs.count(id) || s_.subnets.count(id) || s_.groups.count(id) || s_.instances.count(id) ||
                s_.enis.count(id) || s_.terminated.count(id);
    for (auto& [n, g] : s_.placement) used = used || g.id == id;
    for (auto& [n, e] : s_.enis) used = used || e.attachment == id;
    if (!used) return id;
  }
}

const Eni* Ec2Model::eni_by_vf(uint16_t vf) const {
  for (auto& [id, e] : s_.enis)
    if (e.vf == vf && local(e)) return &e;
  return nullptr;
}
const Instance* Ec2Model::instance(const std::string& id) const {
  auto it = s_.instances.find(id);
  return it == s_.instances.end() ? nullptr : &it->second;
}
const Subnet* Ec2Model::subnet(const std::string& id) const {
  auto it = s_.subnets.find(id);
  return it == s_.subnets.end() ? nullptr : &it->second;
}
std::map<std::string, PlacementGroup> Ec2Model::placement_by_name() const {
  // The caller's own first (root sees every account's, the same name perhaps twice).
  std::map<std::string, PlacementGroup> out;
  if (auto it = s_.placement.lower_bound(placement_key(caller_.uid, "")); it != s_.placement.end())
    for (; it != s_.placement.end() && it->second.owner == caller_.uid; ++it) out.emplace(it->second.name, it->second);
  for (auto& [key, g] : s_.placement)
    if (visible(g.owner)) out.emplace(g.name, g);
  return out;
}

const PlacementGroup* Ec2Model::launch_group(int64_t owner, const std::string& name) const {
  const PlacementGroup* g = placement_group(owner, name);
  return g || !caller_.admin ? g : placement_group(caller_.uid, name);
}

const PlacementGroup* Ec2Model::placement_group(int64_t owner, const std::string& name) const {
  auto it = s_.placement.find(placement_key(owner, name));
  return it == s_.placement.end() ? nullptr : &it->second;
}

Eni& Ec2Model::eni_named(const std::string& id) {
  auto it = s_.enis.find(id);
  if (it == s_.enis.end())
    fail(kNotFound, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '" + id + "' does not exist");
  return it->second;
}

Eni& Ec2Model::owned_eni(const std::string& id) {
  Eni& e = eni_named(id);
  require_owner(e.owner);
  return e;
}

void Ec2Model::require_owner(int64_t owner) const {
  // EC2's words: they say nothing about the resource or whose it is.
  if (!caller_.may_manage(owner))
    fail(kPermission, "UnauthorizedOperation", "You are not authorized to perform this operation.");
}

const SecurityGroup* Ec2Model::security_group(const std::string& id) const {
  auto it = s_.groups.find(id);
  return it == s_.groups.end() ? nullptr : &it->second;
}

std::string Ec2Model::efa_os_bypass_problem(const Eni& e) const {
  if (!e.efa) return "not an EFA";
  auto all_from_self = [](const std::vector<SgRule>& rules, const std::string& self) {
    for (const auto& r : rules)
      if (r.protocol == "-1" && std::count(r.groups.begin(), r.groups.end(), self)) return true;
    return false;
  };
  for (const auto& gid : e.groups) {
    const SecurityGroup& g = s_.groups.at(gid);
    if (all_from_self(g.ingress, gid) && all_from_self(g.egress, gid)) return "";
  }
  return "none of its security groups allows all traffic in from itself and out to itself";
}

json Ec2Model::call(const std::string& action, const json& p, const std::function<uint16_t(const Eni&)>& new_eni,
                    const Caller& caller) {
  caller_ = caller;
  if (!p.is_object()) bad_param("the parameters must be an object");
  forget_terminated();
  State before = s_;
  // Once an action succeeded, addresses follow what it changed (ec2_gateways.cpp).
  struct Settle {
    Ec2Model& m;
    const int in_flight = std::uncaught_exceptions();
    ~Settle() {
      if (std::uncaught_exceptions() == in_flight) m.settle_addresses();
    }
  } settle{*this};
  try {
    check_id_shapes(p);
    if (auto r = routes_action(action, p)) return *r;   // ec2_routes.cpp
    if (auto r = gateway_action(action, p)) return *r;  // ec2_gateways.cpp
    if (action == "CreateVpc") return create_vpc(p);
    if (action == "CreateSubnet") return create_subnet(p);
    if (action == "ModifySubnetAttribute") return modify_subnet_attribute(p);
    if (action == "CreateSecurityGroup") return create_security_group(p);
    if (action == "AuthorizeSecurityGroupIngress") return authorize(p, true);
    if (action == "AuthorizeSecurityGroupEgress") return authorize(p, false);
    if (action == "CreatePlacementGroup") return create_placement_group(p);
    if (action == "RunInstances") return run_instances(p, new_eni);
    if (action == "StopInstances") return set_instance_state(p, false);
    if (action == "StartInstances") return set_instance_state(p, true);
    if (action == "CreateNetworkInterface") return create_network_interface(p, new_eni);
    if (action == "DeleteNetworkInterface") return delete_network_interface(p);
    if (action == "AttachNetworkInterface") return attach(p);
    if (action == "DetachNetworkInterface") return detach(p);
    if (action == "ModifyNetworkInterfaceAttribute") return modify_eni(p);
    if (action == "AssignPrivateIpAddresses") return assign_ips(p);
    if (action == "AssignIpv6Addresses") return assign_ipv6(p);
    if (action == "ModifyInstanceMetadataOptions") return modify_instance_metadata_options(p);
    if (action == "TerminateInstances") return terminate_instances(p);
    if (action == "DeleteVpc") return delete_vpc(p);
    if (action == "DeleteSubnet") return delete_subnet(p);
    if (action == "DeleteSecurityGroup") return delete_security_group(p);
    if (action == "RevokeSecurityGroupIngress") return revoke(p, true);
    if (action == "RevokeSecurityGroupEgress") return revoke(p, false);
    if (action == "UnassignPrivateIpAddresses") return unassign_ips(p);
    if (action == "UnassignIpv6Addresses") return unassign_ipv6(p);
    if (action == "DeletePlacementGroup") return delete_placement_group(p);
    if (action == "CreateNetworkAcl") return create_network_acl(p);
    if (action == "DeleteNetworkAcl") return delete_network_acl(p);
    if (action == "CreateNetworkAclEntry") return network_acl_entry(p, true);
    if (action == "ReplaceNetworkAclEntry") return network_acl_entry(p, false);
    if (action == "DeleteNetworkAclEntry") return delete_network_acl_entry(p);
    if (action == "ReplaceNetworkAclAssociation") return replace_network_acl_association(p);
    if (action.rfind("Describe", 0) == 0) return describe(action.substr(8), p);
  } catch (...) {
    s_ = std::move(before);
    throw;
  }
  fail("unknown_method", "InvalidAction", "The action " + action + " is not valid for this web service");
}

// ---- VPCs and subnets ---------------------------------------------------------

json Ec2Model::create_vpc(const json& p) {
  only(p, {"CidrBlock", "Ipv6CidrBlock", "AmazonProvidedIpv6CidrBlock"});
  Cidr4 c = cidr(str(p, "CidrBlock"), "CidrBlock", "InvalidVpc.Range");
  if (c.prefix < 16 || c.prefix > 28)
    fail(kInvalid, "InvalidVpc.Range", "The CIDR '" + format_cidr4(c) + "' is invalid: the netmask must be /16 to /28");
  Vpc v;
  v.id = new_id("vpc");
  v.owner = caller_.uid;
  v.cidr = c;
  v.ipv6_cidr = opt_str(p, "Ipv6CidrBlock");
  const json* amazon = field(p, "AmazonProvidedIpv6CidrBlock");
  if (amazon && !amazon->is_boolean()) bad_param("AmazonProvidedIpv6CidrBlock must be true or false");
  if (!v.ipv6_cidr.empty()) {
    if (amazon && amazon->get<bool>())
      fail(kInvalid, "InvalidParameterCombination", "Give Ipv6CidrBlock or AmazonProvidedIpv6CidrBlock, not both");
    v.ipv6_cidr = ipv6_block56(v.ipv6_cidr);
  } else if (amazon && amazon->get<bool>()) {
    // A /56 of 2600:1f18::/32, as Amazon's pool hands them out, unique here.
    for (;;) {
      const uint32_t r = static_cast<uint32_t>(random_() & 0xffffff);
      char buf[48];
      std::snprintf(buf, sizeof(buf), "2600:1f18:%x:%x00::/56", r >> 8, r & 0xff);
      bool used = false;
      for (auto& [id, o] : s_.vpcs) used = used || o.ipv6_cidr == buf;
      if (!used) {
        v.ipv6_cidr = buf;
        break;
      }
    }
  }
  // Every VPC has a default group: all traffic from its own members, all out.
  SecurityGroup g;
  g.id = new_id("sg");
  g.name = "default";
  g.description = "default VPC security group";
  g.vpc = v.id;
  g.owner = v.owner;
  g.ingress.push_back({"-1", -1, -1, {}, {g.id}, {}});
  g.egress.push_back({"-1", -1, -1, {Cidr4{0, 0}}, {}, {}});
  if (!v.ipv6_cidr.empty()) g.egress.back().ipv6_cidrs.push_back("::/0");
  v.default_group = g.id;
  v.vni = free_vni(s_);
  s_.groups[g.id] = g;
  s_.vpcs[v.id] = v;
  add_main_route_table(v);
  nacl_vpc_created(v);
  return {{"Vpc", vpc_json(v)}};
}

json Ec2Model::create_subnet(const json& p) {
  only(p, {"VpcId", "CidrBlock", "AvailabilityZone"});
  std::string vpc_id = str(p, "VpcId");
  auto vit = s_.vpcs.find(vpc_id);
  if (vit == s_.vpcs.end() || !visible(vit->second.owner))
    fail(kNotFound, "InvalidVpcID.NotFound", "The vpc ID '" + vpc_id + "' does not exist");
  Cidr4 c = cidr(str(p, "CidrBlock"), "CidrBlock", "InvalidSubnet.Range");
  if (c.prefix < 16 || c.prefix > 28 || !vit->second.cidr.contains(c))
    fail(kInvalid, "InvalidSubnet.Range",
         "The CIDR '" + format_cidr4(c) + "' is invalid: it must be /16 to /28 inside the VPC's " +
             format_cidr4(vit->second.cidr));
  for (auto& [id, sn] : s_.subnets)
    if (sn.vpc == vpc_id && sn.cidr.overlaps(c))
      fail(kExists, "InvalidSubnet.Conflict", "The CIDR '" + format_cidr4(c) + "' conflicts with another subnet");
  // EC2 picks a zone when none is given: here the zone of one of the VPC's
  // subnets (so it stays in their region), else us-east-1a.
  std::string az;
  if (field(p, "AvailabilityZone")) {
    az = str(p, "AvailabilityZone");
  } else {
    az = "us-east-1a";
    for (auto& [id, sn] : s_.subnets)
      if (sn.vpc == vpc_id) {
        az = sn.az;
        break;
      }
  }
  static const std::regex kAz("[a-z]{2}(-[a-z]+)+-[0-9][a-z]");
  if (!std::regex_match(az, kAz))
    bad_param("Value (" + az + ") for parameter availabilityZone is invalid (e.g. us-east-1a)");
  Subnet sn;
  sn.id = new_id("subnet");
  sn.owner = caller_.uid;
  sn.vpc = vpc_id;
  sn.cidr = c;
  sn.az = az;
  s_.subnets[sn.id] = sn;
  nacl_subnet_created(sn);
  return {{"Subnet", subnet_json(sn)}};
}

json Ec2Model::modify_subnet_attribute(const json& p) {
  only(p, {"SubnetId", "MapPublicIpOnLaunch"});
  std::string id = str(p, "SubnetId");
  auto it = s_.subnets.find(id);
  if (it == s_.subnets.end()) fail(kNotFound, "InvalidSubnetID.NotFound", "The subnet ID '" + id + "' does not exist");
  require_owner(it->second.owner);
  auto v = bool_value(p, "MapPublicIpOnLaunch");
  if (!v) fail(kInvalid, "MissingParameter", "The request must contain the parameter MapPublicIpOnLaunch");
  it->second.map_public_ip = *v;  // existing ENIs keep what they had
  return json::object();
}

// ---- security and placement groups ------------------------------------------

void Ec2Model::check_groups(const std::vector<std::string>& groups, const std::string& vpc) const {
  if (groups.size() > 5) fail(kLimit, "SecurityGroupsPerInterfaceLimitExceeded", "At most 5 security groups");
  for (const auto& g : groups) {
    auto it = s_.groups.find(g);
    if (it == s_.groups.end() || !visible(it->second.owner))
      fail(kNotFound, "InvalidGroup.NotFound", "The security group '" + g + "' does not exist");
    if (it->second.vpc != vpc)
      fail(kInvalid, "InvalidGroup.NotFound", "The security group '" + g + "' does not exist in VPC '" + vpc + "'");
  }
}

json Ec2Model::create_security_group(const json& p) {
  only(p, {"GroupName", "Description", "VpcId"});
  std::string name = str(p, "GroupName"), desc = str(p, "Description"), vpc = str(p, "VpcId");
  if (!s_.vpcs.count(vpc) || !visible(s_.vpcs.at(vpc).owner))
    fail(kNotFound, "InvalidVpcID.NotFound", "The vpc ID '" + vpc + "' does not exist");
  if (name.empty() || name.size() > 255) bad_param("GroupName must be 1-255 characters");
  if (name == "default") fail(kInvalid, "InvalidGroup.Reserved", "The security group 'default' is reserved");
  for (auto& [id, g] : s_.groups)
    if (g.vpc == vpc && g.name == name)
      fail(kExists, "InvalidGroup.Duplicate", "The security group '" + name + "' already exists for VPC '" + vpc + "'");
  SecurityGroup g;
  g.id = new_id("sg");
  g.owner = caller_.uid;
  g.name = name;
  g.description = desc;
  g.vpc = vpc;
  g.egress.push_back({"-1", -1, -1, {Cidr4{0, 0}}, {}, {}});  // all out, as EC2 creates it
  if (!s_.vpcs.at(vpc).ipv6_cidr.empty()) g.egress.back().ipv6_cidrs.push_back("::/0");
  s_.groups[g.id] = g;
  return {{"GroupId", g.id}};
}

SgRule Ec2Model::permission(const json& e, const SecurityGroup& g) const {
  if (!e.is_object()) bad_param("IpPermissions entries must be objects");
  SgRule r;
  const std::string protocol = str(e, "IpProtocol");
  const auto canonical = canonical_protocol(protocol);
  if (!canonical)
    bad_param("Invalid value '" + protocol.substr(0, 32) +
              "' for IP protocol (tcp, udp, icmp, icmpv6, their numbers 6, 17, 1, 58, or -1: all)");
  r.protocol = *canonical;
  if (r.protocol == "tcp" || r.protocol == "udp") {
    // EC2 needs both ports for tcp and udp (0-65535: all of them).
    r.from_port = static_cast<int>(integer(e, "FromPort", 0, 65535));
    r.to_port = static_cast<int>(integer(e, "ToPort", 0, 65535));
    if (r.from_port > r.to_port) fail(kInvalid, "InvalidParameterValue", "FromPort must not be above ToPort");
  } else if (r.protocol == "icmp" || r.protocol == "icmpv6") {
    r.from_port = static_cast<int>(integer(e, "FromPort", -1, 255, -1));
    r.to_port = static_cast<int>(integer(e, "ToPort", -1, 255, -1));
  }
  if (const json* ranges = field(e, "IpRanges")) {
    if (!ranges->is_array()) bad_param("IpRanges must be a list");
    for (const auto& rg : *ranges) r.cidrs.push_back(cidr(str(rg, "CidrIp"), "CidrIp", "InvalidParameterValue"));
  }
  if (const json* ranges = field(e, "Ipv6Ranges")) {
    if (!ranges->is_array()) bad_param("Ipv6Ranges must be a list");
    for (const auto& rg : *ranges) {
      const std::string c = str(rg, "CidrIpv6");
      auto canon = canonical_cidr6(c);
      if (!canon) bad_param("Invalid IPv6 CIDR '" + c + "' for CidrIpv6");
      r.ipv6_cidrs.push_back(*canon);
    }
  }
  if (const json* pairs = field(e, "UserIdGroupPairs")) {
    if (!pairs->is_array()) bad_param("UserIdGroupPairs must be a list");
    for (const auto& pr : *pairs) {
      if (!pr.is_object()) bad_param("UserIdGroupPairs entries must be objects");
      if (field(pr, "GroupId") || !field(pr, "GroupName")) {
        r.groups.push_back(str(pr, "GroupId"));
        continue;
      }
      // A name, as the AWS CLI sends --source-group NAME: the group of that name in g's VPC.
      const std::string name = str(pr, "GroupName");
      auto named = std::find_if(s_.groups.begin(), s_.groups.end(), [&](const auto& x) {
        return x.second.vpc == g.vpc && x.second.name == name && visible(x.second.owner);
      });
      if (named == s_.groups.end())
        fail(kNotFound, "InvalidGroup.NotFound",
             "The security group '" + name + "' does not exist in VPC '" + g.vpc + "'");
      r.groups.push_back(named->first);
    }
    check_rule_groups(r.groups, g.vpc);
  }
  if (r.cidrs.empty() && r.groups.empty() && r.ipv6_cidrs.empty())
    fail(kInvalid, "MissingParameter", "A permission needs IpRanges, Ipv6Ranges or UserIdGroupPairs");
  return r;
}

json Ec2Model::authorize(const json& p, bool ingress) {
  only(p, {"GroupId", "IpPermissions"});
  std::string id = str(p, "GroupId");
  auto it = s_.groups.find(id);
  if (it == s_.groups.end()) fail(kNotFound, "InvalidGroup.NotFound", "The security group '" + id + "' does not exist");
  require_owner(it->second.owner);
  const json* perms = field(p, "IpPermissions");
  if (!perms || !perms->is_array() || perms->empty())
    fail(kInvalid, "MissingParameter", "The request must contain the parameter IpPermissions");
  std::vector<SgRule>& rules = ingress ? it->second.ingress : it->second.egress;
  for (const auto& e : *perms) {
    const SgRule r = permission(e, it->second);
    for (const auto& o : rules)
      if (o.protocol == r.protocol && o.from_port == r.from_port && o.to_port == r.to_port && o.groups == r.groups &&
          o.ipv6_cidrs == r.ipv6_cidrs && o.cidrs.size() == r.cidrs.size() &&
          std::equal(o.cidrs.begin(), o.cidrs.end(), r.cidrs.begin(),
                     [](const Cidr4& a, const Cidr4& b) { return a.addr == b.addr && a.prefix == b.prefix; }))
        fail(kExists, "InvalidPermission.Duplicate", "the specified rule already exists in " + id);
    if (rules.size() >= 60) fail(kLimit, "RulesPerSecurityGroupLimitExceeded", "At most 60 rules per direction");
    rules.push_back(r);
  }
  return {{"Return", true}};
}

namespace {
json placement_group_json(const PlacementGroup& g) {
  json j = {{"GroupName", g.name}, {"GroupId", g.id}, {"Strategy", g.strategy}, {"State", "available"}};
  if (g.strategy == "partition") j["PartitionCount"] = g.partition_count;
  return j;
}
}  // namespace

json Ec2Model::create_placement_group(const json& p) {
  only(p, {"GroupName", "Strategy", "PartitionCount"});
  std::string name = str(p, "GroupName"), strategy = str(p, "Strategy");
  if (strategy != "cluster" && strategy != "spread" && strategy != "partition")
    bad_param("Invalid value '" + strategy + "' for Strategy (cluster, spread, partition)");
  if (strategy != "partition" && field(p, "PartitionCount"))
    fail(kInvalid, "InvalidParameterCombination", "PartitionCount is valid only with the partition strategy");
  const int partitions = strategy == "partition"
                             ? static_cast<int>(integer(p, "PartitionCount", 1, PlacementGroup::kMaxPartitions,
                                                        PlacementGroup::kDefaultPartitions))
                             : 0;
  if (s_.placement.count(placement_key(caller_.uid, name)))  // (another account's name is theirs)
    fail(kExists, "InvalidPlacementGroup.Duplicate", "The placement group '" + name + "' already exists");
  PlacementGroup g{new_id("pg"), name, strategy, caller_.uid, partitions};
  s_.placement[placement_key(caller_.uid, name)] = g;
  return {{"PlacementGroup", placement_group_json(g)}};
}

// ---- ENIs -------------------------------------------------------------------

bool Ec2Model::ip_used(const Subnet& sn, uint32_t ip) const {
  for (auto& [id, e] : s_.enis) {
    if (e.subnet != sn.id) continue;
    if (e.ip == ip || std::count(e.secondary_ips.begin(), e.secondary_ips.end(), ip)) return true;
  }
  for (auto& [id, n] : s_.nat_gateways)
    if (!n.deleted && n.subnet == sn.id && n.private_ip == ip) return true;
  return false;
}

namespace {
// EC2 reserves a subnet's first four addresses and its last.
uint32_t first_usable(const Subnet& sn) {
  return sn.cidr.addr + 4;
}
uint32_t last_usable(const Subnet& sn) {
  return sn.cidr.addr + static_cast<uint32_t>(sn.cidr.size()) - 2;
}
}  // namespace

void Ec2Model::claim_ip(const Subnet& sn, uint32_t a, std::vector<uint32_t>& taken) const {
  if (a < first_usable(sn) || a > last_usable(sn))
    fail(kInvalid, "InvalidParameterValue",
         "Address " + ip_s(a) + " does not fall within the subnet's usable range " + format_cidr4(sn.cidr));
  if (ip_used(sn, a) || std::count(taken.begin(), taken.end(), a))
    fail(kExists, "InvalidIPAddress.InUse", "Address " + ip_s(a) + " is in use");
  taken.push_back(a);
}

uint32_t Ec2Model::free_ip(const Subnet& sn, const std::vector<uint32_t>& taken) const {
  const uint32_t last = last_usable(sn);
  for (uint32_t a = first_usable(sn); a <= last; a++)
    if (!ip_used(sn, a) && std::find(taken.begin(), taken.end(), a) == taken.end()) return a;
  fail(kLimit, "InsufficientFreeAddressesInSubnet", "The subnet '" + sn.id + "' has no free addresses");
}

Eni Ec2Model::make_eni(const Subnet& sn, std::optional<uint32_t> primary, std::vector<uint32_t> secondaries,
                       uint32_t secondary_count, std::vector<std::string> groups, bool efa) {
  std::vector<uint32_t> mine;
  auto claim = [&](uint32_t a) { claim_ip(sn, a, mine); };
  Eni e;
  if (primary) claim(*primary);
  for (uint32_t a : secondaries) claim(a);
  e.ip = primary ? *primary : (mine.push_back(free_ip(sn, mine)), mine.back());
  for (uint32_t a : secondaries) e.secondary_ips.push_back(a);
  for (uint32_t i = 0; i < secondary_count; i++) {
    uint32_t a = free_ip(sn, mine);
    mine.push_back(a);
    e.secondary_ips.push_back(a);
  }
  if (1 + e.secondary_ips.size() > vf::kMaxSecondaryIps + 1)
    fail(kLimit, "PrivateIpAddressLimitExceeded", "At most 50 private addresses per network interface");
  const Vpc& vpc = s_.vpcs.at(sn.vpc);
  if (groups.empty()) groups.push_back(vpc.default_group);
  check_groups(groups, sn.vpc);
  e.id = new_id("eni");
  e.subnet = sn.id;
  e.groups = groups;
  e.efa = efa;
  // A locally administered unicast MAC (EC2's ENIs look like 0e:xx:...).
  for (;;) {
    uint64_t r = random_();
    e.mac = {0x0e, uint8_t(r >> 32), uint8_t(r >> 24), uint8_t(r >> 16), uint8_t(r >> 8), uint8_t(r)};
    bool dup = false;
    for (auto& [id, o] : s_.enis) dup = dup || o.mac == e.mac;
    if (!dup) break;
  }
  // The subnet's attribute decides at creation; changing it later changes no ENI.
  if (sn.map_public_ip) {
    e.public_ip = take_public_ip();
    e.auto_public_ip = true;
  }
  return e;
}

void Ec2Model::release_public_ips(const Instance& in) {
  for (auto& [slot, id] : in.enis) {
    Eni& e = s_.enis.at(id);
    if (e.auto_public_ip) e.public_ip = 0;
  }
}

void Ec2Model::renew_public_ips(const Instance& in) {
  for (auto& [slot, id] : in.enis) {
    Eni& e = s_.enis.at(id);
    if (e.auto_public_ip && !e.public_ip) e.public_ip = take_public_ip();
  }
}

json Ec2Model::create_network_interface(const json& p, const std::function<uint16_t(const Eni&)>& new_eni) {
  only(p, {"SubnetId", "PrivateIpAddress", "PrivateIpAddresses", "SecondaryPrivateIpAddressCount", "Groups",
           "Description", "InterfaceType", "VenicFrontend", "ConnectionTrackingSpecification"});
  std::string sid = str(p, "SubnetId");
  const Subnet* sn = subnet(sid);
  if (!sn || !visible(sn->owner))
    fail(kNotFound, "InvalidSubnetID.NotFound", "The subnet ID '" + sid + "' does not exist");
  std::optional<uint32_t> primary;
  if (field(p, "PrivateIpAddress")) primary = ipv4(str(p, "PrivateIpAddress"), "PrivateIpAddress");
  std::vector<uint32_t> secondaries;
  if (const json* list = field(p, "PrivateIpAddresses")) {
    if (!list->is_array()) bad_param("PrivateIpAddresses must be a list");
    for (const auto& a : *list) {
      uint32_t ip = ipv4(str(a, "PrivateIpAddress"), "PrivateIpAddress");
      bool is_primary = a.contains("Primary") && a["Primary"].is_boolean() && a["Primary"].get<bool>();
      if (is_primary) {
        if (primary && *primary != ip) bad_param("Only one primary private address");
        primary = ip;
      } else {
        secondaries.push_back(ip);
      }
    }
  }
  uint32_t count = static_cast<uint32_t>(integer(p, "SecondaryPrivateIpAddressCount", 0, 49, 0));
  std::string type = opt_str(p, "InterfaceType", "interface");
  if (type != "interface" && type != "efa") bad_param("Invalid value '" + type + "' for InterfaceType (efa)");
  Eni e = make_eni(*sn, primary, secondaries, count, str_list(p, "Groups"), type == "efa");
  e.owner = caller_.uid;
  e.description = opt_str(p, "Description");
  e.vhost_user = vhost_frontend(p);
  conntrack_spec(p, e.timeouts);
  e.host = cluster_ ? local_host_ : "";  // its VF is made where it was asked for
  e.vf = cluster_ ? free_vf(e.host) : new_eni(e);
  s_.enis[e.id] = e;
  return {{"NetworkInterface", eni_json(e)}};
}

json Ec2Model::delete_network_interface(const json& p) {
  only(p, {"NetworkInterfaceId"});
  std::string id = str(p, "NetworkInterfaceId");
  auto it = s_.enis.find(id);
  if (owned_eni(id).attached())
    fail(kBusy, "InvalidNetworkInterface.InUse", "Network interface '" + id + "' is currently in use");
  s_.enis.erase(it);
  return json::object();
}

void Ec2Model::check_attach(const Eni& e, const Instance& in, int device_index, int card) const {
  const InstanceType& t = *find_instance_type(in.type);
  const Subnet& esn = s_.subnets.at(e.subnet);
  const Subnet& isn = s_.subnets.at(in.subnet);
  if (e.attached()) fail(kBusy, "InvalidNetworkInterface.InUse", "Interface: [" + e.id + "] in use.");
  if (esn.az != in.az)
    fail(kInvalid, "InvalidParameterCombination",
         "You may not attach a network interface to an instance if they are not in the same availability zone (" +
             esn.az + ", " + in.az + ")");
  if (esn.vpc != isn.vpc)
    fail(kInvalid, "InvalidParameterCombination", "The network interface and the instance are in different VPCs");
  if (card < 0 || static_cast<uint32_t>(card) >= t.network_cards)
    bad_param("Invalid value '" + std::to_string(card) + "' for NetworkCardIndex: " + in.type + " has " +
              std::to_string(t.network_cards) + " network card(s), 0-" + std::to_string(t.network_cards - 1));
  if (in.enis.count(card * Eni::kSlotsPerCard + device_index))
    fail(kBusy, "InvalidParameterValue",
         "Instance '" + in.id + "' already has an interface attached at device index '" + std::to_string(device_index) +
             "'" + (card ? " of network card " + std::to_string(card) : std::string()) + ".");
  if (in.enis.size() + 1 > t.max_enis)
    fail(kLimit, "AttachmentLimitExceeded",
         "Interface count " + std::to_string(in.enis.size() + 1) + " exceeds the limit for " + in.type);
  uint32_t on_card = 1, efas = e.efa ? 1 : 0;
  for (auto& [slot, id] : in.enis) {
    on_card += slot / Eni::kSlotsPerCard == card;
    efas += s_.enis.at(id).efa;
  }
  if (on_card > t.enis_per_card())
    fail(kLimit, "AttachmentLimitExceeded",
         "Interface count " + std::to_string(on_card) + " on network card " + std::to_string(card) +
             " exceeds the limit of " + std::to_string(t.enis_per_card()) + " for " + in.type);
  if (e.efa && t.efa && efas > t.max_efa)
    fail(kLimit, "AttachmentLimitExceeded",
         "EFA interface count " + std::to_string(efas) + " exceeds the limit of " + std::to_string(t.max_efa) +
             " for " + in.type);
  if (1 + e.secondary_ips.size() > t.ipv4_per_eni)
    fail(kLimit, "PrivateIpAddressLimitExceeded",
         "Number of private addresses " + std::to_string(1 + e.secondary_ips.size()) + " exceeds the limit of " +
             std::to_string(t.ipv4_per_eni) + " for " + in.type);
  if (e.efa && !t.efa) fail(kInvalid, "InvalidParameterCombination", "EFA interfaces are not supported on " + in.type);
  if (e.efa && in.running && !in.enis.empty())
    fail(kInvalid, "IncorrectInstanceState",
         "An EFA interface can be attached only while the instance is stopped; stop '" + in.id + "' first");
}

json Ec2Model::attach(const json& p) {
  only(p, {"NetworkInterfaceId", "InstanceId", "DeviceIndex", "NetworkCardIndex"});
  std::string eid = str(p, "NetworkInterfaceId"), iid = str(p, "InstanceId");
  int index = static_cast<int>(integer(p, "DeviceIndex", 0, Eni::kSlotsPerCard - 1));
  const int card = static_cast<int>(integer(p, "NetworkCardIndex", 0, 31, 0));
  auto eit = s_.enis.find(eid);
  owned_eni(eid);  // InvalidNetworkInterfaceID.NotFound, UnauthorizedOperation
  auto iit = s_.instances.find(iid);
  if (iit == s_.instances.end()) {
    auto t = s_.terminated.find(iid);
    if (t != s_.terminated.end() && visible(t->second.owner_uid))
      fail(kInvalid, "IncorrectInstanceState", "The instance '" + iid + "' is terminated");
    fail(kNotFound, "InvalidInstanceID.NotFound", "The instance ID '" + iid + "' does not exist");
  }
  require_owner(iit->second.owner_uid);
  if (index == 0 && card == 0)
    fail(kInvalid, "InvalidParameterValue", "Device index 0 is the primary network interface's, set at launch");
  check_attach(eit->second, iit->second, index, card);
  Eni& e = eit->second;
  if (cluster_ && e.host != iit->second.host) {
    // It moves to the instance's host, under an id free there.
    e.vf = free_vf(iit->second.host);
    e.host = iit->second.host;
  }
  e.attachment = new_id("eni-attach");
  e.instance = iid;
  e.device_index = index;
  e.network_card = card;
  e.delete_on_termination = false;  // EC2's default for an interface attached after launch
  e.attach_time = clock_();
  iit->second.enis[e.slot()] = eid;
  return {{"AttachmentId", e.attachment}};
}

json Ec2Model::detach(const json& p) {
  only(p, {"AttachmentId", "Force"});
  std::string aid = str(p, "AttachmentId");
  for (auto& [id, e] : s_.enis) {
    if (aid.empty() || e.attachment != aid) continue;
    Instance& in = s_.instances.at(e.instance);
    // Either side of the attachment may end it (an admin may have joined a
    // tenant's ENI to another's instance); nobody else may.
    if (!visible(e.owner)) require_owner(in.owner_uid);
    if (e.slot() == 0)
      fail(kInvalid, "OperationNotPermitted",
           "The network interface at device index 0 cannot be detached (it is " + in.id + "'s primary)");
    if (e.efa && in.running)
      fail(kInvalid, "IncorrectInstanceState",
           "An EFA interface can be detached only while the instance is stopped; stop '" + in.id + "' first");
    in.enis.erase(e.slot());
    e.clear_attachment();
    return json::object();
  }
  fail(kNotFound, "InvalidAttachmentID.NotFound", "The attachment ID '" + aid + "' does not exist");
}

json Ec2Model::modify_eni(const json& p) {
  only(p, {"NetworkInterfaceId", "SourceDestCheck", "Description", "Groups", "ConnectionTrackingSpecification",
           "Attachment"});
  std::string id = str(p, "NetworkInterfaceId");
  Eni& e = owned_eni(id);
  if (p.size() != 2)
    fail(kInvalid, "InvalidParameterCombination",
         "Give exactly one of SourceDestCheck, Description, Groups, ConnectionTrackingSpecification, Attachment");
  if (const json* a = field(p, "Attachment")) {
    // {"AttachmentId", "DeleteOnTermination"}: whether the ENI goes with its instance.
    if (!a->is_object()) bad_param("Attachment must be {\"AttachmentId\", \"DeleteOnTermination\"}");
    only(*a, {"AttachmentId", "DeleteOnTermination"});
    const std::string aid = str(*a, "AttachmentId");
    const json* d = field(*a, "DeleteOnTermination");
    if (!d || !d->is_boolean())
      fail(kInvalid, "MissingParameter", "The request must contain the parameter Attachment.DeleteOnTermination");
    if (!e.attached() || e.attachment != aid)
      fail(kNotFound, "InvalidAttachmentID.NotFound", "The attachment ID '" + aid + "' does not exist on " + id);
    e.delete_on_termination = d->get<bool>();
  }
  conntrack_spec(p, e.timeouts);
  if (auto v = bool_value(p, "SourceDestCheck")) e.src_dst_check = *v;
  if (const json* d = field(p, "Description")) {
    const json& v = d->is_object() && d->contains("Value") ? (*d)["Value"] : *d;
    if (!v.is_string()) bad_param("Description must be {\"Value\": \"...\"}");
    e.description = v.get<std::string>();
  }
  if (field(p, "Groups")) {
    auto groups = str_list(p, "Groups");
    if (groups.empty()) bad_param("Groups must name at least one security group");
    check_groups(groups, s_.subnets.at(e.subnet).vpc);
    e.groups = groups;
  }
  return json::object();
}

json Ec2Model::assign_ips(const json& p) {
  only(p, {"NetworkInterfaceId", "PrivateIpAddresses", "SecondaryPrivateIpAddressCount"});
  std::string id = str(p, "NetworkInterfaceId");
  Eni& e = owned_eni(id);
  const Subnet& sn = s_.subnets.at(e.subnet);
  std::vector<uint32_t> wanted;
  for (const auto& a : str_list(p, "PrivateIpAddresses")) wanted.push_back(ipv4(a, "PrivateIpAddresses"));
  uint32_t count = static_cast<uint32_t>(integer(p, "SecondaryPrivateIpAddressCount", 1, 49, 0));
  if (wanted.empty() == (count == 0))
    fail(kInvalid, "InvalidParameterCombination", "Give PrivateIpAddresses or SecondaryPrivateIpAddressCount");
  uint32_t limit = vf::kMaxSecondaryIps + 1;
  if (e.attached()) limit = find_instance_type(s_.instances.at(e.instance).type)->ipv4_per_eni;
  const size_t total = 1 + e.secondary_ips.size() + wanted.size() + count;
  if (total > limit)
    fail(kLimit, "PrivateIpAddressLimitExceeded",
         "Number of private addresses " + std::to_string(total) + " exceeds the limit of " + std::to_string(limit) +
             (e.attached() ? " for " + s_.instances.at(e.instance).type : std::string()));
  std::vector<uint32_t> added;
  for (uint32_t a : wanted) claim_ip(sn, a, added);
  for (uint32_t i = 0; i < count; i++) added.push_back(free_ip(sn, added));
  json out = json::array();
  for (uint32_t a : added) {
    e.secondary_ips.push_back(a);
    out.push_back({{"PrivateIpAddress", ip_s(a)}});
  }
  return {{"NetworkInterfaceId", id}, {"AssignedPrivateIpAddresses", out}};
}

json Ec2Model::assign_ipv6(const json& p) {
  only(p, {"NetworkInterfaceId", "Ipv6Addresses", "Ipv6AddressCount"});
  std::string id = str(p, "NetworkInterfaceId");
  Eni& e = owned_eni(id);
  const Vpc& vpc = s_.vpcs.at(s_.subnets.at(e.subnet).vpc);
  // The VPC's IPv6 block: ADDRESS/LEN, LEN at most 64 (addresses are picked in the low 64 bits).
  const auto slash = vpc.ipv6_cidr.find('/');
  const auto base = slash == std::string::npos ? std::nullopt : vf::parse_ipv6(vpc.ipv6_cidr.substr(0, slash));
  const int plen = base ? std::atoi(vpc.ipv6_cidr.c_str() + slash + 1) : -1;
  if (!base || plen < 1 || plen > 64)
    fail(kInvalid, "InvalidParameterValue",
         "The VPC " + vpc.id + " has no IPv6 CIDR block (create-vpc --ipv6-cidr-block)");
  auto inside = [&](const vf::Ipv6Addr& a) {
    for (int bit = 0; bit < plen; bit++) {
      const uint8_t m = static_cast<uint8_t>(0x80 >> (bit % 8));
      if ((a[bit / 8] & m) != ((*base)[bit / 8] & m)) return false;
    }
    return true;
  };
  auto used = [&](const vf::Ipv6Addr& a, const std::vector<vf::Ipv6Addr>& added) {
    if (std::count(added.begin(), added.end(), a)) return true;
    for (auto& [eid, other] : s_.enis)
      if (s_.subnets.at(other.subnet).vpc == vpc.id && std::count(other.ipv6.begin(), other.ipv6.end(), a)) return true;
    return false;
  };
  std::vector<vf::Ipv6Addr> added;
  for (const auto& s : str_list(p, "Ipv6Addresses")) {
    auto a = vf::parse_ipv6(s);
    if (!a) bad_param("Invalid IPv6 address '" + s + "' for Ipv6Addresses");
    if (!inside(*a)) bad_param("The address " + s + " is not in the VPC's IPv6 block " + vpc.ipv6_cidr);
    if (used(*a, added)) fail(kExists, "InvalidIPAddress.InUse", "The address " + s + " is already in use");
    added.push_back(*a);
  }
  const auto count = static_cast<uint32_t>(integer(p, "Ipv6AddressCount", 1, vf::kMaxIpv6, 0));
  if (added.empty() == (count == 0))
    fail(kInvalid, "InvalidParameterCombination", "Give Ipv6Addresses or Ipv6AddressCount");
  uint32_t limit = vf::kMaxIpv6;
  if (e.attached()) limit = find_instance_type(s_.instances.at(e.instance).type)->ipv6_per_eni;
  const size_t total = e.ipv6.size() + added.size() + count;
  if (total > limit)
    fail(kLimit, "InvalidParameterValue",
         "Number of IPv6 addresses " + std::to_string(total) + " exceeds the limit of " + std::to_string(limit) +
             (e.attached() ? " for " + s_.instances.at(e.instance).type : std::string()));
  for (uint32_t i = 0; i < count; i++) {
    vf::Ipv6Addr a = *base;
    do {
      const uint64_t r = random_();
      for (int b = 0; b < 8; b++) a[8 + b] = static_cast<uint8_t>(r >> (56 - 8 * b));
    } while (used(a, added) || a[15] == 0);
    added.push_back(a);
  }
  json out = json::array();
  for (const auto& a : added) {
    e.ipv6.push_back(a);
    out.push_back(vf::format_ipv6(a));
  }
  return {{"NetworkInterfaceId", id}, {"AssignedIpv6Addresses", out}};
}

// ---- instances --------------------------------------------------------------

json Ec2Model::run_instances(const json& p, const std::function<uint16_t(const Eni&)>& new_eni) {
  only(p, {"InstanceType", "SubnetId", "MinCount", "MaxCount", "Placement", "SecurityGroupIds", "PrivateIpAddress",
           "NetworkInterfaceType", "OwnerUid", "ConntrackLimit", "VenicFrontend", "ImageId", "UserData",
           "MetadataOptions", "IamInstanceProfile"});
  std::string type = str(p, "InstanceType");
  const InstanceType* t = find_instance_type(type);
  if (!t) bad_param("Invalid value '" + type + "' for InstanceType (see describe-instance-types)");
  std::string sid = str(p, "SubnetId");
  const Subnet* sn = subnet(sid);
  if (!sn || !visible(sn->owner))
    fail(kNotFound, "InvalidSubnetID.NotFound", "The subnet ID '" + sid + "' does not exist");
  long min = integer(p, "MinCount", 1, 16, 1), max = integer(p, "MaxCount", 1, 16, min);
  if (min > max) bad_param("MinCount must not be above MaxCount");
  std::string pg;
  int partition = 0;
  const std::string host = placement_host(field(p, "Placement"));
  const int64_t new_owner = integer(p, "OwnerUid", 0, 0x7fffffff, caller_.uid);  // (checked below)
  if (const json* pl = field(p, "Placement")) {
    if (!pl->is_object()) bad_param("Placement must be an object");
    pg = opt_str(*pl, "GroupName");
    // The instances' owner's own groups (an admin's too, launching for
    // someone): another account's members, zone and room are not the
    // caller's to learn or fill.
    if (!pg.empty() && !placement_group(new_owner, pg) && !(caller_.admin && placement_group(caller_.uid, pg)))
      fail(kNotFound, "InvalidPlacementGroup.Unknown", "The placement group '" + pg + "' is unknown");
    if (field(*pl, "PartitionNumber")) {
      const PlacementGroup* g = pg.empty() ? nullptr : launch_group(new_owner, pg);
      if (!g || g->strategy != "partition")
        fail(kInvalid, "InvalidParameterCombination", "PartitionNumber needs a partition placement group");
      const json& v = (*pl)["PartitionNumber"];
      if (!v.is_number_integer() || v.get<long>() < 1 || v.get<long>() > g->partition_count)
        bad_param("Invalid value '" + v.dump() + "' for PartitionNumber: the group '" + pg + "' has partitions 1-" +
                  std::to_string(g->partition_count));
      partition = v.get<int>();
    }
  }
  std::string nic_type = opt_str(p, "NetworkInterfaceType", "interface");
  if (nic_type != "interface" && nic_type != "efa")
    bad_param("Invalid value '" + nic_type + "' for NetworkInterfaceType");
  if (nic_type == "efa" && !t->efa)
    fail(kInvalid, "InvalidParameterCombination", "EFA interfaces are not supported on " + type);
  std::optional<uint32_t> ip;
  if (field(p, "PrivateIpAddress")) {
    if (max != 1) fail(kInvalid, "InvalidParameterCombination", "PrivateIpAddress needs a count of 1");
    ip = ipv4(str(p, "PrivateIpAddress"), "PrivateIpAddress");
  }
  // Only an admin launches for someone else.
  const int64_t uid = integer(p, "OwnerUid", 0, 0x7fffffff, caller_.uid);
  require_owner(uid);
  const auto conntrack = static_cast<uint32_t>(integer(p, "ConntrackLimit", 0, vf::kMaxConntrack, 0));
  const bool vhost_user = vhost_frontend(p);
  auto groups = str_list(p, "SecurityGroupIds");
  const InstanceMetadata meta = metadata_from_run(p);
  const std::string image = opt_str(p, "ImageId", kDefaultImage);
  static const std::regex kAmi("ami-([0-9a-f]{8}|[0-9a-f]{17})");
  if (!std::regex_match(image, kAmi))
    fail(kInvalid, "InvalidAMIID.Malformed", "Invalid id: \"" + image + "\" (expecting \"ami-...\")");
  const PlacementGroup* group = pg.empty() ? nullptr : launch_group(new_owner, pg);
  const long count = group ? placement_room(*group, *t, sn->az, min, max) : max;
  std::string reservation = new_id("r");
  json out = json::array();
  for (long n = 0; n < count; n++) {
    Instance in;
    in.id = new_id("i");
    in.type = type;
    in.subnet = sid;
    in.az = sn->az;
    in.placement_group = pg;
    in.placement_owner = group ? group->owner : 0;
    if (group && group->strategy == "partition")
      in.partition = partition ? partition : emptiest_partition(*group, in.az);
    in.reservation = reservation;
    in.owner_uid = uid;
    in.conntrack_limit = conntrack;
    in.meta = meta;
    in.image_id = image;
    in.launch_time = clock_();
    in.host = host;
    Eni e = make_eni(*sn, ip, {}, 0, groups, nic_type == "efa");
    e.host = host;
    e.owner = uid;
    e.description = "Primary network interface";
    e.vhost_user = vhost_user;
    e.attachment = new_id("eni-attach");
    e.instance = in.id;
    e.device_index = 0;
    e.delete_on_termination = true;  // the primary goes with its instance
    e.attach_time = in.launch_time;
    in.enis[0] = e.id;
    s_.instances[in.id] = in;
    // After the instance exists: the VF takes its allowances.  With several
    // hosts the model gives the id, and the instance's host makes the VF.
    e.vf = cluster_ ? free_vf(host) : new_eni(e);
    s_.enis[e.id] = e;
    out.push_back(instance_json(in));
  }
  return {{"ReservationId", reservation}, {"OwnerId", account_id(uid)}, {"Instances", out}};
}

json Ec2Model::set_instance_state(const json& p, bool run) {
  only(p, {"InstanceIds"});
  auto ids = str_list(p, "InstanceIds");
  if (ids.empty()) fail(kInvalid, "MissingParameter", "The request must contain the parameter InstanceIds");
  json out = json::array();
  for (const auto& id : ids) {
    auto it = s_.instances.find(id);
    if (it == s_.instances.end()) {
      auto t = s_.terminated.find(id);
      if (t != s_.terminated.end() && visible(t->second.owner_uid))
        fail(kInvalid, "IncorrectInstanceState",
             "The instance '" + id + "' is not in a state from which it can be " + (run ? "started" : "stopped") +
                 " (it is terminated)");
      fail(kNotFound, "InvalidInstanceID.NotFound", "The instance ID '" + id + "' does not exist");
    }
    require_owner(it->second.owner_uid);
    Instance& in = it->second;
    const json previous = state_json(in);
    if (in.running != run) {
      if (run && !in.placement_group.empty())
        placement_room(*placement_group(in.placement_owner, in.placement_group), *find_instance_type(in.type), in.az, 1,
                       1);
      // EC2 gives an automatic public IPv4 back on stop and a new one on
      // start (an Elastic IP would stay).
      if (run)
        renew_public_ips(in);
      else
        release_public_ips(in);
    }
    in.running = run;
    out.push_back({{"InstanceId", id}, {"PreviousState", previous}, {"CurrentState", state_json(it->second)}});
  }
  return {{run ? "StartingInstances" : "StoppingInstances", out}};
}

// ---- describe ---------------------------------------------------------------

json Ec2Model::vpc_json(const Vpc& v) const {
  json ipv6 = json::array();
  if (!v.ipv6_cidr.empty()) ipv6.push_back({{"Ipv6CidrBlock", v.ipv6_cidr}});
  return {{"VpcId", v.id},
          {"OwnerId", account_id(v.owner)},
          {"CidrBlock", format_cidr4(v.cidr)},
          {"Ipv6CidrBlockAssociationSet", ipv6},
          {"State", "available"},
          {"IsDefault", false}};
}

json Ec2Model::subnet_json(const Subnet& s) const {
  uint64_t used = 0;
  for (auto& [id, e] : s_.enis)
    if (e.subnet == s.id) used += 1 + e.secondary_ips.size();
  return {{"SubnetId", s.id},
          {"OwnerId", account_id(s.owner)},
          {"VpcId", s.vpc},
          {"CidrBlock", format_cidr4(s.cidr)},
          {"AvailabilityZone", s.az},
          {"AvailableIpAddressCount", s.cidr.size() - 5 - used},
          {"MapPublicIpOnLaunch", s.map_public_ip},
          {"State", "available"}};
}

std::string ipv6_block56(const std::string& s) {
  const auto slash = s.find('/');
  const auto base = slash == std::string::npos ? std::nullopt : vf::parse_ipv6(s.substr(0, slash));
  if (!base || s.substr(slash + 1) != "56")
    fail(kInvalid, "InvalidParameterValue",
         "Invalid value '" + s.substr(0, 64) + "' for Ipv6CidrBlock: an IPv6 /56, e.g. 2600:1f18:1234:5600::/56");
  for (int byte = 7; byte < 16; byte++)
    if ((*base)[byte] != 0)
      fail(kInvalid, "InvalidParameterValue",
           "Invalid value '" + s + "' for Ipv6CidrBlock: the address has bits set past the /56");
  return vf::format_ipv6(*base) + "/56";
}

std::optional<std::string> canonical_cidr6(const std::string& s) {
  vf::SgRule r;
  if (!vf::parse_peer(s, r) || r.family != 6) return std::nullopt;
  return vf::format_peer(r);
}

namespace {
json rules_json(const std::vector<SgRule>& rules) {
  json out = json::array();
  for (const auto& r : rules) {
    json ranges = json::array(), ranges6 = json::array(), pairs = json::array();
    for (const auto& c : r.cidrs) ranges.push_back({{"CidrIp", format_cidr4(c)}});
    for (const auto& c : r.ipv6_cidrs) ranges6.push_back({{"CidrIpv6", c}});
    for (const auto& g : r.groups) pairs.push_back({{"GroupId", g}});
    json e = {{"IpProtocol", r.protocol}, {"IpRanges", ranges}, {"Ipv6Ranges", ranges6}, {"UserIdGroupPairs", pairs}};
    if (r.protocol != "-1") e["FromPort"] = r.from_port, e["ToPort"] = r.to_port;
    out.push_back(e);
  }
  return out;
}
}  // namespace

json Ec2Model::group_json(const SecurityGroup& g) const {
  return {{"GroupId", g.id},
          {"OwnerId", account_id(g.owner)},
          {"GroupName", g.name},
          {"Description", g.description},
          {"VpcId", g.vpc},
          {"IpPermissions", rules_json(g.ingress)},
          {"IpPermissionsEgress", rules_json(g.egress)}};
}

json Ec2Model::eni_json(const Eni& e) const {
  const Subnet& sn = s_.subnets.at(e.subnet);
  json ips = json::array({{{"PrivateIpAddress", ip_s(e.ip)}, {"Primary", true}}});
  for (uint32_t a : e.secondary_ips) ips.push_back({{"PrivateIpAddress", ip_s(a)}, {"Primary", false}});
  json v6 = json::array();
  for (const auto& a : e.ipv6) v6.push_back({{"Ipv6Address", vf::format_ipv6(a)}});
  json groups = json::array();
  for (const auto& g : e.groups) groups.push_back({{"GroupId", g}, {"GroupName", s_.groups.at(g).name}});
  json j = {{"NetworkInterfaceId", e.id},
            {"OwnerId", account_id(e.owner)},
            {"SubnetId", e.subnet},
            {"VpcId", sn.vpc},
            {"AvailabilityZone", sn.az},
            {"MacAddress", vf::format_mac(e.mac)},
            {"PrivateIpAddress", ip_s(e.ip)},
            {"PrivateIpAddresses", ips},
            {"Ipv6Addresses", v6},
            {"Groups", groups},
            {"SourceDestCheck", e.src_dst_check},
            {"Description", e.description},
            {"InterfaceType", e.efa ? "efa" : "interface"},
            {"VenicFrontend", e.vhost_user ? "vhost-user" : "shm"},
            {"ConnectionTrackingConfiguration",
             {{"TcpEstablishedTimeout", e.timeouts.tcp_established},
              {"UdpStreamTimeout", e.timeouts.udp_stream},
              {"UdpTimeout", e.timeouts.udp}}},
            {"Status", e.attached() ? "in-use" : "available"},
            {"VenicVfId", e.vf}};
  if (e.public_ip) j["Association"] = {{"PublicIp", ip_s(e.public_ip)}};
  if (!e.host.empty()) j["VenicHost"] = e.host;  // where its VF is
  if (e.efa) {
    const std::string problem = efa_os_bypass_problem(e);
    j["VenicEfaOsBypass"] = problem.empty() ? json{{"Ready", true}} : json{{"Ready", false}, {"Reason", problem}};
  }
  if (e.attached())
    j["Attachment"] = {{"AttachmentId", e.attachment},
                       {"InstanceId", e.instance},
                       {"InstanceOwnerId", account_id(s_.instances.at(e.instance).owner_uid)},
                       {"DeviceIndex", e.device_index},
                       {"NetworkCardIndex", e.network_card},
                       {"AttachTime", iso8601(e.attach_time)},
                       {"DeleteOnTermination", e.delete_on_termination},
                       {"Status", "attached"}};
  return j;
}

json Ec2Model::instance_json(const Instance& i) const {
  json j = {{"InstanceId", i.id},
            {"InstanceType", i.type},
            {"ImageId", i.image_id},
            {"LaunchTime", iso8601(i.launch_time)},
            {"OwnerId", account_id(i.owner_uid)},
            {"State", state_json(i)},
            {"Placement", {{"AvailabilityZone", i.az}, {"GroupName", i.placement_group}, {"Tenancy", "default"}}},
            {"VenicOwnerUid", i.owner_uid},
            {"VenicConntrackLimit", i.conntrack_limit ? i.conntrack_limit : find_instance_type(i.type)->conntrack},
            {"MetadataOptions", metadata_options_json(i.meta.options)}};
  if (i.partition) j["Placement"]["PartitionNumber"] = i.partition;
  if (!i.host.empty()) j["Placement"]["HostId"] = i.host;
  // Enhanced networking: ENA, or on the older types the Intel 82599 VF.
  const bool sriov = find_instance_type(i.type)->uses_ixgbevf();
  j["EnaSupport"] = !sriov;
  if (sriov) j["SriovNetSupport"] = "simple";
  if (i.terminated_at) {
    // As EC2 lists a terminated instance: no network, no addresses.
    j["NetworkInterfaces"] = json::array();
    j["SecurityGroups"] = json::array();
    j["StateTransitionReason"] = "User initiated (" + iso8601(i.terminated_at) + ")";
    return j;
  }
  const Eni& primary = s_.enis.at(i.enis.at(0));
  json nics = json::array();
  for (auto& [idx, id] : i.enis) nics.push_back(eni_json(s_.enis.at(id)));
  json groups = json::array();
  for (const auto& g : primary.groups) groups.push_back({{"GroupId", g}, {"GroupName", s_.groups.at(g).name}});
  j["SubnetId"] = i.subnet;
  j["VpcId"] = s_.subnets.at(i.subnet).vpc;
  j["PrivateIpAddress"] = ip_s(primary.ip);
  j["NetworkInterfaces"] = nics;
  j["SecurityGroups"] = groups;
  if (primary.public_ip) j["PublicIpAddress"] = ip_s(primary.public_ip);
  return j;
}

json Ec2Model::describe(const std::string& what, const json& p) const {
  // Describe<What>: all, or the ids listed under <Key>Ids.
  // Another owner's resources are not listed, and not found by id (as EC2
  // answers for another account's).
  auto pick = [&](const char* key, const auto& map, auto to_json, const char* aws_missing, const char* noun,
                  auto owner_of) {
    auto ids = str_list(p, key);
    json out = json::array();
    if (ids.empty()) {
      for (auto& [id, x] : map)
        if (visible(owner_of(x))) out.push_back(to_json(x));
      return out;
    }
    for (const auto& id : ids) {
      auto it = map.find(id);
      if (it == map.end() || !visible(owner_of(it->second)))
        fail(kNotFound, aws_missing, std::string("The ") + noun + " '" + id + "' does not exist");
      out.push_back(to_json(it->second));
    }
    return out;
  };
  // Then Filters, and MaxResults/NextToken pages (the token: where the next
  // page starts).
  if (auto r = describe_gateways(what, p)) return *r;
  const Filters filters(p, filter_names(what));
  auto page = [&](const char* key, json list) { return describe_page(p, key, std::move(list)); };

  if (what == "Vpcs") {
    only(p, {"VpcIds", "Filters", "MaxResults", "NextToken"});
    return page("Vpcs", filters.keep(pick(
                            "VpcIds", s_.vpcs, [&](const Vpc& v) { return vpc_json(v); }, "InvalidVpcID.NotFound",
                            "vpc ID", [](const Vpc& v) { return v.owner; })));
  }
  if (what == "Subnets") {
    only(p, {"SubnetIds", "Filters", "MaxResults", "NextToken"});
    return page("Subnets", filters.keep(pick(
                               "SubnetIds", s_.subnets, [&](const Subnet& v) { return subnet_json(v); },
                               "InvalidSubnetID.NotFound", "subnet ID", [](const Subnet& v) { return v.owner; })));
  }
  if (what == "SecurityGroups") {
    only(p, {"GroupIds", "Filters", "MaxResults", "NextToken"});
    return page("SecurityGroups",
                filters.keep(pick(
                    "GroupIds", s_.groups, [&](const SecurityGroup& g) { return group_json(g); },
                    "InvalidGroup.NotFound", "security group", [](const SecurityGroup& g) { return g.owner; })));
  }
  if (what == "PlacementGroups") {
    only(p, {"GroupNames", "Filters", "MaxResults", "NextToken"});
    auto to = [](const PlacementGroup& g) { return placement_group_json(g); };
    return page("PlacementGroups",
                filters.keep(pick("GroupNames", placement_by_name(), to, "InvalidPlacementGroup.Unknown",
                                  "placement group", [](const PlacementGroup& g) { return g.owner; })));
  }
  if (what == "NetworkAcls") {
    only(p, {"NetworkAclIds", "Filters", "MaxResults", "NextToken"});
    return page("NetworkAcls",
                filters.keep(pick(
                    "NetworkAclIds", s_.network_acls, [&](const NetworkAcl& a) { return network_acl_json(a); },
                    "InvalidNetworkAclID.NotFound", "network ACL", [](const NetworkAcl& a) { return a.owner; })));
  }
  if (what == "NetworkInterfaces") {
    only(p, {"NetworkInterfaceIds", "Filters", "MaxResults", "NextToken"});
    return page("NetworkInterfaces", filters.keep(pick(
                                         "NetworkInterfaceIds", s_.enis, [&](const Eni& e) { return eni_json(e); },
                                         "InvalidNetworkInterfaceID.NotFound", "networkInterface ID",
                                         [](const Eni& e) { return e.owner; })));
  }
  if (what == "Instances") {
    only(p, {"InstanceIds", "Filters", "MaxResults", "NextToken"});
    // The live ones and those terminated a short while ago.
    std::map<std::string, const Instance*> listed;
    for (auto& [id, in] : s_.instances) listed[id] = &in;
    for (auto& [id, in] : s_.terminated) listed[id] = &in;
    json all = pick(
        "InstanceIds", listed, [&](const Instance* i) { return instance_json(*i); }, "InvalidInstanceID.NotFound",
        "instance ID", [](const Instance* i) { return i->owner_uid; });
    // One reservation per RunInstances call, as EC2 groups them.
    std::map<std::string, json> by_res;
    for (auto& i : all) {
      const Instance& in = *listed.at(i["InstanceId"].get<std::string>());
      const std::string& r = in.reservation;
      i["ReservationId"] = r;  // for the reservation-id filter only
      const bool keep = filters.matches(i);
      i.erase("ReservationId");
      if (!keep) continue;
      if (!by_res.count(r))
        by_res[r] = {{"ReservationId", r}, {"OwnerId", account_id(in.owner_uid)}, {"Instances", json::array()}};
      by_res[r]["Instances"].push_back(i);
    }
    json res = json::array();
    for (auto& [r, j] : by_res) res.push_back(j);
    return page("Reservations", res);
  }
  if (what == "InstanceTypes") {
    only(p, {"InstanceTypes", "Filters", "MaxResults", "NextToken"});
    auto names = str_list(p, "InstanceTypes");
    json out = json::array();
    for (const auto& t : instance_types()) {
      if (!names.empty() && std::find(names.begin(), names.end(), t.name) == names.end()) continue;
      json cards = json::array();
      for (uint32_t c = 0; c < t.network_cards; c++)
        cards.push_back({{"NetworkCardIndex", c},
                         {"NetworkPerformance", t.card_performance},
                         {"MaximumNetworkInterfaces", t.enis_per_card()},
                         {"BaselineBandwidthInGbps", t.card_baseline_gbps()},
                         {"PeakBandwidthInGbps", t.card_peak_gbps()}});
      json info = {{"NetworkPerformance", t.performance},
                   {"MaximumNetworkInterfaces", t.max_enis},
                   {"MaximumNetworkCards", t.network_cards},
                   {"DefaultNetworkCardIndex", 0},
                   {"NetworkCards", cards},
                   {"Ipv4AddressesPerInterface", t.ipv4_per_eni},
                   {"Ipv6AddressesPerInterface", t.ipv6_per_eni},
                   {"Ipv6Supported", true},
                   {"EnaSupport", t.ena_support},
                   {"EfaSupported", t.efa}};
      if (t.efa) info["EfaInfo"] = {{"MaximumEfaInterfaces", t.max_efa}};
      out.push_back({{"InstanceType", t.name},
                     {"NetworkInfo", info},
                     {"VenicPpsAllowance", t.pps},
                     {"VenicConntrackAllowance", t.conntrack}});
      if (t.vcpus) out.back()["VCpuInfo"] = {{"DefaultVCpus", t.vcpus}};
    }
    for (const auto& n : names)
      if (!find_instance_type(n))
        fail(kInvalid, "InvalidInstanceType", "The following supplied instance types do not exist: [" + n + "]");
    return page("InstanceTypes", filters.keep(out));
  }
  fail("unknown_method", "InvalidAction", "The action Describe" + what + " is not valid for this web service");
}

// ---- persistence ------------------------------------------------------------

json Ec2Model::to_json() const {
  json vpcs = json::array(), subnets = json::array(), groups = json::array(), pgs = json::array(),
       instances = json::array(), enis = json::array();
  for (auto& [id, v] : s_.vpcs)
    vpcs.push_back({{"id", id},
                    {"owner", v.owner},
                    {"cidr", format_cidr4(v.cidr)},
                    {"ipv6_cidr", v.ipv6_cidr},
                    {"default_group", v.default_group},
                    {"vni", v.vni}});
  for (auto& [id, s] : s_.subnets)
    subnets.push_back({{"id", id},
                       {"owner", s.owner},
                       {"vpc", s.vpc},
                       {"cidr", format_cidr4(s.cidr)},
                       {"az", s.az},
                       {"map_public_ip", s.map_public_ip}});
  for (auto& [id, g] : s_.groups)
    groups.push_back({{"id", id},
                      {"owner", g.owner},
                      {"name", g.name},
                      {"description", g.description},
                      {"vpc", g.vpc},
                      {"ingress", rules_json(g.ingress)},
                      {"egress", rules_json(g.egress)}});
  for (auto& [key, g] : s_.placement)
    pgs.push_back({{"id", g.id},
                   {"name", g.name},
                   {"strategy", g.strategy},
                   {"owner", g.owner},
                   {"partition_count", g.partition_count}});
  json terminated = json::array();
  for (auto& [id, i] : s_.terminated)
    terminated.push_back({{"id", id},
                          {"type", i.type},
                          {"az", i.az},
                          {"placement_group", i.placement_group},
                          {"placement_owner", i.placement_owner},
                          {"placement_owner", i.placement_owner},
                          {"partition", i.partition},
                          {"reservation", i.reservation},
                          {"image_id", i.image_id},
                          {"launch_time", i.launch_time},
                          {"terminated_at", i.terminated_at},
                          {"owner_uid", i.owner_uid},
                          {"conntrack_limit", i.conntrack_limit}});
  for (auto& [id, i] : s_.instances) {
    json nics = json::object();
    for (auto& [idx, e] : i.enis) nics[std::to_string(idx)] = e;
    instances.push_back({{"id", id},
                         {"image_id", i.image_id},
                         {"launch_time", i.launch_time},
                         {"type", i.type},
                         {"subnet", i.subnet},
                         {"az", i.az},
                         {"placement_group", i.placement_group},
                         {"partition", i.partition},
                         {"reservation", i.reservation},
                         {"running", i.running},
                         {"host", i.host},
                         {"owner_uid", i.owner_uid},
                         {"conntrack_limit", i.conntrack_limit},
                         {"enis", nics},
                         {"metadata", metadata_to_json(i.meta)}});
  }
  for (auto& [id, e] : s_.enis) {
    json sec = json::array(), v6 = json::array();
    for (uint32_t a : e.secondary_ips) sec.push_back(ip_s(a));
    for (const auto& a : e.ipv6) v6.push_back(vf::format_ipv6(a));
    enis.push_back({{"id", id},
                    {"owner", e.owner},
                    {"subnet", e.subnet},
                    {"description", e.description},
                    {"mac", vf::format_mac(e.mac)},
                    {"ip", ip_s(e.ip)},
                    {"secondary_ips", sec},
                    {"ipv6", v6},
                    {"public_ip", e.public_ip ? ip_s(e.public_ip) : ""},
                    {"auto_public_ip", e.auto_public_ip},
                    {"groups", e.groups},
                    {"src_dst_check", e.src_dst_check},
                    {"efa", e.efa},
                    {"vhost_user", e.vhost_user},
                    {"conntrack_timeouts", {e.timeouts.tcp_established, e.timeouts.udp_stream, e.timeouts.udp}},
                    {"vf", e.vf},
                    {"host", e.host},
                    {"attachment", e.attachment},
                    {"instance", e.instance},
                    {"device_index", e.device_index},
                    {"network_card", e.network_card},
                    {"delete_on_termination", e.delete_on_termination},
                    {"attach_time", e.attach_time}});
  }
  json out = {
      {"vpcs", vpcs},           {"subnets", subnets}, {"security_groups", groups},     {"placement_groups", pgs},
      {"instances", instances}, {"enis", enis},       {"next_public", s_.next_public}, {"terminated", terminated}};
  out["gateways"] = gateways_to_json();
  routes_to_json(out);
  out["network_acls"] = network_acls_to_json();
  json hosts = json::array();
  for (auto& [name, h] : s_.hosts)
    hosts.push_back({{"name", name}, {"ip", ip_s(h.ip)}, {"mac", vf::format_mac(h.mac)}});
  out["hosts"] = hosts;
  return out;
}

void Ec2Model::load(const json& j) {
  State s;
  try {
    // An instance's placement group's owner; files from before names were
    // per account have none, and their names are unique: that group's.
    auto placement_owner_of = [&s](const std::string& group, const json& i) -> int64_t {
      if (i.contains("placement_owner")) return i.at("placement_owner").get<int64_t>();
      for (auto& [key, g] : s.placement)
        if (g.name == group) return g.owner;
      return 0;
    };
    // A number in [lo, hi]: get<>() would take 1e300 or -1 for a small
    // unsigned field without a word (wrapping it, or undefined behaviour).
    auto whole = [](const json& v, int64_t lo, int64_t hi) {
      if (!v.is_number_integer()) throw std::runtime_error("not an integer: " + v.dump());
      const bool in = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(hi)
                                             : v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
      if (!in) throw std::runtime_error(v.dump() + " is out of range");
      return v.get<int64_t>();
    };
    constexpr int64_t kU32 = UINT32_MAX;
    auto c4 = [](const json& v) {
      auto c = parse_cidr4(v.get<std::string>());
      if (!c) throw std::runtime_error("bad CIDR " + v.dump());
      return *c;
    };
    auto ip4 = [](const json& v) {
      auto a = vf::parse_ipv4(v.get<std::string>());
      if (!a) throw std::runtime_error("bad IPv4 " + v.dump());
      return *a;
    };
    auto rules = [&](const json& list) {
      std::vector<SgRule> out;
      for (const auto& r : list) {
        SgRule x;
        x.protocol = r.at("IpProtocol").get<std::string>();
        x.from_port = r.contains("FromPort") ? static_cast<int>(whole(r["FromPort"], -1, 65535)) : -1;
        x.to_port = r.contains("ToPort") ? static_cast<int>(whole(r["ToPort"], -1, 65535)) : -1;
        for (const auto& c : r.at("IpRanges")) x.cidrs.push_back(c4(c.at("CidrIp")));
        for (const auto& g : r.at("UserIdGroupPairs")) x.groups.push_back(g.at("GroupId").get<std::string>());
        for (const auto& c : r.value("Ipv6Ranges", json::array())) {
          auto canon = canonical_cidr6(c.at("CidrIpv6").get<std::string>());
          if (!canon) throw std::runtime_error("bad IPv6 CIDR in a rule");
          x.ipv6_cidrs.push_back(*canon);
        }
        out.push_back(x);
      }
      return out;
    };
    // A state file from before ownership: everything is root's.
    auto owner = [](const json& x, const char* key) {
      const int64_t uid = x.value(key, int64_t{0});
      if (uid < 0 || uid > 0x7fffffff) throw std::runtime_error("bad owner uid " + std::to_string(uid));
      return uid;
    };
    for (const auto& v : j.at("vpcs")) {
      Vpc& x = s.vpcs[v.at("id")] = {v.at("id"), owner(v, "owner"), c4(v.at("cidr")), v.at("ipv6_cidr"),
                                     v.at("default_group")};
      // Its /56 as CreateVpc keeps it (its local route is made from it).
      if (!x.ipv6_cidr.empty() && ipv6_block56(x.ipv6_cidr) != x.ipv6_cidr)
        throw std::runtime_error("VPC " + x.id + " has a bad IPv6 block");
      x.vni = static_cast<uint32_t>(whole(v.value("vni", json(0)), 0, kMaxVni));  // 0: older file, given below
    }
    for (const auto& v : j.at("subnets"))
      s.subnets[v.at("id")] = {v.at("id"),        v.at("vpc"),      v.at("az"),
                               owner(v, "owner"), c4(v.at("cidr")), v.at("map_public_ip").get<bool>()};
    for (const auto& g : j.at("security_groups"))
      s.groups[g.at("id")] = {g.at("id"),        g.at("name"),           g.at("description"),  g.at("vpc"),
                              owner(g, "owner"), rules(g.at("ingress")), rules(g.at("egress"))};
    for (const auto& g : j.at("placement_groups")) {
      PlacementGroup pg{g.at("id"), g.at("name"), g.at("strategy"), owner(g, "owner")};
      // Before it was kept: EC2's default.
      if (pg.strategy == "partition")
        pg.partition_count = static_cast<int>(whole(
            g.value("partition_count", json(PlacementGroup::kDefaultPartitions)), 1, PlacementGroup::kMaxPartitions));
      if (!s.placement.emplace(placement_key(pg.owner, pg.name), pg).second)
        throw std::runtime_error("placement group " + pg.name + " twice for one owner");
    }
    // Times from before they were kept: the load's.
    const int64_t now = clock_();
    auto time_of = [&](const json& x, const char* key) {
      return x.contains(key) ? whole(x.at(key), 0, INT64_MAX) : now;
    };
    for (const auto& i : j.at("instances")) {
      // -1 was "root only" before every instance had an owner.
      const int64_t owner_uid = whole(i.at("owner_uid"), -1, 0x7fffffff);
      const int64_t conntrack = i.contains("conntrack_limit") ? whole(i["conntrack_limit"], 0, vf::kMaxConntrack) : 0;
      Instance in;
      in.id = i.at("id");
      in.type = i.at("type");
      in.subnet = i.at("subnet");
      in.az = i.at("az");
      in.placement_group = i.at("placement_group");
      in.placement_owner = placement_owner_of(in.placement_group, i);
      in.partition = static_cast<int>(whole(i.value("partition", json(0)), 0, PlacementGroup::kMaxPartitions));
      in.reservation = i.at("reservation");
      in.image_id = i.value("image_id", std::string(kDefaultImage));
      in.running = i.at("running").get<bool>();
      in.host = i.value("host", std::string());
      in.launch_time = time_of(i, "launch_time");
      in.owner_uid = owner_uid == -1 ? 0 : owner_uid;
      in.conntrack_limit = static_cast<uint32_t>(conntrack);
      in.meta = metadata_from_json(i.value("metadata", json()));
      for (auto& [idx, e] : i.at("enis").items()) in.enis[std::stoi(idx)] = e.get<std::string>();
      if (!find_instance_type(in.type)) throw std::runtime_error("unknown instance type " + in.type);
      s.instances[in.id] = in;
    }
    for (const auto& e : j.at("enis")) {
      Eni x;
      x.id = e.at("id");
      x.owner = owner(e, "owner");
      x.subnet = e.at("subnet");
      x.description = e.at("description");
      auto mac = vf::parse_mac(e.at("mac").get<std::string>());
      if (!mac) throw std::runtime_error("bad MAC " + e.at("mac").dump());
      x.mac = *mac;
      x.ip = ip4(e.at("ip"));
      for (const auto& a : e.at("secondary_ips")) x.secondary_ips.push_back(ip4(a));
      x.ipv6 = vf::ipv6_list_from_json(e.at("ipv6"), "ipv6");
      if (!e.at("public_ip").get<std::string>().empty()) x.public_ip = ip4(e.at("public_ip"));
      // Before it was kept: every public address was an automatic one.
      x.auto_public_ip = e.value("auto_public_ip", x.public_ip != 0);
      x.groups = e.at("groups").get<std::vector<std::string>>();
      x.src_dst_check = e.at("src_dst_check");
      x.efa = e.at("efa");
      x.vhost_user = e.value("vhost_user", false);
      if (e.contains("conntrack_timeouts")) {
        const json& t = e.at("conntrack_timeouts");
        if (!t.is_array() || t.size() != 3) throw std::runtime_error("ENI " + x.id + ": bad conntrack_timeouts");
        x.timeouts = {static_cast<uint32_t>(whole(t[0], 0, kU32)), static_cast<uint32_t>(whole(t[1], 0, kU32)),
                      static_cast<uint32_t>(whole(t[2], 0, kU32))};
        if (!x.timeouts.in_range()) throw std::runtime_error("ENI " + x.id + ": conntrack_timeouts out of range");
      }
      x.vf = static_cast<uint16_t>(whole(e.at("vf"), 0, VENIC_MAX_VFS - 1));
      x.host = e.value("host", std::string());
      x.attachment = e.at("attachment");
      x.instance = e.at("instance");
      x.device_index = static_cast<int>(whole(e.at("device_index"), -1, Eni::kSlotsPerCard - 1));
      x.network_card = static_cast<int>(e.contains("network_card") ? whole(e.at("network_card"), 0, 31) : 0);
      // Before it was kept: EC2's defaults, the primary's true.
      x.delete_on_termination =
          e.contains("delete_on_termination") ? e.at("delete_on_termination").get<bool>() : x.device_index == 0;
      x.attach_time = x.attachment.empty() ? 0 : time_of(e, "attach_time");
      if (!s.subnets.count(x.subnet)) throw std::runtime_error("ENI " + x.id + " names no known subnet");
      s.enis[x.id] = x;
    }
    s.next_public = static_cast<uint32_t>(whole(j.at("next_public"), 0, kU32));
    for (const auto& i : j.value("terminated", json::array())) {
      Instance in;
      in.id = i.at("id");
      in.type = i.at("type");
      in.az = i.at("az");
      in.placement_group = i.at("placement_group");
      in.placement_owner = placement_owner_of(in.placement_group, i);
      in.partition = static_cast<int>(whole(i.value("partition", json(0)), 0, PlacementGroup::kMaxPartitions));
      in.reservation = i.at("reservation");
      in.image_id = i.at("image_id");
      in.running = false;
      in.launch_time = whole(i.at("launch_time"), 0, INT64_MAX);
      in.terminated_at = whole(i.at("terminated_at"), 1, INT64_MAX);
      in.owner_uid = owner(i, "owner_uid");
      in.conntrack_limit = static_cast<uint32_t>(whole(i.at("conntrack_limit"), 0, vf::kMaxConntrack));
      if (!find_instance_type(in.type)) throw std::runtime_error("unknown instance type " + in.type);
      if (s.instances.count(in.id)) throw std::runtime_error("instance " + in.id + " is both live and terminated");
      s.terminated[in.id] = in;
    }
    // Every reference must resolve: describe and detach follow them blindly.
    auto need = [](bool ok, const std::string& what) {
      if (!ok) throw std::runtime_error(what);
    };
    for (auto& [id, sn] : s.subnets) need(s.vpcs.count(sn.vpc), "subnet " + id + " names an unknown VPC");
    for (auto& [id, v] : s.vpcs) need(s.groups.count(v.default_group), "VPC " + id + " has no default group");
    for (auto& [id, g] : s.groups) need(s.vpcs.count(g.vpc), "group " + id + " names an unknown VPC");
    for (auto& [id, in] : s.instances) {
      need(s.subnets.count(in.subnet), "instance " + id + " names an unknown subnet");
      const auto pg = s.placement.find(placement_key(in.placement_owner, in.placement_group));
      need(in.placement_group.empty() || pg != s.placement.end(),
           "instance " + id + " names an unknown placement group");
      need(in.partition == 0 || (!in.placement_group.empty() && in.partition <= pg->second.partition_count),
           "instance " + id + " names a partition its group does not have");
      need(in.enis.count(0), "instance " + id + " has no primary ENI");
      for (auto& [idx, e] : in.enis)
        need(s.enis.count(e) && s.enis.at(e).instance == id && s.enis.at(e).slot() == idx,
             "instance " + id + " and ENI " + e + " disagree on the attachment");
    }
    for (const auto& h : j.value("hosts", json::array())) {
      vf::UnderlayHost x;
      x.name = h.at("name").get<std::string>();
      x.ip = ip4(h.at("ip"));
      auto mac = vf::parse_mac(h.at("mac").get<std::string>());
      if (!mac) throw std::runtime_error("host " + x.name + ": bad MAC");
      x.mac = *mac;
      s.hosts[x.name] = x;
    }
    std::set<uint32_t> vnis;
    for (auto& [id, v] : s.vpcs) need(!v.vni || vnis.insert(v.vni).second, "VPC " + id + " has another VPC's VNI");
    for (auto& [id, v] : s.vpcs)
      if (!v.vni) v.vni = free_vni(s);
    // A VF id is unique on its host; on a single host every VF is this one's.
    std::set<std::pair<std::string, uint16_t>> vfs;
    for (auto& [id, e] : s.enis) {
      need(vfs.insert({cluster_ ? e.host : std::string(), e.vf}).second, "ENI " + id + " has the VF of another ENI");
      for (const auto& g : e.groups) need(s.groups.count(g), "ENI " + id + " names an unknown group " + g);
      if (!e.instance.empty())
        need(s.instances.count(e.instance) && s.instances.at(e.instance).enis.count(e.slot()) && !e.attachment.empty(),
             "ENI " + id + " is attached to an unknown instance " + e.instance);
    }
    routes_from_json(j, s);
    gateways_from_json(j.value("gateways", json()), s);
    network_acls_from_json(j, s);
  } catch (const std::exception& e) {
    throw Ec2Error("internal", "InvalidState", std::string("the saved EC2 model is corrupt: ") + e.what());
  }
  s_ = std::move(s);
  for (auto& [id, v] : s_.vpcs) add_main_route_table(v);  // older state files have none
}

}  // namespace venic::model
