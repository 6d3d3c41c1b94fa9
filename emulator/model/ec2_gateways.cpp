// Internet gateways, NAT gateways and Elastic IPs: EC2's rules and error
// codes.  The public addresses come from one pool (203.0.113.1-253) shared
// by the EIPs and the ENIs' auto-assigned addresses; an address is free when
// nobody holds it.  What the gateways do to packets lives in
// emulator/gateways/.
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

[[noreturn]] void igw_not_found(const std::string& id) {
  fail(kNotFound, "InvalidInternetGatewayID.NotFound", "The internetGateway ID '" + id + "' does not exist");
}
[[noreturn]] void allocation_not_found(const std::string& id) {
  fail(kNotFound, "InvalidAllocationID.NotFound", "The allocation ID '" + id + "' does not exist");
}
[[noreturn]] void nat_not_found(const std::string& id) {
  fail(kNotFound, "NatGatewayNotFound", "The Nat Gateway " + id + " was not found");
}

}  // namespace

std::string Ec2Model::fresh_id(const char* prefix) {
  for (;;) {
    std::string id = new_id(prefix);
    if (!s_.igws.count(id) && !s_.addresses.count(id) && !s_.nat_gateways.count(id) &&
        std::none_of(s_.addresses.begin(), s_.addresses.end(),
                     [&](const auto& a) { return a.second.association_id == id; }))
      return id;
  }
}

uint32_t Ec2Model::take_public_ip() {
  std::set<uint32_t> used;
  for (auto& [id, e] : s_.enis)
    if (e.public_ip) used.insert(e.public_ip);
  for (auto& [id, a] : s_.addresses) used.insert(a.public_ip);
  for (uint32_t i = 0; i < kPublicPoolSize; i++) {
    const uint32_t at = (s_.next_public + i) % kPublicPoolSize;
    const uint32_t ip = kPublicPoolBase + 1 + at;
    if (used.count(ip)) continue;
    s_.next_public = (at + 1) % kPublicPoolSize;
    return ip;
  }
  fail(kLimit, "AddressLimitExceeded", "venic's public IPv4 pool (203.0.113.1-253) is used up");
}

bool Ec2Model::gateway_usable(const std::string& gateway_id, const std::string& vpc_id) const {
  if (auto g = s_.igws.find(gateway_id); g != s_.igws.end()) return !vpc_id.empty() && g->second.vpc == vpc_id;
  if (auto n = s_.nat_gateways.find(gateway_id); n != s_.nat_gateways.end())
    return !n->second.deleted && n->second.vpc == vpc_id;
  return false;
}

void Ec2Model::check_gateway_dependencies(const std::string& vpc, const std::string& subnet) const {
  for (auto& [id, g] : s_.igws)
    if (subnet.empty() && g.vpc == vpc)
      fail(kBusy, "DependencyViolation",
           "The vpc '" + vpc + "' has dependencies and cannot be deleted: the internet gateway " + id +
               " is attached to it");
  for (auto& [id, n] : s_.nat_gateways)
    if (!n.deleted && n.vpc == vpc && (subnet.empty() || n.subnet == subnet))
      fail(kBusy, "DependencyViolation",
           "The " + (subnet.empty() ? "vpc '" + vpc : "subnet '" + subnet) +
               "' has dependencies and cannot be deleted: the NAT gateway " + id + " is in it");
}

void Ec2Model::settle_addresses() noexcept {
  for (auto& [id, a] : s_.addresses) {
    if (a.association_id.empty()) continue;
    auto e = s_.enis.find(a.eni);
    const bool still = e != s_.enis.end() &&
                       (e->second.ip == a.private_ip ||
                        std::count(e->second.secondary_ips.begin(), e->second.secondary_ips.end(), a.private_ip));
    if (!still) {
      // Its ENI (or that private address) is gone: EC2 disassociates.
      a.association_id.clear();
      a.eni.clear();
      a.private_ip = 0;
      continue;
    }
    if (e->second.ip == a.private_ip) e->second.public_ip = a.public_ip;  // it survives stop and start
  }
  const int64_t now = clock_();
  for (auto it = s_.nat_gateways.begin(); it != s_.nat_gateways.end();) {
    if (it->second.deleted && now - it->second.delete_time > kDeletedNatListedSeconds)
      it = s_.nat_gateways.erase(it);
    else
      ++it;
  }
}

std::optional<json> Ec2Model::gateway_action(const std::string& action, const json& p) {
  if (action == "CreateInternetGateway") return create_igw(p);
  if (action == "AttachInternetGateway") return attach_igw(p, true);
  if (action == "DetachInternetGateway") return attach_igw(p, false);
  if (action == "DeleteInternetGateway") return delete_igw(p);
  if (action == "AllocateAddress") return allocate_address(p);
  if (action == "AssociateAddress") return associate_address(p);
  if (action == "DisassociateAddress") return disassociate_address(p);
  if (action == "ReleaseAddress") return release_address(p);
  if (action == "CreateNatGateway") return create_nat(p);
  if (action == "DeleteNatGateway") return delete_nat(p);
  return std::nullopt;
}

// ---- internet gateways --------------------------------------------------------

json Ec2Model::create_igw(const json& p) {
  only(p, {});
  size_t mine = 0;
  for (auto& [id, g] : s_.igws) mine += g.owner == caller_.uid;
  if (mine >= kMaxInternetGatewaysPerOwner)
    fail(kLimit, "InternetGatewayLimitExceeded",
         "The maximum number of internet gateways (" + std::to_string(kMaxInternetGatewaysPerOwner) +
             ") has been reached.");
  InternetGateway g{fresh_id("igw"), caller_.uid, ""};
  s_.igws[g.id] = g;
  return {{"InternetGateway", igw_json(g)}};
}

json Ec2Model::attach_igw(const json& p, bool attach) {
  only(p, {"InternetGatewayId", "VpcId"});
  const std::string id = str(p, "InternetGatewayId"), vpc = str(p, "VpcId");
  auto it = s_.igws.find(id);
  if (it == s_.igws.end() || !visible(it->second.owner)) igw_not_found(id);
  require_owner(it->second.owner);
  auto v = s_.vpcs.find(vpc);
  if (v == s_.vpcs.end() || !visible(v->second.owner))
    fail(kNotFound, "InvalidVpcID.NotFound", "The vpc ID '" + vpc + "' does not exist");
  require_owner(v->second.owner);
  InternetGateway& g = it->second;
  if (attach) {
    if (!g.vpc.empty())
      fail(kExists, "Resource.AlreadyAssociated", "resource " + id + " is already attached to network " + g.vpc);
    for (auto& [oid, o] : s_.igws)
      if (o.vpc == vpc)
        fail(kExists, "Resource.AlreadyAssociated",
             "Network " + vpc + " already has an internet gateway attached (" + oid + ")");
    g.vpc = vpc;
    return json::object();
  }
  if (g.vpc != vpc) fail(kInvalid, "Gateway.NotAttached", "resource " + id + " is not attached to network " + vpc);
  // EC2 keeps the gateway while the VPC has public addresses mapped.
  for (auto& [eid, e] : s_.enis)
    if (e.public_ip && s_.subnets.at(e.subnet).vpc == vpc)
      fail(kBusy, "DependencyViolation",
           "Network " + vpc +
               " has some mapped public address(es). Please unmap those public address(es) before "
               "detaching the gateway.");
  for (auto& [nid, n] : s_.nat_gateways)
    if (!n.deleted && n.vpc == vpc)
      fail(kBusy, "DependencyViolation",
           "Network " + vpc + " has some mapped public address(es) (the NAT gateway " + nid +
               "). Please unmap those public address(es) before detaching the gateway.");
  g.vpc.clear();
  return json::object();
}

json Ec2Model::delete_igw(const json& p) {
  only(p, {"InternetGatewayId"});
  const std::string id = str(p, "InternetGatewayId");
  auto it = s_.igws.find(id);
  if (it == s_.igws.end() || !visible(it->second.owner)) igw_not_found(id);
  require_owner(it->second.owner);
  if (!it->second.vpc.empty())
    fail(
        kBusy, "DependencyViolation",
        "The internetGateway '" + id + "' has dependencies and cannot be deleted: it is attached to " + it->second.vpc);
  s_.igws.erase(it);
  return json::object();
}

json Ec2Model::igw_json(const InternetGateway& g) const {
  json att = json::array();
  if (!g.vpc.empty()) att.push_back({{"VpcId", g.vpc}, {"State", "available"}});
  return {{"InternetGatewayId", g.id}, {"OwnerId", account_id(g.owner)}, {"Attachments", att}, {"Tags", json::array()}};
}

// ---- Elastic IPs ----------------------------------------------------------------

ElasticIp& Ec2Model::owned_address(const std::string& allocation_id) {
  auto it = s_.addresses.find(allocation_id);
  if (it == s_.addresses.end() || !visible(it->second.owner)) allocation_not_found(allocation_id);
  require_owner(it->second.owner);
  return it->second;
}

json Ec2Model::allocate_address(const json& p) {
  only(p, {"Domain", "NetworkBorderGroup", "PublicIpv4Pool"});
  const std::string domain = opt_str(p, "Domain", "vpc");
  if (domain != "vpc") bad_param("Invalid value '" + domain.substr(0, 32) + "' for Domain (vpc)");
  const std::string pool = opt_str(p, "PublicIpv4Pool", "amazon");
  if (pool != "amazon") bad_param("Invalid value '" + pool.substr(0, 64) + "' for PublicIpv4Pool (amazon)");
  size_t mine = 0;
  for (auto& [id, a] : s_.addresses) mine += a.owner == caller_.uid;
  if (mine >= kMaxAddressesPerOwner)
    fail(kLimit, "AddressLimitExceeded", "The maximum number of addresses has been reached.");
  ElasticIp a;
  a.allocation_id = fresh_id("eipalloc");
  a.owner = caller_.uid;
  a.public_ip = take_public_ip();
  s_.addresses[a.allocation_id] = a;
  return {{"PublicIp", ip_s(a.public_ip)},
          {"AllocationId", a.allocation_id},
          {"PublicIpv4Pool", "amazon"},
          {"NetworkBorderGroup", "us-east-1"},
          {"Domain", "vpc"}};
}

json Ec2Model::associate_address(const json& p) {
  only(p, {"AllocationId", "InstanceId", "NetworkInterfaceId", "PrivateIpAddress", "AllowReassociation", "PublicIp"});
  if (field(p, "PublicIp") && !field(p, "AllocationId"))
    fail(kInvalid, "InvalidParameterCombination", "A VPC's Elastic IP is named by its AllocationId");
  ElasticIp& a = owned_address(str(p, "AllocationId"));
  const bool has_instance = field(p, "InstanceId"), has_eni = field(p, "NetworkInterfaceId");
  if (has_instance == has_eni)
    fail(kInvalid, "InvalidParameterCombination", "Give InstanceId or NetworkInterfaceId (one of them)");
  std::string eni_id;
  if (has_instance) {
    const std::string iid = str(p, "InstanceId");
    auto in = s_.instances.find(iid);
    if (in == s_.instances.end() || !visible(in->second.owner_uid))
      fail(kNotFound, "InvalidInstanceID.NotFound", "The instance ID '" + iid + "' does not exist");
    require_owner(in->second.owner_uid);
    if (in->second.enis.size() > 1)
      fail(kInvalid, "InvalidInstanceID",
           "There are multiple interfaces attached to instance '" + iid +
               "'. Please specify an interface ID for the operation instead.");
    eni_id = in->second.enis.at(0);
  } else {
    eni_id = str(p, "NetworkInterfaceId");
    auto it = s_.enis.find(eni_id);
    if (it == s_.enis.end() || !visible(it->second.owner))
      fail(kNotFound, "InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '" + eni_id + "' does not exist");
  }
  Eni& e = owned_eni(eni_id);
  uint32_t private_ip = e.ip;
  if (field(p, "PrivateIpAddress")) {
    private_ip = ipv4(str(p, "PrivateIpAddress"), "PrivateIpAddress");
    if (private_ip != e.ip && !std::count(e.secondary_ips.begin(), e.secondary_ips.end(), private_ip))
      bad_param("The address " + ip_s(private_ip) + " is not a private address of " + eni_id);
  }
  const std::string vpc = s_.subnets.at(e.subnet).vpc;
  bool igw = false;
  for (auto& [id, g] : s_.igws) igw = igw || g.vpc == vpc;
  if (!igw) fail(kInvalid, "Gateway.NotAttached", "Network " + vpc + " is not attached to any internet gateway");
  if (!a.nat_gateway.empty())
    fail(kExists, "Resource.AlreadyAssociated",
         "The Elastic IP " + a.allocation_id + " is used by the NAT gateway " + a.nat_gateway);
  const bool reassociate = bool_value(p, "AllowReassociation").value_or(false);
  if (!a.association_id.empty() && !(a.eni == eni_id && a.private_ip == private_ip) && !reassociate)
    fail(kExists, "Resource.AlreadyAssociated",
         "resource " + a.allocation_id + " is already associated with associate-id " + a.association_id);
  // Whatever that private address had goes: another EIP is disassociated,
  // the auto-assigned public address released.
  for (auto& [id, o] : s_.addresses)
    if (&o != &a && o.eni == eni_id && o.private_ip == private_ip) {
      o.association_id.clear();
      o.eni.clear();
      o.private_ip = 0;
    }
  if (!a.association_id.empty() && a.eni != eni_id) {
    auto old = s_.enis.find(a.eni);
    if (old != s_.enis.end() && old->second.ip == a.private_ip) old->second.public_ip = 0;
  }
  if (private_ip == e.ip) e.public_ip = a.public_ip;
  if (a.association_id.empty() || a.eni != eni_id || a.private_ip != private_ip)
    a.association_id = fresh_id("eipassoc");
  a.eni = eni_id;
  a.private_ip = private_ip;
  return {{"AssociationId", a.association_id}};
}

json Ec2Model::disassociate_address(const json& p) {
  only(p, {"AssociationId", "PublicIp"});
  const std::string id = str(p, "AssociationId");
  if (!id_shaped(id, "eipassoc"))
    fail(kInvalid, "InvalidAssociationID.Malformed",
         "Invalid id: \"" + id.substr(0, 64) + "\" (expecting \"eipassoc-...\")");
  for (auto& [aid, a] : s_.addresses) {
    if (a.association_id != id || !visible(a.owner)) continue;
    require_owner(a.owner);
    auto e = s_.enis.find(a.eni);
    if (e != s_.enis.end() && e->second.ip == a.private_ip && e->second.public_ip == a.public_ip)
      e->second.public_ip = 0;
    a.association_id.clear();
    a.eni.clear();
    a.private_ip = 0;
    return json::object();
  }
  fail(kNotFound, "InvalidAssociationID.NotFound", "The association ID '" + id + "' does not exist");
}

json Ec2Model::release_address(const json& p) {
  only(p, {"AllocationId", "PublicIp", "NetworkBorderGroup"});
  ElasticIp& a = owned_address(str(p, "AllocationId"));
  if (a.associated()) fail(kBusy, "InvalidIPAddress.InUse", "Address " + ip_s(a.public_ip) + " is in use.");
  s_.addresses.erase(a.allocation_id);
  return json::object();
}

json Ec2Model::address_json(const ElasticIp& a) const {
  json j = {{"PublicIp", ip_s(a.public_ip)},
            {"AllocationId", a.allocation_id},
            {"Domain", "vpc"},
            {"PublicIpv4Pool", "amazon"},
            {"NetworkBorderGroup", "us-east-1"}};
  if (!a.association_id.empty()) {
    const Eni& e = s_.enis.at(a.eni);
    j["AssociationId"] = a.association_id;
    j["NetworkInterfaceId"] = a.eni;
    j["NetworkInterfaceOwnerId"] = account_id(e.owner);
    j["PrivateIpAddress"] = ip_s(a.private_ip);
    if (e.attached()) j["InstanceId"] = e.instance;
  } else if (!a.nat_gateway.empty()) {
    const NatGateway& n = s_.nat_gateways.at(a.nat_gateway);
    j["PrivateIpAddress"] = ip_s(n.private_ip);
    j["NetworkInterfaceOwnerId"] = account_id(n.owner);
  }
  return j;
}

// ---- NAT gateways ---------------------------------------------------------------

json Ec2Model::create_nat(const json& p) {
  only(p, {"SubnetId", "AllocationId", "ConnectivityType", "PrivateIpAddress"});
  const std::string type = opt_str(p, "ConnectivityType", "public");
  if (type != "public")
    bad_param("Invalid value '" + type.substr(0, 32) + "' for ConnectivityType (venic models public NAT gateways)");
  const std::string sid = str(p, "SubnetId");
  const Subnet* sn = subnet(sid);
  if (!sn || !visible(sn->owner))
    fail(kNotFound, "InvalidSubnetID.NotFound", "The subnet ID '" + sid + "' does not exist");
  require_owner(sn->owner);
  if (!field(p, "AllocationId"))
    fail(kInvalid, "MissingParameter", "A public NAT gateway needs an Elastic IP: give AllocationId");
  ElasticIp& a = owned_address(str(p, "AllocationId"));
  if (a.associated())
    fail(kExists, "Resource.AlreadyAssociated", "Elastic IP address [" + a.allocation_id + "] is already associated");
  size_t in_az = 0;
  for (auto& [id, n] : s_.nat_gateways)
    in_az += !n.deleted && n.owner == caller_.uid && s_.subnets.count(n.subnet) && s_.subnets.at(n.subnet).az == sn->az;
  if (in_az >= kMaxNatGatewaysPerAz)
    fail(kLimit, "NatGatewayLimitExceeded",
         "The maximum number of NAT gateways in " + sn->az + " (" + std::to_string(kMaxNatGatewaysPerAz) +
             ") has been reached.");
  NatGateway n;
  std::vector<uint32_t> taken;
  if (field(p, "PrivateIpAddress")) {
    claim_ip(*sn, ipv4(str(p, "PrivateIpAddress"), "PrivateIpAddress"), taken);
    n.private_ip = taken.back();
  } else {
    n.private_ip = free_ip(*sn, taken);
  }
  n.id = fresh_id("nat");
  n.owner = caller_.uid;
  n.subnet = sid;
  n.vpc = sn->vpc;
  n.allocation_id = a.allocation_id;
  n.public_ip = a.public_ip;
  n.create_time = clock_();
  a.nat_gateway = n.id;
  s_.nat_gateways[n.id] = n;
  // Drop the oldest deleted ones past the bound.
  size_t deleted = 0;
  for (auto& [id, x] : s_.nat_gateways) deleted += x.deleted;
  while (deleted-- > kMaxDeletedNat) {
    auto oldest = s_.nat_gateways.end();
    for (auto it = s_.nat_gateways.begin(); it != s_.nat_gateways.end(); ++it)
      if (it->second.deleted &&
          (oldest == s_.nat_gateways.end() || it->second.delete_time < oldest->second.delete_time))
        oldest = it;
    s_.nat_gateways.erase(oldest);
  }
  return {{"NatGateway", nat_json(n)}};
}

json Ec2Model::delete_nat(const json& p) {
  only(p, {"NatGatewayId"});
  const std::string id = str(p, "NatGatewayId");
  auto it = s_.nat_gateways.find(id);
  if (it == s_.nat_gateways.end() || !visible(it->second.owner)) nat_not_found(id);
  require_owner(it->second.owner);
  NatGateway& n = it->second;
  if (!n.deleted) {
    // Its EIP is free again (still allocated to its owner).
    if (auto a = s_.addresses.find(n.allocation_id); a != s_.addresses.end()) a->second.nat_gateway.clear();
    n.deleted = true;
    n.delete_time = clock_();
  }
  return {{"NatGatewayId", id}};
}

json Ec2Model::nat_json(const NatGateway& n) const {
  json addr = {{"AllocationId", n.allocation_id},
               {"PrivateIp", ip_s(n.private_ip)},
               {"PublicIp", ip_s(n.public_ip)},
               {"IsPrimary", true},
               {"Status", n.deleted ? "disassociated" : "succeeded"}};
  json j = {{"NatGatewayId", n.id},
            {"SubnetId", n.subnet},
            {"VpcId", n.vpc},
            {"State", n.deleted ? "deleted" : "available"},
            {"ConnectivityType", "public"},
            {"CreateTime", iso8601(n.create_time)},
            {"NatGatewayAddresses", json::array({addr})}};
  if (n.deleted) j["DeleteTime"] = iso8601(n.delete_time);
  return j;
}

// ---- describe --------------------------------------------------------------------

std::optional<json> Ec2Model::describe_gateways(const std::string& what, const json& p) const {
  if (what == "InternetGateways") {
    only(p, {"InternetGatewayIds", "Filters", "MaxResults", "NextToken"});
    const Filters filters(p, filter_names(what));
    json out = json::array();
    auto ids = str_list(p, "InternetGatewayIds");
    for (const auto& id : ids) {
      auto it = s_.igws.find(id);
      if (it == s_.igws.end() || !visible(it->second.owner)) igw_not_found(id);
    }
    for (auto& [id, g] : s_.igws)
      if (visible(g.owner) && (ids.empty() || std::count(ids.begin(), ids.end(), id))) out.push_back(igw_json(g));
    return describe_page(p, "InternetGateways", filters.keep(out));
  }
  if (what == "Addresses") {
    only(p, {"AllocationIds", "PublicIps", "Filters"});
    const Filters filters(p, filter_names(what));
    auto ids = str_list(p, "AllocationIds"), ips = str_list(p, "PublicIps");
    for (const auto& id : ids) {
      auto it = s_.addresses.find(id);
      if (it == s_.addresses.end() || !visible(it->second.owner)) allocation_not_found(id);
    }
    for (const auto& ip : ips) {
      auto it = std::find_if(s_.addresses.begin(), s_.addresses.end(),
                             [&](const auto& a) { return visible(a.second.owner) && ip_s(a.second.public_ip) == ip; });
      if (it == s_.addresses.end())
        fail(kNotFound, "InvalidAddress.NotFound", "Address '" + ip.substr(0, 64) + "' not found.");
    }
    json out = json::array();
    for (auto& [id, a] : s_.addresses)
      if (visible(a.owner) && (ids.empty() || std::count(ids.begin(), ids.end(), id)) &&
          (ips.empty() || std::count(ips.begin(), ips.end(), ip_s(a.public_ip))))
        out.push_back(address_json(a));
    return json{{"Addresses", filters.keep(out)}};
  }
  if (what == "NatGateways") {
    only(p, {"NatGatewayIds", "Filters", "Filter", "MaxResults", "NextToken"});
    json q = p;
    if (q.contains("Filter")) q["Filters"] = q["Filter"];  // DescribeNatGateways calls its list Filter
    const Filters filters(q, filter_names(what));
    auto ids = str_list(p, "NatGatewayIds");
    for (const auto& id : ids) {
      auto it = s_.nat_gateways.find(id);
      if (it == s_.nat_gateways.end() || !visible(it->second.owner)) nat_not_found(id);
    }
    json out = json::array();
    for (auto& [id, n] : s_.nat_gateways)
      if (visible(n.owner) && (ids.empty() || std::count(ids.begin(), ids.end(), id))) out.push_back(nat_json(n));
    return describe_page(p, "NatGateways", filters.keep(out));
  }
  return std::nullopt;
}

// ---- persistence -------------------------------------------------------------------

json Ec2Model::gateways_to_json() const {
  json igws = json::array(), addresses = json::array(), nats = json::array();
  for (auto& [id, g] : s_.igws) igws.push_back({{"id", id}, {"owner", g.owner}, {"vpc", g.vpc}});
  for (auto& [id, a] : s_.addresses)
    addresses.push_back({{"id", id},
                         {"owner", a.owner},
                         {"public_ip", ip_s(a.public_ip)},
                         {"association", a.association_id},
                         {"eni", a.eni},
                         {"private_ip", a.private_ip ? ip_s(a.private_ip) : ""},
                         {"nat_gateway", a.nat_gateway}});
  for (auto& [id, n] : s_.nat_gateways)
    nats.push_back({{"id", id},
                    {"owner", n.owner},
                    {"subnet", n.subnet},
                    {"vpc", n.vpc},
                    {"allocation", n.allocation_id},
                    {"public_ip", ip_s(n.public_ip)},
                    {"private_ip", ip_s(n.private_ip)},
                    {"deleted", n.deleted},
                    {"create_time", n.create_time},
                    {"delete_time", n.delete_time}});
  return {{"internet_gateways", igws}, {"addresses", addresses}, {"nat_gateways", nats}};
}

void Ec2Model::gateways_from_json(const json& j, State& s) {
  if (j.is_null()) return;  // a state file from before gateways
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what);
  };
  auto owner = [&](const json& x) {
    const int64_t uid = x.at("owner").get<int64_t>();
    need(uid >= 0 && uid <= 0x7fffffff, "bad owner uid");
    return uid;
  };
  auto ip4 = [&](const json& v, bool may_be_empty) -> uint32_t {
    const std::string t = v.get<std::string>();
    if (t.empty() && may_be_empty) return 0;
    auto a = vf::parse_ipv4(t);
    need(a.has_value(), "bad IPv4 " + v.dump());
    return *a;
  };
  auto in_pool = [](uint32_t ip) { return ip > kPublicPoolBase && ip <= kPublicPoolBase + kPublicPoolSize; };
  std::set<uint32_t> publics;
  for (const auto& g : j.at("internet_gateways")) {
    InternetGateway x{g.at("id"), owner(g), g.at("vpc")};
    need(x.vpc.empty() || s.vpcs.count(x.vpc), "internet gateway " + x.id + " names an unknown VPC");
    s.igws[x.id] = x;
  }
  for (const auto& a : j.at("addresses")) {
    ElasticIp x;
    x.allocation_id = a.at("id");
    x.owner = owner(a);
    x.public_ip = ip4(a.at("public_ip"), false);
    x.association_id = a.at("association");
    x.eni = a.at("eni");
    x.private_ip = ip4(a.at("private_ip"), true);
    x.nat_gateway = a.at("nat_gateway");
    need(in_pool(x.public_ip) && publics.insert(x.public_ip).second, "address " + x.allocation_id + " is not usable");
    need(x.association_id.empty() || s.enis.count(x.eni), "address " + x.allocation_id + " names an unknown ENI");
    s.addresses[x.allocation_id] = x;
  }
  for (const auto& n : j.at("nat_gateways")) {
    NatGateway x;
    x.id = n.at("id");
    x.owner = owner(n);
    x.subnet = n.at("subnet");
    x.vpc = n.at("vpc");
    x.allocation_id = n.at("allocation");
    x.public_ip = ip4(n.at("public_ip"), false);
    x.private_ip = ip4(n.at("private_ip"), false);
    x.deleted = n.at("deleted").get<bool>();
    x.create_time = n.at("create_time").get<int64_t>();
    x.delete_time = n.at("delete_time").get<int64_t>();
    need(x.deleted || (s.subnets.count(x.subnet) && s.subnets.at(x.subnet).vpc == x.vpc),
         "NAT gateway " + x.id + " names an unknown subnet");
    need(x.deleted || (s.addresses.count(x.allocation_id) && s.addresses.at(x.allocation_id).nat_gateway == x.id),
         "NAT gateway " + x.id + " and its address disagree");
    s.nat_gateways[x.id] = x;
  }
  for (auto& [id, a] : s.addresses)
    need(a.nat_gateway.empty() || (s.nat_gateways.count(a.nat_gateway) && !s.nat_gateways.at(a.nat_gateway).deleted),
         "address " + id + " names an unknown NAT gateway");
}

}  // namespace venic::model
