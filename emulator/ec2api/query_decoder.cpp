#include "query_decoder.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string_view>

#include "api_error.h"

namespace venic::ec2api {

namespace {

using nlohmann::json;

// The actions venic models (docs/ec2-api.md), the lifecycle's among them.
constexpr std::string_view kActions[] = {
    "CreateVpc",
    "DescribeVpcs",
    "DeleteVpc",
    "CreateSubnet",
    "DescribeSubnets",
    "DeleteSubnet",
    "ModifySubnetAttribute",
    "CreateSecurityGroup",
    "DescribeSecurityGroups",
    "DeleteSecurityGroup",
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "CreatePlacementGroup",
    "DescribePlacementGroups",
    "DeletePlacementGroup",
    "DescribeInstanceTypes",
    "DescribeAvailabilityZones",
    "RunInstances",
    "StopInstances",
    "StartInstances",
    "TerminateInstances",
    "DescribeInstances",
    "CreateNetworkInterface",
    "DescribeNetworkInterfaces",
    "DeleteNetworkInterface",
    "AttachNetworkInterface",
    "DetachNetworkInterface",
    "ModifyNetworkInterfaceAttribute",
    "AssignPrivateIpAddresses",
    "UnassignPrivateIpAddresses",
    "AssignIpv6Addresses",
    "UnassignIpv6Addresses",
    // Route tables and VPC peering.
    "CreateRouteTable",
    "DeleteRouteTable",
    "DescribeRouteTables",
    "CreateRoute",
    "ReplaceRoute",
    "DeleteRoute",
    "AssociateRouteTable",
    "DisassociateRouteTable",
    "ReplaceRouteTableAssociation",
    "CreateVpcPeeringConnection",
    "AcceptVpcPeeringConnection",
    "RejectVpcPeeringConnection",
    "DeleteVpcPeeringConnection",
    "DescribeVpcPeeringConnections",
    // Gateways and Elastic IPs (model/ec2_gateways.cpp).
    "CreateInternetGateway",
    "AttachInternetGateway",
    "DetachInternetGateway",
    "DeleteInternetGateway",
    "DescribeInternetGateways",
    "AllocateAddress",
    "AssociateAddress",
    "DisassociateAddress",
    "ReleaseAddress",
    "DescribeAddresses",
    "CreateNatGateway",
    "DeleteNatGateway",
    "DescribeNatGateways",
    "CreateNetworkAcl",
    "DeleteNetworkAcl",
    "DescribeNetworkAcls",
    "CreateNetworkAclEntry",
    "ReplaceNetworkAclEntry",
    "DeleteNetworkAclEntry",
    "ReplaceNetworkAclAssociation",
};

// A list's query name -> its JSON member name, by the JSON name of the
// structure it is in ("" for the request itself).  From the EC2 API's
// shapes: the query name is the member's locationName, capitalised.
struct ListRename {
  std::string_view parent, query, json;
};
constexpr ListRename kListRenames[] = {
    {"", "Filter", "Filters"},
    {"Filters", "Value", "Values"},
    {"", "InstanceId", "InstanceIds"},
    {"", "GroupId", "GroupIds"},
    {"", "GroupName", "GroupNames"},
    {"", "InstanceType", "InstanceTypes"},
    {"", "Ipv6Address", "Ipv6Addresses"},
    {"", "NetworkInterface", "NetworkInterfaces"},
    {"", "NetworkInterfaceId", "NetworkInterfaceIds"},
    {"", "PrivateIpAddress", "PrivateIpAddresses"},
    {"", "SecurityGroup", "SecurityGroups"},
    {"", "SecurityGroupId", "SecurityGroupIds"},
    {"", "SecurityGroupRuleId", "SecurityGroupRuleIds"},
    {"", "SubnetId", "SubnetIds"},
    {"", "VpcId", "VpcIds"},
    {"", "NetworkAclId", "NetworkAclIds"},
    {"", "ZoneName", "ZoneNames"},
    {"", "ZoneId", "ZoneIds"},
    {"", "TagSpecification", "TagSpecifications"},
    {"TagSpecifications", "Tag", "Tags"},
    {"", "BlockDeviceMapping", "BlockDeviceMappings"},
    {"", "Ipv4Prefix", "Ipv4Prefixes"},
    {"", "Ipv6Prefix", "Ipv6Prefixes"},
    {"IpPermissions", "Groups", "UserIdGroupPairs"},
    {"NetworkInterfaces", "SecurityGroupId", "Groups"},
    {"NetworkInterfaces", "Ipv4Prefix", "Ipv4Prefixes"},
    {"NetworkInterfaces", "Ipv6Prefix", "Ipv6Prefixes"},
    {"", "RouteTableId", "RouteTableIds"},
    {"", "VpcPeeringConnectionId", "VpcPeeringConnectionIds"},
    {"", "AllocationId", "AllocationIds"},
    {"", "PublicIp", "PublicIps"},
    {"", "InternetGatewayId", "InternetGatewayIds"},
    {"", "NatGatewayId", "NatGatewayIds"},
};
// Where one action names a list differently from the rest.
struct ActionRename {
  std::string_view action, query, json;
};
constexpr ActionRename kActionListRenames[] = {
    {"CreateNetworkInterface", "SecurityGroupId", "Groups"},
    {"ModifyNetworkInterfaceAttribute", "SecurityGroupId", "Groups"},
};
// Scalars whose query name is not their member name.
constexpr ActionRename kScalarRenames[] = {
    {"CreateSecurityGroup", "GroupDescription", "Description"},
    {"CreateNetworkAclEntry", "Icmp", "IcmpTypeCode"},
    {"ReplaceNetworkAclEntry", "Icmp", "IcmpTypeCode"},
};

// Members the API types as integers and booleans (by member name, wherever
// they appear); the query gives them as text.
const std::set<std::string_view> kIntegers = {
    "MinCount",
    "MaxCount",
    "MaxResults",
    "FromPort",
    "ToPort",
    "DeviceIndex",
    "NetworkCardIndex",
    "SecondaryPrivateIpAddressCount",
    "Ipv6AddressCount",
    "Ipv4PrefixCount",
    "Ipv6PrefixCount",
    "PartitionCount",
    "PartitionNumber",
    "TcpEstablishedTimeout",
    "UdpStreamTimeout",
    "UdpTimeout",
    "Ipv4NetmaskLength",
    "Ipv6NetmaskLength",
    "ConntrackLimit",
    "OwnerUid",
    "RuleNumber",
};
// Integers known by their structure too: a name common elsewhere.
const std::set<std::pair<std::string_view, std::string_view>> kIntegersIn = {
    {"PortRange", "From"},
    {"PortRange", "To"},
    {"IcmpTypeCode", "Type"},
    {"IcmpTypeCode", "Code"},
};
const std::set<std::string_view> kBooleans = {
    "DryRun",
    "Force",
    "Primary",
    "DeleteOnTermination",
    "AssociatePublicIpAddress",
    "AmazonProvidedIpv6CidrBlock",
    "AllAvailabilityZones",
    "AllowReassignment",
    "Enabled",
    "Ipv6Native",
    "LocalTarget",
    "AllowReassociation",
    "Egress",
};
// Attribute structures {"Value": bool} (ModifySubnetAttribute,
// ModifyNetworkInterfaceAttribute); Description.Value is text.
const std::set<std::string_view> kBooleanValueParents = {
    "SourceDestCheck",
    "MapPublicIpOnLaunch",
    "AssignIpv6AddressOnCreation",
    "EnableDns64",
    "EnableResourceNameDnsARecordOnLaunch",
    "EnableResourceNameDnsAAAARecordOnLaunch",
    "MapCustomerOwnedIpOnLaunch",
};

[[noreturn]] void invalid(const std::string& msg) {
  throw ApiError("InvalidParameterValue", msg);
}

// One query name's place in the request: a value, a structure or a list.
struct Node {
  bool has_value = false;
  std::string value;
  std::map<std::string, Node> fields;
  std::map<unsigned, Node> items;
};

bool is_index(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
bool is_member_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF): EC2's parameters are UTF-8, and the model's JSON and the XML
// answers can carry nothing else.
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; k++) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

void insert(Node& root, const std::string& name, const std::string& value) {
  if (!valid_utf8(name) || !valid_utf8(value)) invalid("The request has a parameter that is not UTF-8");
  if (name.size() > kMaxNameLength) invalid("The parameter name '" + name.substr(0, 64) + "...' is too long");
  if (value.size() > kMaxValueLength) invalid("The value of " + name + " is too long");
  Node* n = &root;
  size_t depth = 0, pos = 0;
  while (true) {
    size_t dot = name.find('.', pos);
    std::string seg = name.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (++depth > kMaxQueryDepth) invalid("The parameter " + name + " nests too deeply");
    if (is_index(seg)) {
      if (depth == 1) invalid("The parameter name " + name + " is malformed");
      unsigned long i = seg.size() > 9 ? 0 : std::stoul(seg);
      if (i < 1 || i > kMaxListIndex)
        invalid("The index in " + name + " is out of range 1-" + std::to_string(kMaxListIndex));
      n = &n->items[static_cast<unsigned>(i)];
    } else if (is_member_name(seg)) {
      n = &n->fields[seg];
    } else {
      invalid("The parameter name " + name + " is malformed");
    }
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  if (n->has_value) invalid("The parameter " + name + " is given more than once");
  n->has_value = true;
  n->value = value;
}

std::string list_json_name(const std::string& action, const std::string& parent, const std::string& query) {
  if (parent.empty())
    for (const auto& r : kActionListRenames)
      if (r.action == action && r.query == query) return std::string(r.json);
  for (const auto& r : kListRenames)
    if (r.parent == parent && r.query == query) return std::string(r.json);
  return query;
}

std::string scalar_json_name(const std::string& action, const std::string& parent, const std::string& query) {
  if (parent.empty())
    for (const auto& r : kScalarRenames)
      if (r.action == action && r.query == query) return std::string(r.json);
  return query;
}

json typed(const std::string& parent, const std::string& name, const std::string& value, const std::string& path) {
  const bool boolean = kBooleans.count(name) || (name == "Value" && kBooleanValueParents.count(parent));
  if (boolean) {
    std::string v = value;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (v == "true") return true;
    if (v == "false") return false;
    invalid("Invalid value '" + value.substr(0, 64) + "' for " + path + ": must be true or false");
  }
  if (kIntegers.count(name) || kIntegersIn.count({parent, name})) {
    std::string_view s = value;
    bool neg = !s.empty() && s[0] == '-';
    if (neg) s.remove_prefix(1);
    if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      invalid("Invalid value '" + value.substr(0, 64) + "' for " + path + ": must be an integer");
    long long v = std::stoll(std::string(s));
    return neg ? -v : v;
  }
  return value;
}

json to_json(const Node& n, const std::string& action, const std::string& parent, const std::string& name,
             const std::string& path) {
  if (n.has_value) {
    if (!n.fields.empty() || !n.items.empty()) invalid("The parameter " + path + " is both a value and a structure");
    return typed(parent, name, n.value, path);
  }
  if (!n.items.empty()) {
    if (!n.fields.empty()) invalid("The parameter " + path + " is both a list and a structure");
    json arr = json::array();
    for (const auto& [i, item] : n.items)
      arr.push_back(to_json(item, action, name, name, path + "." + std::to_string(i)));
    return arr;
  }
  json obj = json::object();
  for (const auto& [q, child] : n.fields) {
    const bool list = !child.items.empty();
    std::string jn = list ? list_json_name(action, name, q) : scalar_json_name(action, name, q);
    if (obj.contains(jn)) invalid("The parameter " + (path.empty() ? "" : path + ".") + q + " is given twice");
    obj[jn] = to_json(child, action, name, jn, path.empty() ? q : path + "." + q);
  }
  return obj;
}

}  // namespace

bool is_served_action(const std::string& action) {
  return std::find(std::begin(kActions), std::end(kActions), action) != std::end(kActions);
}

QueryRequest decode_query(const FormParams& form) {
  QueryRequest req;
  bool have_action = false;
  Node root;
  for (const auto& [name, value] : form) {
    if (name == "Action") {
      if (have_action) invalid("The parameter Action is given more than once");
      have_action = true;
      req.action = value;
      continue;
    }
    if (name == "Version" || name.rfind("X-Amz-", 0) == 0) continue;
    insert(root, name, value);
  }
  if (!have_action || req.action.empty())
    throw ApiError("MissingAction", "The request must contain the parameter Action");
  if (!is_served_action(req.action))
    throw ApiError("InvalidAction", "The action " + req.action.substr(0, 64) + " is not valid for this web service.");
  // The request itself is a structure whose parent is "".
  for (const auto& [q, child] : root.fields) {
    const bool list = !child.items.empty();
    std::string jn = list ? list_json_name(req.action, "", q) : scalar_json_name(req.action, "", q);
    if (req.params.contains(jn)) invalid("The parameter " + q + " is given twice");
    req.params[jn] = to_json(child, req.action, "", jn, q);
  }
  return req;
}

}  // namespace venic::ec2api
