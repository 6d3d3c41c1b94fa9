// EC2's XML responses (the Query protocol's wire form), from the JSON results
// Ec2Service answers:
//   <RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
//     <requestId>...</requestId><reservationId>r-...</reservationId>
//     <instancesSet><item><instanceId>i-...</instanceId>...</item></instancesSet>
//   </RunInstancesResponse>
// Members become EC2's element names (the API's locationName: lowerCamel, and
// most lists a ...Set of <item>s); the names that are not simply lowerCamel
// are a table in xml_encoder.cpp.  Errors are EC2's error document.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace venic::ec2api {

constexpr const char* kEc2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/";

std::string xml_response(const std::string& action, const nlohmann::json& result, const std::string& request_id);

//   <Response><Errors><Error><Code>..</Code><Message>..</Message></Error></Errors>
//   <RequestID>..</RequestID></Response>
std::string xml_error(const std::string& code, const std::string& message, const std::string& request_id);

// The element name EC2 gives member `key` of the structure (or list) whose
// member name is `parent` ("" for the response itself).
std::string element_name(const std::string& parent, const std::string& key);

}  // namespace venic::ec2api
