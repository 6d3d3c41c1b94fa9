#include "xml_encoder.h"

#include <cctype>
#include <pugixml.hpp>
#include <sstream>
#include <string_view>

namespace venic::ec2api {

namespace {

using nlohmann::json;

// EC2's element names that are not the member name in lowerCamel, from the
// API's output shapes (locationName).  parent "*" matches any structure.
struct Name {
  std::string_view parent, key, element;
};
constexpr Name kNames[] = {
    // Names that depend on where the member is.
    {"SecurityGroups", "Description", "groupDescription"},
    {"Instances", "PublicDnsName", "dnsName"},
    {"", "SecurityGroups", "securityGroupInfo"},
    {"Instances", "SecurityGroups", "groupSet"},
    {"Instances", "State", "instanceState"},
    {"AvailabilityZones", "State", "zoneState"},
    {"NetworkAcls", "IsDefault", "default"},
    {"NetworkAcl", "IsDefault", "default"},
    // Names that are the same wherever the member is.
    {"*", "AssignedIpv4Prefixes", "assignedIpv4PrefixSet"},
    {"*", "AssignedIpv6Prefixes", "assignedIpv6PrefixSet"},
    {"*", "AssignedPrivateIpAddresses", "assignedPrivateIpAddressesSet"},
    {"*", "Associations", "associationSet"},
    {"*", "AvailabilityZones", "availabilityZoneInfo"},
    {"*", "BlockDeviceMappings", "blockDeviceMapping"},
    {"*", "ElasticGpuAssociations", "elasticGpuAssociationSet"},
    {"*", "ElasticInferenceAcceleratorAssociations", "elasticInferenceAcceleratorAssociationSet"},
    {"*", "Entries", "entrySet"},
    {"*", "NetworkAcls", "networkAclSet"},
    {"*", "Groups", "groupSet"},
    {"*", "InstanceTypes", "instanceTypeSet"},
    {"*", "Instances", "instancesSet"},
    {"*", "Ipv4Prefixes", "ipv4PrefixSet"},
    {"*", "Ipv6Addresses", "ipv6AddressesSet"},
    {"*", "Ipv6Prefixes", "ipv6PrefixSet"},
    {"*", "Licenses", "licenseSet"},
    {"*", "Messages", "messageSet"},
    {"*", "NetworkInterfaces", "networkInterfaceSet"},
    {"*", "PlacementGroups", "placementGroupSet"},
    {"*", "PrivateIpAddresses", "privateIpAddressesSet"},
    {"*", "ProductCodeId", "productCode"},
    {"*", "ProductCodeType", "type"},
    {"*", "PublicIpAddress", "ipAddress"},
    {"*", "Reservations", "reservationSet"},
    {"*", "SecurityGroupRules", "securityGroupRuleSet"},
    {"*", "StartingInstances", "instancesSet"},
    {"*", "StateTransitionReason", "reason"},
    {"*", "StoppingInstances", "instancesSet"},
    {"*", "Subnets", "subnetSet"},
    {"*", "Tags", "tagSet"},
    {"*", "TerminatingInstances", "instancesSet"},
    {"*", "UnassignedIpv6Prefixes", "unassignedIpv6PrefixSet"},
    {"*", "UnknownIpPermissions", "unknownIpPermissionSet"},
    {"*", "UserIdGroupPairs", "groups"},
    {"*", "Vpcs", "vpcSet"},
    // Route tables and VPC peering.
    {"*", "RouteTables", "routeTableSet"},
    {"*", "Routes", "routeSet"},
    {"*", "Associations", "associationSet"},
    {"*", "PropagatingVgws", "propagatingVgwSet"},
    {"*", "VpcPeeringConnections", "vpcPeeringConnectionSet"},
    // Gateways and Elastic IPs.
    {"*", "Addresses", "addressesSet"},
    {"*", "InternetGateways", "internetGatewaySet"},
    {"InternetGateways", "Attachments", "attachmentSet"},
    {"InternetGateway", "Attachments", "attachmentSet"},
    {"*", "NatGateways", "natGatewaySet"},
    {"*", "NatGatewayAddresses", "natGatewayAddressSet"},
};

std::string lower_camel(const std::string& key) {
  std::string s = key;
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

// XML 1.0 has no way to carry most control characters, even escaped: a
// tenant's text with them reads back with '?' in their place.
std::string xml_safe(std::string s) {
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') c = '?';
  return s;
}

// Member names become element names: anything else is not sent.
bool element_safe(const std::string& key) {
  if (key.empty() || !std::isalpha(static_cast<unsigned char>(key[0]))) return false;
  for (char c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

std::string scalar_text(const json& v) {
  if (v.is_string()) return xml_safe(v.get<std::string>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();  // numbers: JSON's and XML's spelling agree
}

void append(pugi::xml_node parent_el, const std::string& parent, const std::string& key, const json& v);

// The members of a structure (or a list item) as children of el.
void append_members(pugi::xml_node el, const std::string& self, const json& obj) {
  for (const auto& [k, v] : obj.items()) append(el, self, k, v);
}

void append_value(pugi::xml_node el, const std::string& key, const json& v) {
  if (v.is_object()) {
    append_members(el, key, v);
  } else if (v.is_array()) {
    for (const auto& item : v) {
      if (item.is_null()) continue;
      append_value(el.append_child("item"), key, item);
    }
  } else {
    el.text().set(scalar_text(v).c_str());
  }
}

void append(pugi::xml_node parent_el, const std::string& parent, const std::string& key, const json& v) {
  if (v.is_null() || !element_safe(key)) return;
  append_value(parent_el.append_child(element_name(parent, key).c_str()), key, v);
}

std::string to_text(const pugi::xml_document& doc) {
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw | pugi::format_no_declaration);
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + out.str();
}

}  // namespace

std::string element_name(const std::string& parent, const std::string& key) {
  for (const auto& n : kNames)
    if (n.key == key && n.parent == parent) return std::string(n.element);
  for (const auto& n : kNames)
    if (n.key == key && n.parent == "*") return std::string(n.element);
  return lower_camel(key);
}

std::string xml_response(const std::string& action, const json& result, const std::string& request_id) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child((action + "Response").c_str());
  root.append_attribute("xmlns").set_value(kEc2Namespace);
  root.append_child("requestId").text().set(request_id.c_str());
  if (result.is_object()) append_members(root, "", result);
  // An action with nothing to say answers <return>true</return>, as EC2's do.
  if (!result.is_object() || result.empty()) root.append_child("return").text().set("true");
  return to_text(doc);
}

std::string xml_error(const std::string& code, const std::string& message, const std::string& request_id) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("Response");
  pugi::xml_node err = root.append_child("Errors").append_child("Error");
  err.append_child("Code").text().set(code.c_str());
  err.append_child("Message").text().set(xml_safe(message).c_str());
  root.append_child("RequestID").text().set(request_id.c_str());
  return to_text(doc);
}

}  // namespace venic::ec2api
