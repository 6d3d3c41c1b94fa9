#include "ec2_filters.h"

#include <map>
#include <sstream>

#include "ec2_model.h"

namespace venic::model {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& msg) {
  throw Ec2Error("invalid_params", "InvalidParameterValue", msg);
}

// The text of every value at path in j (booleans "true"/"false").
void values_at(const json& j, const std::string& path, std::vector<std::string>& out) {
  if (path.empty()) {
    if (j.is_string())
      out.push_back(j.get<std::string>());
    else if (j.is_boolean())
      out.push_back(j.get<bool>() ? "true" : "false");
    else if (j.is_number())
      out.push_back(j.dump());
    return;
  }
  const size_t dot = path.find('.');
  std::string key = path.substr(0, dot);
  const std::string rest = dot == std::string::npos ? "" : path.substr(dot + 1);
  const bool each = key.size() > 2 && key.compare(key.size() - 2, 2, "[]") == 0;
  if (each) key.resize(key.size() - 2);
  if (!j.is_object() || !j.contains(key)) return;
  const json& v = j[key];
  if (!each) return values_at(v, rest, out);
  if (!v.is_array()) return;
  for (const auto& e : v) values_at(e, rest, out);
}

}  // namespace

bool wildcard_match(const std::string& pattern, const std::string& text) {
  // Iterative glob: on a mismatch, the last * takes one more character.
  size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '\\' && p + 1 < pattern.size() && pattern[p + 1] == text[t]) {
      p += 2;
      t++;
    } else if (p < pattern.size() && pattern[p] != '*' && pattern[p] != '\\' &&
               (pattern[p] == '?' || pattern[p] == text[t])) {
      p++;
      t++;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') p++;
  return p == pattern.size();
}

Filters::Filters(const json& p, std::vector<FilterField> known) {
  auto it = p.find("Filters");
  if (it == p.end() || it->is_null()) return;
  if (!it->is_array()) bad("Filters must be a list of {\"Name\", \"Values\"}");
  if (it->size() > kMaxFilters) bad("At most " + std::to_string(kMaxFilters) + " Filters");
  for (const auto& f : *it) {
    if (!f.is_object() || !f.contains("Name") || !f["Name"].is_string())
      throw Ec2Error("invalid_params", "MissingParameter", "Each filter needs a Name");
    const std::string name = f["Name"];
    auto field = std::find_if(known.begin(), known.end(), [&](const FilterField& k) { return name == k.name; });
    if (field == known.end()) bad("The filter '" + name.substr(0, 64) + "' is invalid");
    Filter out{field->path, {}};
    const json* values = f.contains("Values") ? &f["Values"] : nullptr;
    if (!values || !values->is_array() || values->empty())
      throw Ec2Error("invalid_params", "MissingParameter", "The filter '" + name + "' needs Values");
    if (values->size() > kMaxValues) bad("At most " + std::to_string(kMaxValues) + " values in filter '" + name + "'");
    for (const auto& v : *values) {
      if (!v.is_string() || v.get<std::string>().size() > kMaxValueLength)
        bad("The values of filter '" + name + "' must be strings of at most 255 characters");
      out.values.push_back(v.get<std::string>());
    }
    filters_.push_back(std::move(out));
  }
}

bool Filters::matches(const json& resource) const {
  for (const Filter& f : filters_) {
    std::vector<std::string> have;
    values_at(resource, f.path, have);
    bool any = false;
    for (const auto& h : have)
      for (const auto& want : f.values) any = any || wildcard_match(want, h);
    if (!any) return false;
  }
  return true;
}

json Filters::keep(const json& list) const {
  if (filters_.empty()) return list;
  json out = json::array();
  for (const auto& r : list)
    if (matches(r)) out.push_back(r);
  return out;
}

const std::vector<FilterField>& filter_names(const std::string& what) {
  static const std::map<std::string, std::vector<FilterField>> kNames = {
      {"Vpcs",
       {{"vpc-id", "VpcId"},
        {"cidr", "CidrBlock"},
        {"cidr-block-association.cidr-block", "CidrBlock"},
        {"ipv6-cidr-block-association.ipv6-cidr-block", "Ipv6CidrBlockAssociationSet[].Ipv6CidrBlock"},
        {"state", "State"},
        {"owner-id", "OwnerId"},
        {"is-default", "IsDefault"}}},
      {"Subnets",
       {{"subnet-id", "SubnetId"},
        {"vpc-id", "VpcId"},
        {"cidr-block", "CidrBlock"},
        {"cidr", "CidrBlock"},
        {"availability-zone", "AvailabilityZone"},
        {"available-ip-address-count", "AvailableIpAddressCount"},
        {"map-public-ip-on-launch", "MapPublicIpOnLaunch"},
        {"state", "State"},
        {"owner-id", "OwnerId"}}},
      {"SecurityGroups",
       {{"group-id", "GroupId"},
        {"group-name", "GroupName"},
        {"vpc-id", "VpcId"},
        {"description", "Description"},
        {"owner-id", "OwnerId"},
        {"ip-permission.protocol", "IpPermissions[].IpProtocol"},
        {"ip-permission.from-port", "IpPermissions[].FromPort"},
        {"ip-permission.to-port", "IpPermissions[].ToPort"},
        {"ip-permission.cidr", "IpPermissions[].IpRanges[].CidrIp"},
        {"ip-permission.ipv6-cidr", "IpPermissions[].Ipv6Ranges[].CidrIpv6"},
        {"ip-permission.group-id", "IpPermissions[].UserIdGroupPairs[].GroupId"},
        {"egress.ip-permission.protocol", "IpPermissionsEgress[].IpProtocol"},
        {"egress.ip-permission.from-port", "IpPermissionsEgress[].FromPort"},
        {"egress.ip-permission.to-port", "IpPermissionsEgress[].ToPort"},
        {"egress.ip-permission.cidr", "IpPermissionsEgress[].IpRanges[].CidrIp"},
        {"egress.ip-permission.ipv6-cidr", "IpPermissionsEgress[].Ipv6Ranges[].CidrIpv6"},
        {"egress.ip-permission.group-id", "IpPermissionsEgress[].UserIdGroupPairs[].GroupId"}}},
      {"NetworkAcls",
       {{"network-acl-id", "NetworkAclId"},
        {"vpc-id", "VpcId"},
        {"owner-id", "OwnerId"},
        {"default", "IsDefault"},
        {"association.association-id", "Associations[].NetworkAclAssociationId"},
        {"association.network-acl-id", "Associations[].NetworkAclId"},
        {"association.subnet-id", "Associations[].SubnetId"},
        {"entry.cidr", "Entries[].CidrBlock"},
        {"entry.ipv6-cidr", "Entries[].Ipv6CidrBlock"},
        {"entry.egress", "Entries[].Egress"},
        {"entry.protocol", "Entries[].Protocol"},
        {"entry.rule-action", "Entries[].RuleAction"},
        {"entry.rule-number", "Entries[].RuleNumber"},
        {"entry.port-range.from", "Entries[].PortRange.From"},
        {"entry.port-range.to", "Entries[].PortRange.To"},
        {"entry.icmp.type", "Entries[].IcmpTypeCode.Type"},
        {"entry.icmp.code", "Entries[].IcmpTypeCode.Code"}}},
      {"PlacementGroups",
       {{"group-name", "GroupName"}, {"group-id", "GroupId"}, {"strategy", "Strategy"}, {"state", "State"}}},
      {"NetworkInterfaces",
       {{"network-interface-id", "NetworkInterfaceId"},
        {"subnet-id", "SubnetId"},
        {"vpc-id", "VpcId"},
        {"availability-zone", "AvailabilityZone"},
        {"owner-id", "OwnerId"},
        {"status", "Status"},
        {"mac-address", "MacAddress"},
        {"description", "Description"},
        {"interface-type", "InterfaceType"},
        {"source-dest-check", "SourceDestCheck"},
        {"private-ip-address", "PrivateIpAddresses[].PrivateIpAddress"},
        {"addresses.private-ip-address", "PrivateIpAddresses[].PrivateIpAddress"},
        {"addresses.primary", "PrivateIpAddresses[].Primary"},
        {"ipv6-addresses.ipv6-address", "Ipv6Addresses[].Ipv6Address"},
        {"association.public-ip", "Association.PublicIp"},
        {"group-id", "Groups[].GroupId"},
        {"group-name", "Groups[].GroupName"},
        {"attachment.attachment-id", "Attachment.AttachmentId"},
        {"attachment.instance-id", "Attachment.InstanceId"},
        {"attachment.instance-owner-id", "Attachment.InstanceOwnerId"},
        {"attachment.device-index", "Attachment.DeviceIndex"},
        {"attachment.network-card-index", "Attachment.NetworkCardIndex"},
        {"attachment.status", "Attachment.Status"},
        {"attachment.delete-on-termination", "Attachment.DeleteOnTermination"}}},
      {"Instances",
       {{"instance-id", "InstanceId"},
        {"instance-type", "InstanceType"},
        {"instance-state-name", "State.Name"},
        {"instance-state-code", "State.Code"},
        {"image-id", "ImageId"},
        {"owner-id", "OwnerId"},
        {"reservation-id", "ReservationId"},  // added for the filter: describe() groups by it
        {"subnet-id", "SubnetId"},
        {"vpc-id", "VpcId"},
        {"availability-zone", "Placement.AvailabilityZone"},
        {"placement-group-name", "Placement.GroupName"},
        {"placement-partition-number", "Placement.PartitionNumber"},
        {"private-ip-address", "PrivateIpAddress"},
        {"ip-address", "PublicIpAddress"},
        {"instance.group-id", "SecurityGroups[].GroupId"},
        {"instance.group-name", "SecurityGroups[].GroupName"},
        {"network-interface.network-interface-id", "NetworkInterfaces[].NetworkInterfaceId"},
        {"network-interface.subnet-id", "NetworkInterfaces[].SubnetId"},
        {"network-interface.vpc-id", "NetworkInterfaces[].VpcId"},
        {"network-interface.mac-address", "NetworkInterfaces[].MacAddress"},
        {"network-interface.addresses.private-ip-address", "NetworkInterfaces[].PrivateIpAddresses[].PrivateIpAddress"},
        {"network-interface.attachment.attachment-id", "NetworkInterfaces[].Attachment.AttachmentId"},
        {"network-interface.attachment.device-index", "NetworkInterfaces[].Attachment.DeviceIndex"},
        {"network-interface.attachment.network-card-index", "NetworkInterfaces[].Attachment.NetworkCardIndex"},
        {"network-interface.group-id", "NetworkInterfaces[].Groups[].GroupId"},
        {"network-interface.interface-type", "NetworkInterfaces[].InterfaceType"}}},
      {"InstanceTypes",
       {{"instance-type", "InstanceType"},
        {"network-info.efa-supported", "NetworkInfo.EfaSupported"},
        {"network-info.efa-info.maximum-efa-interfaces", "NetworkInfo.EfaInfo.MaximumEfaInterfaces"},
        {"network-info.ena-support", "NetworkInfo.EnaSupport"},
        {"network-info.ipv4-addresses-per-interface", "NetworkInfo.Ipv4AddressesPerInterface"},
        {"network-info.ipv6-addresses-per-interface", "NetworkInfo.Ipv6AddressesPerInterface"},
        {"network-info.ipv6-supported", "NetworkInfo.Ipv6Supported"},
        {"network-info.maximum-network-cards", "NetworkInfo.MaximumNetworkCards"},
        {"network-info.maximum-network-interfaces", "NetworkInfo.MaximumNetworkInterfaces"},
        {"network-info.network-performance", "NetworkInfo.NetworkPerformance"}}},
      // Gateways and Elastic IPs (ec2_gateways.cpp).
      {"InternetGateways",
       {{"internet-gateway-id", "InternetGatewayId"},
        {"owner-id", "OwnerId"},
        {"attachment.vpc-id", "Attachments[].VpcId"},
        {"attachment.state", "Attachments[].State"}}},
      {"Addresses",
       {{"allocation-id", "AllocationId"},
        {"association-id", "AssociationId"},
        {"domain", "Domain"},
        {"instance-id", "InstanceId"},
        {"network-interface-id", "NetworkInterfaceId"},
        {"network-interface-owner-id", "NetworkInterfaceOwnerId"},
        {"private-ip-address", "PrivateIpAddress"},
        {"public-ip", "PublicIp"}}},
      {"NatGateways",
       {{"nat-gateway-id", "NatGatewayId"}, {"state", "State"}, {"subnet-id", "SubnetId"}, {"vpc-id", "VpcId"}}},
  };
  static const std::vector<FilterField> kNone;
  auto it = kNames.find(what);
  return it == kNames.end() ? kNone : it->second;
}

}  // namespace venic::model
