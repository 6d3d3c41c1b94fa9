// Route tables and VPC peering, as EC2 has them: every VPC has a main route
// table with its local routes; custom tables are associated with subnets;
// routes go to the VPC itself (local), an internet or NAT gateway, an
// instance's or a network interface's ENI (a NAT or firewall instance), or a
// VPC peering connection.  A route whose target is gone stays, as a
// blackhole.  A peering joins two VPCs whose CIDRs do not overlap once the
// peer VPC's owner accepts it; routes through it reach the peer VPC's ENIs
// only (no transitive routing: the fast path looks the address up in the
// peer VPC and nowhere else).
#include <algorithm>
#include <set>

#include "ec2_filters.h"
#include "ec2_model.h"
#include "ec2_params.h"
#include "ec2_validation.h"

namespace venic::model {

using nlohmann::json;
using namespace params;

namespace {

using Target = RouteEntry::Target;

void check_shape(const json& p, const char* name, const char* prefix, const char* malformed) {
  const json* v = field(p, name);
  if (!v || !v->is_string()) return;  // the readers say what is wrong
  const std::string& s = v->get_ref<const std::string&>();
  if (!id_shaped(s, prefix))
    fail(kInvalid, malformed, "Invalid id: \"" + s.substr(0, 64) + "\" (expecting \"" + prefix + "-...\")");
}

// The id parameters of these actions that check_id_shapes does not know.
void check_route_shapes(const json& p) {
  check_shape(p, "RouteTableId", "rtb", "InvalidRouteTableID.Malformed");
  check_shape(p, "VpcPeeringConnectionId", "pcx", "InvalidVpcPeeringConnectionID.Malformed");
  check_shape(p, "PeerVpcId", "vpc", "InvalidVpcID.Malformed");
  check_shape(p, "AssociationId", "rtbassoc", "InvalidAssociationID.Malformed");
  if (const json* ids = field(p, "RouteTableIds"); ids && ids->is_array())
    for (const auto& id : *ids)
      check_shape({{"RouteTableId", id}}, "RouteTableId", "rtb", "InvalidRouteTableID.Malformed");
  if (const json* ids = field(p, "VpcPeeringConnectionIds"); ids && ids->is_array())
    for (const auto& id : *ids)
      check_shape({{"VpcPeeringConnectionId", id}}, "VpcPeeringConnectionId", "pcx",
                  "InvalidVpcPeeringConnectionID.Malformed");
}

[[noreturn]] void table_not_found(const std::string& id) {
  fail(kNotFound, "InvalidRouteTableID.NotFound", "The routeTable ID '" + id + "' does not exist");
}
[[noreturn]] void peering_not_found(const std::string& id) {
  fail(kNotFound, "InvalidVpcPeeringConnectionID.NotFound", "The vpcPeeringConnection ID '" + id + "' does not exist");
}

// A route's destination: DestinationCidrBlock or DestinationIpv6CidrBlock, canonical.
std::pair<std::string, bool> destination(const json& p) {
  const bool v4 = field(p, "DestinationCidrBlock"), v6 = field(p, "DestinationIpv6CidrBlock");
  if (v4 == v6)
    fail(kInvalid, v4 ? "InvalidParameterCombination" : "MissingParameter",
         "Give one of DestinationCidrBlock and DestinationIpv6CidrBlock");
  if (v4) {
    const std::string s = str(p, "DestinationCidrBlock");
    auto c = parse_cidr4(s);
    if (!c) bad_param("Value (" + s.substr(0, 64) + ") for parameter destinationCidrBlock is invalid");
    return {format_cidr4(*c), false};
  }
  const std::string s = str(p, "DestinationIpv6CidrBlock");
  auto c = canonical_cidr6(s);
  if (!c) bad_param("Value (" + s.substr(0, 64) + ") for parameter destinationIpv6CidrBlock is invalid");
  return {*c, true};
}

bool ended(const VpcPeering& x) {
  return x.status != "pending-acceptance" && x.status != "active";
}

const std::vector<FilterField> kRouteTableFilters = {
    {"route-table-id", "RouteTableId"},
    {"vpc-id", "VpcId"},
    {"owner-id", "OwnerId"},
    {"association.route-table-association-id", "Associations[].RouteTableAssociationId"},
    {"association.route-table-id", "Associations[].RouteTableId"},
    {"association.subnet-id", "Associations[].SubnetId"},
    {"association.main", "Associations[].Main"},
    {"route.destination-cidr-block", "Routes[].DestinationCidrBlock"},
    {"route.destination-ipv6-cidr-block", "Routes[].DestinationIpv6CidrBlock"},
    {"route.gateway-id", "Routes[].GatewayId"},
    {"route.nat-gateway-id", "Routes[].NatGatewayId"},
    {"route.instance-id", "Routes[].InstanceId"},
    {"route.network-interface-id", "Routes[].NetworkInterfaceId"},
    {"route.vpc-peering-connection-id", "Routes[].VpcPeeringConnectionId"},
    {"route.origin", "Routes[].Origin"},
    {"route.state", "Routes[].State"},
};

const std::vector<FilterField> kPeeringFilters = {
    {"vpc-peering-connection-id", "VpcPeeringConnectionId"},
    {"status-code", "Status.Code"},
    {"status-message", "Status.Message"},
    {"expiration-time", "ExpirationTime"},
    {"requester-vpc-info.vpc-id", "RequesterVpcInfo.VpcId"},
    {"requester-vpc-info.owner-id", "RequesterVpcInfo.OwnerId"},
    {"requester-vpc-info.cidr-block", "RequesterVpcInfo.CidrBlock"},
    {"accepter-vpc-info.vpc-id", "AccepterVpcInfo.VpcId"},
    {"accepter-vpc-info.owner-id", "AccepterVpcInfo.OwnerId"},
    {"accepter-vpc-info.cidr-block", "AccepterVpcInfo.CidrBlock"},
};

const char* target_name(Target t) {
  switch (t) {
    case Target::kLocal:
      return "local";
    case Target::kGateway:
      return "gateway";
    case Target::kNatGateway:
      return "nat";
    case Target::kInstance:
      return "instance";
    case Target::kEni:
      return "eni";
    case Target::kPeering:
      return "peering";
  }
  return "local";
}

std::optional<Target> target_named(const std::string& s) {
  for (Target t :
       {Target::kLocal, Target::kGateway, Target::kNatGateway, Target::kInstance, Target::kEni, Target::kPeering})
    if (s == target_name(t)) return t;
  return std::nullopt;
}

// Destinations the same route table must not hold twice, IPv4 and IPv6 alike.
bool same_destination(const RouteEntry& a, const std::string& dst, bool ipv6) {
  return a.ipv6 == ipv6 && a.destination == dst;
}

}  // namespace

std::optional<json> Ec2Model::routes_action(const std::string& action, const json& p) {
  static const std::set<std::string> kMine = {"CreateRouteTable",
                                              "DeleteRouteTable",
                                              "CreateRoute",
                                              "ReplaceRoute",
                                              "DeleteRoute",
                                              "AssociateRouteTable",
                                              "DisassociateRouteTable",
                                              "ReplaceRouteTableAssociation",
                                              "DescribeRouteTables",
                                              "CreateVpcPeeringConnection",
                                              "AcceptVpcPeeringConnection",
                                              "RejectVpcPeeringConnection",
                                              "DeleteVpcPeeringConnection",
                                              "DescribeVpcPeeringConnections"};
  if (!kMine.count(action)) return std::nullopt;
  check_route_shapes(p);
  forget_ended_peerings();
  if (action == "CreateRouteTable") return create_route_table(p);
  if (action == "DeleteRouteTable") return delete_route_table(p);
  if (action == "CreateRoute") return put_route(p, false);
  if (action == "ReplaceRoute") return put_route(p, true);
  if (action == "DeleteRoute") return delete_route(p);
  if (action == "AssociateRouteTable") return associate_route_table(p);
  if (action == "DisassociateRouteTable") return disassociate_route_table(p);
  if (action == "ReplaceRouteTableAssociation") return replace_route_table_association(p);
  if (action == "DescribeRouteTables") return describe_route_tables(p);
  if (action == "CreateVpcPeeringConnection") return create_vpc_peering(p);
  if (action == "AcceptVpcPeeringConnection") return answer_vpc_peering(p, true);
  if (action == "RejectVpcPeeringConnection") return answer_vpc_peering(p, false);
  if (action == "DeleteVpcPeeringConnection") return delete_vpc_peering(p);
  return describe_vpc_peerings(p);
}

std::string Ec2Model::new_route_id(const char* prefix) {
  for (;;) {
    std::string id = new_id(prefix);
    bool used = s_.route_tables.count(id) || s_.peerings.count(id);
    for (auto& [tid, t] : s_.route_tables) {
      used = used || t.main_association == id;
      for (auto& [sn, a] : t.associations) used = used || a == id;
    }
    if (!used) return id;
  }
}

// ---- queries the rest of venic asks -----------------------------------------

const RouteTable* Ec2Model::route_table_of(const Subnet& sn) const {
  const RouteTable* main = nullptr;
  for (auto& [id, t] : s_.route_tables) {
    if (t.vpc != sn.vpc) continue;
    if (t.associations.count(sn.id)) return &t;
    if (t.main) main = &t;
  }
  return main;
}

const VpcPeering* Ec2Model::active_peering(const std::string& a, const std::string& b) const {
  for (auto& [id, x] : s_.peerings)
    if (x.status == "active" &&
        ((x.requester_vpc == a && x.accepter_vpc == b) || (x.requester_vpc == b && x.accepter_vpc == a)))
      return &x;
  return nullptr;
}

bool Ec2Model::route_active(const RouteEntry& r, const std::string& vpc) const {
  switch (r.target) {
    case Target::kLocal:
      return true;
    case Target::kGateway:
    case Target::kNatGateway:
      return gateway_usable(r.target_id, vpc);
    case Target::kInstance: {
      // A stopped instance's route stays active (its traffic is lost); a
      // terminated one's is a blackhole.
      auto e = s_.enis.find(r.target_id);
      return e != s_.enis.end() && e->second.instance == r.instance;
    }
    case Target::kEni:
      return s_.enis.count(r.target_id) > 0;
    case Target::kPeering: {
      auto x = s_.peerings.find(r.target_id);
      return x != s_.peerings.end() && x->second.status == "active";
    }
  }
  return false;
}

void Ec2Model::check_rule_groups(const std::vector<std::string>& groups, const std::string& vpc) const {
  for (const auto& g : groups) {
    auto it = s_.groups.find(g);
    // A group of an actively peered VPC, whoever owns it: the peering is its
    // owner's consent.  Anything else answers as a group that does not exist.
    const bool ok = it != s_.groups.end() && ((it->second.vpc == vpc && visible(it->second.owner)) ||
                                              (it->second.vpc != vpc && active_peering(vpc, it->second.vpc)));
    if (!ok) fail(kNotFound, "InvalidGroup.NotFound", "The security group '" + g + "' does not exist");
  }
}

// ---- route tables -----------------------------------------------------------

void Ec2Model::add_main_route_table(const Vpc& v) {
  for (auto& [id, t] : s_.route_tables)
    if (t.vpc == v.id && t.main) return;
  RouteTable t;
  t.id = new_route_id("rtb");
  t.vpc = v.id;
  t.owner = v.owner;
  t.main = true;
  t.main_association = new_route_id("rtbassoc");
  RouteEntry local;
  local.destination = format_cidr4(v.cidr);
  local.target_id = "local";
  local.origin = "CreateRouteTable";
  t.routes.push_back(local);
  if (!v.ipv6_cidr.empty()) {
    local.destination = v.ipv6_cidr;
    local.ipv6 = true;
    t.routes.push_back(local);
  }
  s_.route_tables[t.id] = t;
}

RouteTable& Ec2Model::owned_route_table(const std::string& id) {
  auto it = s_.route_tables.find(id);
  if (it == s_.route_tables.end() || !visible(it->second.owner)) table_not_found(id);
  require_owner(it->second.owner);
  return it->second;
}

json Ec2Model::create_route_table(const json& p) {
  only(p, {"VpcId", "TagSpecifications"});
  const std::string vpc_id = str(p, "VpcId");
  auto v = s_.vpcs.find(vpc_id);
  if (v == s_.vpcs.end() || !visible(v->second.owner))
    fail(kNotFound, "InvalidVpcID.NotFound", "The vpc ID '" + vpc_id + "' does not exist");
  require_owner(v->second.owner);
  size_t tables = 0;
  for (auto& [id, t] : s_.route_tables) tables += t.vpc == vpc_id;
  if (tables >= kTablesPerVpc)
    fail(kLimit, "RouteTableLimitExceeded",
         "The maximum number of route tables (" + std::to_string(kTablesPerVpc) + ") has been reached for " + vpc_id);
  // Its local routes, as the main table's.
  const RouteTable* main = nullptr;
  for (auto& [id, t] : s_.route_tables)
    if (t.vpc == vpc_id && t.main) main = &t;
  RouteTable t;
  t.id = new_route_id("rtb");
  t.vpc = vpc_id;
  t.owner = caller_.uid;
  if (main)
    for (const auto& r : main->routes)
      if (r.target == Target::kLocal) t.routes.push_back(r);
  s_.route_tables[t.id] = t;
  return {{"RouteTable", route_table_json(t)}};
}

json Ec2Model::delete_route_table(const json& p) {
  only(p, {"RouteTableId"});
  const std::string id = str(p, "RouteTableId");
  RouteTable& t = owned_route_table(id);
  if (t.main || !t.associations.empty())
    fail(kBusy, "DependencyViolation",
         "The routeTable '" + id + "' has dependencies and cannot be deleted" +
             (t.main ? " (it is its VPC's main route table)" : " (it is associated with a subnet)"));
  s_.route_tables.erase(id);
  return json::object();
}

json Ec2Model::put_route(const json& p, bool replace) {
  only(p, {"RouteTableId", "DestinationCidrBlock", "DestinationIpv6CidrBlock", "GatewayId", "NatGatewayId",
           "InstanceId", "NetworkInterfaceId", "VpcPeeringConnectionId", "LocalTarget"});
  const std::string id = str(p, "RouteTableId");
  // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
  const std::pair<std::string, bool> where = destination(p);
  const std::string& dst = where.first;
  const bool ipv6 = where.second;
  RouteTable& t = owned_route_table(id);
  // Exactly one target.
  int targets = 0;
  for (const char* k : {"GatewayId", "NatGatewayId", "InstanceId", "NetworkInterfaceId", "VpcPeeringConnectionId"})
    targets += field(p, k) != nullptr;
  const json* local_target = field(p, "LocalTarget");
  if (local_target && (!local_target->is_boolean() || !local_target->get<bool>()))
    bad_param("LocalTarget must be true when given");
  if (!replace && local_target) fail(kInvalid, "UnknownParameter", "The parameter LocalTarget is not recognized");
  targets += local_target != nullptr;
  if (targets == 0) fail(kInvalid, "MissingParameter", "The request must name the route's target");
  if (targets > 1)
    fail(kInvalid, "InvalidParameterCombination", "The request must name exactly one target for the route");

  RouteEntry r;
  r.destination = dst;
  r.ipv6 = ipv6;
  if (local_target || (field(p, "GatewayId") && str(p, "GatewayId") == "local")) {
    r.target = Target::kLocal;
    r.target_id = "local";
  } else if (field(p, "GatewayId")) {
    r.target = Target::kGateway;
    r.target_id = str(p, "GatewayId");
    if (!id_shaped(r.target_id, "igw") || !gateway_usable(r.target_id, t.vpc))
      fail(kNotFound, "InvalidGatewayID.NotFound", "The gateway ID '" + r.target_id.substr(0, 64) + "' does not exist");
  } else if (field(p, "NatGatewayId")) {
    r.target = Target::kNatGateway;
    r.target_id = str(p, "NatGatewayId");
    if (!id_shaped(r.target_id, "nat") || !gateway_usable(r.target_id, t.vpc))
      fail(kNotFound, "InvalidNatGatewayID.NotFound",
           "The natGateway ID '" + r.target_id.substr(0, 64) + "' does not exist");
  } else if (field(p, "InstanceId")) {
    r.target = Target::kInstance;
    r.instance = str(p, "InstanceId");
    auto in = s_.instances.find(r.instance);
    if (in == s_.instances.end() || !visible(in->second.owner_uid))
      fail(kNotFound, "InvalidInstanceID.NotFound", "The instance ID '" + r.instance + "' does not exist");
    if (in->second.enis.size() != 1)
      fail(kInvalid, "InvalidInstanceID",
           "There are multiple interfaces attached to instance '" + r.instance +
               "'. Please specify an interface ID for the operation instead.");
    r.target_id = in->second.enis.begin()->second;
    if (s_.subnets.at(in->second.subnet).vpc != t.vpc)
      bad_param("route table " + id + " and instance " + r.instance + " belong to different networks");
  } else if (field(p, "NetworkInterfaceId")) {
    r.target = Target::kEni;
    r.target_id = str(p, "NetworkInterfaceId");
    auto e = s_.enis.find(r.target_id);
    if (e == s_.enis.end() || !visible(e->second.owner))
      fail(kNotFound, "InvalidNetworkInterfaceID.NotFound",
           "The networkInterface ID '" + r.target_id + "' does not exist");
    if (s_.subnets.at(e->second.subnet).vpc != t.vpc)
      bad_param("route table " + id + " and network interface " + r.target_id + " belong to different networks");
  } else {
    r.target = Target::kPeering;
    r.target_id = str(p, "VpcPeeringConnectionId");
    auto x = s_.peerings.find(r.target_id);
    if (x == s_.peerings.end() || (!visible(x->second.requester_owner) && !visible(x->second.accepter_owner)) ||
        ended(x->second))
      peering_not_found(r.target_id);
    if (x->second.requester_vpc != t.vpc && x->second.accepter_vpc != t.vpc)
      bad_param("route table " + id + " and peering connection " + r.target_id + " belong to different networks");
  }

  auto same = std::find_if(t.routes.begin(), t.routes.end(),
                           [&](const RouteEntry& o) { return same_destination(o, dst, ipv6); });
  const bool is_local_dst = same != t.routes.end() && same->target == Target::kLocal;
  if (r.target == Target::kLocal && !is_local_dst)
    bad_param("The local target is only for the route to the VPC's own CIDR, not " + dst);
  if (!replace) {
    if (same != t.routes.end())
      fail(kExists, "RouteAlreadyExists", "The route identified by " + dst + " already exists in route table " + id);
    if (std::count_if(t.routes.begin(), t.routes.end(), [](const RouteEntry& o) {
          return o.target != Target::kLocal;
        }) >= static_cast<long>(kRoutesPerTable))
      fail(kLimit, "RouteLimitExceeded",
           "The maximum number of routes (" + std::to_string(kRoutesPerTable) + ") has been reached for " + id);
    t.routes.push_back(r);
    return {{"Return", true}};
  }
  if (same == t.routes.end())
    fail(kNotFound, "InvalidRoute.NotFound", "no route with destination-cidr-block " + dst + " in route table " + id);
  if (is_local_dst && r.target != Target::kLocal)
    bad_param("The local route " + dst + " in route table " + id + " cannot be replaced by a route to another target");
  r.origin = same->origin;
  *same = r;
  return json::object();
}

json Ec2Model::delete_route(const json& p) {
  only(p, {"RouteTableId", "DestinationCidrBlock", "DestinationIpv6CidrBlock"});
  const std::string id = str(p, "RouteTableId");
  // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
  const std::pair<std::string, bool> where = destination(p);
  const std::string& dst = where.first;
  const bool ipv6 = where.second;
  RouteTable& t = owned_route_table(id);
  auto it = std::find_if(t.routes.begin(), t.routes.end(),
                         [&](const RouteEntry& o) { return same_destination(o, dst, ipv6); });
  if (it == t.routes.end())
    fail(kNotFound, "InvalidRoute.NotFound", "no route with destination-cidr-block " + dst + " in route table " + id);
  if (it->target == Target::kLocal) bad_param("cannot remove local route " + dst + " in route table " + id);
  t.routes.erase(it);
  return json::object();
}

json Ec2Model::associate_route_table(const json& p) {
  only(p, {"RouteTableId", "SubnetId"});
  const std::string id = str(p, "RouteTableId"), sid = str(p, "SubnetId");
  RouteTable& t = owned_route_table(id);
  auto sn = s_.subnets.find(sid);
  if (sn == s_.subnets.end() || !visible(sn->second.owner))
    fail(kNotFound, "InvalidSubnetID.NotFound", "The subnet ID '" + sid + "' does not exist");
  require_owner(sn->second.owner);
  if (sn->second.vpc != t.vpc) bad_param("route table " + id + " and subnet " + sid + " belong to different networks");
  for (auto& [tid, o] : s_.route_tables)
    if (o.associations.count(sid))
      fail(
          kExists, "Resource.AlreadyAssociated",
          "the specified association for route table " + tid + " conflicts with an existing association (" + sid + ")");
  const std::string assoc = new_route_id("rtbassoc");
  t.associations[sid] = assoc;
  return {{"AssociationId", assoc}, {"AssociationState", {{"State", "associated"}}}};
}

namespace {
// The table holding association id (a subnet's or a VPC's main association).
template <typename Map>
auto* table_with_association(Map& tables, const std::string& id, std::string* subnet) {
  for (auto& [tid, t] : tables) {
    if (t.main && t.main_association == id) return &t;
    for (auto& [sn, a] : t.associations)
      if (a == id) {
        *subnet = sn;
        return &t;
      }
  }
  return static_cast<decltype(&tables.begin()->second)>(nullptr);
}
}  // namespace

json Ec2Model::disassociate_route_table(const json& p) {
  only(p, {"AssociationId"});
  const std::string id = str(p, "AssociationId");
  std::string subnet;
  RouteTable* t = table_with_association(s_.route_tables, id, &subnet);
  if (!t || !visible(t->owner))
    fail(kNotFound, "InvalidAssociationID.NotFound", "The association ID '" + id + "' does not exist");
  require_owner(t->owner);
  if (subnet.empty()) bad_param("cannot disassociate the main route table association " + id);
  t->associations.erase(subnet);
  return json::object();
}

json Ec2Model::replace_route_table_association(const json& p) {
  only(p, {"AssociationId", "RouteTableId"});
  const std::string id = str(p, "AssociationId"), rtb = str(p, "RouteTableId");
  std::string subnet;
  RouteTable* from = table_with_association(s_.route_tables, id, &subnet);
  if (!from || !visible(from->owner))
    fail(kNotFound, "InvalidAssociationID.NotFound", "The association ID '" + id + "' does not exist");
  require_owner(from->owner);
  RouteTable& to = owned_route_table(rtb);
  if (to.vpc != from->vpc) bad_param("route table " + rtb + " and association " + id + " belong to different networks");
  const std::string assoc = new_route_id("rtbassoc");
  if (subnet.empty()) {
    // The VPC's main table changes: subnets without a table of their own follow it.
    from->main = false;
    from->main_association.clear();
    to.main = true;
    to.main_association = assoc;
  } else {
    from->associations.erase(subnet);
    to.associations[subnet] = assoc;
  }
  return {{"NewAssociationId", assoc}, {"AssociationState", {{"State", "associated"}}}};
}

json Ec2Model::route_table_json(const RouteTable& t) const {
  json routes = json::array(), assocs = json::array();
  for (const auto& r : t.routes) {
    json j = {{r.ipv6 ? "DestinationIpv6CidrBlock" : "DestinationCidrBlock", r.destination}};
    switch (r.target) {
      case Target::kLocal:
      case Target::kGateway:
        j["GatewayId"] = r.target_id;
        break;
      case Target::kNatGateway:
        j["NatGatewayId"] = r.target_id;
        break;
      case Target::kInstance:
        j["InstanceId"] = r.instance;
        j["NetworkInterfaceId"] = r.target_id;
        if (auto in = s_.instances.find(r.instance); in != s_.instances.end())
          j["InstanceOwnerId"] = account_id(in->second.owner_uid);
        break;
      case Target::kEni:
        j["NetworkInterfaceId"] = r.target_id;
        break;
      case Target::kPeering:
        j["VpcPeeringConnectionId"] = r.target_id;
        break;
    }
    j["State"] = route_active(r, t.vpc) ? "active" : "blackhole";
    j["Origin"] = r.origin;
    routes.push_back(j);
  }
  const json associated = {{"State", "associated"}};
  if (t.main)
    assocs.push_back({{"RouteTableAssociationId", t.main_association},
                      {"RouteTableId", t.id},
                      {"Main", true},
                      {"AssociationState", associated}});
  for (auto& [sn, a] : t.associations)
    assocs.push_back({{"RouteTableAssociationId", a},
                      {"RouteTableId", t.id},
                      {"SubnetId", sn},
                      {"Main", false},
                      {"AssociationState", associated}});
  return {{"RouteTableId", t.id}, {"VpcId", t.vpc},         {"OwnerId", account_id(t.owner)},
          {"Routes", routes},     {"Associations", assocs}, {"PropagatingVgws", json::array()},
          {"Tags", json::array()}};
}

json Ec2Model::describe_route_tables(const json& p) const {
  only(p, {"RouteTableIds", "Filters", "MaxResults", "NextToken"});
  const Filters filters(p, kRouteTableFilters);
  const auto ids = str_list(p, "RouteTableIds");
  json out = json::array();
  if (ids.empty()) {
    for (auto& [id, t] : s_.route_tables)
      if (visible(t.owner)) out.push_back(route_table_json(t));
  } else {
    for (const auto& id : ids) {
      auto it = s_.route_tables.find(id);
      if (it == s_.route_tables.end() || !visible(it->second.owner)) table_not_found(id);
      out.push_back(route_table_json(it->second));
    }
  }
  return describe_page(p, "RouteTables", filters.keep(out));
}

void Ec2Model::routes_on_delete_vpc(const std::string& vpc) {
  for (auto& [id, t] : s_.route_tables)
    if (t.vpc == vpc && !t.main)
      fail(kBusy, "DependencyViolation",
           "The vpc '" + vpc + "' has dependencies and cannot be deleted: its route table " + id);
  for (auto it = s_.route_tables.begin(); it != s_.route_tables.end();)
    it = it->second.vpc == vpc ? s_.route_tables.erase(it) : std::next(it);
  // Its peerings end with it; the peers' routes through them become blackholes.
  for (auto& [id, x] : s_.peerings)
    if (!ended(x) && (x.requester_vpc == vpc || x.accepter_vpc == vpc)) {
      x.status = "deleted";
      x.ended = clock_();
    }
}

void Ec2Model::routes_on_delete_subnet(const std::string& subnet) {
  for (auto& [id, t] : s_.route_tables) t.associations.erase(subnet);
}

// ---- VPC peering --------------------------------------------------------------

void Ec2Model::forget_ended_peerings() {
  const int64_t now = clock_();
  size_t ended_count = 0;
  for (auto it = s_.peerings.begin(); it != s_.peerings.end();) {
    VpcPeering& x = it->second;
    if (x.status == "pending-acceptance" && now - x.created >= kPendingPeeringSeconds) {
      x.status = "expired";
      x.ended = now;
    }
    if (ended(x) && now - x.ended >= kEndedPeeringListedSeconds) {
      it = s_.peerings.erase(it);
      continue;
    }
    ended_count += ended(x);
    ++it;
  }
  while (ended_count > kMaxEndedPeerings) {
    auto oldest = s_.peerings.end();
    for (auto it = s_.peerings.begin(); it != s_.peerings.end(); ++it)
      if (ended(it->second) && (oldest == s_.peerings.end() || it->second.ended < oldest->second.ended)) oldest = it;
    s_.peerings.erase(oldest);
    ended_count--;
  }
}

VpcPeering& Ec2Model::visible_peering(const std::string& id) {
  auto it = s_.peerings.find(id);
  if (it == s_.peerings.end() || (!visible(it->second.requester_owner) && !visible(it->second.accepter_owner)))
    peering_not_found(id);
  return it->second;
}

json Ec2Model::create_vpc_peering(const json& p) {
  only(p, {"VpcId", "PeerVpcId", "PeerOwnerId", "PeerRegion", "TagSpecifications"});
  const std::string vpc_id = str(p, "VpcId"), peer_id = str(p, "PeerVpcId");
  auto v = s_.vpcs.find(vpc_id);
  if (v == s_.vpcs.end() || !visible(v->second.owner))
    fail(kNotFound, "InvalidVpcID.NotFound", "The vpc ID '" + vpc_id + "' does not exist");
  require_owner(v->second.owner);
  const std::string region = opt_str(p, "PeerRegion", "us-east-1");
  if (region != "us-east-1") bad_param("venic models one region: PeerRegion must be us-east-1");
  if (peer_id == vpc_id) bad_param("A VPC cannot be peered with itself: " + vpc_id);
  auto peer = s_.vpcs.find(peer_id);
  // PeerOwnerId, when given, must be the peer VPC's owner's account.
  const bool owner_matches =
      !field(p, "PeerOwnerId") || (peer != s_.vpcs.end() && str(p, "PeerOwnerId") == account_id(peer->second.owner));
  const bool overlap = peer != s_.vpcs.end() && peer->second.cidr.overlaps(v->second.cidr);
  size_t pending = 0;
  for (auto& [id, x] : s_.peerings) {
    if (ended(x)) continue;
    pending += x.status == "pending-acceptance" && x.requester_owner == caller_.uid;
    if ((x.requester_vpc == vpc_id && x.accepter_vpc == peer_id) ||
        (x.requester_vpc == peer_id && x.accepter_vpc == vpc_id))
      fail(kExists, "VpcPeeringConnectionAlreadyExists",
           "A VPC peering connection between " + vpc_id + " and " + peer_id + " already exists: " + id);
  }
  if (pending >= kPendingPeeringsPerOwner)
    fail(kLimit, "OutstandingVpcPeeringConnectionLimitExceeded",
         "At most " + std::to_string(kPendingPeeringsPerOwner) + " VPC peering connections may await acceptance");
  VpcPeering x;
  x.id = new_route_id("pcx");
  x.requester_vpc = vpc_id;
  x.requester_owner = v->second.owner;
  x.requester_cidr = format_cidr4(v->second.cidr);
  x.accepter_vpc = peer_id;
  x.created = clock_();
  if (peer == s_.vpcs.end() || overlap || !owner_matches) {
    // As EC2 does, overlapping CIDRs (or a peer VPC that is not there) make
    // a peering whose status is failed, with one message for every cause: a
    // guess at another tenant's VPC is not told from a hit.
    x.status = "failed";
    x.ended = x.created;
    x.accepter_owner = -1;
  } else {
    x.accepter_owner = peer->second.owner;
    x.accepter_cidr = format_cidr4(peer->second.cidr);
  }
  s_.peerings[x.id] = x;
  return {{"VpcPeeringConnection", peering_json(x)}};
}

json Ec2Model::answer_vpc_peering(const json& p, bool accept) {
  only(p, {"VpcPeeringConnectionId"});
  const std::string id = str(p, "VpcPeeringConnectionId");
  VpcPeering& x = visible_peering(id);
  // Only the accepter VPC's owner answers.
  if (!visible(x.accepter_owner))
    fail(kPermission, "OperationNotPermitted",
         "Only the owner of the accepter VPC " + x.accepter_vpc + " may " + (accept ? "accept " : "reject ") + id);
  if (x.status != "pending-acceptance")
    fail(kInvalid, "InvalidStateTransition",
         "Invalid state transition for " + id + ", attempted to transition from " + x.status + " to " +
             (accept ? "active" : "rejected"));
  if (!accept) {
    x.status = "rejected";
    x.ended = clock_();
    return {{"Return", true}};
  }
  for (const std::string* vpc : {&x.requester_vpc, &x.accepter_vpc}) {
    size_t active = 0;
    for (auto& [oid, o] : s_.peerings)
      active += o.status == "active" && (o.requester_vpc == *vpc || o.accepter_vpc == *vpc);
    if (active >= kActivePeeringsPerVpc)
      fail(kLimit, "VpcPeeringConnectionLimitExceeded",
           "The VPC " + *vpc + " has " + std::to_string(kActivePeeringsPerVpc) + " active peering connections");
  }
  x.status = "active";
  return {{"VpcPeeringConnection", peering_json(x)}};
}

json Ec2Model::delete_vpc_peering(const json& p) {
  only(p, {"VpcPeeringConnectionId"});
  const std::string id = str(p, "VpcPeeringConnectionId");
  VpcPeering& x = visible_peering(id);
  // Either side's owner ends an active one; a pending one, its requester
  // (withdrawn) or the accepter.
  if (ended(x))
    fail(kInvalid, "InvalidStateTransition",
         "Invalid state transition for " + id + ", attempted to transition from " + x.status + " to deleted");
  x.status = "deleted";
  x.ended = clock_();
  return {{"Return", true}};
}

json Ec2Model::peering_json(const VpcPeering& x) const {
  auto info = [&](const std::string& vpc, int64_t owner, const std::string& cidr) {
    json j = {{"VpcId", vpc}, {"Region", "us-east-1"}};
    if (owner >= 0) j["OwnerId"] = account_id(owner);
    if (!cidr.empty()) {
      j["CidrBlock"] = cidr;
      j["CidrBlockSet"] = json::array({{{"CidrBlock", cidr}}});
    }
    return j;
  };
  std::string message;
  if (x.status == "pending-acceptance")
    message = "Pending Acceptance by " + account_id(x.accepter_owner);
  else if (x.status == "active")
    message = "Active";
  else if (x.status == "failed")
    message = "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range";
  else if (x.status == "rejected")
    message = "Rejected by " + account_id(x.accepter_owner);
  else if (x.status == "deleted")
    message = "Deleted";
  else
    message = "Expired";
  json j = {{"VpcPeeringConnectionId", x.id},
            {"RequesterVpcInfo", info(x.requester_vpc, x.requester_owner, x.requester_cidr)},
            {"AccepterVpcInfo", info(x.accepter_vpc, x.accepter_owner, x.accepter_cidr)},
            {"Status", {{"Code", x.status}, {"Message", message}}},
            {"Tags", json::array()}};
  if (x.status == "pending-acceptance") j["ExpirationTime"] = iso8601(x.created + kPendingPeeringSeconds);
  return j;
}

json Ec2Model::describe_vpc_peerings(const json& p) const {
  only(p, {"VpcPeeringConnectionIds", "Filters", "MaxResults", "NextToken"});
  const Filters filters(p, kPeeringFilters);
  auto seen = [&](const VpcPeering& x) { return visible(x.requester_owner) || visible(x.accepter_owner); };
  const auto ids = str_list(p, "VpcPeeringConnectionIds");
  json out = json::array();
  if (ids.empty()) {
    for (auto& [id, x] : s_.peerings)
      if (seen(x)) out.push_back(peering_json(x));
  } else {
    for (const auto& id : ids) {
      auto it = s_.peerings.find(id);
      if (it == s_.peerings.end() || !seen(it->second)) peering_not_found(id);
      out.push_back(peering_json(it->second));
    }
  }
  return describe_page(p, "VpcPeeringConnections", filters.keep(out));
}

// ---- persistence --------------------------------------------------------------

void Ec2Model::routes_to_json(json& out) const {
  json tables = json::array(), peerings = json::array();
  for (auto& [id, t] : s_.route_tables) {
    json routes = json::array(), assocs = json::object();
    for (const auto& r : t.routes)
      routes.push_back({{"destination", r.destination},
                        {"ipv6", r.ipv6},
                        {"target", target_name(r.target)},
                        {"target_id", r.target_id},
                        {"instance", r.instance},
                        {"origin", r.origin}});
    for (auto& [sn, a] : t.associations) assocs[sn] = a;
    tables.push_back({{"id", id},
                      {"vpc", t.vpc},
                      {"owner", t.owner},
                      {"main", t.main},
                      {"main_association", t.main_association},
                      {"associations", assocs},
                      {"routes", routes}});
  }
  for (auto& [id, x] : s_.peerings)
    peerings.push_back({{"id", id},
                        {"requester_vpc", x.requester_vpc},
                        {"accepter_vpc", x.accepter_vpc},
                        {"requester_owner", x.requester_owner},
                        {"accepter_owner", x.accepter_owner},
                        {"requester_cidr", x.requester_cidr},
                        {"accepter_cidr", x.accepter_cidr},
                        {"status", x.status},
                        {"created", x.created},
                        {"ended", x.ended}});
  out["route_tables"] = tables;
  out["vpc_peerings"] = peerings;
}

void Ec2Model::routes_from_json(const json& j, State& s) {
  // Called inside load()'s try: a throw says the state file is corrupt.
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what);
  };
  for (const auto& x : j.value("vpc_peerings", json::array())) {
    VpcPeering v;
    v.id = x.at("id");
    v.requester_vpc = x.at("requester_vpc");
    v.accepter_vpc = x.at("accepter_vpc");
    v.requester_owner = x.at("requester_owner");
    v.accepter_owner = x.at("accepter_owner");
    v.requester_cidr = x.at("requester_cidr");
    v.accepter_cidr = x.at("accepter_cidr");
    v.status = x.at("status");
    v.created = x.at("created");
    v.ended = x.at("ended");
    static const std::set<std::string> kStatus = {
        "pending-acceptance", "active", "rejected", "deleted", "failed", "expired"};
    need(kStatus.count(v.status), "peering " + v.id + " has an unknown status");
    if (!ended(v))
      need(s.vpcs.count(v.requester_vpc) && s.vpcs.count(v.accepter_vpc), "peering " + v.id + " names an unknown VPC");
    s.peerings[v.id] = v;
  }
  std::set<std::string> main_of, associated;
  for (const auto& x : j.value("route_tables", json::array())) {
    RouteTable t;
    t.id = x.at("id");
    t.vpc = x.at("vpc");
    t.owner = x.at("owner");
    t.main = x.at("main");
    t.main_association = x.at("main_association");
    need(s.vpcs.count(t.vpc), "route table " + t.id + " names an unknown VPC");
    need(!t.main || main_of.insert(t.vpc).second, "VPC " + t.vpc + " has two main route tables");
    for (auto& [sn, a] : x.at("associations").items()) {
      need(s.subnets.count(sn) && s.subnets.at(sn).vpc == t.vpc, "route table " + t.id + " names a bad subnet");
      need(associated.insert(sn).second, "subnet " + sn + " is associated twice");
      t.associations[sn] = a.get<std::string>();
    }
    for (const auto& r : x.at("routes")) {
      RouteEntry e;
      e.destination = r.at("destination");
      e.ipv6 = r.at("ipv6");
      auto target = target_named(r.at("target").get<std::string>());
      need(target.has_value(), "route table " + t.id + " has a route to an unknown kind of target");
      e.target = *target;
      e.target_id = r.at("target_id");
      e.instance = r.at("instance");
      e.origin = r.at("origin");
      need(e.ipv6 ? canonical_cidr6(e.destination).has_value() : parse_cidr4(e.destination).has_value(),
           "route table " + t.id + " has a bad destination");
      t.routes.push_back(e);
    }
    need(t.routes.size() <= kRoutesPerTable + 2, "route table " + t.id + " has too many routes");
    s.route_tables[t.id] = t;
  }
}

}  // namespace venic::model
