#include "ec2_validation.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "ec2_model.h"

namespace venic::model {

namespace {

struct IdParam {
  const char* name;       // the parameter, a string or a list of them
  const char* prefix;     // the id's
  const char* malformed;  // EC2's code for a malformed one
};

constexpr std::array<IdParam, 19> kIdParams = {{
    {"VpcId", "vpc", "InvalidVpcID.Malformed"},
    {"VpcIds", "vpc", "InvalidVpcID.Malformed"},
    {"SubnetId", "subnet", "InvalidSubnetID.Malformed"},
    {"SubnetIds", "subnet", "InvalidSubnetID.Malformed"},
    {"GroupId", "sg", "InvalidGroupId.Malformed"},
    {"GroupIds", "sg", "InvalidGroupId.Malformed"},
    {"SecurityGroupIds", "sg", "InvalidGroupId.Malformed"},
    {"Groups", "sg", "InvalidGroupId.Malformed"},
    {"InstanceId", "i", "InvalidInstanceID.Malformed"},
    {"InstanceIds", "i", "InvalidInstanceID.Malformed"},
    {"NetworkInterfaceId", "eni", "InvalidNetworkInterfaceID.Malformed"},
    {"NetworkInterfaceIds", "eni", "InvalidNetworkInterfaceID.Malformed"},
    {"AttachmentId", "eni-attach", "InvalidParameterValue"},
    // Gateways and Elastic IPs (ec2_gateways.cpp).
    {"InternetGatewayId", "igw", "InvalidInternetGatewayID.Malformed"},
    {"InternetGatewayIds", "igw", "InvalidInternetGatewayID.Malformed"},
    {"AllocationId", "eipalloc", "InvalidAllocationID.Malformed"},
    {"AllocationIds", "eipalloc", "InvalidAllocationID.Malformed"},
    // (AssociationId is checked by each action: rtbassoc-, aclassoc- or eipassoc-.)
    {"NatGatewayId", "nat", "NatGatewayMalformed"},
    {"NatGatewayIds", "nat", "NatGatewayMalformed"},
}};

void check_one(const nlohmann::json& v, const IdParam& id) {
  if (!v.is_string()) return;
  const std::string& s = v.get_ref<const std::string&>();
  if (!id_shaped(s, id.prefix))
    throw Ec2Error("invalid_params", id.malformed,
                   std::string("Invalid id: \"") + s.substr(0, 64) + "\" (expecting \"" + id.prefix + "-...\")");
}

}  // namespace

bool id_shaped(const std::string& id, const std::string& prefix) {
  if (id.size() <= prefix.size() + 1 || id.compare(0, prefix.size(), prefix) != 0 || id[prefix.size()] != '-')
    return false;
  const std::string hex = id.substr(prefix.size() + 1);
  return (hex.size() == 8 || hex.size() == 17) &&
         std::all_of(hex.begin(), hex.end(), [](char c) { return std::isdigit(c) || (c >= 'a' && c <= 'f'); });
}

void check_id_shapes(const nlohmann::json& params) {
  if (!params.is_object()) return;
  for (const IdParam& id : kIdParams) {
    auto it = params.find(id.name);
    if (it == params.end()) continue;
    if (it->is_array()) {
      for (const auto& v : *it) check_one(v, id);
    } else {
      check_one(*it, id);
    }
  }
  if (auto a = params.find("Attachment"); a != params.end() && a->is_object() && a->contains("AttachmentId"))
    check_one((*a)["AttachmentId"], kIdParams[12]);
  auto perms = params.find("IpPermissions");
  if (perms == params.end() || !perms->is_array()) return;
  for (const auto& p : *perms) {
    if (!p.is_object() || !p.contains("UserIdGroupPairs") || !p["UserIdGroupPairs"].is_array()) continue;
    for (const auto& pair : p["UserIdGroupPairs"])
      if (pair.is_object() && pair.contains("GroupId")) check_one(pair["GroupId"], kIdParams[4]);
  }
}

std::optional<std::string> canonical_protocol(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (t == "-1" || t == "all") return "-1";
  if (t == "tcp" || t == "6") return "tcp";
  if (t == "udp" || t == "17") return "udp";
  if (t == "icmp" || t == "1") return "icmp";
  if (t == "icmpv6" || t == "58") return "icmpv6";
  return std::nullopt;
}

}  // namespace venic::model
