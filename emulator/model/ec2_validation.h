// Request checks the EC2 API makes before looking anything up: the shape of
// every resource id (vpc-, subnet-, sg-, i-, eni-, eni-attach- and 8 or 17
// lower-case hex digits), with EC2's *.Malformed codes, so that a
// malformed id is told apart from a well-formed one that names nothing
// (*.NotFound); and the IP protocols EC2 names (numbers and names).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace venic::model {

// Throws Ec2Error (InvalidVpcID.Malformed, InvalidSubnetID.Malformed,
// InvalidGroupId.Malformed, InvalidInstanceID.Malformed,
// InvalidNetworkInterfaceID.Malformed, InvalidParameterValue for an
// attachment id) for the first id parameter of params (top level, and the
// GroupIds of IpPermissions' UserIdGroupPairs) whose shape is wrong.
// Values that are not strings are left to the action's own readers.
void check_id_shapes(const nlohmann::json& params);

// Whether id is prefix-XXXXXXXX or prefix-XXXXXXXXXXXXXXXXX (lower-case hex).
bool id_shaped(const std::string& id, const std::string& prefix);

// An IpProtocol as the model keeps it: "tcp", "udp", "icmp", "icmpv6", "-1"
// (all), from EC2's names or numbers ("6", "17", "1", "58", "-1", "all");
// nullopt for any other (venic's fast path filters only these).
std::optional<std::string> canonical_protocol(const std::string& text);

}  // namespace venic::model
