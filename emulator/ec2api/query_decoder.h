// The EC2 Query protocol's request (Action=RunInstances&Version=2016-11-15&
// InstanceType=c5.large&SecurityGroupId.1=sg-...&NetworkInterface.1.SubnetId=...)
// as the JSON request Ec2Service takes ({"InstanceType": "c5.large",
// "SecurityGroupIds": ["sg-..."], "NetworkInterfaces": [{"SubnetId": ...}]}).
//
// Query names are dotted paths: a numeric segment is a list index (EC2
// flattens every list as Name.N, N from 1), any other a structure member.
// The JSON names are the API's member names, which for lists are often not
// the query names (InstanceId.N is InstanceIds, Filter.N.Value.M is
// Filters[].Values[]): the renames, and which members are integers or
// booleans (the query carries only text), are tables in query_decoder.cpp.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "form_params.h"

namespace venic::ec2api {

// Bounds on a request's shape, past which it is refused.
constexpr size_t kMaxQueryDepth = 6;      // dotted segments in one name
constexpr unsigned kMaxListIndex = 1000;  // N in Name.N
constexpr size_t kMaxNameLength = 256;
constexpr size_t kMaxValueLength = 64 * 1024;

struct QueryRequest {
  std::string action;
  nlohmann::json params = nlohmann::json::object();
};

// Throws ApiError: MissingAction, InvalidAction (an action venic does not
// serve), InvalidParameterValue (a malformed name, a repeated parameter, a
// list index past kMaxListIndex, a number or boolean that is not one).
// Version and the presigned-URL auth parameters (X-Amz-*) are not params.
QueryRequest decode_query(const FormParams& form);

// Whether the Query API serves action (and so passes it to Ec2Service).
bool is_served_action(const std::string& action);

}  // namespace venic::ec2api
