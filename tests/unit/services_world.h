// A small EC2 world for the instance-services tests: VPC 10.0.0.0/16 with
// subnet 10.0.1.0/24 (us-east-1a), instance A (user data, a role, a
// secondary address) and instance B beside it, and VPC 10.0.0.0/16 again
// (another tenant's, overlapping) with instance C in eu-west-1.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "directory.h"
#include "ec2_model.h"

namespace venic::services::testing {

struct World {
  model::Ec2Model m{[n = std::make_shared<uint64_t>(1)] { return (*n)++; }};
  uint16_t next_vf = 1;
  std::string a, b, c;  // instance ids
  uint16_t vf_a = 0, vf_b = 0, vf_c = 0;

  nlohmann::json call(const std::string& action, const nlohmann::json& p, int64_t uid = 0) {
    venic::Caller caller;
    caller.uid = uid;
    return m.call(
        action, p, [this](const model::Eni&) { return next_vf++; }, caller);
  }
  World() {
    auto vpc = call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}})["Vpc"]["VpcId"].get<std::string>();
    auto sn =
        call("CreateSubnet",
             {{"VpcId", vpc}, {"CidrBlock", "10.0.1.0/24"}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"]
            .get<std::string>();
    // "#!/bin/sh\necho hi\n" in base64.
    auto ia = call("RunInstances", {{"InstanceType", "m5.large"},
                                    {"SubnetId", sn},
                                    {"PrivateIpAddress", "10.0.1.5"},
                                    {"UserData", "IyEvYmluL3NoCmVjaG8gaGkK"},
                                    {"IamInstanceProfile", {{"Name", "web-role"}}}})["Instances"][0];
    a = ia["InstanceId"];
    vf_a = 1;
    auto ib = call("RunInstances",
                   {{"InstanceType", "t3.micro"}, {"SubnetId", sn}, {"PrivateIpAddress", "10.0.1.6"}})["Instances"][0];
    b = ib["InstanceId"];
    vf_b = 2;
    call("AssignPrivateIpAddresses", {{"NetworkInterfaceId", ia["NetworkInterfaces"][0]["NetworkInterfaceId"]},
                                      {"PrivateIpAddresses", {"10.0.1.50"}}});
    auto vpc2 = call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}}, 1000)["Vpc"]["VpcId"].get<std::string>();
    auto sn2 = call("CreateSubnet", {{"VpcId", vpc2}, {"CidrBlock", "10.0.1.0/24"}, {"AvailabilityZone", "eu-west-1b"}},
                    1000)["Subnet"]["SubnetId"]
                   .get<std::string>();
    c = call("RunInstances", {{"InstanceType", "t3.micro"}, {"SubnetId", sn2}, {"PrivateIpAddress", "10.0.1.7"}},
             1000)["Instances"][0]["InstanceId"];
    vf_c = 3;
  }
  std::shared_ptr<const Directory> dir() const { return build_directory(m); }
};

}  // namespace venic::services::testing
