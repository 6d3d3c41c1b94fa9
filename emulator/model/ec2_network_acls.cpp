// EC2's network ACLs: stateless, numbered allow/deny entries per direction,
// evaluated lowest number first, the first match deciding, with a final `*`
// deny.  Every VPC has a default ACL (all in, all out) that its subnets are
// associated with until ReplaceNetworkAclAssociation moves one; a custom ACL
// starts with only the `*` deny.  The fast path applies them at the subnet
// boundary (vpc_network_builder.cpp, fastpath/network_acl.h).
#include <algorithm>
#include <cctype>
#include <set>

#include "ec2_model.h"
#include "ec2_params.h"
#include "ec2_validation.h"

namespace venic::model {

using nlohmann::json;
using namespace params;

namespace {

// EC2's default quotas: entries per direction (the `*` not counted), ACLs per VPC.
constexpr size_t kEntriesPerDirection = 20;
constexpr size_t kAclsPerVpc = 200;
constexpr int kMaxRuleNumber = 32766;  // 32767 and above are EC2's own (the `*`)

// "-1"/"all", a name EC2 takes, or a number 0-255: the protocol number.
int protocol_of(const std::string& text) {
  std::string t = text.substr(0, 16);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (t == "-1" || t == "all") return -1;
  if (t == "tcp") return 6;
  if (t == "udp") return 17;
  if (t == "icmp") return 1;
  if (t == "icmpv6") return 58;
  if (!t.empty() && t.size() <= 3 && std::all_of(t.begin(), t.end(), ::isdigit) && std::stoi(t) <= 255)
    return std::stoi(t);
  bad_param("Invalid value '" + text.substr(0, 32) +
            "' for Protocol (a protocol number 0-255, -1 or all, or tcp, udp, icmp, icmpv6)");
}

bool ports_apply(int protocol) {
  return protocol == 6 || protocol == 17;
}

// The entries' order: egress first, then by number.
bool entry_before(const NaclRule& a, const NaclRule& b) {
  if (a.egress != b.egress) return a.egress;
  return a.number < b.number;
}

NaclRule allow_all(int number, bool egress, bool ipv6) {
  NaclRule r;
  r.number = number;
  r.egress = egress;
  r.allow = true;
  (ipv6 ? r.ipv6_cidr : r.cidr) = ipv6 ? "::/0" : "0.0.0.0/0";
  return r;
}

json entry_json(const NaclRule& r) {
  json e = {{"RuleNumber", r.number},
            {"Protocol", std::to_string(r.protocol)},
            {"RuleAction", r.allow ? "allow" : "deny"},
            {"Egress", r.egress}};
  if (!r.cidr.empty()) e["CidrBlock"] = r.cidr;
  if (!r.ipv6_cidr.empty()) e["Ipv6CidrBlock"] = r.ipv6_cidr;
  if (ports_apply(r.protocol)) e["PortRange"] = {{"From", r.from_port}, {"To", r.to_port}};
  if (r.protocol == 1 || r.protocol == 58) e["IcmpTypeCode"] = {{"Type", r.icmp_type}, {"Code", r.icmp_code}};
  return e;
}

}  // namespace

NetworkAcl& Ec2Model::network_acl_named(const std::string& id) {
  if (!id_shaped(id, "acl"))
    fail(kInvalid, "InvalidNetworkAclID.Malformed", "Invalid id: \"" + id.substr(0, 64) + "\" (expecting \"acl-...\")");
  auto it = s_.network_acls.find(id);
  if (it == s_.network_acls.end() || !visible(it->second.owner))
    fail(kNotFound, "InvalidNetworkAclID.NotFound", "The networkAcl ID '" + id + "' does not exist");
  return it->second;
}

void Ec2Model::nacl_vpc_created(const Vpc& v) {
  NetworkAcl a;
  a.id = new_id("acl");
  a.vpc = v.id;
  a.owner = v.owner;
  a.is_default = true;
  // Rule 100: everything in and out; 101 the same for IPv6.
  for (bool egress : {true, false}) {
    a.entries.push_back(allow_all(100, egress, false));
    if (!v.ipv6_cidr.empty()) a.entries.push_back(allow_all(101, egress, true));
  }
  std::sort(a.entries.begin(), a.entries.end(), entry_before);
  s_.network_acls[a.id] = a;
}

void Ec2Model::nacl_subnet_created(const Subnet& sn) {
  for (auto& [id, a] : s_.network_acls)
    if (a.vpc == sn.vpc && a.is_default) {
      a.associations[sn.id] = new_id("aclassoc");
      return;
    }
}

void Ec2Model::nacl_vpc_deleting(const std::string& vpc) {
  for (auto& [id, a] : s_.network_acls)
    if (a.vpc == vpc && !a.is_default)
      fail(kBusy, "DependencyViolation",
           "The vpc '" + vpc + "' has dependencies and cannot be deleted: its network ACL " + id);
  std::erase_if(s_.network_acls, [&](const auto& x) { return x.second.vpc == vpc; });
}

void Ec2Model::nacl_subnet_deleted(const std::string& subnet) {
  for (auto& [id, a] : s_.network_acls) a.associations.erase(subnet);
}

json Ec2Model::create_network_acl(const json& p) {
  only(p, {"VpcId"});
  const std::string vpc = str(p, "VpcId");
  auto vit = s_.vpcs.find(vpc);
  if (vit == s_.vpcs.end() || !visible(vit->second.owner))
    fail(kNotFound, "InvalidVpcID.NotFound", "The vpc ID '" + vpc + "' does not exist");
  const auto in_vpc =
      std::count_if(s_.network_acls.begin(), s_.network_acls.end(), [&](const auto& x) { return x.second.vpc == vpc; });
  if (static_cast<size_t>(in_vpc) >= kAclsPerVpc)
    fail(kLimit, "NetworkAclLimitExceeded",
         "The maximum number of network ACLs (" + std::to_string(kAclsPerVpc) + ") for vpc '" + vpc + "' is reached");
  NetworkAcl a;
  a.id = new_id("acl");
  a.vpc = vpc;
  a.owner = caller_.uid;
  s_.network_acls[a.id] = a;
  return {{"NetworkAcl", network_acl_json(a)}};
}

json Ec2Model::delete_network_acl(const json& p) {
  only(p, {"NetworkAclId"});
  const std::string id = str(p, "NetworkAclId");
  NetworkAcl& a = network_acl_named(id);
  require_owner(a.owner);
  if (a.is_default) bad_param("cannot delete default network ACL " + id);
  if (!a.associations.empty())
    fail(kBusy, "DependencyViolation",
         "The networkAcl '" + id + "' has dependencies and cannot be deleted: it is associated with subnet " +
             a.associations.begin()->first);
  s_.network_acls.erase(id);
  return json::object();
}

json Ec2Model::network_acl_entry(const json& p, bool create) {
  only(p, {"NetworkAclId", "RuleNumber", "Protocol", "RuleAction", "Egress", "CidrBlock", "Ipv6CidrBlock", "PortRange",
           "IcmpTypeCode"});
  NetworkAcl& a = network_acl_named(str(p, "NetworkAclId"));
  require_owner(a.owner);
  NaclRule r;
  r.number = static_cast<int>(integer(p, "RuleNumber", 1, kMaxRuleNumber));
  // EC2: Egress is required to create; a replace without it replaces the ingress entry.
  const json* egress = field(p, "Egress");
  if (egress && !egress->is_boolean()) bad_param("Egress must be true or false");
  if (!egress && create) fail(kInvalid, "MissingParameter", "The request must contain the parameter Egress");
  r.egress = egress && egress->get<bool>();
  r.protocol = protocol_of(str(p, "Protocol"));
  const std::string action = str(p, "RuleAction");
  if (action != "allow" && action != "deny")
    bad_param("Invalid value '" + action.substr(0, 32) + "' for RuleAction (allow, deny)");
  r.allow = action == "allow";
  const bool v4 = field(p, "CidrBlock") != nullptr, v6 = field(p, "Ipv6CidrBlock") != nullptr;
  if (v4 && v6) fail(kInvalid, "InvalidParameterCombination", "Give CidrBlock or Ipv6CidrBlock, not both");
  if (!v4 && !v6)
    fail(kInvalid, "MissingParameter", "The request must contain the parameter CidrBlock or Ipv6CidrBlock");
  if (v4) {
    r.cidr = format_cidr4(cidr(str(p, "CidrBlock"), "CidrBlock", "InvalidParameterValue"));
  } else {
    const std::string text = str(p, "Ipv6CidrBlock");
    auto c = canonical_cidr6(text);
    if (!c) bad_param("Invalid value '" + text.substr(0, 64) + "' for Ipv6CidrBlock (an IPv6 CIDR block)");
    r.ipv6_cidr = *c;
  }
  if (ports_apply(r.protocol)) {
    const json* range = field(p, "PortRange");
    if (!range) fail(kInvalid, "MissingParameter", "The request must contain the parameter portRange");
    if (!range->is_object()) bad_param("PortRange must be {\"From\": N, \"To\": N}");
    only(*range, {"From", "To"});
    r.from_port = static_cast<int>(integer(*range, "From", 0, 65535));
    r.to_port = static_cast<int>(integer(*range, "To", 0, 65535));
    if (r.from_port > r.to_port) bad_param("PortRange: From must not be above To");
  }
  // ICMP needs its type and code; so does ICMPv6 for an IPv6 block (for an
  // IPv4 block EC2 takes every type).
  if (r.protocol == 1 || (r.protocol == 58 && v6)) {
    const json* icmp = field(p, "IcmpTypeCode");
    if (!icmp) fail(kInvalid, "MissingParameter", "The request must contain the parameter icmpTypeCode");
    if (!icmp->is_object()) bad_param("IcmpTypeCode must be {\"Type\": N, \"Code\": N}");
    only(*icmp, {"Type", "Code"});
    r.icmp_type = static_cast<int>(integer(*icmp, "Type", -1, 255));
    r.icmp_code = static_cast<int>(integer(*icmp, "Code", -1, 255));
  }
  auto same = std::find_if(a.entries.begin(), a.entries.end(),
                           [&](const NaclRule& e) { return e.egress == r.egress && e.number == r.number; });
  const std::string where = std::to_string(r.number) + (r.egress ? " (egress)" : " (ingress)");
  if (create) {
    if (same != a.entries.end())
      fail(kExists, "NetworkAclEntryAlreadyExists",
           "The network acl entry identified by " + where + " already exists in " + a.id);
    const auto n =
        std::count_if(a.entries.begin(), a.entries.end(), [&](const NaclRule& e) { return e.egress == r.egress; });
    if (static_cast<size_t>(n) >= kEntriesPerDirection)
      fail(kLimit, "NetworkAclEntryLimitExceeded",
           "The maximum number of " + std::string(r.egress ? "egress" : "ingress") + " entries (" +
               std::to_string(kEntriesPerDirection) + ") of network ACL " + a.id + " is reached");
    a.entries.push_back(r);
    std::sort(a.entries.begin(), a.entries.end(), entry_before);
  } else {
    if (same == a.entries.end())
      fail(kNotFound, "InvalidNetworkAclEntry.NotFound",
           "The network acl entry identified by " + where + " does not exist in " + a.id);
    *same = r;
  }
  return json::object();
}

json Ec2Model::delete_network_acl_entry(const json& p) {
  only(p, {"NetworkAclId", "RuleNumber", "Egress"});
  NetworkAcl& a = network_acl_named(str(p, "NetworkAclId"));
  require_owner(a.owner);
  const int number = static_cast<int>(integer(p, "RuleNumber", 1, kMaxRuleNumber));
  const json* egress = field(p, "Egress");
  if (!egress) fail(kInvalid, "MissingParameter", "The request must contain the parameter Egress");
  if (!egress->is_boolean()) bad_param("Egress must be true or false");
  const bool out = egress->get<bool>();
  auto it = std::find_if(a.entries.begin(), a.entries.end(),
                         [&](const NaclRule& e) { return e.egress == out && e.number == number; });
  if (it == a.entries.end())
    fail(kNotFound, "InvalidNetworkAclEntry.NotFound",
         "The network acl entry identified by " + std::to_string(number) + (out ? " (egress)" : " (ingress)") +
             " does not exist in " + a.id);
  a.entries.erase(it);
  return json::object();
}

json Ec2Model::replace_network_acl_association(const json& p) {
  only(p, {"AssociationId", "NetworkAclId"});
  const std::string assoc = str(p, "AssociationId");
  if (!id_shaped(assoc, "aclassoc"))
    bad_param("Invalid id: \"" + assoc.substr(0, 64) + "\" (expecting \"aclassoc-...\")");
  NetworkAcl& to = network_acl_named(str(p, "NetworkAclId"));
  NetworkAcl* from = nullptr;
  std::string subnet;
  for (auto& [id, a] : s_.network_acls)
    for (auto& [sid, as] : a.associations)
      if (as == assoc && visible(s_.subnets.at(sid).owner)) from = &a, subnet = sid;
  if (!from) fail(kNotFound, "InvalidAssociationID.NotFound", "The association ID '" + assoc + "' does not exist");
  require_owner(s_.subnets.at(subnet).owner);
  require_owner(to.owner);
  if (to.vpc != from->vpc)
    bad_param("The network ACL " + to.id + " and the subnet " + subnet + " are in different VPCs");
  from->associations.erase(subnet);
  const std::string fresh = new_id("aclassoc");
  to.associations[subnet] = fresh;
  return {{"NewAssociationId", fresh}};
}

json Ec2Model::network_acl_json(const NetworkAcl& a) const {
  json entries = json::array(), assocs = json::array();
  const bool ipv6 = s_.vpcs.count(a.vpc) && !s_.vpcs.at(a.vpc).ipv6_cidr.empty();
  for (bool egress : {true, false}) {
    for (const auto& r : a.entries)
      if (r.egress == egress) entries.push_back(entry_json(r));
    // The `*` entries EC2 lists last: 32767 for IPv4, 32768 for IPv6.
    NaclRule star;
    star.number = 32767;
    star.egress = egress;
    star.cidr = "0.0.0.0/0";
    entries.push_back(entry_json(star));
    if (ipv6) {
      star.number = 32768;
      star.cidr.clear();
      star.ipv6_cidr = "::/0";
      entries.push_back(entry_json(star));
    }
  }
  for (auto& [subnet, id] : a.associations)
    assocs.push_back({{"NetworkAclAssociationId", id}, {"NetworkAclId", a.id}, {"SubnetId", subnet}});
  return {{"NetworkAclId", a.id},      {"VpcId", a.vpc},     {"OwnerId", account_id(a.owner)},
          {"IsDefault", a.is_default}, {"Entries", entries}, {"Associations", assocs},
          {"Tags", json::array()}};
}

json Ec2Model::network_acls_to_json() const {
  json out = json::array();
  for (auto& [id, a] : s_.network_acls) {
    json entries = json::array();
    for (const auto& r : a.entries)
      entries.push_back({{"number", r.number},
                         {"egress", r.egress},
                         {"allow", r.allow},
                         {"protocol", r.protocol},
                         {"cidr", r.cidr},
                         {"ipv6_cidr", r.ipv6_cidr},
                         {"ports", {r.from_port, r.to_port}},
                         {"icmp", {r.icmp_type, r.icmp_code}}});
    out.push_back({{"id", id},
                   {"vpc", a.vpc},
                   {"owner", a.owner},
                   {"default", a.is_default},
                   {"entries", entries},
                   {"associations", a.associations}});
  }
  return out;
}

void Ec2Model::network_acls_from_json(const json& j, State& s) {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what);
  };
  auto number = [](const json& v, int lo, int hi) {
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
      throw std::runtime_error("network ACL: " + v.dump() + " is out of range");
    return static_cast<int>(v.get<int64_t>());
  };
  std::set<std::string> associated;
  for (const auto& x : j.value("network_acls", json::array())) {
    NetworkAcl a;
    a.id = x.at("id").get<std::string>();
    a.vpc = x.at("vpc").get<std::string>();
    a.owner = number(x.at("owner"), 0, 0x7fffffff);
    a.is_default = x.at("default").get<bool>();
    need(id_shaped(a.id, "acl"), "bad network ACL id " + a.id);
    need(s.vpcs.count(a.vpc), "network ACL " + a.id + " names an unknown VPC");
    for (const auto& e : x.at("entries")) {
      NaclRule r;
      r.number = number(e.at("number"), 1, kMaxRuleNumber);
      r.egress = e.at("egress").get<bool>();
      r.allow = e.at("allow").get<bool>();
      r.protocol = number(e.at("protocol"), -1, 255);
      r.cidr = e.at("cidr").get<std::string>();
      r.ipv6_cidr = e.at("ipv6_cidr").get<std::string>();
      need(r.cidr.empty() != r.ipv6_cidr.empty(), "network ACL " + a.id + ": an entry needs one block");
      need(r.cidr.empty() || parse_cidr4(r.cidr), "network ACL " + a.id + ": bad CIDR " + r.cidr);
      need(r.ipv6_cidr.empty() || canonical_cidr6(r.ipv6_cidr) == r.ipv6_cidr,
           "network ACL " + a.id + ": bad IPv6 CIDR " + r.ipv6_cidr);
      r.from_port = number(e.at("ports").at(0), -1, 65535);
      r.to_port = number(e.at("ports").at(1), -1, 65535);
      r.icmp_type = number(e.at("icmp").at(0), -1, 255);
      r.icmp_code = number(e.at("icmp").at(1), -1, 255);
      a.entries.push_back(r);
    }
    std::sort(a.entries.begin(), a.entries.end(), entry_before);
    for (auto& [subnet, assoc] : x.at("associations").items()) {
      need(s.subnets.count(subnet) && s.subnets.at(subnet).vpc == a.vpc,
           "network ACL " + a.id + " is associated with an unknown subnet " + subnet);
      need(associated.insert(subnet).second, "subnet " + subnet + " has two network ACLs");
      need(id_shaped(assoc.get<std::string>(), "aclassoc"), "bad network ACL association id");
      a.associations[subnet] = assoc.get<std::string>();
    }
    s.network_acls[a.id] = std::move(a);
  }
  // A state file from before network ACLs: each VPC gets its default ACL,
  // and every subnet an association with it.
  std::swap(s, s_);  // the hooks work on s_
  for (auto& [vpc_id, v] : s_.vpcs) {
    const std::string& id = vpc_id;  // clang 14 captures no structured binding
    const auto defaults = std::count_if(s_.network_acls.begin(), s_.network_acls.end(),
                                        [&](const auto& x) { return x.second.vpc == id && x.second.is_default; });
    if (defaults > 1) {
      std::swap(s, s_);
      throw std::runtime_error("VPC " + id + " has two default network ACLs");
    }
    if (defaults == 0) nacl_vpc_created(v);
  }
  for (auto& [id, sn] : s_.subnets)
    if (!associated.count(id)) nacl_subnet_created(sn);
  std::swap(s, s_);
}

}  // namespace venic::model
