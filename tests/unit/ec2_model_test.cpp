// The EC2 model (emulator/model): EC2's rules with EC2's error codes, driven
// directly with a deterministic Random; the service that backs every ENI
// with a VF of a real VfTable (no fast path); and the ec2.* control methods.
#include "ec2_model.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "control_methods.h"
#include "ec2_filters.h"
#include "ec2_service.h"
#include "state_store.h"
#include "venic_abi.h"
#include "vf_table.h"

namespace venic::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A counter: ids and MACs come out the same on every run.
Ec2Model::Random counter(uint64_t start = 1) {
  auto n = std::make_shared<uint64_t>(start);
  return [n] { return (*n)++; };
}

// f() throws an Ec2Error with this EC2 code whose message names each of
// `names` (and, if given, venic's error class `code`).
::testing::AssertionResult throws_ec2(const std::function<void()>& f, std::string_view aws,
                                      const std::vector<std::string>& names, std::string_view code = {}) {
  try {
    f();
  } catch (const Ec2Error& e) {
    const std::string msg = e.what();
    if (e.aws_code != aws)
      return ::testing::AssertionFailure() << "aws_code " << e.aws_code << ", want " << aws << " (" << msg << ")";
    if (!code.empty() && e.code != code)
      return ::testing::AssertionFailure() << "code " << e.code << ", want " << code << " (" << msg << ")";
    if (msg.empty()) return ::testing::AssertionFailure() << "no message";
    for (const auto& n : names)
      if (msg.find(n) == std::string::npos)
        return ::testing::AssertionFailure() << "message '" << msg << "' does not name '" << n << "'";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw something else than Ec2Error: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw (want " << aws << ")";
}

json tcp(int from, int to, const std::string& cidr) {
  return {{"IpProtocol", "tcp"}, {"FromPort", from}, {"ToPort", to}, {"IpRanges", json::array({{{"CidrIp", cidr}}})}};
}

bool has_id_shape(const std::string& id, const std::string& prefix) {
  return std::regex_match(id, std::regex(prefix + "-[0-9a-f]{17}"));
}

std::vector<std::string> ips_of(const json& eni) {
  std::vector<std::string> out;
  for (const auto& a : eni["PrivateIpAddresses"]) out.push_back(a["PrivateIpAddress"]);
  return out;
}

// ---- the model alone ----------------------------------------------------------

class Ec2ModelTest : public ::testing::Test {
 protected:
  // Runs an action; ENIs get VF ids 0, 1, 2...
  json call(const std::string& action, const json& params) {
    return m_.call(
        action, params,
        [this](const Eni& e) {
          new_enis_.push_back(e.id);
          return next_vf_++;
        },
        who_);
  }
  // The action is refused with this EC2 code, naming `names`, and the model
  // is as it was.
  ::testing::AssertionResult refused(const std::string& action, const json& params, std::string_view aws,
                                     const std::vector<std::string>& names = {}, std::string_view code = {}) {
    const json before = m_.to_json();
    auto r = throws_ec2([&] { call(action, params); }, aws, names, code);
    if (!r) return r << " [" << action << " " << params.dump() << "]";
    if (m_.to_json() != before)
      return ::testing::AssertionFailure()
             << action << " failed but changed the model: " << before.dump() << " -> " << m_.to_json().dump();
    return r;
  }

  std::string vpc(const std::string& cidr = "10.0.0.0/16") {
    return call("CreateVpc", {{"CidrBlock", cidr}})["Vpc"]["VpcId"];
  }
  std::string subnet(const std::string& vpc_id, const std::string& cidr = "10.0.1.0/24",
                     const std::string& az = "us-east-1a") {
    return call("CreateSubnet",
                {{"VpcId", vpc_id}, {"CidrBlock", cidr}, {"AvailabilityZone", az}})["Subnet"]["SubnetId"];
  }
  json eni(const std::string& subnet_id, json extra = json::object()) {
    json p = {{"SubnetId", subnet_id}};
    p.update(extra);
    return call("CreateNetworkInterface", p)["NetworkInterface"];
  }
  json run(const std::string& type, const std::string& subnet_id, json extra = json::object()) {
    json p = {{"InstanceType", type}, {"SubnetId", subnet_id}};
    p.update(extra);
    return call("RunInstances", p)["Instances"][0];
  }
  std::string attach(const std::string& eni_id, const std::string& inst, int index) {
    return call("AttachNetworkInterface",
                {{"NetworkInterfaceId", eni_id}, {"InstanceId", inst}, {"DeviceIndex", index}})["AttachmentId"];
  }
  void detach(const std::string& attachment) { call("DetachNetworkInterface", {{"AttachmentId", attachment}}); }
  json describe_eni(const std::string& id) {
    return call("DescribeNetworkInterfaces", {{"NetworkInterfaceIds", {id}}})["NetworkInterfaces"][0];
  }
  json describe_subnet(const std::string& id) { return call("DescribeSubnets", {{"SubnetIds", {id}}})["Subnets"][0]; }
  json describe_instance(const std::string& id) {
    return call("DescribeInstances", {{"InstanceIds", {id}}})["Reservations"][0]["Instances"][0];
  }
  json describe_group(const std::string& id) {
    return call("DescribeSecurityGroups", {{"GroupIds", {id}}})["SecurityGroups"][0];
  }
  std::string default_group(const std::string& vpc_id) {
    const json all = call("DescribeSecurityGroups", json::object())["SecurityGroups"];
    for (const auto& g : all)
      if (g["VpcId"] == vpc_id && g["GroupName"] == "default") return g["GroupId"];
    ADD_FAILURE() << "VPC " << vpc_id << " has no default group";
    return "";
  }
  std::string group(const std::string& vpc_id, const std::string& name) {
    return call("CreateSecurityGroup",
                {{"GroupName", name}, {"Description", name + " group"}, {"VpcId", vpc_id}})["GroupId"];
  }
  void stop(const std::string& inst) { call("StopInstances", {{"InstanceIds", {inst}}}); }
  void start(const std::string& inst) { call("StartInstances", {{"InstanceIds", {inst}}}); }

  int64_t now_ = 1800000000;  // the model's clock: 2027-01-15T08:00:00Z until a test moves it
  Ec2Model m_{counter(), [this] { return now_; }};
  uint16_t next_vf_ = 0;
  std::vector<std::string> new_enis_;
  Caller who_{};  // root, unless a test acts as a tenant
};

// ---- IPv6 -------------------------------------------------------------------

TEST_F(Ec2ModelTest, AssignIpv6AddressesTakesTheVpcsBlockAndTheTypesLimit) {
  const std::string v6 =
      call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}, {"Ipv6CidrBlock", "2600:1f18:aa:b00::/56"}})["Vpc"]["VpcId"];
  const std::string sn = subnet(v6);
  const std::string e = eni(sn)["NetworkInterfaceId"];
  const char* a = "AssignIpv6Addresses";
  json r = call(a, {{"NetworkInterfaceId", e}, {"Ipv6Addresses", {"2600:1f18:aa:b01::10"}}});
  EXPECT_EQ(r["AssignedIpv6Addresses"], json::array({"2600:1f18:aa:b01::10"}));
  r = call(a, {{"NetworkInterfaceId", e}, {"Ipv6AddressCount", 2}});
  ASSERT_EQ(r["AssignedIpv6Addresses"].size(), 2u);
  for (const auto& x : r["AssignedIpv6Addresses"])
    EXPECT_EQ(x.get<std::string>().rfind("2600:1f18:aa:b00:", 0), 0u) << x << " is not in the VPC's first /64";
  EXPECT_EQ(describe_eni(e)["Ipv6Addresses"].size(), 3u);
  const std::string other = eni(sn)["NetworkInterfaceId"];
  EXPECT_TRUE(refused(a, {{"NetworkInterfaceId", other}, {"Ipv6Addresses", {"2600:1f18:aa:b01::10"}}},
                      "InvalidIPAddress.InUse", {"2600:1f18:aa:b01::10"}));
  EXPECT_TRUE(refused(a, {{"NetworkInterfaceId", other}, {"Ipv6Addresses", {"2600:1f18:bb::1"}}},
                      "InvalidParameterValue", {"2600:1f18:bb::1", "2600:1f18:aa:b00::/56"}));
  EXPECT_TRUE(refused(a, {{"NetworkInterfaceId", other}, {"Ipv6Addresses", {"not-an-address"}}},
                      "InvalidParameterValue", {"not-an-address"}));
  EXPECT_TRUE(refused(a, {{"NetworkInterfaceId", other}}, "InvalidParameterCombination"));
  // On t3.nano an ENI has at most 2 IPv6 addresses.
  const json in = run("t3.nano", sn);
  const std::string p = in["NetworkInterfaces"][0]["NetworkInterfaceId"];
  EXPECT_TRUE(refused(a, {{"NetworkInterfaceId", p}, {"Ipv6AddressCount", 3}}, "InvalidParameterValue", {"t3.nano"}));
  // A VPC without an IPv6 block has none to give.
  const std::string e4 = eni(subnet(vpc("10.1.0.0/16"), "10.1.1.0/24"))["NetworkInterfaceId"];
  EXPECT_TRUE(refused(a, {{"NetworkInterfaceId", e4}, {"Ipv6AddressCount", 1}}, "InvalidParameterValue", {"IPv6"}));
}

TEST_F(Ec2ModelTest, Ipv6RangesInRulesAndTheDefaultEgressOfAnIpv6Vpc) {
  const std::string v6 =
      call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}, {"Ipv6CidrBlock", "2600:1f18:aa:b00::/56"}})["Vpc"]["VpcId"];
  const json egress = describe_group(default_group(v6))["IpPermissionsEgress"];
  ASSERT_EQ(egress.size(), 1u);
  EXPECT_EQ(egress[0]["Ipv6Ranges"], json::array({{{"CidrIpv6", "::/0"}}})) << "an IPv6 VPC lets IPv6 out too";
  const std::string g = group(v6, "web6");
  auto https_from = [&](const std::string& cidr) {
    json perm = {{"IpProtocol", "tcp"}, {"FromPort", 443}, {"ToPort", 443}};
    perm["Ipv6Ranges"] = json::array({json{{"CidrIpv6", cidr}}});
    return json{{"GroupId", g}, {"IpPermissions", json::array({perm})}};
  };
  call("AuthorizeSecurityGroupIngress", https_from("2600:1F18::/32"));
  EXPECT_EQ(describe_group(g)["IpPermissions"][0]["Ipv6Ranges"], json::array({{{"CidrIpv6", "2600:1f18::/32"}}}))
      << "kept in canonical form";
  EXPECT_TRUE(
      refused("AuthorizeSecurityGroupIngress", https_from("2600::/129"), "InvalidParameterValue", {"2600::/129"}));
  Ec2Model copy;
  copy.load(m_.to_json());
  EXPECT_EQ(copy.to_json(), m_.to_json()) << "IPv6 ranges survive a restart";
}

// ---- VPCs -------------------------------------------------------------------

TEST_F(Ec2ModelTest, CreateVpcTakesNetmasks16To28) {
  EXPECT_TRUE(refused("CreateVpc", {{"CidrBlock", "10.0.0.0/15"}}, "InvalidVpc.Range", {"10.0.0.0/15"}));
  EXPECT_TRUE(refused("CreateVpc", {{"CidrBlock", "10.0.0.0/29"}}, "InvalidVpc.Range", {"10.0.0.0/29"}));
  EXPECT_TRUE(refused("CreateVpc", {{"CidrBlock", "10.0.0.0/8"}}, "InvalidVpc.Range", {"10.0.0.0/8"}));
  // Not a network address, or not a CIDR at all.
  EXPECT_TRUE(refused("CreateVpc", {{"CidrBlock", "10.0.0.1/16"}}, "InvalidVpc.Range", {"10.0.0.1/16"}));
  EXPECT_TRUE(refused("CreateVpc", {{"CidrBlock", "ten/16"}}, "InvalidVpc.Range", {"ten/16"}));
  EXPECT_TRUE(refused("CreateVpc", json::object(), "MissingParameter", {"CidrBlock"}, "invalid_params"));
  EXPECT_TRUE(refused("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}, {"Colour", "red"}}, "UnknownParameter", {"Colour"}));

  json v16 = call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}})["Vpc"];
  EXPECT_TRUE(has_id_shape(v16["VpcId"], "vpc")) << v16.dump();
  EXPECT_EQ(v16["CidrBlock"], "10.0.0.0/16");
  EXPECT_EQ(v16["State"], "available");
  EXPECT_EQ(v16["IsDefault"], false);
  EXPECT_EQ(v16["Ipv6CidrBlockAssociationSet"], json::array());
  json v28 = call("CreateVpc", {{"CidrBlock", "192.168.7.16/28"}, {"Ipv6CidrBlock", "2600:1f18:1::/56"}})["Vpc"];
  EXPECT_EQ(v28["CidrBlock"], "192.168.7.16/28");
  EXPECT_EQ(v28["Ipv6CidrBlockAssociationSet"], json::array({{{"Ipv6CidrBlock", "2600:1f18:1::/56"}}}));
  EXPECT_EQ(call("DescribeVpcs", json::object())["Vpcs"].size(), 2u);
}

TEST_F(Ec2ModelTest, EveryVpcHasADefaultSecurityGroup) {
  std::string a = vpc(), b = vpc("172.16.0.0/16");
  std::string ga = default_group(a), gb = default_group(b);
  ASSERT_NE(ga, "");
  EXPECT_NE(ga, gb) << "each VPC has its own default group";
  EXPECT_TRUE(has_id_shape(ga, "sg"));
  json g = describe_group(ga);
  EXPECT_EQ(g["GroupName"], "default");
  EXPECT_EQ(g["VpcId"], a);
  // All traffic from the group's own members in, everything out.
  EXPECT_EQ(g["IpPermissions"], json::array({{{"IpProtocol", "-1"},
                                              {"IpRanges", json::array()},
                                              {"Ipv6Ranges", json::array()},
                                              {"UserIdGroupPairs", json::array({{{"GroupId", ga}}})}}}));
  EXPECT_EQ(g["IpPermissionsEgress"], json::array({{{"IpProtocol", "-1"},
                                                    {"IpRanges", json::array({{{"CidrIp", "0.0.0.0/0"}}})},
                                                    {"Ipv6Ranges", json::array()},
                                                    {"UserIdGroupPairs", json::array()}}}));
  // An ENI created without groups is in it.
  json e = eni(subnet(a));
  EXPECT_EQ(e["Groups"], json::array({{{"GroupId", ga}, {"GroupName", "default"}}}));
}

// ---- subnets ----------------------------------------------------------------

TEST_F(Ec2ModelTest, CreateSubnetMustLieInsideItsVpcWithoutOverlap) {
  std::string v = vpc();
  auto sub = [&](const std::string& cidr) {
    return json{{"VpcId", v}, {"CidrBlock", cidr}, {"AvailabilityZone", "us-east-1a"}};
  };
  EXPECT_TRUE(refused("CreateSubnet", sub("10.1.0.0/24"), "InvalidSubnet.Range", {"10.1.0.0/24", "10.0.0.0/16"}));
  EXPECT_TRUE(refused("CreateSubnet", sub("10.0.0.0/15"), "InvalidSubnet.Range", {"10.0.0.0/15"}));
  EXPECT_TRUE(refused("CreateSubnet", sub("10.0.1.0/29"), "InvalidSubnet.Range", {"10.0.1.0/29"}));
  EXPECT_TRUE(refused("CreateSubnet", sub("10.0.1.1/24"), "InvalidSubnet.Range", {"10.0.1.1/24"}));

  json s = call("CreateSubnet", sub("10.0.1.0/24"))["Subnet"];
  EXPECT_TRUE(has_id_shape(s["SubnetId"], "subnet")) << s.dump();
  EXPECT_EQ(s["VpcId"], v);
  EXPECT_EQ(s["CidrBlock"], "10.0.1.0/24");
  EXPECT_EQ(s["AvailabilityZone"], "us-east-1a");
  EXPECT_EQ(s["MapPublicIpOnLaunch"], false);
  EXPECT_EQ(s["State"], "available");
  // The same block, one inside it, one around it.
  EXPECT_TRUE(refused("CreateSubnet", sub("10.0.1.0/24"), "InvalidSubnet.Conflict", {"10.0.1.0/24"}, "exists"));
  EXPECT_TRUE(refused("CreateSubnet", sub("10.0.1.128/25"), "InvalidSubnet.Conflict", {"10.0.1.128/25"}));
  EXPECT_TRUE(refused("CreateSubnet", sub("10.0.0.0/23"), "InvalidSubnet.Conflict", {"10.0.0.0/23"}));
  // Its neighbours are fine, and so is the whole VPC block.
  subnet(v, "10.0.2.0/24");
  subnet(v, "10.0.0.0/24");
  // Subnets of another VPC do not conflict.
  std::string w = vpc("10.0.0.0/16");
  subnet(w, "10.0.1.0/24");
  EXPECT_EQ(call("DescribeSubnets", json::object())["Subnets"].size(), 4u);
}

TEST_F(Ec2ModelTest, CreateSubnetChecksTheAvailabilityZoneSyntax) {
  std::string v = vpc();
  int n = 1;
  for (const char* az : {"useast1a", "us-east-1", "US-EAST-1A", "us-east-a", "", "us-east-1ab"}) {
    json p = {{"VpcId", v}, {"CidrBlock", "10.0." + std::to_string(n++) + ".0/24"}, {"AvailabilityZone", az}};
    EXPECT_TRUE(refused("CreateSubnet", p, "InvalidParameterValue", {std::string("(") + az + ")"})) << az;
  }
  // None given: us-east-1a in a VPC without subnets, else the zone of one of its subnets.
  const std::string v2 = vpc("10.9.0.0/16");
  const json first = call("CreateSubnet", {{"VpcId", v2}, {"CidrBlock", "10.9.1.0/24"}})["Subnet"];
  EXPECT_EQ(first["AvailabilityZone"], "us-east-1a");
  for (const char* az : {"us-east-1a", "eu-central-1b", "us-gov-west-1c", "ap-southeast-2z"})
    EXPECT_EQ(describe_subnet(subnet(v, "10.0." + std::to_string(n++) + ".0/24", az))["AvailabilityZone"], az);
  const std::string picked =
      call("CreateSubnet", {{"VpcId", v}, {"CidrBlock", "10.0.99.0/24"}})["Subnet"]["AvailabilityZone"];
  EXPECT_TRUE(std::set<std::string>({"us-east-1a", "eu-central-1b", "us-gov-west-1c", "ap-southeast-2z"}).count(picked))
      << picked;
}

TEST_F(Ec2ModelTest, CreateSubnetInAnUnknownVpc) {
  EXPECT_TRUE(
      refused("CreateSubnet",
              {{"VpcId", "vpc-0123456789abcdef0"}, {"CidrBlock", "10.0.1.0/24"}, {"AvailabilityZone", "us-east-1a"}},
              "InvalidVpcID.NotFound", {"vpc-0123456789abcdef0"}, "not_found"));
}

TEST_F(Ec2ModelTest, AddressesStartAtDotFourAndTheLastIsReserved) {
  std::string v = vpc();
  std::string s = subnet(v, "10.0.1.0/24");
  // 256 - 4 at the start - the broadcast address.
  EXPECT_EQ(describe_subnet(s)["AvailableIpAddressCount"], 251);
  json a = eni(s), b = eni(s, {{"SecondaryPrivateIpAddressCount", 2}});
  EXPECT_EQ(a["PrivateIpAddress"], "10.0.1.4");
  EXPECT_EQ(ips_of(b), (std::vector<std::string>{"10.0.1.5", "10.0.1.6", "10.0.1.7"}));
  EXPECT_EQ(describe_subnet(s)["AvailableIpAddressCount"], 247);
  for (const char* reserved : {"10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.255"})
    EXPECT_TRUE(refused("CreateNetworkInterface", {{"SubnetId", s}, {"PrivateIpAddress", reserved}},
                        "InvalidParameterValue", {reserved}))
        << reserved;
  EXPECT_TRUE(refused("CreateNetworkInterface", {{"SubnetId", s}, {"PrivateIpAddress", "10.0.2.9"}},
                      "InvalidParameterValue", {"10.0.2.9"}));
  EXPECT_EQ(eni(s, {{"PrivateIpAddress", "10.0.1.254"}})["PrivateIpAddress"], "10.0.1.254");

  // A /28: .4 to .14, eleven addresses; the twelfth ENI finds none.
  std::string small = subnet(v, "10.0.2.0/28");
  EXPECT_EQ(describe_subnet(small)["AvailableIpAddressCount"], 11);
  std::vector<std::string> got;
  for (int i = 0; i < 11; i++) got.push_back(eni(small)["PrivateIpAddress"]);
  EXPECT_EQ(got.front(), "10.0.2.4");
  EXPECT_EQ(got.back(), "10.0.2.14");
  EXPECT_EQ(describe_subnet(small)["AvailableIpAddressCount"], 0);
  EXPECT_TRUE(
      refused("CreateNetworkInterface", {{"SubnetId", small}}, "InsufficientFreeAddressesInSubnet", {small}, "limit"));
}

TEST_F(Ec2ModelTest, MapPublicIpOnLaunchDecidesAtLaunchOnly) {
  std::string v = vpc();
  std::string s = subnet(v);
  json before = run("m5.large", s);
  EXPECT_FALSE(before.contains("PublicIpAddress")) << before.dump();
  EXPECT_FALSE(before["NetworkInterfaces"][0].contains("Association"));

  EXPECT_EQ(call("ModifySubnetAttribute", {{"SubnetId", s}, {"MapPublicIpOnLaunch", {{"Value", true}}}}),
            json::object());
  EXPECT_EQ(describe_subnet(s)["MapPublicIpOnLaunch"], true);
  // The earlier instance keeps having none.
  EXPECT_FALSE(describe_instance(before["InstanceId"]).contains("PublicIpAddress"));
  EXPECT_FALSE(describe_eni(before["NetworkInterfaces"][0]["NetworkInterfaceId"]).contains("Association"));

  json pub = run("m5.large", s);
  ASSERT_TRUE(pub.contains("PublicIpAddress")) << pub.dump();
  const std::string ip = pub["PublicIpAddress"];
  EXPECT_EQ(ip.rfind("203.0.113.", 0), 0u) << ip;  // TEST-NET-3, labels only
  EXPECT_EQ(pub["NetworkInterfaces"][0]["Association"]["PublicIp"], ip);
  json pub2 = run("m5.large", s);
  EXPECT_NE(pub2["PublicIpAddress"], ip) << "every instance its own public address";

  call("ModifySubnetAttribute", {{"SubnetId", s}, {"MapPublicIpOnLaunch", false}});
  EXPECT_EQ(describe_subnet(s)["MapPublicIpOnLaunch"], false);
  EXPECT_EQ(describe_instance(pub["InstanceId"])["PublicIpAddress"], ip) << "turning it off takes no address away";
  EXPECT_FALSE(run("m5.large", s).contains("PublicIpAddress"));

  EXPECT_TRUE(refused("ModifySubnetAttribute",
                      {{"SubnetId", "subnet-0123456789abcdef0"}, {"MapPublicIpOnLaunch", {{"Value", true}}}},
                      "InvalidSubnetID.NotFound", {"subnet-0123456789abcdef0"}));
  EXPECT_TRUE(refused("ModifySubnetAttribute", {{"SubnetId", s}}, "MissingParameter", {"MapPublicIpOnLaunch"}));
  EXPECT_TRUE(refused("ModifySubnetAttribute", {{"SubnetId", s}, {"MapPublicIpOnLaunch", {{"Value", "yes"}}}},
                      "InvalidParameterValue", {"MapPublicIpOnLaunch"}));
}

// ---- security groups ----------------------------------------------------------

TEST_F(Ec2ModelTest, SecurityGroupNamesAreUniquePerVpcAndDefaultIsReserved) {
  std::string a = vpc(), b = vpc("10.1.0.0/16");
  std::string web = group(a, "web");
  EXPECT_TRUE(has_id_shape(web, "sg"));
  json g = describe_group(web);
  EXPECT_EQ(g["GroupName"], "web");
  EXPECT_EQ(g["Description"], "web group");
  EXPECT_EQ(g["VpcId"], a);
  EXPECT_EQ(g["IpPermissions"], json::array()) << "a new group lets nothing in";
  EXPECT_EQ(g["IpPermissionsEgress"], json::array({{{"IpProtocol", "-1"},
                                                    {"IpRanges", json::array({{{"CidrIp", "0.0.0.0/0"}}})},
                                                    {"Ipv6Ranges", json::array()},
                                                    {"UserIdGroupPairs", json::array()}}}));

  EXPECT_TRUE(refused("CreateSecurityGroup", {{"GroupName", "web"}, {"Description", "again"}, {"VpcId", a}},
                      "InvalidGroup.Duplicate", {"web", a}, "exists"));
  EXPECT_NE(group(b, "web"), web) << "the same name in another VPC is another group";
  EXPECT_TRUE(refused("CreateSecurityGroup", {{"GroupName", "default"}, {"Description", "x"}, {"VpcId", b}},
                      "InvalidGroup.Reserved", {"default"}));
  EXPECT_TRUE(refused("CreateSecurityGroup",
                      {{"GroupName", "db"}, {"Description", "x"}, {"VpcId", "vpc-00000000000000bad"}},
                      "InvalidVpcID.NotFound", {"vpc-00000000000000bad"}));
  EXPECT_TRUE(refused("CreateSecurityGroup", {{"GroupName", "db"}, {"VpcId", a}}, "MissingParameter", {"Description"}));
}

TEST_F(Ec2ModelTest, AuthorizeChecksTheRuleShapes) {
  std::string v = vpc();
  std::string g = group(v, "web");
  auto auth = [&](const json& perm) { return json{{"GroupId", g}, {"IpPermissions", json::array({perm})}}; };
  const char* in = "AuthorizeSecurityGroupIngress";

  EXPECT_EQ(call(in, auth(tcp(22, 22, "10.0.0.0/8"))), json({{"Return", true}}));
  EXPECT_EQ(describe_group(g)["IpPermissions"], json::array({{{"IpProtocol", "tcp"},
                                                              {"FromPort", 22},
                                                              {"ToPort", 22},
                                                              {"IpRanges", json::array({{{"CidrIp", "10.0.0.0/8"}}})},
                                                              {"Ipv6Ranges", json::array()},
                                                              {"UserIdGroupPairs", json::array()}}}));

  EXPECT_TRUE(
      refused(in, auth({{"IpProtocol", "tcp"}, {"ToPort", 80}, {"IpRanges", json::array({{{"CidrIp", "0.0.0.0/0"}}})}}),
              "MissingParameter", {"FromPort"}));
  EXPECT_TRUE(refused(in, auth(tcp(0, 70000, "0.0.0.0/0")), "InvalidParameterValue", {"ToPort", "70000"}));
  EXPECT_TRUE(refused(in, auth(tcp(-1, 80, "0.0.0.0/0")), "InvalidParameterValue", {"FromPort"}));
  EXPECT_TRUE(refused(in, auth(tcp(90, 80, "0.0.0.0/0")), "InvalidParameterValue", {"FromPort", "ToPort"}));
  json gre = tcp(0, 0, "0.0.0.0/0");
  gre["IpProtocol"] = "gre";
  EXPECT_TRUE(refused(in, auth(gre), "InvalidParameterValue", {"gre"}));
  EXPECT_TRUE(refused(in, auth({{"IpProtocol", "udp"}, {"FromPort", 53}, {"ToPort", 53}}), "MissingParameter",
                      {"IpRanges", "UserIdGroupPairs"}));
  EXPECT_TRUE(refused(in, auth(tcp(80, 80, "10.0.0.1/8")), "InvalidParameterValue", {"10.0.0.1/8"}));
  EXPECT_TRUE(refused(in, {{"GroupId", g}, {"IpPermissions", json::array()}}, "MissingParameter", {"IpPermissions"}));
  EXPECT_TRUE(refused(in,
                      {{"GroupId", "sg-000000000000000ff"}, {"IpPermissions", json::array({tcp(1, 1, "0.0.0.0/0")})}},
                      "InvalidGroup.NotFound", {"sg-000000000000000ff"}, "not_found"));
  EXPECT_TRUE(refused(
      in, auth({{"IpProtocol", "-1"}, {"UserIdGroupPairs", json::array({{{"GroupId", "sg-000000000000000ee"}}})}}),
      "InvalidGroup.NotFound", {"sg-000000000000000ee"}));

  // "all" is -1 (no ports); icmp without ports is every type and code; a
  // peer group of the same VPC.
  std::string dflt = default_group(v);
  call(in, auth({{"IpProtocol", "all"}, {"UserIdGroupPairs", json::array({{{"GroupId", dflt}}})}}));
  call(in, auth({{"IpProtocol", "icmp"}, {"IpRanges", json::array({{{"CidrIp", "192.168.0.0/16"}}})}}));
  json rules = describe_group(g)["IpPermissions"];
  ASSERT_EQ(rules.size(), 3u) << rules.dump();
  EXPECT_EQ(rules[1], json({{"IpProtocol", "-1"},
                            {"IpRanges", json::array()},
                            {"Ipv6Ranges", json::array()},
                            {"UserIdGroupPairs", json::array({{{"GroupId", dflt}}})}}));
  EXPECT_EQ(rules[2]["IpProtocol"], "icmp");
  EXPECT_EQ(rules[2]["FromPort"], -1);
  EXPECT_EQ(rules[2]["ToPort"], -1);

  // Egress is its own list.
  call("AuthorizeSecurityGroupEgress", auth(tcp(443, 443, "0.0.0.0/0")));
  EXPECT_EQ(describe_group(g)["IpPermissionsEgress"].size(), 2u);
  EXPECT_EQ(describe_group(g)["IpPermissions"].size(), 3u);
}

TEST_F(Ec2ModelTest, AuthorizeRefusesADuplicateRule) {
  std::string v = vpc();
  std::string g = group(v, "web");
  const json once = {{"GroupId", g}, {"IpPermissions", json::array({tcp(80, 80, "0.0.0.0/0")})}};
  call("AuthorizeSecurityGroupIngress", once);
  EXPECT_TRUE(refused("AuthorizeSecurityGroupIngress", once, "InvalidPermission.Duplicate", {g}, "exists"));
  // The same rule the other way is not a duplicate.
  call("AuthorizeSecurityGroupEgress", once);
  // Twice in one request: refused, and the first is not kept either.
  const json twice = {{"GroupId", g},
                      {"IpPermissions", json::array({tcp(81, 81, "0.0.0.0/0"), tcp(81, 81, "0.0.0.0/0")})}};
  EXPECT_TRUE(refused("AuthorizeSecurityGroupIngress", twice, "InvalidPermission.Duplicate", {g}));
  // A good rule followed by a bad one: nothing is added.
  const json half = {{"GroupId", g},
                     {"IpPermissions", json::array({tcp(82, 82, "0.0.0.0/0"), tcp(83, 82, "0.0.0.0/0")})}};
  EXPECT_TRUE(refused("AuthorizeSecurityGroupIngress", half, "InvalidParameterValue", {"FromPort"}));
  EXPECT_EQ(describe_group(g)["IpPermissions"].size(), 1u);
  // The default group's all-out rule exists already.
  std::string dflt = default_group(v);
  EXPECT_TRUE(refused("AuthorizeSecurityGroupEgress",
                      {{"GroupId", dflt},
                       {"IpPermissions",
                        json::array({{{"IpProtocol", "-1"}, {"IpRanges", json::array({{{"CidrIp", "0.0.0.0/0"}}})}}})}},
                      "InvalidPermission.Duplicate", {dflt}));
}

TEST_F(Ec2ModelTest, SecurityGroupsOfAnotherVpcAreRefused) {
  std::string a = vpc(), b = vpc("10.1.0.0/16");
  std::string sa = subnet(a), foreign = group(b, "other"), mine = group(a, "mine");
  EXPECT_TRUE(refused("CreateNetworkInterface", {{"SubnetId", sa}, {"Groups", {foreign}}}, "InvalidGroup.NotFound",
                      {foreign, a}));
  EXPECT_TRUE(refused("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", sa}, {"SecurityGroupIds", {foreign}}},
                      "InvalidGroup.NotFound", {foreign}));
  EXPECT_TRUE(refused("AuthorizeSecurityGroupIngress",
                      {{"GroupId", mine},
                       {"IpPermissions", json::array({{{"IpProtocol", "-1"},
                                                       {"UserIdGroupPairs", json::array({{{"GroupId", foreign}}})}}})}},
                      "InvalidGroup.NotFound", {foreign}));
  json e = eni(sa, {{"Groups", {mine}}});
  EXPECT_TRUE(refused("ModifyNetworkInterfaceAttribute",
                      {{"NetworkInterfaceId", e["NetworkInterfaceId"]}, {"Groups", {foreign}}}, "InvalidGroup.NotFound",
                      {foreign}));
  EXPECT_TRUE(refused("CreateNetworkInterface", {{"SubnetId", sa}, {"Groups", {"sg-0000000000000abcd"}}},
                      "InvalidGroup.NotFound", {"sg-0000000000000abcd"}, "not_found"));
  // Those of its own VPC are taken, in the order given.
  json run1 = run("m5.large", sa, {{"SecurityGroupIds", {mine, default_group(a)}}});
  EXPECT_EQ(run1["NetworkInterfaces"][0]["Groups"],
            json::array({{{"GroupId", mine}, {"GroupName", "mine"}},
                         {{"GroupId", default_group(a)}, {"GroupName", "default"}}}));
}

// ---- instances --------------------------------------------------------------

TEST_F(Ec2ModelTest, RunInstancesGivesAPrimaryInterfaceAtDeviceIndexZero) {
  std::string v = vpc();
  std::string s = subnet(v, "10.0.1.0/24", "us-west-2b");
  json r = call("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", s}});
  ASSERT_EQ(r["Instances"].size(), 1u);
  EXPECT_TRUE(has_id_shape(r["ReservationId"], "r")) << r.dump();
  json in = r["Instances"][0];
  EXPECT_TRUE(has_id_shape(in["InstanceId"], "i"));
  EXPECT_EQ(in["InstanceType"], "m5.large");
  EXPECT_EQ(in["State"], json({{"Code", 16}, {"Name", "running"}}));
  EXPECT_EQ(in["SubnetId"], s);
  EXPECT_EQ(in["VpcId"], v);
  EXPECT_EQ(in["Placement"]["AvailabilityZone"], "us-west-2b");
  EXPECT_EQ(in["VenicOwnerUid"], 0) << "the caller's (root's) by default";
  ASSERT_EQ(in["NetworkInterfaces"].size(), 1u);
  json nic = in["NetworkInterfaces"][0];
  EXPECT_TRUE(has_id_shape(nic["NetworkInterfaceId"], "eni"));
  EXPECT_EQ(nic["Description"], "Primary network interface");
  EXPECT_EQ(nic["Status"], "in-use");
  EXPECT_EQ(nic["InterfaceType"], "interface");
  EXPECT_EQ(nic["Attachment"]["DeviceIndex"], 0);
  EXPECT_EQ(nic["Attachment"]["InstanceId"], in["InstanceId"]);
  EXPECT_EQ(nic["Attachment"]["Status"], "attached");
  EXPECT_TRUE(has_id_shape(nic["Attachment"]["AttachmentId"], "eni-attach"));
  EXPECT_EQ(nic["PrivateIpAddress"], "10.0.1.4");
  EXPECT_EQ(in["PrivateIpAddress"], "10.0.1.4");
  EXPECT_EQ(nic["AvailabilityZone"], "us-west-2b");
  EXPECT_EQ(nic["VenicVfId"], 0);
  EXPECT_EQ(nic["SourceDestCheck"], true);
  const std::string mac = nic["MacAddress"];
  EXPECT_TRUE(std::regex_match(mac, std::regex("0e(:[0-9a-f]{2}){5}"))) << mac;
  // The model and Describe agree.
  EXPECT_EQ(describe_instance(in["InstanceId"]), in);
  EXPECT_EQ(describe_eni(nic["NetworkInterfaceId"]), nic);
  // OwnerUid.
  EXPECT_EQ(run("m5.large", s, {{"OwnerUid", 4242}})["VenicOwnerUid"], 4242);
  EXPECT_TRUE(refused("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", s}, {"OwnerUid", "bob"}},
                      "InvalidParameterValue", {"OwnerUid"}));
}

TEST_F(Ec2ModelTest, RunInstancesRefusesUnknownTypesSubnetsAndPlacementGroups) {
  std::string s = subnet(vpc());
  EXPECT_TRUE(refused("RunInstances", {{"InstanceType", "m5.huge"}, {"SubnetId", s}}, "InvalidParameterValue",
                      {"m5.huge", "InstanceType"}));
  EXPECT_TRUE(refused("RunInstances", {{"SubnetId", s}}, "MissingParameter", {"InstanceType"}));
  EXPECT_TRUE(refused("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", "subnet-0000000000000beef"}},
                      "InvalidSubnetID.NotFound", {"subnet-0000000000000beef"}, "not_found"));
  EXPECT_TRUE(refused("RunInstances",
                      {{"InstanceType", "m5.large"}, {"SubnetId", s}, {"Placement", {{"GroupName", "hpc"}}}},
                      "InvalidPlacementGroup.Unknown", {"hpc"}, "not_found"));

  json pg = call("CreatePlacementGroup", {{"GroupName", "hpc"}, {"Strategy", "cluster"}})["PlacementGroup"];
  EXPECT_EQ(pg["GroupName"], "hpc");
  EXPECT_EQ(pg["Strategy"], "cluster");
  EXPECT_EQ(pg["State"], "available");
  EXPECT_TRUE(has_id_shape(pg["GroupId"], "pg")) << pg.dump();
  EXPECT_TRUE(refused("CreatePlacementGroup", {{"GroupName", "hpc"}, {"Strategy", "spread"}},
                      "InvalidPlacementGroup.Duplicate", {"hpc"}, "exists"));
  EXPECT_TRUE(refused("CreatePlacementGroup", {{"GroupName", "x"}, {"Strategy", "tight"}}, "InvalidParameterValue",
                      {"tight", "Strategy"}));
  EXPECT_EQ(run("c5n.18xlarge", s, {{"Placement", {{"GroupName", "hpc"}}}})["Placement"]["GroupName"], "hpc");
}

TEST_F(Ec2ModelTest, RunInstancesCount) {
  std::string s = subnet(vpc());
  json r = call("RunInstances", {{"InstanceType", "t3.micro"}, {"SubnetId", s}, {"MinCount", 1}, {"MaxCount", 3}});
  ASSERT_EQ(r["Instances"].size(), 3u);
  std::set<std::string> ids, ips, enis;
  for (const auto& in : r["Instances"]) {
    ids.insert(in["InstanceId"].get<std::string>());
    ips.insert(in["PrivateIpAddress"].get<std::string>());
    enis.insert(in["NetworkInterfaces"][0]["NetworkInterfaceId"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(ips, (std::set<std::string>{"10.0.1.4", "10.0.1.5", "10.0.1.6"}));
  EXPECT_EQ(enis.size(), 3u);
  // One reservation per call.
  run("t3.micro", s);
  json res = call("DescribeInstances", json::object())["Reservations"];
  ASSERT_EQ(res.size(), 2u);
  size_t three = res[0]["Instances"].size() == 3 ? 0 : 1;
  EXPECT_EQ(res[three]["ReservationId"], r["ReservationId"]);
  EXPECT_EQ(res[three]["Instances"].size(), 3u);
  EXPECT_EQ(res[1 - three]["Instances"].size(), 1u);
  // MinCount alone is also the maximum.
  EXPECT_EQ(call("RunInstances", {{"InstanceType", "t3.micro"}, {"SubnetId", s}, {"MinCount", 2}})["Instances"].size(),
            2u);

  json p = {{"InstanceType", "t3.micro"}, {"SubnetId", s}};
  json too_many = p;
  too_many["MaxCount"] = 17;
  EXPECT_TRUE(refused("RunInstances", too_many, "InvalidParameterValue", {"MaxCount", "17"}));
  json zero = p;
  zero["MinCount"] = 0;
  EXPECT_TRUE(refused("RunInstances", zero, "InvalidParameterValue", {"MinCount"}));
  json inverted = p;
  inverted["MinCount"] = 3;
  inverted["MaxCount"] = 2;
  EXPECT_TRUE(refused("RunInstances", inverted, "InvalidParameterValue", {"MinCount", "MaxCount"}));
  json two_at_one_ip = p;
  two_at_one_ip["MaxCount"] = 2;
  two_at_one_ip["PrivateIpAddress"] = "10.0.1.100";
  EXPECT_TRUE(refused("RunInstances", two_at_one_ip, "InvalidParameterCombination", {"PrivateIpAddress"}));
  json one = p;
  one["PrivateIpAddress"] = "10.0.1.100";
  EXPECT_EQ(call("RunInstances", one)["Instances"][0]["PrivateIpAddress"], "10.0.1.100");
  EXPECT_TRUE(refused("RunInstances", one, "InvalidIPAddress.InUse", {"10.0.1.100"}));
}

TEST_F(Ec2ModelTest, RunInstancesWithAnEfaNeedsAnEfaType) {
  std::string s = subnet(vpc());
  EXPECT_TRUE(refused("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", s}, {"NetworkInterfaceType", "efa"}},
                      "InvalidParameterCombination", {"m5.large"}));
  EXPECT_TRUE(refused("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", s}, {"NetworkInterfaceType", "ib"}},
                      "InvalidParameterValue", {"ib"}));
  json in = run("c5n.18xlarge", s, {{"NetworkInterfaceType", "efa"}});
  EXPECT_EQ(in["NetworkInterfaces"][0]["InterfaceType"], "efa");
  EXPECT_EQ(run("c5n.18xlarge", s)["NetworkInterfaces"][0]["InterfaceType"], "interface");
}

TEST_F(Ec2ModelTest, StopAndStartInstances) {
  std::string s = subnet(vpc());
  std::string i = run("m5.large", s)["InstanceId"];
  json r = call("StopInstances", {{"InstanceIds", {i}}});
  EXPECT_EQ(r, json({{"StoppingInstances", json::array({{{"InstanceId", i},
                                                         {"PreviousState", {{"Code", 16}, {"Name", "running"}}},
                                                         {"CurrentState", {{"Code", 80}, {"Name", "stopped"}}}}})}}));
  EXPECT_EQ(describe_instance(i)["State"], json({{"Code", 80}, {"Name", "stopped"}}));
  r = call("StartInstances", {{"InstanceIds", {i}}});
  EXPECT_EQ(r["StartingInstances"][0]["PreviousState"]["Name"], "stopped");
  EXPECT_EQ(r["StartingInstances"][0]["CurrentState"]["Name"], "running");
  EXPECT_EQ(describe_instance(i)["State"]["Code"], 16);
  // One unknown id fails the lot.
  EXPECT_TRUE(refused("StopInstances", {{"InstanceIds", {i, "i-0000000000000dead"}}}, "InvalidInstanceID.NotFound",
                      {"i-0000000000000dead"}, "not_found"));
  EXPECT_EQ(describe_instance(i)["State"]["Name"], "running");
  EXPECT_TRUE(refused("StopInstances", json::object(), "MissingParameter", {"InstanceIds"}));
}

// ---- attach and detach --------------------------------------------------------

TEST_F(Ec2ModelTest, AttachRefusesDeviceIndexZeroAndUnknownIds) {
  std::string s = subnet(vpc());
  std::string i = run("m5.large", s)["InstanceId"];
  std::string e = eni(s)["NetworkInterfaceId"];
  auto p = [&](const std::string& eni_id, const std::string& inst, json index) {
    return json{{"NetworkInterfaceId", eni_id}, {"InstanceId", inst}, {"DeviceIndex", index}};
  };
  EXPECT_TRUE(refused("AttachNetworkInterface", p(e, i, 0), "InvalidParameterValue", {"Device index 0"}));
  EXPECT_TRUE(refused("AttachNetworkInterface", p(e, i, -1), "InvalidParameterValue", {"DeviceIndex"}));
  EXPECT_TRUE(refused("AttachNetworkInterface", {{"NetworkInterfaceId", e}, {"InstanceId", i}}, "MissingParameter",
                      {"DeviceIndex"}));
  EXPECT_TRUE(refused("AttachNetworkInterface", p("eni-0000000000000dead", i, 1), "InvalidNetworkInterfaceID.NotFound",
                      {"eni-0000000000000dead"}, "not_found"));
  EXPECT_TRUE(refused("AttachNetworkInterface", p(e, "i-0000000000000dead", 1), "InvalidInstanceID.NotFound",
                      {"i-0000000000000dead"}, "not_found"));
  std::string a = attach(e, i, 1);
  EXPECT_TRUE(has_id_shape(a, "eni-attach")) << a;
  json d = describe_eni(e);
  EXPECT_EQ(d["Status"], "in-use");
  EXPECT_EQ(d["Attachment"], json({{"AttachmentId", a},
                                   {"InstanceId", i},
                                   {"InstanceOwnerId", "000000000000"},
                                   {"DeviceIndex", 1},
                                   {"NetworkCardIndex", 0},
                                   {"AttachTime", "2027-01-15T08:00:00.000Z"},
                                   {"DeleteOnTermination", false},
                                   {"Status", "attached"}}));
  EXPECT_EQ(describe_instance(i)["NetworkInterfaces"].size(), 2u);
}

TEST_F(Ec2ModelTest, AttachNeedsTheSameAvailabilityZoneAndVpc) {
  std::string v = vpc();
  std::string sa = subnet(v, "10.0.1.0/24", "us-east-1a"), sb = subnet(v, "10.0.2.0/24", "us-east-1b");
  std::string i = run("m5.large", sa)["InstanceId"];
  std::string e = eni(sb)["NetworkInterfaceId"];
  EXPECT_TRUE(refused("AttachNetworkInterface", {{"NetworkInterfaceId", e}, {"InstanceId", i}, {"DeviceIndex", 1}},
                      "InvalidParameterCombination", {"us-east-1a", "us-east-1b"}, "invalid_params"));
  // Same AZ, another VPC.
  std::string w = vpc("10.1.0.0/16");
  std::string other = eni(subnet(w, "10.1.1.0/24", "us-east-1a"))["NetworkInterfaceId"];
  EXPECT_TRUE(refused("AttachNetworkInterface", {{"NetworkInterfaceId", other}, {"InstanceId", i}, {"DeviceIndex", 1}},
                      "InvalidParameterCombination", {"VPC"}));
  // Another subnet of the same AZ and VPC is fine.
  std::string sa2 = subnet(v, "10.0.3.0/24", "us-east-1a");
  attach(eni(sa2)["NetworkInterfaceId"], i, 1);
}

TEST_F(Ec2ModelTest, AttachRefusesAnInterfaceInUseAndATakenDeviceIndex) {
  std::string s = subnet(vpc());
  json a = run("m5.large", s), b = run("m5.large", s);
  std::string ia = a["InstanceId"], ib = b["InstanceId"];
  std::string e1 = eni(s)["NetworkInterfaceId"], e2 = eni(s)["NetworkInterfaceId"];
  attach(e1, ia, 1);
  EXPECT_TRUE(refused("AttachNetworkInterface", {{"NetworkInterfaceId", e1}, {"InstanceId", ib}, {"DeviceIndex", 1}},
                      "InvalidNetworkInterface.InUse", {e1}, "busy"));
  std::string primary_b = b["NetworkInterfaces"][0]["NetworkInterfaceId"];
  EXPECT_TRUE(refused("AttachNetworkInterface",
                      {{"NetworkInterfaceId", primary_b}, {"InstanceId", ia}, {"DeviceIndex", 2}},
                      "InvalidNetworkInterface.InUse", {primary_b}));
  EXPECT_TRUE(refused("AttachNetworkInterface", {{"NetworkInterfaceId", e2}, {"InstanceId", ia}, {"DeviceIndex", 1}},
                      "InvalidParameterValue", {ia, "device index '1'"}));
  attach(e2, ia, 2);
}

TEST_F(Ec2ModelTest, AttachRespectsTheTypesInterfaceLimit) {
  std::string s = subnet(vpc());
  std::string nano = run("t3.nano", s)["InstanceId"];  // 2 interfaces
  attach(eni(s)["NetworkInterfaceId"], nano, 1);
  std::string third = eni(s)["NetworkInterfaceId"];
  EXPECT_TRUE(refused("AttachNetworkInterface",
                      {{"NetworkInterfaceId", third}, {"InstanceId", nano}, {"DeviceIndex", 2}},
                      "AttachmentLimitExceeded", {"t3.nano"}, "limit"));
  std::string large = run("m5.large", s)["InstanceId"];  // 3 interfaces
  attach(third, large, 1);
  attach(eni(s)["NetworkInterfaceId"], large, 5);
  EXPECT_TRUE(refused("AttachNetworkInterface",
                      {{"NetworkInterfaceId", eni(s)["NetworkInterfaceId"]}, {"InstanceId", large}, {"DeviceIndex", 2}},
                      "AttachmentLimitExceeded", {"m5.large"}));
}

TEST_F(Ec2ModelTest, AttachRespectsTheTypesAddressesPerInterface) {
  std::string s = subnet(vpc());
  std::string nano = run("t3.nano", s)["InstanceId"];  // 2 IPv4 per interface
  std::string three = eni(s, {{"SecondaryPrivateIpAddressCount", 2}})["NetworkInterfaceId"];
  EXPECT_TRUE(refused("AttachNetworkInterface",
                      {{"NetworkInterfaceId", three}, {"InstanceId", nano}, {"DeviceIndex", 1}},
                      "PrivateIpAddressLimitExceeded", {"t3.nano", "3"}, "limit"));
  std::string two = eni(s, {{"SecondaryPrivateIpAddressCount", 1}})["NetworkInterfaceId"];
  attach(two, nano, 1);
}

TEST_F(Ec2ModelTest, EfaInterfacesNeedAnEfaTypeAndAStoppedInstance) {
  std::string s = subnet(vpc());
  json efa = eni(s, {{"InterfaceType", "efa"}});
  EXPECT_EQ(efa["InterfaceType"], "efa");
  std::string e = efa["NetworkInterfaceId"];
  std::string m5 = run("m5.large", s)["InstanceId"];
  stop(m5);
  EXPECT_TRUE(refused("AttachNetworkInterface", {{"NetworkInterfaceId", e}, {"InstanceId", m5}, {"DeviceIndex", 1}},
                      "InvalidParameterCombination", {"m5.large"}));

  std::string c5n = run("c5n.18xlarge", s)["InstanceId"];
  const json p = {{"NetworkInterfaceId", e}, {"InstanceId", c5n}, {"DeviceIndex", 1}};
  EXPECT_TRUE(refused("AttachNetworkInterface", p, "IncorrectInstanceState", {c5n}));
  stop(c5n);
  std::string a = call("AttachNetworkInterface", p)["AttachmentId"];
  start(c5n);
  EXPECT_TRUE(refused("DetachNetworkInterface", {{"AttachmentId", a}}, "IncorrectInstanceState", {c5n}));
  stop(c5n);
  detach(a);
  EXPECT_EQ(describe_eni(e)["Status"], "available");
  EXPECT_TRUE(
      refused("CreateNetworkInterface", {{"SubnetId", s}, {"InterfaceType", "ib"}}, "InvalidParameterValue", {"ib"}));
}

TEST_F(Ec2ModelTest, DetachRefusesThePrimaryAndUnknownAttachments) {
  std::string s = subnet(vpc());
  json in = run("m5.large", s);
  std::string i = in["InstanceId"];
  std::string primary = in["NetworkInterfaces"][0]["Attachment"]["AttachmentId"];
  EXPECT_TRUE(
      refused("DetachNetworkInterface", {{"AttachmentId", primary}}, "OperationNotPermitted", {"device index 0", i}));
  EXPECT_TRUE(
      refused("DetachNetworkInterface", {{"AttachmentId", primary}, {"Force", true}}, "OperationNotPermitted", {i}));
  EXPECT_TRUE(refused("DetachNetworkInterface", {{"AttachmentId", "eni-attach-0000000000000dead"}},
                      "InvalidAttachmentID.NotFound", {"eni-attach-0000000000000dead"}, "not_found"));
  EXPECT_TRUE(refused("DetachNetworkInterface", json::object(), "MissingParameter", {"AttachmentId"}));
  std::string e = eni(s)["NetworkInterfaceId"];
  std::string a = attach(e, i, 1);
  detach(a);
  EXPECT_FALSE(describe_eni(e).contains("Attachment"));
  EXPECT_EQ(describe_instance(i)["NetworkInterfaces"].size(), 1u);
  // An attachment is gone once detached; an empty id is no detached ENI's.
  EXPECT_TRUE(refused("DetachNetworkInterface", {{"AttachmentId", a}}, "InvalidAttachmentID.NotFound", {a}));
  EXPECT_TRUE(refused("DetachNetworkInterface", {{"AttachmentId", ""}}, "InvalidParameterValue", {"eni-attach-"},
                      "invalid_params"));
  // Its device index is free again.
  attach(e, i, 1);
}

TEST_F(Ec2ModelTest, AnInterfaceKeepsItsAttributesFromOneInstanceToTheNext) {
  std::string v = vpc();
  std::string s = subnet(v);
  std::string web = group(v, "web");
  std::string ia = run("m5.large", s)["InstanceId"], ib = run("c5.large", s)["InstanceId"];
  json e = eni(s, {{"SecondaryPrivateIpAddressCount", 2}, {"Groups", {web}}, {"Description", "floating"}});
  std::string id = e["NetworkInterfaceId"];
  call("ModifyNetworkInterfaceAttribute", {{"NetworkInterfaceId", id}, {"SourceDestCheck", {{"Value", false}}}});
  json before = describe_eni(id);

  std::string a1 = attach(id, ia, 1);
  detach(a1);
  std::string a2 = attach(id, ib, 2);
  EXPECT_NE(a1, a2) << "every attachment has its own id";
  json after = describe_eni(id);
  for (const char* k : {"MacAddress", "PrivateIpAddress", "PrivateIpAddresses", "Groups", "SourceDestCheck",
                        "Description", "VenicVfId", "SubnetId"})
    EXPECT_EQ(after[k], before[k]) << k;
  EXPECT_EQ(after["Attachment"]["InstanceId"], ib);
  EXPECT_EQ(after["Attachment"]["DeviceIndex"], 2);
  EXPECT_EQ(describe_instance(ia)["NetworkInterfaces"].size(), 1u);
  EXPECT_EQ(describe_instance(ib)["NetworkInterfaces"].size(), 2u);
}

// ---- ENIs ---------------------------------------------------------------------

TEST_F(Ec2ModelTest, CreateNetworkInterfaceTakesExplicitAddresses) {
  std::string v = vpc();
  std::string s = subnet(v);
  json e = eni(s, {{"PrivateIpAddresses", json::array({{{"PrivateIpAddress", "10.0.1.20"}, {"Primary", true}},
                                                       {{"PrivateIpAddress", "10.0.1.21"}, {"Primary", false}}})},
                   {"SecondaryPrivateIpAddressCount", 1},
                   {"Description", "db"}});
  EXPECT_EQ(e["PrivateIpAddress"], "10.0.1.20");
  EXPECT_EQ(e["PrivateIpAddresses"], json::array({{{"PrivateIpAddress", "10.0.1.20"}, {"Primary", true}},
                                                  {{"PrivateIpAddress", "10.0.1.21"}, {"Primary", false}},
                                                  {{"PrivateIpAddress", "10.0.1.4"}, {"Primary", false}}}));
  EXPECT_EQ(e["Description"], "db");
  EXPECT_EQ(e["Status"], "available");
  EXPECT_EQ(e["VpcId"], v);
  EXPECT_EQ(e["SourceDestCheck"], true);
  EXPECT_EQ(e["Ipv6Addresses"], json::array());
  EXPECT_FALSE(e.contains("Attachment"));
  EXPECT_EQ(e["VenicVfId"], 0);
  EXPECT_EQ(new_enis_, std::vector<std::string>{e["NetworkInterfaceId"]}) << "new_eni was called for it";
  EXPECT_TRUE(refused("CreateNetworkInterface", {{"SubnetId", s}, {"PrivateIpAddress", "10.0.1.21"}},
                      "InvalidIPAddress.InUse", {"10.0.1.21"}, "exists"));
  EXPECT_TRUE(refused("CreateNetworkInterface",
                      {{"SubnetId", s},
                       {"PrivateIpAddresses", json::array({{{"PrivateIpAddress", "10.0.1.30"}, {"Primary", true}},
                                                           {{"PrivateIpAddress", "10.0.1.31"}, {"Primary", true}}})}},
                      "InvalidParameterValue", {"primary"}));
  EXPECT_TRUE(refused("CreateNetworkInterface", {{"SubnetId", s}, {"PrivateIpAddress", "10.0.1.300"}},
                      "InvalidParameterValue", {"10.0.1.300"}));
  EXPECT_TRUE(refused("CreateNetworkInterface", {{"SubnetId", "subnet-0000000000000dead"}}, "InvalidSubnetID.NotFound",
                      {"subnet-0000000000000dead"}));
  EXPECT_TRUE(refused("CreateNetworkInterface", {{"SubnetId", s}, {"SecondaryPrivateIpAddressCount", 50}},
                      "InvalidParameterValue", {"SecondaryPrivateIpAddressCount"}));
  // Every ENI a MAC of its own.
  std::set<std::string> macs;
  for (int n = 0; n < 20; n++) macs.insert(eni(s)["MacAddress"].get<std::string>());
  EXPECT_EQ(macs.size(), 20u);
}

TEST_F(Ec2ModelTest, AssignPrivateIpAddresses) {
  std::string s = subnet(vpc());
  std::string other = eni(s)["NetworkInterfaceId"];  // 10.0.1.4
  std::string e = eni(s)["NetworkInterfaceId"];      // 10.0.1.5
  json r =
      call("AssignPrivateIpAddresses", {{"NetworkInterfaceId", e}, {"PrivateIpAddresses", {"10.0.1.50", "10.0.1.51"}}});
  EXPECT_EQ(r, json({{"NetworkInterfaceId", e},
                     {"AssignedPrivateIpAddresses",
                      json::array({{{"PrivateIpAddress", "10.0.1.50"}}, {{"PrivateIpAddress", "10.0.1.51"}}})}}));
  r = call("AssignPrivateIpAddresses", {{"NetworkInterfaceId", e}, {"SecondaryPrivateIpAddressCount", 2}});
  EXPECT_EQ(r["AssignedPrivateIpAddresses"],
            json::array({{{"PrivateIpAddress", "10.0.1.6"}}, {{"PrivateIpAddress", "10.0.1.7"}}}));
  EXPECT_EQ(ips_of(describe_eni(e)),
            (std::vector<std::string>{"10.0.1.5", "10.0.1.50", "10.0.1.51", "10.0.1.6", "10.0.1.7"}));

  auto by_list = [&](std::vector<std::string> ips) {
    return json{{"NetworkInterfaceId", e}, {"PrivateIpAddresses", ips}};
  };
  EXPECT_TRUE(refused("AssignPrivateIpAddresses", by_list({"10.0.1.4"}), "InvalidIPAddress.InUse", {"10.0.1.4"}));
  EXPECT_TRUE(refused("AssignPrivateIpAddresses", by_list({"10.0.1.51"}), "InvalidIPAddress.InUse", {"10.0.1.51"}));
  EXPECT_TRUE(refused("AssignPrivateIpAddresses", by_list({"10.0.1.60", "10.0.1.60"}), "InvalidIPAddress.InUse",
                      {"10.0.1.60"}));
  EXPECT_TRUE(refused("AssignPrivateIpAddresses", by_list({"10.0.2.9"}), "InvalidParameterValue", {"10.0.2.9"}));
  EXPECT_TRUE(refused("AssignPrivateIpAddresses", by_list({"10.0.1.2"}), "InvalidParameterValue", {"10.0.1.2"}));
  EXPECT_TRUE(refused("AssignPrivateIpAddresses", by_list({"10.0.1.255"}), "InvalidParameterValue", {"10.0.1.255"}));
  // A good address then a bad one: neither is assigned.
  EXPECT_TRUE(
      refused("AssignPrivateIpAddresses", by_list({"10.0.1.70", "10.0.1.4"}), "InvalidIPAddress.InUse", {"10.0.1.4"}));
  EXPECT_TRUE(refused("AssignPrivateIpAddresses", {{"NetworkInterfaceId", e}}, "InvalidParameterCombination",
                      {"PrivateIpAddresses", "SecondaryPrivateIpAddressCount"}));
  json both = by_list({"10.0.1.80"});
  both["SecondaryPrivateIpAddressCount"] = 1;
  EXPECT_TRUE(refused("AssignPrivateIpAddresses", both, "InvalidParameterCombination", {"PrivateIpAddresses"}));
  EXPECT_TRUE(refused("AssignPrivateIpAddresses",
                      {{"NetworkInterfaceId", "eni-0000000000000dead"}, {"SecondaryPrivateIpAddressCount", 1}},
                      "InvalidNetworkInterfaceID.NotFound", {"eni-0000000000000dead"}));
  EXPECT_EQ(describe_eni(other)["PrivateIpAddresses"].size(), 1u);
}

TEST_F(Ec2ModelTest, AssignPrivateIpAddressesRespectsTheLimits) {
  std::string s = subnet(vpc());
  // Detached: EC2's largest figure, 50 addresses.
  std::string e = eni(s)["NetworkInterfaceId"];
  call("AssignPrivateIpAddresses", {{"NetworkInterfaceId", e}, {"SecondaryPrivateIpAddressCount", 49}});
  EXPECT_EQ(describe_eni(e)["PrivateIpAddresses"].size(), 50u);
  EXPECT_TRUE(refused("AssignPrivateIpAddresses", {{"NetworkInterfaceId", e}, {"SecondaryPrivateIpAddressCount", 1}},
                      "PrivateIpAddressLimitExceeded", {"51", "50"}, "limit"));
  // Attached: the instance type's (t3.nano: 2 per interface).
  json nano = run("t3.nano", s);
  std::string primary = nano["NetworkInterfaces"][0]["NetworkInterfaceId"];
  call("AssignPrivateIpAddresses", {{"NetworkInterfaceId", primary}, {"SecondaryPrivateIpAddressCount", 1}});
  EXPECT_TRUE(refused("AssignPrivateIpAddresses",
                      {{"NetworkInterfaceId", primary}, {"PrivateIpAddresses", {"10.0.1.200"}}},
                      "PrivateIpAddressLimitExceeded", {"t3.nano", "3"}));
  std::string second = eni(s)["NetworkInterfaceId"];
  attach(second, nano["InstanceId"], 1);
  EXPECT_TRUE(refused("AssignPrivateIpAddresses",
                      {{"NetworkInterfaceId", second}, {"SecondaryPrivateIpAddressCount", 2}},
                      "PrivateIpAddressLimitExceeded", {"t3.nano"}));
  call("AssignPrivateIpAddresses", {{"NetworkInterfaceId", second}, {"SecondaryPrivateIpAddressCount", 1}});
}

TEST_F(Ec2ModelTest, ModifyNetworkInterfaceAttribute) {
  std::string v = vpc();
  std::string s = subnet(v);
  std::string web = group(v, "web"), db = group(v, "db");
  std::string e = eni(s)["NetworkInterfaceId"];
  auto modify = [&](const char* k, json value) {
    return call("ModifyNetworkInterfaceAttribute", {{"NetworkInterfaceId", e}, {k, value}});
  };
  EXPECT_EQ(modify("SourceDestCheck", {{"Value", false}}), json::object());
  EXPECT_EQ(describe_eni(e)["SourceDestCheck"], false);
  modify("SourceDestCheck", true);  // the bare form too
  EXPECT_EQ(describe_eni(e)["SourceDestCheck"], true);
  modify("Description", {{"Value", "the db's"}});
  EXPECT_EQ(describe_eni(e)["Description"], "the db's");
  modify("Groups", {web, db});
  EXPECT_EQ(describe_eni(e)["Groups"],
            json::array({{{"GroupId", web}, {"GroupName", "web"}}, {{"GroupId", db}, {"GroupName", "db"}}}));

  auto p = [&](json extra) {
    json q = {{"NetworkInterfaceId", e}};
    q.update(extra);
    return q;
  };
  EXPECT_TRUE(refused("ModifyNetworkInterfaceAttribute",
                      p({{"SourceDestCheck", false}, {"Description", {{"Value", "x"}}}}), "InvalidParameterCombination",
                      {"SourceDestCheck", "Description", "Groups"}));
  EXPECT_TRUE(refused("ModifyNetworkInterfaceAttribute", p(json::object()), "InvalidParameterCombination",
                      {"SourceDestCheck"}));
  EXPECT_TRUE(refused("ModifyNetworkInterfaceAttribute", p({{"SourceDestCheck", {{"Value", "no"}}}}),
                      "InvalidParameterValue", {"SourceDestCheck"}));
  EXPECT_TRUE(
      refused("ModifyNetworkInterfaceAttribute", p({{"Groups", json::array()}}), "InvalidParameterValue", {"Groups"}));
  EXPECT_TRUE(refused("ModifyNetworkInterfaceAttribute", p({{"Groups", {"sg-0000000000000dead"}}}),
                      "InvalidGroup.NotFound", {"sg-0000000000000dead"}));
  EXPECT_TRUE(refused("ModifyNetworkInterfaceAttribute", p({{"Description", {{"Value", 7}}}}), "InvalidParameterValue",
                      {"Description"}));
  EXPECT_TRUE(refused("ModifyNetworkInterfaceAttribute",
                      {{"NetworkInterfaceId", "eni-0000000000000dead"}, {"SourceDestCheck", false}},
                      "InvalidNetworkInterfaceID.NotFound", {"eni-0000000000000dead"}));
}

TEST_F(Ec2ModelTest, DeleteNetworkInterfaceOnlyWhenDetached) {
  std::string s = subnet(vpc());
  json in = run("m5.large", s);
  std::string primary = in["NetworkInterfaces"][0]["NetworkInterfaceId"];
  EXPECT_TRUE(refused("DeleteNetworkInterface", {{"NetworkInterfaceId", primary}}, "InvalidNetworkInterface.InUse",
                      {primary}, "busy"));
  json e = eni(s, {{"SecondaryPrivateIpAddressCount", 3}});
  std::string id = e["NetworkInterfaceId"];
  EXPECT_EQ(describe_subnet(s)["AvailableIpAddressCount"], 251 - 1 - 4);
  std::string a = attach(id, in["InstanceId"], 1);
  EXPECT_TRUE(refused("DeleteNetworkInterface", {{"NetworkInterfaceId", id}}, "InvalidNetworkInterface.InUse", {id}));
  detach(a);
  EXPECT_EQ(call("DeleteNetworkInterface", {{"NetworkInterfaceId", id}}), json::object());
  EXPECT_EQ(describe_subnet(s)["AvailableIpAddressCount"], 250) << "its addresses are free again";
  EXPECT_TRUE(refused("DescribeNetworkInterfaces", {{"NetworkInterfaceIds", {id}}},
                      "InvalidNetworkInterfaceID.NotFound", {id}));
  EXPECT_TRUE(refused("DeleteNetworkInterface", {{"NetworkInterfaceId", id}}, "InvalidNetworkInterfaceID.NotFound",
                      {id}, "not_found"));
  EXPECT_EQ(m_.eni_by_vf(e["VenicVfId"].get<uint16_t>()), nullptr);
  // An address it had can be taken again.
  EXPECT_EQ(eni(s, {{"PrivateIpAddress", e["PrivateIpAddress"]}})["PrivateIpAddress"], e["PrivateIpAddress"]);
}

// ---- describe -------------------------------------------------------------------

TEST_F(Ec2ModelTest, DescribeWithAndWithoutIds) {
  std::string v1 = vpc(), v2 = vpc("10.1.0.0/16");
  std::string s1 = subnet(v1), s2 = subnet(v2, "10.1.1.0/24");
  std::string g = group(v1, "web");
  call("CreatePlacementGroup", {{"GroupName", "p1"}, {"Strategy", "spread"}});
  call("CreatePlacementGroup", {{"GroupName", "p2"}, {"Strategy", "partition"}});
  std::string i1 = run("m5.large", s1)["InstanceId"], i2 = run("m5.large", s2)["InstanceId"];
  std::string e = eni(s1)["NetworkInterfaceId"];

  EXPECT_EQ(call("DescribeVpcs", json::object())["Vpcs"].size(), 2u);
  json one = call("DescribeVpcs", {{"VpcIds", {v2}}})["Vpcs"];
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["VpcId"], v2);
  EXPECT_EQ(call("DescribeSubnets", json::object())["Subnets"].size(), 2u);
  EXPECT_EQ(call("DescribeSubnets", {{"SubnetIds", {s2, s1}}})["Subnets"][0]["SubnetId"], s2) << "in the order asked";
  EXPECT_EQ(call("DescribeSecurityGroups", json::object())["SecurityGroups"].size(), 3u);  // 2 defaults + web
  EXPECT_EQ(call("DescribeSecurityGroups", {{"GroupIds", {g}}})["SecurityGroups"][0]["GroupName"], "web");
  EXPECT_EQ(call("DescribePlacementGroups", json::object())["PlacementGroups"].size(), 2u);
  json pg = call("DescribePlacementGroups", {{"GroupNames", {"p2"}}})["PlacementGroups"];
  ASSERT_EQ(pg.size(), 1u);
  EXPECT_EQ(pg[0]["Strategy"], "partition");
  EXPECT_EQ(call("DescribeNetworkInterfaces", json::object())["NetworkInterfaces"].size(), 3u);
  EXPECT_EQ(call("DescribeNetworkInterfaces", {{"NetworkInterfaceIds", {e}}})["NetworkInterfaces"].size(), 1u);
  EXPECT_EQ(call("DescribeInstances", json::object())["Reservations"].size(), 2u);
  json res = call("DescribeInstances", {{"InstanceIds", {i2}}})["Reservations"];
  ASSERT_EQ(res.size(), 1u);
  ASSERT_EQ(res[0]["Instances"].size(), 1u);
  EXPECT_EQ(res[0]["Instances"][0]["InstanceId"], i2);
  (void)i1;

  const std::string bad = "0000000000000dead";
  EXPECT_TRUE(
      refused("DescribeVpcs", {{"VpcIds", {v1, "vpc-" + bad}}}, "InvalidVpcID.NotFound", {"vpc-" + bad}, "not_found"));
  EXPECT_TRUE(
      refused("DescribeSubnets", {{"SubnetIds", {"subnet-" + bad}}}, "InvalidSubnetID.NotFound", {"subnet-" + bad}));
  EXPECT_TRUE(refused("DescribeSecurityGroups", {{"GroupIds", {"sg-" + bad}}}, "InvalidGroup.NotFound", {"sg-" + bad}));
  EXPECT_TRUE(refused("DescribePlacementGroups", {{"GroupNames", {"p9"}}}, "InvalidPlacementGroup.Unknown", {"p9"}));
  EXPECT_TRUE(refused("DescribeNetworkInterfaces", {{"NetworkInterfaceIds", {"eni-" + bad}}},
                      "InvalidNetworkInterfaceID.NotFound", {"eni-" + bad}));
  EXPECT_TRUE(
      refused("DescribeInstances", {{"InstanceIds", {"i-" + bad}}}, "InvalidInstanceID.NotFound", {"i-" + bad}));
  EXPECT_TRUE(refused("DescribeVpcs", {{"VpcIds", v1}}, "InvalidParameterValue", {"VpcIds"}));
  EXPECT_TRUE(refused("DescribeVpcs", {{"SubnetIds", {s1}}}, "UnknownParameter", {"SubnetIds"}));
}

TEST_F(Ec2ModelTest, DescribeInstanceTypesHasEc2sFigures) {
  json all = call("DescribeInstanceTypes", json::object())["InstanceTypes"];
  EXPECT_EQ(all.size(), instance_types().size());
  json c5n = call("DescribeInstanceTypes", {{"InstanceTypes", {"c5n.18xlarge"}}})["InstanceTypes"];
  ASSERT_EQ(c5n.size(), 1u);
  EXPECT_EQ(c5n[0]["InstanceType"], "c5n.18xlarge");
  const json& n = c5n[0]["NetworkInfo"];
  EXPECT_EQ(n["MaximumNetworkInterfaces"], 15);
  EXPECT_EQ(n["Ipv4AddressesPerInterface"], 50);
  EXPECT_EQ(n["Ipv6AddressesPerInterface"], 50);
  EXPECT_EQ(n["EfaSupported"], true);
  EXPECT_EQ(n["NetworkPerformance"], "100 Gigabit");
  EXPECT_EQ(n["MaximumNetworkCards"], 1);
  EXPECT_EQ(n["NetworkCards"], json::parse(R"([{"NetworkCardIndex": 0, "NetworkPerformance": "100 Gigabit",
      "MaximumNetworkInterfaces": 15, "BaselineBandwidthInGbps": 100.0, "PeakBandwidthInGbps": 100.0}])"));
  EXPECT_EQ(n["EfaInfo"], json({{"MaximumEfaInterfaces", 1}}));
  EXPECT_EQ(n["EnaSupport"], "required");
  EXPECT_EQ(n["Ipv6Supported"], true);
  EXPECT_FALSE(n.contains("BaselineBandwidthInGbps")) << "EC2 has it per network card only";
  EXPECT_TRUE(c5n[0]["VenicPpsAllowance"].is_number_unsigned());
  EXPECT_EQ(c5n[0]["VenicConntrackAllowance"], find_instance_type("c5n.18xlarge")->conntrack);

  json two = call("DescribeInstanceTypes", {{"InstanceTypes", {"t3.nano", "m5.large"}}})["InstanceTypes"];
  ASSERT_EQ(two.size(), 2u);
  for (const auto& t : two) {
    if (t["InstanceType"] == "t3.nano") {
      EXPECT_EQ(t["NetworkInfo"]["MaximumNetworkInterfaces"], 2);
      EXPECT_EQ(t["NetworkInfo"]["Ipv4AddressesPerInterface"], 2);
      EXPECT_EQ(t["NetworkInfo"]["EfaSupported"], false);
    } else {
      EXPECT_EQ(t["InstanceType"], "m5.large");
      EXPECT_EQ(t["NetworkInfo"]["MaximumNetworkInterfaces"], 3);
      EXPECT_EQ(t["NetworkInfo"]["Ipv4AddressesPerInterface"], 10);
      EXPECT_EQ(t["NetworkInfo"]["NetworkCards"][0]["BaselineBandwidthInGbps"], 0.75);
      EXPECT_EQ(t["NetworkInfo"]["NetworkCards"][0]["PeakBandwidthInGbps"], 10.0);
      EXPECT_FALSE(t["NetworkInfo"].contains("EfaInfo"));
      EXPECT_EQ(t["NetworkInfo"]["NetworkPerformance"], "Up to 10 Gigabit");
      EXPECT_EQ(t["NetworkInfo"]["EfaSupported"], false);
    }
  }
  // The table the model enforces is the one it describes.
  const InstanceType* nano = find_instance_type("t3.nano");
  ASSERT_NE(nano, nullptr);
  EXPECT_EQ(nano->max_enis, 2u);
  EXPECT_EQ(find_instance_type("t3.huge"), nullptr);
  // An unknown type is refused, named, with EC2's code.
  EXPECT_TRUE(refused("DescribeInstanceTypes", {{"InstanceTypes", {"t3.huge"}}}, "InvalidInstanceType", {"t3.huge"},
                      "invalid_params"));
}

// ---- atomicity and persistence ------------------------------------------------

TEST_F(Ec2ModelTest, AFailedActionChangesNothing) {
  std::string v = vpc();
  std::string small = subnet(v, "10.0.2.0/28");  // eleven addresses
  // The twelfth instance finds no address: none of the eleven stays.
  const json before = m_.to_json();
  EXPECT_TRUE(refused("RunInstances", {{"InstanceType", "t3.micro"}, {"SubnetId", small}, {"MaxCount", 12}},
                      "InsufficientFreeAddressesInSubnet", {small}));
  EXPECT_EQ(new_enis_.size(), 11u) << "new_eni ran for the eleven that fit";
  EXPECT_EQ(m_.to_json(), before);
  EXPECT_TRUE(m_.enis().empty());
  EXPECT_EQ(call("DescribeInstances", json::object())["Reservations"], json::array());
  EXPECT_EQ(describe_subnet(small)["AvailableIpAddressCount"], 11);

  // new_eni may throw: the exception goes through, the model stays.
  auto throwing = [](const Eni&) -> uint16_t { throw std::runtime_error("no VF for you"); };
  EXPECT_THROW(m_.call("CreateNetworkInterface", {{"SubnetId", small}}, throwing), std::runtime_error);
  EXPECT_THROW(m_.call("RunInstances", {{"InstanceType", "t3.micro"}, {"SubnetId", small}}, throwing),
               std::runtime_error);
  EXPECT_EQ(m_.to_json(), before);

  // Unknown actions and non-object params.
  EXPECT_TRUE(refused("LaunchRocket", json::object(), "InvalidAction", {"LaunchRocket"}, "unknown_method"));
  EXPECT_TRUE(refused("DescribeRockets", json::object(), "InvalidAction", {"DescribeRockets"}));
  EXPECT_TRUE(refused("CreateVpc", json::array(), "InvalidParameterValue", {"object"}));
}

TEST_F(Ec2ModelTest, ToJsonAndLoadRoundTrip) {
  std::string v =
      call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}, {"Ipv6CidrBlock", "2600:1f18:1::/56"}})["Vpc"]["VpcId"];
  std::string sa = subnet(v, "10.0.1.0/24", "us-east-1a"), sb = subnet(v, "10.0.2.0/24", "us-east-1b");
  call("ModifySubnetAttribute", {{"SubnetId", sb}, {"MapPublicIpOnLaunch", {{"Value", true}}}});
  std::string web = group(v, "web");
  call("AuthorizeSecurityGroupIngress",
       {{"GroupId", web},
        {"IpPermissions",
         json::array({tcp(80, 443, "0.0.0.0/0"),
                      {{"IpProtocol", "icmp"}, {"IpRanges", json::array({{{"CidrIp", "10.0.0.0/8"}}})}},
                      {{"IpProtocol", "-1"}, {"UserIdGroupPairs", json::array({{{"GroupId", web}}})}}})}});
  call("AuthorizeSecurityGroupEgress",
       {{"GroupId", web}, {"IpPermissions", json::array({tcp(5432, 5432, "10.0.2.0/24")})}});
  call("CreatePlacementGroup", {{"GroupName", "hpc"}, {"Strategy", "cluster"}});
  json a = run("c5n.18xlarge", sa,
               {{"Placement", {{"GroupName", "hpc"}}}, {"OwnerUid", 1000}, {"NetworkInterfaceType", "efa"}});
  json b = run("m5.large", sb, {{"SecurityGroupIds", {web}}});
  stop(a["InstanceId"]);
  json e = eni(sa, {{"SecondaryPrivateIpAddressCount", 3}, {"Description", "floating"}, {"Groups", {web}}});
  call("ModifyNetworkInterfaceAttribute",
       {{"NetworkInterfaceId", e["NetworkInterfaceId"]}, {"SourceDestCheck", false}});
  attach(e["NetworkInterfaceId"], a["InstanceId"], 3);
  eni(sb);  // detached, with a public address

  const json saved = m_.to_json();
  Ec2Model copy{counter(5000)};
  copy.load(saved);
  EXPECT_EQ(copy.to_json(), saved);
  auto none = [](const Eni&) -> uint16_t { return 99; };
  for (const char* d : {"DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups", "DescribePlacementGroups",
                        "DescribeInstances", "DescribeNetworkInterfaces"})
    EXPECT_EQ(copy.call(d, json::object(), none), call(d, json::object())) << d;
  // The load survives a trip through text, as in the state file.
  Ec2Model from_text{counter(6000)};
  from_text.load(json::parse(saved.dump()));
  EXPECT_EQ(from_text.to_json(), saved);
  // And the copy goes on from there: a new public address is a new one.
  json next = copy.call("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", sb}}, none)["Instances"][0];
  EXPECT_NE(next["PublicIpAddress"], b["PublicIpAddress"]);
  EXPECT_EQ(next["PrivateIpAddress"], "10.0.2.6") << next.dump();
}

TEST_F(Ec2ModelTest, LoadingACorruptDocumentThrowsAndKeepsTheModel) {
  std::string s = subnet(vpc());
  run("m5.large", s);
  const json good = m_.to_json();
  std::vector<json> bad = {json("garbage"), json::array(), json::object(), json({{"vpcs", 5}})};
  auto broken = [&](const std::function<void(json&)>& f) {
    json j = good;
    f(j);
    bad.push_back(j);
  };
  broken([](json& j) { j.erase("enis"); });
  broken([](json& j) { j.erase("next_public"); });
  broken([](json& j) { j["vpcs"][0]["cidr"] = "10.0.0.1/16"; });
  broken([](json& j) { j["subnets"][0]["cidr"] = 7; });
  broken([](json& j) { j["enis"][0]["mac"] = "not a mac"; });
  broken([](json& j) { j["enis"][0]["ip"] = "10.0.1"; });
  broken([](json& j) { j["enis"][0]["subnet"] = "subnet-0000000000000dead"; });
  broken([](json& j) { j["enis"][0]["src_dst_check"] = "yes"; });
  broken([](json& j) { j["instances"][0]["type"] = "m5.huge"; });
  broken([](json& j) { j["instances"][0]["enis"] = {{"zero", "eni-x"}}; });
  broken([](json& j) { j["security_groups"][0]["ingress"] = 3; });
  // References that do not resolve.
  broken([](json& j) { j["instances"][0]["subnet"] = "subnet-0000000000000dead"; });
  broken([](json& j) { j["enis"][0]["groups"] = {"sg-0000000000000dead"}; });
  broken([](json& j) { j["enis"][0]["instance"] = "i-0000000000000dead"; });
  for (const auto& doc : bad) {
    EXPECT_TRUE(throws_ec2([&] { m_.load(doc); }, "InvalidState", {"corrupt"}, "internal")) << doc.dump();
    EXPECT_EQ(m_.to_json(), good) << "a failed load changed the model";
  }
}

// ---- ownership (docs/ownership.md) ------------------------------------------------

constexpr int64_t kUidB = 1001, kUidC = 1002;

// Two tenants, each with its own VPC, subnet, group and instance (made by
// themselves), and C with a spare ENI: the issue-15 attack's setting.
class OwnershipTest : public Ec2ModelTest {
 protected:
  struct Tenant {
    std::string vpc, subnet, group, instance, primary, attachment, spare;
  };
  void SetUp() override {
    b_ = tenant(kUidB, "10.1.0.0/16", "10.1.1.0/24");
    c_ = tenant(kUidC, "10.2.0.0/16", "10.2.1.0/24");
    as(kUidC);
    c_.spare = eni(c_.subnet)["NetworkInterfaceId"];
    as(kUidB);
  }
  void as(int64_t uid) { who_ = Caller{uid, false}; }
  Tenant tenant(int64_t uid, const std::string& vpc_cidr, const std::string& subnet_cidr) {
    as(uid);
    Tenant t;
    t.vpc = vpc(vpc_cidr);
    t.subnet = subnet(t.vpc, subnet_cidr);
    t.group = call("CreateSecurityGroup", {{"GroupName", "web"}, {"Description", "web"}, {"VpcId", t.vpc}})["GroupId"];
    json in = run("m5.large", t.subnet);
    t.instance = in["InstanceId"];
    t.primary = in["NetworkInterfaces"][0]["NetworkInterfaceId"];
    t.attachment = in["NetworkInterfaces"][0]["Attachment"]["AttachmentId"];
    return t;
  }
  ::testing::AssertionResult unauthorized(const std::string& action, const json& params) {
    return refused(action, params, "UnauthorizedOperation", {"not authorized"}, "permission_denied");
  }
  Tenant b_, c_;
};

TEST_F(OwnershipTest, ATenantCannotLaunchIntoAnothersPlacementGroup) {
  // C's spread group, full in us-east-1a: B neither fills it nor learns of it.
  as(kUidC);
  call("CreatePlacementGroup", {{"GroupName", "c-apart"}, {"Strategy", "spread"}});
  call("CreatePlacementGroup", {{"GroupName", "c-tight"}, {"Strategy", "cluster"}});
  run("m5.large", c_.subnet, {{"Placement", {{"GroupName", "c-tight"}}}});
  as(kUidB);
  for (const char* g : {"c-apart", "c-tight", "nobodys"})
    EXPECT_TRUE(refused("RunInstances",
                        {{"InstanceType", "m5.large"}, {"SubnetId", b_.subnet}, {"Placement", {{"GroupName", g}}}},
                        "InvalidPlacementGroup.Unknown", {g}, "not_found"))
        << g;
}

TEST_F(OwnershipTest, PlacementGroupNamesArePerAccount) {
  // C's "hpc" neither tells B it exists (no Duplicate) nor shares its room.
  as(kUidC);
  call("CreatePlacementGroup", {{"GroupName", "hpc"}, {"Strategy", "spread"}});
  for (int i = 0; i < PlacementGroup::kSpreadPerZone; i++)
    run("m5.large", c_.subnet, {{"Placement", {{"GroupName", "hpc"}}}});
  as(kUidB);
  const json mine = call("CreatePlacementGroup", {{"GroupName", "hpc"}, {"Strategy", "spread"}})["PlacementGroup"];
  EXPECT_EQ(run("m5.large", b_.subnet, {{"Placement", {{"GroupName", "hpc"}}}})["Placement"]["GroupName"], "hpc")
      << "C's full group of the same name is not B's";
  const json seen = call("DescribePlacementGroups", json::object())["PlacementGroups"];
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["GroupId"], mine["GroupId"]);
  EXPECT_EQ(call("DescribePlacementGroups", {{"GroupNames", {"hpc"}}})["PlacementGroups"][0]["GroupId"],
            mine["GroupId"]);
  // B's delete is of B's group; C's stays, in use.
  as(kUidC);
  EXPECT_TRUE(refused("DeletePlacementGroup", {{"GroupName", "hpc"}}, "InvalidPlacementGroup.InUse", {"hpc"}, "busy"));
  // The model with both saves and loads.
  Ec2Model copy{counter()};
  copy.load(m_.to_json());
  EXPECT_EQ(copy.to_json(), m_.to_json());
}

TEST_F(OwnershipTest, ATenantCannotDetachAnothersEni) {
  as(kUidC);
  const std::string a = attach(c_.spare, c_.instance, 1);
  as(kUidB);
  EXPECT_TRUE(unauthorized("DetachNetworkInterface", {{"AttachmentId", a}}));
  as(kUidC);
  EXPECT_EQ(call("DetachNetworkInterface", {{"AttachmentId", a}}), json::object()) << "its owner may";
}

TEST_F(OwnershipTest, ATenantCannotAttachAnothersEniToItsInstance) {
  EXPECT_TRUE(unauthorized("AttachNetworkInterface",
                           {{"NetworkInterfaceId", c_.spare}, {"InstanceId", b_.instance}, {"DeviceIndex", 1}}));
  // Nor its own ENI to another's instance.
  json mine = eni(b_.subnet);
  EXPECT_TRUE(unauthorized(
      "AttachNetworkInterface",
      {{"NetworkInterfaceId", mine["NetworkInterfaceId"]}, {"InstanceId", c_.instance}, {"DeviceIndex", 1}}));
}

TEST_F(OwnershipTest, ATenantCannotOpenAnothersGroup) {
  EXPECT_TRUE(unauthorized("AuthorizeSecurityGroupIngress",
                           {{"GroupId", c_.group}, {"IpPermissions", json::array({tcp(22, 22, "0.0.0.0/0")})}}));
  EXPECT_TRUE(unauthorized("AuthorizeSecurityGroupEgress",
                           {{"GroupId", c_.group}, {"IpPermissions", json::array({tcp(22, 22, "0.0.0.0/0")})}}));
  EXPECT_EQ(call("AuthorizeSecurityGroupIngress",
                 {{"GroupId", b_.group}, {"IpPermissions", json::array({tcp(22, 22, "0.0.0.0/0")})}}),
            json({{"Return", true}}));
}

TEST_F(OwnershipTest, ATenantCannotChangeAnothersEni) {
  EXPECT_TRUE(unauthorized("ModifyNetworkInterfaceAttribute",
                           {{"NetworkInterfaceId", c_.primary}, {"SourceDestCheck", {{"Value", false}}}}));
  EXPECT_TRUE(unauthorized("AssignPrivateIpAddresses",
                           {{"NetworkInterfaceId", c_.primary}, {"SecondaryPrivateIpAddressCount", 1}}));
  EXPECT_TRUE(unauthorized("DeleteNetworkInterface", {{"NetworkInterfaceId", c_.spare}}));
  EXPECT_TRUE(unauthorized("ModifySubnetAttribute", {{"SubnetId", c_.subnet}, {"MapPublicIpOnLaunch", true}}));
  EXPECT_EQ(call("ModifyNetworkInterfaceAttribute",
                 {{"NetworkInterfaceId", b_.primary}, {"SourceDestCheck", {{"Value", false}}}}),
            json::object());
}

TEST_F(OwnershipTest, ATenantCannotStopAnothersInstance) {
  EXPECT_TRUE(unauthorized("StopInstances", {{"InstanceIds", {c_.instance}}}));
  EXPECT_TRUE(unauthorized("StopInstances", {{"InstanceIds", {b_.instance, c_.instance}}}))
      << "all or nothing: B's own instance keeps running";
  EXPECT_EQ(call("StopInstances", {{"InstanceIds", {b_.instance}}})["StoppingInstances"][0]["CurrentState"]["Name"],
            "stopped");
}

TEST_F(OwnershipTest, ATenantCannotLaunchForSomeoneElse) {
  EXPECT_TRUE(unauthorized("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", b_.subnet}, {"OwnerUid", 0}}));
  EXPECT_TRUE(
      unauthorized("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", b_.subnet}, {"OwnerUid", kUidC}}));
  json in = run("m5.large", b_.subnet, {{"OwnerUid", kUidB}});
  EXPECT_EQ(in["VenicOwnerUid"], kUidB);
  // Root launches for anyone.
  who_ = Caller{};
  EXPECT_EQ(run("m5.large", b_.subnet, {{"OwnerUid", kUidC}})["VenicOwnerUid"], kUidC);
}

TEST_F(OwnershipTest, ATenantCannotBuildOnAnothersResources) {
  // Another's VPC, subnet and groups are not found, as EC2 answers for another account's.
  EXPECT_TRUE(refused("CreateSubnet",
                      {{"VpcId", c_.vpc}, {"CidrBlock", "10.2.9.0/24"}, {"AvailabilityZone", "us-east-1a"}},
                      "InvalidVpcID.NotFound"));
  EXPECT_TRUE(refused("CreateSecurityGroup", {{"GroupName", "x"}, {"Description", "x"}, {"VpcId", c_.vpc}},
                      "InvalidVpcID.NotFound"));
  EXPECT_TRUE(refused("CreateNetworkInterface", {{"SubnetId", c_.subnet}}, "InvalidSubnetID.NotFound"));
  EXPECT_TRUE(
      refused("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", c_.subnet}}, "InvalidSubnetID.NotFound"));
  EXPECT_TRUE(refused("ModifyNetworkInterfaceAttribute", {{"NetworkInterfaceId", b_.primary}, {"Groups", {c_.group}}},
                      "InvalidGroup.NotFound"));
  json rule = {{"IpProtocol", "-1"}, {"UserIdGroupPairs", json::array({{{"GroupId", c_.group}}})}};
  EXPECT_TRUE(refused("AuthorizeSecurityGroupIngress", {{"GroupId", b_.group}, {"IpPermissions", json::array({rule})}},
                      "InvalidGroup.NotFound"));
}

TEST_F(OwnershipTest, DescribeShowsOnlyTheCallersOwnWithItsOwnerId) {
  auto ids = [&](const std::string& what, const char* list, const char* key) {
    std::set<std::string> out;
    const json all = call("Describe" + what, json::object())[list];
    for (const auto& x : all) out.insert(x[key].get<std::string>());
    return out;
  };
  EXPECT_EQ(ids("Vpcs", "Vpcs", "VpcId"), std::set<std::string>{b_.vpc});
  EXPECT_EQ(ids("Subnets", "Subnets", "SubnetId"), std::set<std::string>{b_.subnet});
  EXPECT_EQ(ids("NetworkInterfaces", "NetworkInterfaces", "NetworkInterfaceId"), std::set<std::string>{b_.primary});
  EXPECT_EQ(ids("SecurityGroups", "SecurityGroups", "GroupId").count(c_.group), 0u);
  json res = call("DescribeInstances", json::object())["Reservations"];
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0]["OwnerId"], "000000001001");
  EXPECT_EQ(res[0]["Instances"][0]["InstanceId"], b_.instance);
  for (const auto& [what, list] :
       std::vector<std::pair<std::string, std::string>>{{"Vpcs", "Vpcs"},
                                                        {"Subnets", "Subnets"},
                                                        {"SecurityGroups", "SecurityGroups"},
                                                        {"NetworkInterfaces", "NetworkInterfaces"}})
    for (const json all = call("Describe" + what, json::object())[list]; const auto& x : all)
      EXPECT_EQ(x["OwnerId"], "000000001001") << what;
  // By id, another's is not found.
  EXPECT_TRUE(refused("DescribeInstances", {{"InstanceIds", {c_.instance}}}, "InvalidInstanceID.NotFound"));
  EXPECT_TRUE(refused("DescribeNetworkInterfaces", {{"NetworkInterfaceIds", {c_.spare}}},
                      "InvalidNetworkInterfaceID.NotFound"));
  // Root sees everyone's.
  who_ = Caller{};
  EXPECT_EQ(ids("Vpcs", "Vpcs", "VpcId"), (std::set<std::string>{b_.vpc, c_.vpc}));
  EXPECT_EQ(call("DescribeInstances", json::object())["Reservations"].size(), 2u);
}

TEST_F(OwnershipTest, RootManagesEveryonesResources) {
  who_ = Caller{};
  EXPECT_EQ(call("StopInstances", {{"InstanceIds", {c_.instance}}})["StoppingInstances"].size(), 1u);
  EXPECT_EQ(call("ModifyNetworkInterfaceAttribute",
                 {{"NetworkInterfaceId", c_.primary}, {"SourceDestCheck", {{"Value", false}}}}),
            json::object());
  // venicd's own uid is an admin too.
  EXPECT_TRUE(caller_for_uid(static_cast<int64_t>(::geteuid())).admin);
  if (::geteuid() != kUidB) {
    EXPECT_FALSE(caller_for_uid(kUidB).admin);
  }
}

TEST_F(OwnershipTest, OwnersSurviveARestartAndOldStateIsRoots) {
  Ec2Model copy{counter(1000)};
  copy.load(m_.to_json());
  EXPECT_EQ(copy.to_json(), m_.to_json());
  EXPECT_EQ(copy.instance(c_.instance)->owner_uid, kUidC);
  // A state file from before owners: everything loads as root's.
  json old = m_.to_json();
  for (const char* list : {"vpcs", "subnets", "security_groups", "enis"})
    for (auto& x : old[list]) x.erase("owner");
  for (auto& i : old["instances"]) i["owner_uid"] = -1;
  copy.load(old);
  const json loaded = copy.to_json();  // kept: a range-for over to_json()[list] would dangle
  for (const char* list : {"vpcs", "subnets", "security_groups", "enis"})
    for (const auto& x : loaded[list]) EXPECT_EQ(x["owner"], 0) << list;
  for (const auto& i : loaded["instances"]) EXPECT_EQ(i["owner_uid"], 0);
}

TEST(AccountId, IsTheUidInTwelveDigits) {
  EXPECT_EQ(account_id(1001), "000000001001");
  EXPECT_EQ(account_id(0), "000000000000");
  EXPECT_EQ(account_id(2147483647), "002147483647");
}

// A saved model the actions could not have made is refused at load, before
// it reaches the VFs: else venicd starts once and then saves VFs that its
// next start refuses.  Found by tests/fuzz/state_loader_fuzz.
TEST_F(Ec2ModelTest, LoadRefusesWhatNoActionCouldHaveMade) {
  std::string s = subnet(vpc());
  run("m5.large", s);
  eni(s);
  const json good = m_.to_json();
  std::vector<json> bad;
  auto broken = [&](const std::function<void(json&)>& f) {
    json j = good;
    f(j);
    bad.push_back(j);
  };
  broken([](json& j) { j["enis"][0]["conntrack_timeouts"] = {954362, 180, 30}; });
  broken([](json& j) { j["enis"][0]["conntrack_timeouts"] = {60, 59, 30}; });
  broken([](json& j) { j["enis"][0]["conntrack_timeouts"] = {60, 60, 61}; });
  // Numbers that are not whole or do not fit their field (converting them
  // was undefined behaviour, or wrapped).
  broken([](json& j) { j["enis"][0]["conntrack_timeouts"] = {3.1e46, 180, 30}; });
  broken([](json& j) { j["enis"][0]["conntrack_timeouts"] = {-1, 180, 30}; });
  broken([](json& j) { j["enis"][0]["vf"] = 1e10; });
  broken([](json& j) { j["enis"][0]["vf"] = -1; });
  broken([](json& j) { j["enis"][0]["vf"] = 1.5; });
  broken([](json& j) { j["enis"][0]["vf"] = VENIC_MAX_VFS; });
  broken([](json& j) { j["enis"][0]["device_index"] = 1e12; });
  broken([](json& j) { j["next_public"] = -5; });
  broken([](json& j) { j["next_public"] = 1e30; });
  broken([](json& j) { j["instances"][0]["owner_uid"] = 1e300; });
  broken([](json& j) { j["instances"][0]["conntrack_limit"] = -1; });
  broken([](json& j) { j["instances"][0]["conntrack_limit"] = 1e20; });
  broken([](json& j) { j["security_groups"][0]["ingress"][0]["FromPort"] = 1e20; });
  broken([](json& j) { j["security_groups"][0]["ingress"][0]["ToPort"] = 65536; });
  // Two ENIs backed by one VF.
  broken([](json& j) { j["enis"][1]["vf"] = j["enis"][0]["vf"]; });
  for (const auto& doc : bad) {
    EXPECT_TRUE(throws_ec2([&] { m_.load(doc); }, "InvalidState", {"corrupt"}, "internal")) << doc.dump();
    EXPECT_EQ(m_.to_json(), good) << "a failed load changed the model";
  }
}

// ---- the service over a VF table -----------------------------------------------

// No fast path: publishing is a no-op, but count it.
class CountingPublisher : public vf::Publisher {
 public:
  void publish(const vf::VfTable&) override { count++; }
  int count = 0;
};

class Ec2ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/venic-ec2-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store_ = std::make_unique<state::StateStore>(path());
    table_ = std::make_unique<vf::VfTable>(pub_, store_.get());
    svc_ = std::make_unique<Ec2Service>(*table_, store_.get(), counter());
    svc_->restore(json());  // as venicd starts with no saved model
  }
  void TearDown() override {
    svc_.reset();
    table_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path() const { return (dir_ / "vfs.json").string(); }

  json call(const std::string& action, const json& params) { return svc_->call(action, params); }
  std::string vpc() { return call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}})["Vpc"]["VpcId"]; }
  std::string subnet(const std::string& v, const std::string& cidr = "10.0.1.0/24") {
    return call("CreateSubnet",
                {{"VpcId", v}, {"CidrBlock", cidr}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"];
  }
  json eni(const std::string& s, json extra = json::object()) {
    json p = {{"SubnetId", s}};
    p.update(extra);
    return call("CreateNetworkInterface", p)["NetworkInterface"];
  }
  json run(const std::string& type, const std::string& s, json extra = json::object()) {
    json p = {{"InstanceType", type}, {"SubnetId", s}};
    p.update(extra);
    return call("RunInstances", p)["Instances"][0];
  }
  std::string attach(const std::string& e, const std::string& i, int index) {
    return call("AttachNetworkInterface",
                {{"NetworkInterfaceId", e}, {"InstanceId", i}, {"DeviceIndex", index}})["AttachmentId"];
  }
  const vf::VfConfig& cfg_of(const json& e) { return table_->get(e["VenicVfId"].get<uint16_t>()).cfg; }
  const vf::Vf& vf_of(const json& e) { return table_->get(e["VenicVfId"].get<uint16_t>()); }
  std::set<uint16_t> vf_ids() const {
    std::set<uint16_t> out;
    for (auto& [id, v] : table_->all()) out.insert(id);
    return out;
  }
  std::set<uint16_t> saved_ids() const {
    std::set<uint16_t> out;
    for (const auto& c : store_->load()) out.insert(c.id);
    return out;
  }

  fs::path dir_;
  CountingPublisher pub_;
  std::unique_ptr<state::StateStore> store_;
  std::unique_ptr<vf::VfTable> table_;
  std::unique_ptr<Ec2Service> svc_;
};

TEST_F(Ec2ServiceTest, AnEnisVfHasTheEnisAddressesAndChecks) {
  std::string s = subnet(vpc(), "10.0.16.0/20");
  json e = eni(s, {{"SecondaryPrivateIpAddressCount", 2}});
  const vf::VfConfig& c = cfg_of(e);
  EXPECT_EQ(c.eni_id, e["NetworkInterfaceId"]);
  EXPECT_EQ(vf::format_mac(c.mac), e["MacAddress"]);
  EXPECT_EQ(vf::format_ipv4(c.ip), "10.0.16.4");
  EXPECT_EQ(c.prefix, 20) << "the subnet's prefix";
  ASSERT_EQ(c.secondary_ips.size(), 2u);
  EXPECT_EQ(vf::format_ipv4(c.secondary_ips[0]), "10.0.16.5");
  EXPECT_EQ(vf::format_ipv4(c.secondary_ips[1]), "10.0.16.6");
  EXPECT_TRUE(c.src_dst_check);
  EXPECT_EQ(c.mtu, 9001);
  EXPECT_EQ(c.type, vf::Personality::kEna);
  EXPECT_EQ(saved_ids(), vf_ids()) << "the VF is saved";

  const std::string id = e["NetworkInterfaceId"];
  call("ModifyNetworkInterfaceAttribute", {{"NetworkInterfaceId", id}, {"SourceDestCheck", {{"Value", false}}}});
  EXPECT_FALSE(cfg_of(e).src_dst_check);
  call("AssignPrivateIpAddresses", {{"NetworkInterfaceId", id}, {"PrivateIpAddresses", {"10.0.20.1"}}});
  ASSERT_EQ(cfg_of(e).secondary_ips.size(), 3u);
  EXPECT_EQ(vf::format_ipv4(cfg_of(e).secondary_ips[2]), "10.0.20.1");
  // What the store has follows too.
  for (const auto& sc : store_->load())
    if (sc.id == cfg_of(e).id) {
      EXPECT_FALSE(sc.src_dst_check);
      EXPECT_EQ(sc.secondary_ips.size(), 3u);
      EXPECT_EQ(sc.eni_id, id);
    }
  // Two ENIs, two VFs.
  json f = eni(s);
  EXPECT_NE(f["VenicVfId"], e["VenicVfId"]);
  EXPECT_EQ(table_->all().size(), 2u);
}

TEST_F(Ec2ServiceTest, AllowancesComeFromTheInstanceType) {
  std::string s = subnet(vpc());
  json in = run("m5.large", s);
  const vf::VfConfig& c = cfg_of(in["NetworkInterfaces"][0]);
  EXPECT_EQ(c.limits.bw_in_mbps, 750u);
  EXPECT_EQ(c.limits.bw_out_mbps, 750u);
  EXPECT_EQ(c.limits.flow_mbps, 5000u);
  EXPECT_EQ(c.limits.pps, find_instance_type("m5.large")->pps);
  EXPECT_TRUE(c.link_up);
  // An attached ENI gets its new instance's allowances.
  json e = eni(s);
  attach(e["NetworkInterfaceId"], in["InstanceId"], 1);
  EXPECT_EQ(cfg_of(e).limits.bw_out_mbps, 750u);
  EXPECT_EQ(cfg_of(e).limits.flow_mbps, 5000u);

  call("CreatePlacementGroup", {{"GroupName", "tight"}, {"Strategy", "cluster"}});
  call("CreatePlacementGroup", {{"GroupName", "apart"}, {"Strategy", "spread"}});
  // A cluster member's VF names its group: the fast path gives 10 Gbps to
  // flows between members only, 5 Gbps to the others (police.cpp).
  json clustered = run("m5.large", s, {{"Placement", {{"GroupName", "tight"}}}});
  const std::string tight =
      call("DescribePlacementGroups", {{"GroupNames", {"tight"}}})["PlacementGroups"][0]["GroupId"];
  EXPECT_EQ(cfg_of(clustered["NetworkInterfaces"][0]).limits.flow_mbps, 5000u);
  EXPECT_EQ(cfg_of(clustered["NetworkInterfaces"][0]).cluster_group, tight);
  EXPECT_EQ(cfg_of(clustered["NetworkInterfaces"][0]).limits.bw_in_mbps, 750u);
  json spread = run("m5.large", s, {{"Placement", {{"GroupName", "apart"}}}});
  EXPECT_EQ(cfg_of(spread["NetworkInterfaces"][0]).limits.flow_mbps, 5000u);
  EXPECT_EQ(cfg_of(spread["NetworkInterfaces"][0]).cluster_group, "");
  EXPECT_EQ(cfg_of(in["NetworkInterfaces"][0]).cluster_group, "");
  // The state file keeps it.
  const vf::VfConfig back = vf::config_from_json(vf::to_json(cfg_of(clustered["NetworkInterfaces"][0])), true);
  EXPECT_EQ(back.cluster_group, tight);
  json big = run("c5n.18xlarge", s);
  EXPECT_EQ(cfg_of(big["NetworkInterfaces"][0]).limits.bw_out_mbps, 100000u);
  // p4d.24xlarge: 400 Gbps in four cards; each ENI's VF has its card's 100 Gbps.
  json p4d = run("p4d.24xlarge", s);
  EXPECT_EQ(cfg_of(p4d["NetworkInterfaces"][0]).limits.bw_out_mbps, 100000u);
  json on_card_3 = eni(s);
  call("AttachNetworkInterface", {{"NetworkInterfaceId", on_card_3["NetworkInterfaceId"]},
                                  {"InstanceId", p4d["InstanceId"]},
                                  {"DeviceIndex", 1},
                                  {"NetworkCardIndex", 3}});
  EXPECT_EQ(cfg_of(on_card_3).limits.bw_in_mbps, 100000u);
}

TEST_F(Ec2ServiceTest, LinkIsDownWhileDetachedOrStopped) {
  std::string s = subnet(vpc());
  json in = run("m5.large", s);
  std::string i = in["InstanceId"];
  json primary = in["NetworkInterfaces"][0];
  json e = eni(s);
  EXPECT_FALSE(cfg_of(e).link_up) << "a detached ENI carries nothing";
  std::string a = attach(e["NetworkInterfaceId"], i, 1);
  EXPECT_TRUE(cfg_of(e).link_up);
  call("StopInstances", {{"InstanceIds", {i}}});
  EXPECT_FALSE(cfg_of(e).link_up);
  EXPECT_FALSE(cfg_of(primary).link_up);
  call("StartInstances", {{"InstanceIds", {i}}});
  EXPECT_TRUE(cfg_of(e).link_up);
  EXPECT_TRUE(cfg_of(primary).link_up);
  call("DetachNetworkInterface", {{"AttachmentId", a}});
  EXPECT_FALSE(cfg_of(e).link_up);
  EXPECT_TRUE(cfg_of(primary).link_up);
  // A running instance's interfaces are up in the region the driver reads.
  EXPECT_EQ(vf_of(primary).region->regs()->link_status, VENIC_LINK_UP);
  EXPECT_EQ(vf_of(e).region->regs()->link_status, VENIC_LINK_DOWN);
}

TEST_F(Ec2ServiceTest, OnlyTheInstanceOwnerMayAttachItsVfs) {
  std::string s = subnet(vpc());
  json in = run("m5.large", s, {{"OwnerUid", 4242}});
  json primary = in["NetworkInterfaces"][0];
  const uint16_t vf = primary["VenicVfId"];
  EXPECT_EQ(cfg_of(primary).attach_uid, 4242);
  try {
    table_->attach(vf, 7, 1234, 5555);
    ADD_FAILURE() << "uid 5555 attached uid 4242's VF";
  } catch (const vf::TableError& e) {
    EXPECT_EQ(e.code, "permission_denied");
    EXPECT_NE(std::string(e.what()).find("5555"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(primary["NetworkInterfaceId"].get<std::string>()), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(table_->get(vf).attached());
  EXPECT_GE(table_->attach(vf, 7, 1234, 4242), 0);
  EXPECT_TRUE(table_->get(vf).attached());

  // A detached ENI is root's only; attached, its instance owner's.
  json e = eni(s);
  EXPECT_EQ(cfg_of(e).attach_uid, 0);
  EXPECT_THROW(table_->attach(e["VenicVfId"], 8, 1235, 4242), vf::TableError);
  std::string a = attach(e["NetworkInterfaceId"], in["InstanceId"], 1);
  EXPECT_EQ(cfg_of(e).attach_uid, 4242);
  call("DetachNetworkInterface", {{"AttachmentId", a}});
  EXPECT_EQ(cfg_of(e).attach_uid, 0);
  // An instance without an owner: root only.
  json rooted = run("m5.large", s);
  EXPECT_EQ(cfg_of(rooted["NetworkInterfaces"][0]).attach_uid, 0);
  EXPECT_THROW(table_->attach(rooted["NetworkInterfaces"][0]["VenicVfId"], 9, 1236, 4242), vf::TableError);
  EXPECT_GE(table_->attach(rooted["NetworkInterfaces"][0]["VenicVfId"], 9, 1236, 0), 0);
}

TEST_F(Ec2ServiceTest, DetachEvictsTheDriver) {
  std::string s = subnet(vpc());
  json in = run("m5.large", s, {{"OwnerUid", 4242}});
  json e = eni(s);
  std::string a = attach(e["NetworkInterfaceId"], in["InstanceId"], 1);
  const uint16_t vf = e["VenicVfId"];
  const int fd = table_->attach(vf, 7, 1234, 4242);
  ASSERT_GE(fd, 0);
  const uint64_t size = table_->get(vf).region->size();
  // The driver's mapping of its region outlives the daemon's.
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(map, MAP_FAILED);
  const uint8_t* old_base = table_->get(vf).region->base();
  const auto* regs = static_cast<const venic_regs*>(map);
  ASSERT_EQ(regs->link_status, VENIC_LINK_UP);
  const auto* ring = reinterpret_cast<const venic_ring*>(static_cast<const uint8_t*>(map) + regs->event_off);
  const uint32_t events_before = ring->prod;

  call("DetachNetworkInterface", {{"AttachmentId", a}});
  EXPECT_FALSE(table_->get(vf).attached());
  EXPECT_EQ(table_->attached_vf(7), std::nullopt);
  EXPECT_NE(table_->get(vf).region->base(), old_base) << "the VF has a fresh region";
  // The old driver is told: link down (on its register page too), then removal.
  EXPECT_EQ(regs->link_status, VENIC_LINK_DOWN);
  const auto* ev =
      reinterpret_cast<const venic_event*>(static_cast<const uint8_t*>(map) + regs->event_off + VENIC_RING_HDR_SIZE);
  std::vector<std::pair<uint16_t, uint32_t>> events;
  for (uint32_t n = events_before; n < ring->prod; n++)
    events.emplace_back(ev[n % regs->event_ring_size].type, ev[n % regs->event_ring_size].data);
  EXPECT_EQ(events, (std::vector<std::pair<uint16_t, uint32_t>>{{VENIC_EVENT_LINK_CHANGE, VENIC_LINK_DOWN},
                                                                {VENIC_EVENT_REMOVAL, 0}}));
  ::munmap(map, size);
  // The new region has told nobody anything, and its link is down.
  const vf::VfRegion& fresh = *table_->get(vf).region;
  EXPECT_EQ(fresh.ring(fresh.layout().event_off)->prod, 0u);
  EXPECT_EQ(fresh.regs()->link_status, VENIC_LINK_DOWN);
  // Detached, the VF is root's: the old owner cannot take it back.
  EXPECT_THROW(table_->attach(vf, 8, 1234, 4242), vf::TableError);
}

TEST_F(Ec2ServiceTest, AttachingToAnotherInstanceKeepsTheVf) {
  std::string s = subnet(vpc());
  json ia = run("m5.large", s, {{"OwnerUid", 1001}}), ib = run("c5.large", s, {{"OwnerUid", 1002}});
  json e = eni(s, {{"SecondaryPrivateIpAddressCount", 1}});
  const vf::VfConfig before = cfg_of(e);
  std::string a = attach(e["NetworkInterfaceId"], ia["InstanceId"], 1);
  call("DetachNetworkInterface", {{"AttachmentId", a}});
  attach(e["NetworkInterfaceId"], ib["InstanceId"], 1);
  const vf::VfConfig& after = cfg_of(e);
  EXPECT_EQ(after.id, before.id);
  EXPECT_EQ(after.mac, before.mac);
  EXPECT_EQ(after.ip, before.ip);
  EXPECT_EQ(after.secondary_ips, before.secondary_ips);
  EXPECT_EQ(after.attach_uid, 1002);
  EXPECT_TRUE(after.link_up);
}

TEST_F(Ec2ServiceTest, DeleteNetworkInterfaceRemovesTheVf) {
  std::string s = subnet(vpc());
  json in = run("m5.large", s);
  json e = eni(s);
  const uint16_t vf = e["VenicVfId"];
  std::string a = attach(e["NetworkInterfaceId"], in["InstanceId"], 1);
  EXPECT_TRUE(throws_ec2(
      [&] {
        call("DeleteNetworkInterface", {{"NetworkInterfaceId", e["NetworkInterfaceId"]}});
      },
      "InvalidNetworkInterface.InUse", {e["NetworkInterfaceId"]}));
  EXPECT_TRUE(table_->all().count(vf)) << "a refused delete keeps the VF";
  call("DetachNetworkInterface", {{"AttachmentId", a}});
  call("DeleteNetworkInterface", {{"NetworkInterfaceId", e["NetworkInterfaceId"]}});
  EXPECT_FALSE(table_->all().count(vf));
  EXPECT_FALSE(saved_ids().count(vf));
  EXPECT_EQ(table_->all().size(), 1u) << "the primary's VF stays";
}

TEST_F(Ec2ServiceTest, AFailedActionLeavesNoVfBehind) {
  std::string v = vpc();
  std::string small = subnet(v, "10.0.2.0/28");
  json keep = eni(small);
  const std::set<uint16_t> before = vf_ids();
  const json model_before = svc_->model().to_json();
  // Ten more fit, the eleventh does not.
  EXPECT_TRUE(throws_ec2(
      [&] {
        call("RunInstances", {{"InstanceType", "t3.micro"}, {"SubnetId", small}, {"MaxCount", 11}});
      },
      "InsufficientFreeAddressesInSubnet", {small}));
  EXPECT_EQ(vf_ids(), before);
  EXPECT_EQ(saved_ids(), before);
  EXPECT_EQ(svc_->model().to_json(), model_before);
  EXPECT_TRUE(throws_ec2(
      [&] {
        call("RunInstances", {{"InstanceType", "t3.micro"}, {"SubnetId", "subnet-0000000000000dead"}});
      },
      "InvalidSubnetID.NotFound", {"subnet-0000000000000dead"}));
  EXPECT_EQ(vf_ids(), before);
  // The ten fit afterwards, with VFs.
  EXPECT_EQ(
      call("RunInstances", {{"InstanceType", "t3.micro"}, {"SubnetId", small}, {"MaxCount", 10}})["Instances"].size(),
      10u);
  EXPECT_EQ(table_->all().size(), 11u);
}

TEST_F(Ec2ServiceTest, ARestartRestoresTheModelAndItsVfs) {
  std::string v = vpc();
  std::string s = subnet(v);
  call("CreatePlacementGroup", {{"GroupName", "tight"}, {"Strategy", "cluster"}});
  json in = run("m5.large", s, {{"OwnerUid", 4242}, {"Placement", {{"GroupName", "tight"}}}});
  json stopped = run("c5.large", s);
  call("StopInstances", {{"InstanceIds", {stopped["InstanceId"]}}});
  json e = eni(s, {{"SecondaryPrivateIpAddressCount", 2}});
  attach(e["NetworkInterfaceId"], in["InstanceId"], 1);
  call("ModifyNetworkInterfaceAttribute",
       {{"NetworkInterfaceId", e["NetworkInterfaceId"]}, {"SourceDestCheck", false}});
  json loose = eni(s);

  // A second daemon on the same state file, in venicd's order.
  state::StateStore store2(path());
  json saved_ec2;
  std::vector<vf::VfConfig> vfs = store2.load(&saved_ec2);
  ASSERT_TRUE(saved_ec2.is_object()) << "the state file has the model";
  CountingPublisher pub2;
  vf::VfTable table2(pub2, &store2);
  table2.restore(vfs);
  Ec2Service svc2(table2, &store2, counter(100000));
  svc2.restore(saved_ec2);

  EXPECT_EQ(svc2.model().to_json(), svc_->model().to_json());
  for (const char* d : {"DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups", "DescribePlacementGroups",
                        "DescribeInstances", "DescribeNetworkInterfaces"})
    EXPECT_EQ(svc2.call(d, json::object()), call(d, json::object())) << d;
  ASSERT_EQ(table2.all().size(), table_->all().size());
  for (auto& [id, old] : table_->all()) {
    const vf::VfConfig& c = table2.get(id).cfg;
    EXPECT_EQ(vf::to_json(c), vf::to_json(old->cfg)) << "VF " << id;
    const Eni* en = svc2.model().eni_by_vf(id);
    ASSERT_NE(en, nullptr) << "VF " << id;
    EXPECT_EQ(c.mac, en->mac);
    EXPECT_EQ(c.ip, en->ip);
    EXPECT_EQ(c.secondary_ips, en->secondary_ips);
    EXPECT_EQ(c.eni_id, en->id);
  }
  EXPECT_FALSE(table2.get(e["VenicVfId"]).cfg.cluster_group.empty()) << "a cluster member's, after a restart too";
  EXPECT_EQ(table2.get(e["VenicVfId"]).cfg.attach_uid, 4242);
  EXPECT_FALSE(table2.get(stopped["NetworkInterfaces"][0]["VenicVfId"]).cfg.link_up);
  EXPECT_FALSE(table2.get(loose["VenicVfId"]).cfg.link_up);
  // The restored daemon goes on: a new ENI gets a new VF and a free address.
  json more = svc2.call("CreateNetworkInterface", {{"SubnetId", s}})["NetworkInterface"];
  EXPECT_FALSE(table_->all().count(more["VenicVfId"].get<uint16_t>()));
  EXPECT_EQ(more["PrivateIpAddress"], "10.0.1.10");
}

TEST_F(Ec2ServiceTest, RestoreRemovesOrphanVfs) {
  std::string s = subnet(vpc());
  json e = eni(s);
  // A VF that names an ENI the saved model does not have (a crash between
  // the VF's creation and the model's save), and a plain VF.
  vf::VfConfig orphan;
  orphan.mac = {0x02, 0, 0, 0, 0, 0x77};
  orphan.ip = *vf::parse_ipv4("10.0.1.77");
  orphan.eni_id = "eni-000000000000000aa";
  const uint16_t orphan_id = table_->create(orphan, false).cfg.id;
  vf::VfConfig plain;
  plain.mac = {0x02, 0, 0, 0, 0, 0x78};
  plain.ip = *vf::parse_ipv4("192.168.0.5");
  const uint16_t plain_id = table_->create(plain, false).cfg.id;

  state::StateStore store2(path());
  json saved_ec2;
  std::vector<vf::VfConfig> vfs = store2.load(&saved_ec2);
  ASSERT_EQ(vfs.size(), 3u);
  CountingPublisher pub2;
  vf::VfTable table2(pub2, &store2);
  table2.restore(vfs);
  Ec2Service svc2(table2, &store2, counter(100000));
  svc2.restore(saved_ec2);
  EXPECT_FALSE(table2.all().count(orphan_id)) << "the orphan is gone";
  EXPECT_TRUE(table2.all().count(plain_id)) << "a VF that backs no ENI is not the model's";
  EXPECT_TRUE(table2.all().count(e["VenicVfId"].get<uint16_t>()));
  std::set<uint16_t> on_disk;
  for (const auto& c : store2.load()) on_disk.insert(c.id);
  EXPECT_EQ(on_disk, (std::set<uint16_t>{e["VenicVfId"].get<uint16_t>(), plain_id}));
}

TEST_F(Ec2ServiceTest, RestoreRecreatesAMissingVf) {
  std::string s = subnet(vpc());
  json e = eni(s, {{"SecondaryPrivateIpAddressCount", 1}});
  state::StateStore store2(path());
  json saved_ec2;
  store2.load(&saved_ec2);
  CountingPublisher pub2;
  vf::VfTable table2(pub2, &store2);
  table2.restore({});  // the VFs were lost, the model was not
  Ec2Service svc2(table2, &store2, counter(100000));
  svc2.restore(saved_ec2);
  const vf::VfConfig& c = table2.get(e["VenicVfId"]).cfg;
  EXPECT_EQ(vf::format_mac(c.mac), e["MacAddress"]);
  EXPECT_EQ(vf::format_ipv4(c.ip), e["PrivateIpAddress"]);
  EXPECT_EQ(c.secondary_ips.size(), 1u);
}

// ---- the ec2.* control methods ----------------------------------------------------

class Ec2ControlTest : public Ec2ServiceTest {
 protected:
  void SetUp() override {
    Ec2ServiceTest::SetUp();
    control::DaemonInfo info;
    info.version = "test";
    info.workers = 1;
    methods_ = std::make_unique<control::ControlMethods>(*table_, info, svc_.get());
  }
  void TearDown() override {
    methods_.reset();
    Ec2ServiceTest::TearDown();
  }
  json request(const std::string& method, const json& params) { return request_as(0, method, params); }
  // The request from a connection of uid (its own session); fds_out_ holds
  // what came back with the reply.
  json request_as(int64_t uid, const std::string& method, const json& params) {
    std::vector<UniqueFd> in;
    fds_out_.clear();
    const uint64_t session = uid == 0 ? 1 : static_cast<uint64_t>(uid);
    std::string reply = methods_->handle(json{{"id", 5}, {"method", method}, {"params", params}}.dump(),
                                         control::Session{session, 1000, static_cast<uid_t>(uid)}, in, fds_out_);
    json j = json::parse(reply, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << reply;
    return j;
  }
  // The result of a request that must succeed.
  json ok_as(int64_t uid, const std::string& method, const json& params) {
    json r = request_as(uid, method, params);
    EXPECT_TRUE(r.contains("result")) << method << " " << params.dump() << " -> " << r.dump();
    return r.contains("result") ? r["result"] : json();
  }
  std::vector<int> fds_out_;
  std::unique_ptr<control::ControlMethods> methods_;
};

TEST_F(Ec2ControlTest, Ec2ErrorsCarryTheAwsCode) {
  json r =
      request("ec2.CreateSubnet",
              {{"VpcId", "vpc-0123456789abcdef0"}, {"CidrBlock", "10.0.1.0/24"}, {"AvailabilityZone", "us-east-1a"}});
  ASSERT_TRUE(r.contains("error")) << r.dump();
  EXPECT_FALSE(r.contains("result"));
  EXPECT_EQ(r["id"], 5);
  EXPECT_EQ(r["error"]["code"], "not_found");
  EXPECT_EQ(r["error"]["aws_code"], "InvalidVpcID.NotFound");
  EXPECT_NE(r["error"]["message"].get<std::string>().find("vpc-0123456789abcdef0"), std::string::npos) << r.dump();

  r = request("ec2.CreateVpc", {{"CidrBlock", "10.0.0.0/8"}});
  EXPECT_EQ(r["error"]["code"], "invalid_params");
  EXPECT_EQ(r["error"]["aws_code"], "InvalidVpc.Range");
  r = request("ec2.FlyAway", json::object());
  EXPECT_EQ(r["error"]["code"], "unknown_method");
  EXPECT_EQ(r["error"]["aws_code"], "InvalidAction");

  r = request("ec2.CreateVpc", {{"CidrBlock", "10.0.0.0/16"}});
  ASSERT_TRUE(r.contains("result")) << r.dump();
  EXPECT_TRUE(has_id_shape(r["result"]["Vpc"]["VpcId"], "vpc"));
  // Errors of the VF methods carry no aws_code.
  r = request("vf.show", {{"vf", 200}});
  EXPECT_EQ(r["error"]["code"], "not_found");
  EXPECT_FALSE(r["error"].contains("aws_code"));
}

TEST_F(Ec2ControlTest, VfSetAndDeleteRefuseAnEnisVf) {
  std::string s = subnet(vpc());
  json e = eni(s);
  const uint16_t vf = e["VenicVfId"];
  const std::string id = e["NetworkInterfaceId"];
  const json cfg_before = vf::to_json(table_->get(vf).cfg);
  json r = request("vf.set", {{"vf", vf}, {"mtu", 1500}});
  ASSERT_TRUE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["error"]["code"], "busy");
  EXPECT_NE(r["error"]["message"].get<std::string>().find(id), std::string::npos) << r.dump();
  r = request("vf.set", {{"vf", vf}, {"src_dst_check", false}});
  EXPECT_EQ(r["error"]["code"], "busy");
  r = request("vf.delete", {{"vf", vf}});
  ASSERT_TRUE(r.contains("error")) << r.dump();
  EXPECT_EQ(r["error"]["code"], "busy");
  EXPECT_NE(r["error"]["message"].get<std::string>().find(id), std::string::npos) << r.dump();
  EXPECT_EQ(vf::to_json(table_->get(vf).cfg), cfg_before);
  // vf.show and vf.list still show it, with its ENI.
  r = request("vf.show", {{"vf", vf}});
  ASSERT_TRUE(r.contains("result")) << r.dump();
  EXPECT_EQ(r["result"]["eni_id"], id);
  // A plain VF is still the operator's.
  r = request("vf.create", {{"type", "ena"}, {"mac", "02:00:00:00:01:01"}, {"ip", "192.168.9.9"}});
  ASSERT_TRUE(r.contains("result")) << r.dump();
  const uint16_t plain = r["result"]["id"];
  EXPECT_TRUE(request("vf.set", {{"vf", plain}, {"mtu", 1500}}).contains("result"));
  EXPECT_TRUE(request("vf.delete", {{"vf", plain}}).contains("result"));
}

// Issue 15's attack, each step through the control methods as the tenants'
// connections send it: uid B owns instance A, uid C owns another.
::testing::AssertionResult unauthorized_reply(const json& r) {
  if (!r.contains("error")) return ::testing::AssertionFailure() << "accepted: " << r.dump();
  if (r["error"].value("aws_code", "") != "UnauthorizedOperation" || r["error"]["code"] != "permission_denied")
    return ::testing::AssertionFailure() << "not UnauthorizedOperation: " << r.dump();
  return ::testing::AssertionSuccess();
}

TEST_F(Ec2ControlTest, ATenantCannotTakeOverAnothersResources) {
  constexpr int64_t b = 1001, c = 1002;
  auto setup = [&](int64_t uid, const std::string& cidr) {
    std::string v = ok_as(uid, "ec2.CreateVpc", {{"CidrBlock", cidr + ".0.0/16"}})["Vpc"]["VpcId"];
    std::string sn = ok_as(
        uid, "ec2.CreateSubnet",
        {{"VpcId", v}, {"CidrBlock", cidr + ".1.0/24"}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"];
    std::string g =
        ok_as(uid, "ec2.CreateSecurityGroup", {{"GroupName", "g"}, {"Description", "g"}, {"VpcId", v}})["GroupId"];
    json in = ok_as(uid, "ec2.RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", sn}})["Instances"][0];
    return std::make_tuple(sn, g, in);
  };
  auto [b_subnet, b_group, a] = setup(b, "10.1");
  auto [c_subnet, c_group, ci] = setup(c, "10.2");
  json c_eni = ok_as(c, "ec2.CreateNetworkInterface", {{"SubnetId", c_subnet}})["NetworkInterface"];
  const std::string att = ok_as(c, "ec2.AttachNetworkInterface",
                                {{"NetworkInterfaceId", c_eni["NetworkInterfaceId"]},
                                 {"InstanceId", ci["InstanceId"]},
                                 {"DeviceIndex", 1}})["AttachmentId"];
  const json c_primary = ci["NetworkInterfaces"][0];

  // B detaches C's ENI, attaches it to A, and vf.attaches it.
  EXPECT_TRUE(unauthorized_reply(request_as(b, "ec2.DetachNetworkInterface", {{"AttachmentId", att}})));
  ok_as(c, "ec2.DetachNetworkInterface", {{"AttachmentId", att}});
  const json model_before = svc_->model().to_json();
  EXPECT_TRUE(unauthorized_reply(request_as(
      b, "ec2.AttachNetworkInterface",
      {{"NetworkInterfaceId", c_eni["NetworkInterfaceId"]}, {"InstanceId", a["InstanceId"]}, {"DeviceIndex", 1}})));
  EXPECT_TRUE(unauthorized_reply(request_as(b, "vf.attach", {{"vf", c_eni["VenicVfId"]}})));
  EXPECT_TRUE(unauthorized_reply(request_as(b, "vf.attach", {{"vf", c_primary["VenicVfId"]}})));
  EXPECT_TRUE(fds_out_.empty()) << "a refused attach hands over no region";
  // B opens C's group, turns off the check on C's primary, stops C's instance.
  EXPECT_TRUE(unauthorized_reply(
      request_as(b, "ec2.AuthorizeSecurityGroupIngress",
                 {{"GroupId", c_group}, {"IpPermissions", json::array({tcp(0, 65535, "0.0.0.0/0")})}})));
  EXPECT_TRUE(unauthorized_reply(
      request_as(b, "ec2.ModifyNetworkInterfaceAttribute",
                 {{"NetworkInterfaceId", c_primary["NetworkInterfaceId"]}, {"SourceDestCheck", {{"Value", false}}}})));
  EXPECT_TRUE(unauthorized_reply(request_as(b, "ec2.StopInstances", {{"InstanceIds", {ci["InstanceId"]}}})));
  // B runs an instance for root.
  EXPECT_TRUE(unauthorized_reply(
      request_as(b, "ec2.RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", b_subnet}, {"OwnerUid", 0}})));

  json after = svc_->model().to_json();
  for (auto& e : after["enis"])
    if (e["id"] == c_eni["NetworkInterfaceId"]) {
      EXPECT_EQ(e["instance"], "") << "detached by C, attached by nobody";
    }
  EXPECT_EQ(after["security_groups"], model_before["security_groups"]);
  EXPECT_EQ(after["instances"], model_before["instances"]);
  EXPECT_TRUE(table_->get(c_primary["VenicVfId"]).cfg.src_dst_check);
  EXPECT_FALSE(table_->get(c_eni["VenicVfId"]).attached());

  // Their own: B and C attach their own VFs; C's ENI VF is C's.
  EXPECT_EQ(table_->get(c_eni["VenicVfId"]).cfg.owner_uid, c);
  EXPECT_TRUE(request_as(b, "vf.attach", {{"vf", a["NetworkInterfaces"][0]["VenicVfId"]}}).contains("result"));
  EXPECT_EQ(fds_out_.size(), 1u);
  EXPECT_TRUE(ok_as(b, "ec2.StopInstances", {{"InstanceIds", {a["InstanceId"]}}}).contains("StoppingInstances"));
  // vf.list shows B its own VFs only.
  const json listed = ok_as(b, "vf.list", json::object())["vfs"];
  EXPECT_EQ(listed.size(), 1u);
  for (const auto& v : listed) EXPECT_EQ(v["owner_id"], "000000001001");
}

TEST_F(Ec2ControlTest, ClientTokenMakesARetryAnswerTheFirstResult) {
  std::string s = subnet(vpc());
  const json p = {{"SubnetId", s}, {"Description", "web"}, {"ClientToken", "tok-1"}};
  json first = ok_as(0, "ec2.CreateNetworkInterface", p);
  const size_t vfs = table_->all().size();
  EXPECT_EQ(ok_as(0, "ec2.CreateNetworkInterface", p), first) << "the same token: the first ENI, no second";
  EXPECT_EQ(table_->all().size(), vfs);
  EXPECT_EQ(svc_->model().enis().size(), 1u);
  // The same token with other parameters is refused.
  json r =
      request_as(0, "ec2.CreateNetworkInterface", {{"SubnetId", s}, {"Description", "db"}, {"ClientToken", "tok-1"}});
  EXPECT_EQ(r["error"].value("aws_code", ""), "IdempotentParameterMismatch") << r.dump();
  r = request_as(0, "ec2.RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", s}, {"ClientToken", "tok-1"}});
  EXPECT_EQ(r["error"].value("aws_code", ""), "IdempotentParameterMismatch") << r.dump();
  EXPECT_EQ(svc_->model().enis().size(), 1u);
  // Another token, or another owner's same token, acts anew.
  json second =
      ok_as(0, "ec2.CreateNetworkInterface", {{"SubnetId", s}, {"Description", "web"}, {"ClientToken", "tok-2"}});
  EXPECT_NE(second["NetworkInterface"]["NetworkInterfaceId"], first["NetworkInterface"]["NetworkInterfaceId"]);
  std::string v1001 =
      ok_as(1001, "ec2.CreateVpc", {{"CidrBlock", "10.9.0.0/16"}, {"ClientToken", "tok-1"}})["Vpc"]["VpcId"];
  EXPECT_EQ(ok_as(1001, "ec2.CreateVpc", {{"CidrBlock", "10.9.0.0/16"}, {"ClientToken", "tok-1"}})["Vpc"]["VpcId"],
            v1001);
  // Without a token every call acts; a bad token is refused.
  EXPECT_NE(ok_as(0, "ec2.CreateVpc", {{"CidrBlock", "10.0.0.0/16"}})["Vpc"]["VpcId"],
            ok_as(0, "ec2.CreateVpc", {{"CidrBlock", "10.0.0.0/16"}})["Vpc"]["VpcId"]);
  r = request_as(0, "ec2.CreateVpc", {{"CidrBlock", "10.0.0.0/16"}, {"ClientToken", std::string(65, 'x')}});
  EXPECT_EQ(r["error"].value("aws_code", ""), "InvalidParameterValue") << r.dump();
  // RunInstances and AttachNetworkInterface too: one instance, one attachment.
  const json run_p = {{"InstanceType", "m5.large"}, {"SubnetId", s}, {"ClientToken", "run-1"}};
  json in = ok_as(0, "ec2.RunInstances", run_p);
  EXPECT_EQ(ok_as(0, "ec2.RunInstances", run_p), in);
  EXPECT_EQ(ok_as(0, "ec2.DescribeInstances", json::object())["Reservations"].size(), 1u);
  const json attach_p = {{"NetworkInterfaceId", first["NetworkInterface"]["NetworkInterfaceId"]},
                         {"InstanceId", in["Instances"][0]["InstanceId"]},
                         {"DeviceIndex", 1},
                         {"ClientToken", "attach-1"}};
  const json attached = ok_as(0, "ec2.AttachNetworkInterface", attach_p);
  EXPECT_EQ(ok_as(0, "ec2.AttachNetworkInterface", attach_p), attached) << "not InvalidNetworkInterface.InUse";
  // A failed call does not spend its token.
  r = request_as(0, "ec2.CreateVpc", {{"CidrBlock", "10.0.0.0/8"}, {"ClientToken", "tok-3"}});
  EXPECT_EQ(r["error"].value("aws_code", ""), "InvalidVpc.Range");
  EXPECT_TRUE(
      request_as(0, "ec2.CreateVpc", {{"CidrBlock", "10.0.0.0/16"}, {"ClientToken", "tok-3"}}).contains("result"));
}

TEST(ClientTokens, KeepTheMostRecentPerOwner) {
  ClientTokens t;
  const json p = {{"CidrBlock", "10.0.0.0/16"}};
  for (size_t i = 0; i < ClientTokens::kPerOwner + 1; i++)
    t.remember(7, "t" + std::to_string(i), "CreateVpc", p, json{{"n", i}});
  EXPECT_EQ(t.replay(7, "t0", "CreateVpc", p), std::nullopt) << "the oldest is forgotten";
  EXPECT_EQ(t.replay(7, "t1", "CreateVpc", p), json({{"n", 1}}));
  EXPECT_EQ(t.replay(8, "t1", "CreateVpc", p), std::nullopt) << "tokens are per owner";
  EXPECT_THROW(t.replay(7, "t1", "CreateSubnet", p), Ec2Error);
  EXPECT_TRUE(ClientTokens::idempotent("RunInstances"));
  EXPECT_FALSE(ClientTokens::idempotent("DescribeVpcs"));
}

}  // namespace
}  // namespace venic::model

// ---- the lifecycle's end: terminate, delete, revoke, unassign ------------------

namespace venic::model {
namespace {

TEST_F(Ec2ModelTest, TerminateDeletesThePrimaryAndDetachesTheOthers) {
  const std::string s = subnet(vpc());
  const json in = run("m5.large", s);
  const std::string i = in["InstanceId"], primary = in["NetworkInterfaces"][0]["NetworkInterfaceId"];
  EXPECT_EQ(in["NetworkInterfaces"][0]["Attachment"]["DeleteOnTermination"], true);
  const std::string extra = eni(s)["NetworkInterfaceId"];
  attach(extra, i, 1);
  const json r = call("TerminateInstances", {{"InstanceIds", {i}}});
  EXPECT_EQ(r, json({{"TerminatingInstances",
                      {{{"InstanceId", i},
                        {"PreviousState", {{"Code", 16}, {"Name", "running"}}},
                        {"CurrentState", {{"Code", 48}, {"Name", "terminated"}}}}}}}));
  EXPECT_TRUE(refused("DescribeNetworkInterfaces", {{"NetworkInterfaceIds", {primary}}},
                      "InvalidNetworkInterfaceID.NotFound", {primary}));
  const json x = describe_eni(extra);
  EXPECT_EQ(x["Status"], "available");
  EXPECT_FALSE(x.contains("Attachment"));
  // Listed as terminated, holding nothing, for an hour; then unknown.
  const json t = describe_instance(i);
  EXPECT_EQ(t["State"]["Name"], "terminated");
  EXPECT_EQ(t["NetworkInterfaces"], json::array());
  EXPECT_FALSE(t.contains("PrivateIpAddress"));
  EXPECT_TRUE(refused("StopInstances", {{"InstanceIds", {i}}}, "IncorrectInstanceState", {i}));
  EXPECT_TRUE(refused("AttachNetworkInterface", {{"NetworkInterfaceId", extra}, {"InstanceId", i}, {"DeviceIndex", 1}},
                      "IncorrectInstanceState", {i}));
  EXPECT_EQ(call("TerminateInstances", {{"InstanceIds", {i}}})["TerminatingInstances"][0]["PreviousState"]["Name"],
            "terminated")
      << "a repeat answers the state it is in";
  now_ += Ec2Model::kTerminatedListedSeconds;
  call("DescribeVpcs", json::object());  // any call forgets what was listed long enough
  EXPECT_TRUE(refused("DescribeInstances", {{"InstanceIds", {i}}}, "InvalidInstanceID.NotFound", {i}));
  EXPECT_TRUE(refused("TerminateInstances", {{"InstanceIds", {i}}}, "InvalidInstanceID.NotFound", {i}));
  EXPECT_TRUE(refused("TerminateInstances", json::object(), "MissingParameter", {"InstanceIds"}));
}

TEST_F(Ec2ModelTest, DeleteOnTerminationCanBeChanged) {
  const std::string s = subnet(vpc());
  const json in = run("m5.large", s);
  const std::string i = in["InstanceId"], primary = in["NetworkInterfaces"][0]["NetworkInterfaceId"];
  const std::string keep_primary = in["NetworkInterfaces"][0]["Attachment"]["AttachmentId"];
  const std::string extra = eni(s)["NetworkInterfaceId"];
  const std::string a = attach(extra, i, 1);
  auto set = [&](const std::string& eni_id, const std::string& att, bool del) {
    return json{{"NetworkInterfaceId", eni_id}, {"Attachment", {{"AttachmentId", att}, {"DeleteOnTermination", del}}}};
  };
  call("ModifyNetworkInterfaceAttribute", set(extra, a, true));
  call("ModifyNetworkInterfaceAttribute", set(primary, keep_primary, false));
  EXPECT_EQ(describe_eni(extra)["Attachment"]["DeleteOnTermination"], true);
  EXPECT_TRUE(refused("ModifyNetworkInterfaceAttribute", set(extra, keep_primary, false),
                      "InvalidAttachmentID.NotFound", {keep_primary}));
  EXPECT_TRUE(
      refused("ModifyNetworkInterfaceAttribute", set(extra, "att-1", false), "InvalidParameterValue", {"att-1"}));
  call("TerminateInstances", {{"InstanceIds", {i}}});
  EXPECT_EQ(describe_eni(primary)["Status"], "available") << "kept, as asked";
  EXPECT_TRUE(refused("DescribeNetworkInterfaces", {{"NetworkInterfaceIds", {extra}}},
                      "InvalidNetworkInterfaceID.NotFound", {extra}))
      << "deleted with its instance, as asked";
}

TEST_F(Ec2ModelTest, ATerminatedInstanceSurvivesARestart) {
  const std::string i = run("m5.large", subnet(vpc()))["InstanceId"];
  call("TerminateInstances", {{"InstanceIds", {i}}});
  Ec2Model other(counter(), [this] { return now_; });
  other.load(m_.to_json());
  EXPECT_EQ(other.to_json(), m_.to_json());
}

TEST_F(Ec2ModelTest, DeleteVpcNeedsNoSubnetsNorGroups) {
  const std::string v = vpc(), s = subnet(v), g = group(v, "web"), dflt = default_group(v);
  EXPECT_TRUE(refused("DeleteVpc", {{"VpcId", v}}, "DependencyViolation", {v, s}, "busy"));
  call("DeleteSubnet", {{"SubnetId", s}});
  EXPECT_TRUE(refused("DeleteVpc", {{"VpcId", v}}, "DependencyViolation", {v, g}));
  call("DeleteSecurityGroup", {{"GroupId", g}});
  EXPECT_EQ(call("DeleteVpc", {{"VpcId", v}}), json::object());
  EXPECT_TRUE(refused("DescribeSecurityGroups", {{"GroupIds", {dflt}}}, "InvalidGroup.NotFound", {dflt}))
      << "the default group goes with its VPC";
  EXPECT_TRUE(refused("DeleteVpc", {{"VpcId", v}}, "InvalidVpcID.NotFound", {v}, "not_found"));
  EXPECT_TRUE(refused("DeleteVpc", json::object(), "MissingParameter", {"VpcId"}));
}

TEST_F(Ec2ModelTest, DeleteSubnetNeedsNoInterfaces) {
  const std::string s = subnet(vpc());
  const std::string e = eni(s)["NetworkInterfaceId"];
  EXPECT_TRUE(refused("DeleteSubnet", {{"SubnetId", s}}, "DependencyViolation", {s, e}));
  call("DeleteNetworkInterface", {{"NetworkInterfaceId", e}});
  const std::string i = run("t3.micro", s)["InstanceId"];
  EXPECT_TRUE(refused("DeleteSubnet", {{"SubnetId", s}}, "DependencyViolation", {s}));
  call("TerminateInstances", {{"InstanceIds", {i}}});
  EXPECT_EQ(call("DeleteSubnet", {{"SubnetId", s}}), json::object()) << "a terminated instance holds nothing";
  EXPECT_EQ(describe_instance(i)["State"]["Name"], "terminated") << "and is still listed without its subnet";
  EXPECT_TRUE(refused("DeleteSubnet", {{"SubnetId", s}}, "InvalidSubnetID.NotFound", {s}));
}

// All traffic to or from a block, as one IpPermissions entry.
json all_to(const std::string& cidr) {
  return {{"IpProtocol", "-1"}, {"IpRanges", json::array({{{"CidrIp", cidr}}})}};
}

// All traffic from group g's members, as one IpPermissions entry.
json all_from(const std::string& g) {
  return {{"IpProtocol", "-1"}, {"UserIdGroupPairs", json::array({{{"GroupId", g}}})}};
}

TEST_F(Ec2ModelTest, DeleteSecurityGroupRefusesTheDefaultAndAGroupInUse) {
  const std::string v = vpc(), s = subnet(v), web = group(v, "web"), db = group(v, "db");
  EXPECT_TRUE(refused("DeleteSecurityGroup", {{"GroupId", default_group(v)}}, "CannotDelete", {default_group(v)}));
  // Referenced by another group's rule; its own self-reference does not count.
  call("AuthorizeSecurityGroupIngress", {{"GroupId", db}, {"IpPermissions", json::array({all_from(web)})}});
  call("AuthorizeSecurityGroupIngress", {{"GroupId", web}, {"IpPermissions", json::array({all_from(web)})}});
  EXPECT_TRUE(refused("DeleteSecurityGroup", {{"GroupId", web}}, "DependencyViolation", {web, db}));
  call("RevokeSecurityGroupIngress", {{"GroupId", db}, {"IpPermissions", json::array({all_from(web)})}});
  const std::string e = eni(s, {{"Groups", {web}}})["NetworkInterfaceId"];
  EXPECT_TRUE(refused("DeleteSecurityGroup", {{"GroupId", web}}, "DependencyViolation", {web, e}));
  call("DeleteNetworkInterface", {{"NetworkInterfaceId", e}});
  EXPECT_EQ(call("DeleteSecurityGroup", {{"GroupId", web}}), json::object());
  EXPECT_TRUE(refused("DeleteSecurityGroup", {{"GroupId", web}}, "InvalidGroup.NotFound", {web}));
  // By name: one group of that name, or say which.
  EXPECT_TRUE(refused("DeleteSecurityGroup", {{"GroupName", "default"}}, "CannotDelete", {default_group(v)}));
  const std::string other = vpc("10.5.0.0/16");
  group(other, "db");
  EXPECT_TRUE(refused("DeleteSecurityGroup", {{"GroupName", "db"}}, "InvalidParameterCombination", {"db"}));
  EXPECT_TRUE(refused("DeleteSecurityGroup", {{"GroupName", "nope"}}, "InvalidGroup.NotFound", {"nope"}));
  EXPECT_TRUE(refused("DeleteSecurityGroup", {{"GroupName", "db"}, {"GroupId", db}}, "InvalidParameterCombination",
                      {"GroupName"}));
  call("DeleteSecurityGroup", {{"GroupId", db}});
  EXPECT_EQ(call("DeleteSecurityGroup", {{"GroupName", "db"}}), json::object());
}

TEST_F(Ec2ModelTest, RevokeRemovesEachPeerAndRefusesARuleThatIsNotThere) {
  const std::string v = vpc(), g = group(v, "web");
  json two = tcp(22, 22, "10.0.0.0/8");
  two["IpRanges"].push_back({{"CidrIp", "192.168.0.0/16"}});
  call("AuthorizeSecurityGroupIngress", {{"GroupId", g}, {"IpPermissions", {two, tcp(80, 80, "0.0.0.0/0")}}});
  EXPECT_TRUE(refused("RevokeSecurityGroupIngress", {{"GroupId", g}, {"IpPermissions", {tcp(23, 23, "10.0.0.0/8")}}},
                      "InvalidPermission.NotFound", {g}, "not_found"));
  EXPECT_TRUE(refused("RevokeSecurityGroupEgress", {{"GroupId", g}, {"IpPermissions", {tcp(22, 22, "10.0.0.0/8")}}},
                      "InvalidPermission.NotFound", {g}));
  // One peer of the two goes; the rule keeps the other.
  call("RevokeSecurityGroupIngress", {{"GroupId", g}, {"IpPermissions", {tcp(22, 22, "10.0.0.0/8")}}});
  json in = describe_group(g)["IpPermissions"];
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[0]["IpRanges"], json({{{"CidrIp", "192.168.0.0/16"}}}));
  call("RevokeSecurityGroupIngress",
       {{"GroupId", g}, {"IpPermissions", {tcp(22, 22, "192.168.0.0/16"), tcp(80, 80, "0.0.0.0/0")}}});
  EXPECT_EQ(describe_group(g)["IpPermissions"], json::array());
  // The egress rule a group is made with can go too.
  call("RevokeSecurityGroupEgress", {{"GroupId", g}, {"IpPermissions", json::array({all_to("0.0.0.0/0")})}});
  EXPECT_EQ(describe_group(g)["IpPermissionsEgress"], json::array());
  EXPECT_TRUE(refused("RevokeSecurityGroupIngress", {{"GroupId", g}}, "MissingParameter", {"IpPermissions"}));
}

TEST_F(Ec2ModelTest, UnassignPrivateAndIpv6Addresses) {
  const std::string v =
      call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}, {"Ipv6CidrBlock", "2600:1f18:aa:b00::/56"}})["Vpc"]["VpcId"];
  const json e = eni(subnet(v), {{"SecondaryPrivateIpAddressCount", 2}});
  const std::string id = e["NetworkInterfaceId"];
  const auto ips = ips_of(e);
  EXPECT_TRUE(refused("UnassignPrivateIpAddresses", {{"NetworkInterfaceId", id}, {"PrivateIpAddresses", {ips[0]}}},
                      "InvalidParameterValue", {"primary"}));
  EXPECT_TRUE(refused("UnassignPrivateIpAddresses",
                      {{"NetworkInterfaceId", id}, {"PrivateIpAddresses", {ips[1], "10.0.1.200"}}},
                      "InvalidParameterValue", {"10.0.1.200"}));
  EXPECT_EQ(call("UnassignPrivateIpAddresses", {{"NetworkInterfaceId", id}, {"PrivateIpAddresses", {ips[1]}}}),
            json::object());
  EXPECT_EQ(ips_of(describe_eni(id)), std::vector<std::string>({ips[0], ips[2]}));
  call("AssignIpv6Addresses", {{"NetworkInterfaceId", id}, {"Ipv6Addresses", {"2600:1f18:aa:b01::10"}}});
  EXPECT_TRUE(refused("UnassignIpv6Addresses",
                      {{"NetworkInterfaceId", id}, {"Ipv6Addresses", {"2600:1f18:aa:b01::11"}}},
                      "InvalidParameterValue", {"2600:1f18:aa:b01::11"}));
  EXPECT_EQ(call("UnassignIpv6Addresses", {{"NetworkInterfaceId", id}, {"Ipv6Addresses", {"2600:1f18:aa:b01:0::10"}}}),
            json({{"NetworkInterfaceId", id}, {"UnassignedIpv6Addresses", {"2600:1f18:aa:b01::10"}}}));
  EXPECT_EQ(describe_eni(id)["Ipv6Addresses"], json::array());
}

TEST_F(Ec2ModelTest, DeletePlacementGroupOnlyWhenNoInstanceIsInIt) {
  const std::string s = subnet(vpc());
  call("CreatePlacementGroup", {{"GroupName", "hpc"}, {"Strategy", "cluster"}});
  const std::string i = run("c5n.18xlarge", s, {{"Placement", {{"GroupName", "hpc"}}}})["InstanceId"];
  EXPECT_TRUE(refused("DeletePlacementGroup", {{"GroupName", "hpc"}}, "InvalidPlacementGroup.InUse", {"hpc", i}));
  call("TerminateInstances", {{"InstanceIds", {i}}});
  EXPECT_EQ(call("DeletePlacementGroup", {{"GroupName", "hpc"}}), json::object());
  EXPECT_TRUE(refused("DeletePlacementGroup", {{"GroupName", "hpc"}}, "InvalidPlacementGroup.Unknown", {"hpc"}));
}

TEST_F(OwnershipTest, ATenantCannotDeleteAnothersResources) {
  EXPECT_TRUE(unauthorized("TerminateInstances", {{"InstanceIds", {c_.instance}}}));
  EXPECT_TRUE(unauthorized("UnassignPrivateIpAddresses",
                           {{"NetworkInterfaceId", c_.spare}, {"PrivateIpAddresses", {"10.2.1.4"}}}));
  // What it cannot see, it cannot find.
  EXPECT_TRUE(refused("DeleteVpc", {{"VpcId", c_.vpc}}, "InvalidVpcID.NotFound", {c_.vpc}));
  EXPECT_TRUE(refused("DeleteSubnet", {{"SubnetId", c_.subnet}}, "InvalidSubnetID.NotFound", {c_.subnet}));
  EXPECT_TRUE(refused("DeleteSecurityGroup", {{"GroupId", c_.group}}, "InvalidGroup.NotFound", {c_.group}));
  EXPECT_TRUE(refused("RevokeSecurityGroupEgress",
                      {{"GroupId", c_.group}, {"IpPermissions", json::array({all_to("0.0.0.0/0")})}},
                      "InvalidGroup.NotFound", {c_.group}));
  as(kUidC);
  call("CreatePlacementGroup", {{"GroupName", "c-only"}, {"Strategy", "spread"}});
  as(kUidB);
  EXPECT_TRUE(refused("DeletePlacementGroup", {{"GroupName", "c-only"}}, "InvalidPlacementGroup.Unknown", {"c-only"}));
}

// A full network built and torn down 100 times: the model, the VF table
// and the saved state come back to where they started, every time.
TEST_F(Ec2ServiceTest, BuildingAndTearingDownANetworkLeaksNothing) {
  int64_t now = 1800000000;
  svc_ = std::make_unique<Ec2Service>(*table_, store_.get(), counter(), [&now] { return now; });
  svc_->restore(json());
  const json empty_model = svc_->model().to_json();
  for (int round = 0; round < 100; round++) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string v =
        call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}, {"Ipv6CidrBlock", "2600:1f18:aa:b00::/56"}})["Vpc"]["VpcId"];
    const std::string a = subnet(v, "10.0.1.0/24"), b = subnet(v, "10.0.2.0/24");
    const std::string g =
        call("CreateSecurityGroup", {{"GroupName", "web"}, {"Description", "w"}, {"VpcId", v}})["GroupId"];
    call("AuthorizeSecurityGroupIngress", {{"GroupId", g}, {"IpPermissions", {tcp(22, 22, "10.0.0.0/8")}}});
    call("CreatePlacementGroup", {{"GroupName", "pg"}, {"Strategy", "cluster"}});
    const json i1 = run("c5n.18xlarge", a, {{"Placement", {{"GroupName", "pg"}}}, {"SecurityGroupIds", {g}}});
    const json i2 = run("m5.large", a);
    const json e = eni(a, {{"SecondaryPrivateIpAddressCount", 2}});
    const std::string eid = e["NetworkInterfaceId"];
    call("AssignIpv6Addresses", {{"NetworkInterfaceId", eid}, {"Ipv6AddressCount", 1}});
    const std::string att = attach(eid, i1["InstanceId"], 1);
    call("DetachNetworkInterface", {{"AttachmentId", att}});
    attach(eid, i2["InstanceId"], 1);
    eni(b);
    ASSERT_EQ(table_->all().size(), 4u);
    call("TerminateInstances", {{"InstanceIds", {i1["InstanceId"], i2["InstanceId"]}}});
    ASSERT_EQ(table_->all().size(), 2u) << "the primaries' VFs go with their instances";
    EXPECT_EQ(table_->get(e["VenicVfId"].get<uint16_t>()).cfg.link_up, false) << "the detached ENI's VF is down";
    const json left = call("DescribeNetworkInterfaces", json::object());
    for (const auto& n : left["NetworkInterfaces"])
      call("DeleteNetworkInterface", {{"NetworkInterfaceId", n["NetworkInterfaceId"]}});
    call("RevokeSecurityGroupIngress", {{"GroupId", g}, {"IpPermissions", {tcp(22, 22, "10.0.0.0/8")}}});
    call("DeleteSecurityGroup", {{"GroupId", g}});
    call("DeleteSubnet", {{"SubnetId", a}});
    call("DeleteSubnet", {{"SubnetId", b}});
    call("DeletePlacementGroup", {{"GroupName", "pg"}});
    call("DeleteVpc", {{"VpcId", v}});
    EXPECT_TRUE(table_->all().empty());
    EXPECT_TRUE(saved_ids().empty());
    now += Ec2Model::kTerminatedListedSeconds;  // the terminated instances are no longer listed
    call("DescribeVpcs", json::object());
    ASSERT_EQ(svc_->model().to_json(), empty_model);
  }
}

}  // namespace
}  // namespace venic::model

// ---- validation as EC2 does it --------------------------------------------------

namespace venic::model {
namespace {

TEST_F(Ec2ModelTest, AMalformedIdIsToldApartFromAnUnknownOne) {
  const std::string v = vpc(), s = subnet(v);
  const std::string unknown = "0000000000000dead";
  struct Case {
    const char* action;
    const char* param;
    const char* prefix;
    bool list;
    const char* malformed;
    const char* not_found;
  };
  const Case cases[] = {
      {"DescribeVpcs", "VpcIds", "vpc", true, "InvalidVpcID.Malformed", "InvalidVpcID.NotFound"},
      {"DeleteVpc", "VpcId", "vpc", false, "InvalidVpcID.Malformed", "InvalidVpcID.NotFound"},
      {"DescribeSubnets", "SubnetIds", "subnet", true, "InvalidSubnetID.Malformed", "InvalidSubnetID.NotFound"},
      {"DeleteSubnet", "SubnetId", "subnet", false, "InvalidSubnetID.Malformed", "InvalidSubnetID.NotFound"},
      {"DescribeSecurityGroups", "GroupIds", "sg", true, "InvalidGroupId.Malformed", "InvalidGroup.NotFound"},
      {"DeleteSecurityGroup", "GroupId", "sg", false, "InvalidGroupId.Malformed", "InvalidGroup.NotFound"},
      {"DescribeInstances", "InstanceIds", "i", true, "InvalidInstanceID.Malformed", "InvalidInstanceID.NotFound"},
      {"TerminateInstances", "InstanceIds", "i", true, "InvalidInstanceID.Malformed", "InvalidInstanceID.NotFound"},
      {"DescribeNetworkInterfaces", "NetworkInterfaceIds", "eni", true, "InvalidNetworkInterfaceID.Malformed",
       "InvalidNetworkInterfaceID.NotFound"},
      {"DeleteNetworkInterface", "NetworkInterfaceId", "eni", false, "InvalidNetworkInterfaceID.Malformed",
       "InvalidNetworkInterfaceID.NotFound"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.action);
    for (const std::string& bad : {std::string(c.prefix) + "-nope", std::string(c.prefix) + "-DEADBEEF",
                                   std::string(c.prefix) + "-123", std::string("x-") + unknown, std::string("")}) {
      const json id = c.list ? json::array({bad}) : json(bad);
      EXPECT_TRUE(refused(c.action, {{c.param, id}}, c.malformed, {bad}, "invalid_params"));
    }
    for (const std::string& good : {std::string(c.prefix) + "-" + unknown, std::string(c.prefix) + "-0000dead"}) {
      const json id = c.list ? json::array({good}) : json(good);
      EXPECT_TRUE(refused(c.action, {{c.param, id}}, c.not_found, {good}, "not_found"));
    }
  }
  EXPECT_TRUE(refused("CreateSubnet",
                      {{"VpcId", "vpc-x"}, {"CidrBlock", "10.0.2.0/24"}, {"AvailabilityZone", "us-east-1a"}},
                      "InvalidVpcID.Malformed", {"vpc-x"}));
  EXPECT_TRUE(refused("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", s}, {"SecurityGroupIds", {"web"}}},
                      "InvalidGroupId.Malformed", {"web"}));
  EXPECT_TRUE(refused("AuthorizeSecurityGroupIngress",
                      {{"GroupId", default_group(v)},
                       {"IpPermissions", {{{"IpProtocol", "-1"}, {"UserIdGroupPairs", {{{"GroupId", "sg-zz"}}}}}}}},
                      "InvalidGroupId.Malformed", {"sg-zz"}));
  EXPECT_TRUE(refused("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", s}, {"ImageId", "linux"}},
                      "InvalidAMIID.Malformed", {"linux"}));
}

TEST_F(Ec2ModelTest, AVpcsIpv6BlockIsARealSlash56) {
  for (const char* bad : {"not-an-ipv6-block", "2600:1f18:1::/64", "2600:1f18:1::/48", "2600:1f18:1::1/56",
                          "2600:1f18:1:ff::/56", "10.0.0.0/56", "2600:1f18:1::", "2600:1f18:1::/5x"})
    EXPECT_TRUE(refused("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}, {"Ipv6CidrBlock", bad}}, "InvalidParameterValue",
                        {bad}, "invalid_params"));
  const json v =
      call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}, {"Ipv6CidrBlock", "2600:1F18:0001:5600::/56"}})["Vpc"];
  EXPECT_EQ(v["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"], "2600:1f18:1:5600::/56") << "in canonical form";
  const json a = call("CreateVpc", {{"CidrBlock", "10.1.0.0/16"}, {"AmazonProvidedIpv6CidrBlock", true}})["Vpc"];
  const std::string block = a["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"];
  EXPECT_TRUE(std::regex_match(block, std::regex("2600:1f18:[0-9a-f]+:[0-9a-f]*00::/56"))) << block;
  EXPECT_TRUE(refused(
      "CreateVpc",
      {{"CidrBlock", "10.2.0.0/16"}, {"Ipv6CidrBlock", "2600:1f18:2::/56"}, {"AmazonProvidedIpv6CidrBlock", true}},
      "InvalidParameterCombination", {"AmazonProvidedIpv6CidrBlock"}));
}

TEST_F(Ec2ModelTest, ProtocolsByNameAndNumber) {
  const std::string g = group(vpc(), "web");
  auto rule = [](const std::string& proto, json ports = json::object()) {
    json r = {{"IpProtocol", proto}, {"IpRanges", {{{"CidrIp", "10.0.0.0/8"}}}}};
    r.update(ports);
    return r;
  };
  const json ports = {{"FromPort", 22}, {"ToPort", 22}};
  call("AuthorizeSecurityGroupIngress", {{"GroupId", g}, {"IpPermissions", {rule("6", ports)}}});
  EXPECT_EQ(describe_group(g)["IpPermissions"][0]["IpProtocol"], "tcp");
  EXPECT_TRUE(refused("AuthorizeSecurityGroupIngress", {{"GroupId", g}, {"IpPermissions", {rule("TCP", ports)}}},
                      "InvalidPermission.Duplicate", {g}))
      << "6 and TCP are tcp";
  call("AuthorizeSecurityGroupIngress",
       {{"GroupId", g}, {"IpPermissions", {rule("17", {{"FromPort", 53}, {"ToPort", 53}})}}});
  call("AuthorizeSecurityGroupIngress", {{"GroupId", g}, {"IpPermissions", {rule("1"), rule("58")}}});
  call("AuthorizeSecurityGroupIngress", {{"GroupId", g}, {"IpPermissions", {rule("all")}}});
  std::vector<std::string> protos;
  const json rules = describe_group(g)["IpPermissions"];
  for (const auto& r : rules) protos.push_back(r["IpProtocol"]);
  EXPECT_EQ(protos, std::vector<std::string>({"tcp", "udp", "icmp", "icmpv6", "-1"}));
  for (const char* bad : {"gre", "47", "256", "", "tcp "})
    EXPECT_TRUE(refused("AuthorizeSecurityGroupIngress", {{"GroupId", g}, {"IpPermissions", {rule(bad, ports)}}},
                        "InvalidParameterValue", {"IP protocol"}));
  // tcp and udp need both ports, as EC2 does.
  EXPECT_TRUE(refused("AuthorizeSecurityGroupIngress", {{"GroupId", g}, {"IpPermissions", {rule("udp")}}},
                      "MissingParameter", {"FromPort"}));
}

TEST_F(Ec2ModelTest, EnumsAreCheckedWithInvalidParameterValue) {
  const std::string s = subnet(vpc());
  EXPECT_TRUE(refused("CreatePlacementGroup", {{"GroupName", "p"}, {"Strategy", "tight"}}, "InvalidParameterValue",
                      {"tight", "Strategy"}));
  EXPECT_TRUE(refused("RunInstances", {{"InstanceType", "m5.huge"}, {"SubnetId", s}}, "InvalidParameterValue",
                      {"m5.huge", "InstanceType"}));
  EXPECT_TRUE(refused("CreateNetworkInterface", {{"SubnetId", s}, {"InterfaceType", "trunk"}}, "InvalidParameterValue",
                      {"trunk"}));
  EXPECT_TRUE(refused("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", s}, {"NetworkInterfaceType", "x"}},
                      "InvalidParameterValue", {"NetworkInterfaceType"}));
}

}  // namespace
}  // namespace venic::model

// ---- network cards and EFA limits -------------------------------------------

namespace venic::model {
namespace {

TEST_F(Ec2ModelTest, P4dHasFourNetworkCardsOfFifteenInterfaces) {
  const json t = call("DescribeInstanceTypes", {{"InstanceTypes", {"p4d.24xlarge"}}})["InstanceTypes"][0];
  const json& n = t["NetworkInfo"];
  EXPECT_EQ(n["MaximumNetworkCards"], 4);
  EXPECT_EQ(n["MaximumNetworkInterfaces"], 60);
  EXPECT_EQ(n["EfaInfo"]["MaximumEfaInterfaces"], 4);
  ASSERT_EQ(n["NetworkCards"].size(), 4u);
  for (int c = 0; c < 4; c++) {
    EXPECT_EQ(n["NetworkCards"][c]["NetworkCardIndex"], c);
    EXPECT_EQ(n["NetworkCards"][c]["MaximumNetworkInterfaces"], 15);
    EXPECT_EQ(n["NetworkCards"][c]["BaselineBandwidthInGbps"], 100.0);
    EXPECT_EQ(n["NetworkCards"][c]["NetworkPerformance"], "100 Gigabit");
  }
  // Device indexes are per card; a card holds 15; there are cards 0-3.
  const std::string s = subnet(vpc(), "10.0.0.0/20");
  const std::string i = run("p4d.24xlarge", s)["InstanceId"];
  auto attach_on = [&](int card, int index) {
    const std::string e = eni(s)["NetworkInterfaceId"];
    return json{{"NetworkInterfaceId", e}, {"InstanceId", i}, {"DeviceIndex", index}, {"NetworkCardIndex", card}};
  };
  call("AttachNetworkInterface", attach_on(1, 0));
  call("AttachNetworkInterface", attach_on(1, 1));
  EXPECT_EQ(describe_eni(attach_on(2, 1)["NetworkInterfaceId"])["Status"], "available");
  json twice = attach_on(1, 1);
  EXPECT_TRUE(refused("AttachNetworkInterface", twice, "InvalidParameterValue", {"device index '1'", "card 1"}));
  EXPECT_TRUE(refused("AttachNetworkInterface", attach_on(4, 1), "InvalidParameterValue", {"NetworkCardIndex"}));
  for (int index = 2; index < 15; index++) call("AttachNetworkInterface", attach_on(1, index));
  EXPECT_TRUE(refused("AttachNetworkInterface", attach_on(1, 15), "AttachmentLimitExceeded", {"network card 1", "15"}));
  const json in = describe_instance(i);
  int on_card_1 = 0;
  for (const auto& nic : in["NetworkInterfaces"]) on_card_1 += nic["Attachment"]["NetworkCardIndex"] == 1;
  EXPECT_EQ(on_card_1, 15);
  // Survives a restart.
  Ec2Model other(counter(), [this] { return now_; });
  other.load(m_.to_json());
  EXPECT_EQ(other.to_json(), m_.to_json());
}

TEST_F(Ec2ModelTest, AnInstanceTakesAtMostItsTypesEfaInterfaces) {
  const std::string s = subnet(vpc());
  // c5n.18xlarge: one EFA, its primary here.
  const std::string i = run("c5n.18xlarge", s, {{"NetworkInterfaceType", "efa"}})["InstanceId"];
  stop(i);
  const std::string efa = eni(s, {{"InterfaceType", "efa"}})["NetworkInterfaceId"];
  EXPECT_TRUE(refused("AttachNetworkInterface", {{"NetworkInterfaceId", efa}, {"InstanceId", i}, {"DeviceIndex", 1}},
                      "AttachmentLimitExceeded", {"EFA", "1", "c5n.18xlarge"}));
  attach(eni(s)["NetworkInterfaceId"], i, 1);  // a plain ENI is fine
  // p4d.24xlarge: four, one per card.
  const std::string p = run("p4d.24xlarge", s, {{"NetworkInterfaceType", "efa"}})["InstanceId"];
  stop(p);
  for (int card = 1; card < 4; card++)
    call("AttachNetworkInterface", {{"NetworkInterfaceId", eni(s, {{"InterfaceType", "efa"}})["NetworkInterfaceId"]},
                                    {"InstanceId", p},
                                    {"DeviceIndex", 1},
                                    {"NetworkCardIndex", card}});
  EXPECT_TRUE(refused("AttachNetworkInterface",
                      {{"NetworkInterfaceId", efa}, {"InstanceId", p}, {"DeviceIndex", 2}, {"NetworkCardIndex", 3}},
                      "AttachmentLimitExceeded", {"EFA", "4"}));
}

}  // namespace
}  // namespace venic::model

// ---- Filters and pages on Describe* ----------------------------------------------

namespace venic::model {
namespace {

TEST(Ec2Filters, WildcardsAsEc2HasThem) {
  EXPECT_TRUE(wildcard_match("vpc-1", "vpc-1"));
  EXPECT_FALSE(wildcard_match("vpc-1", "vpc-12"));
  EXPECT_TRUE(wildcard_match("vpc-*", "vpc-12"));
  EXPECT_TRUE(wildcard_match("*", ""));
  EXPECT_TRUE(wildcard_match("*-east-*a", "us-east-1a"));
  EXPECT_FALSE(wildcard_match("*-east-*a", "us-east-1b"));
  EXPECT_TRUE(wildcard_match("us-east-1?", "us-east-1b"));
  EXPECT_FALSE(wildcard_match("us-east-1?", "us-east-1"));
  EXPECT_TRUE(wildcard_match("a\\*b", "a*b"));
  EXPECT_FALSE(wildcard_match("a\\*b", "axb"));
  EXPECT_TRUE(wildcard_match("a\\?", "a?"));
  EXPECT_FALSE(wildcard_match("a\\?", "ab"));
  EXPECT_TRUE(wildcard_match("**a*", "bab"));
  EXPECT_FALSE(wildcard_match("", "x"));
}

TEST_F(Ec2ModelTest, DescribeFiltersByEc2sNames) {
  const std::string v1 = vpc("10.0.0.0/16"), v2 = vpc("10.1.0.0/16");
  const std::string s1 = subnet(v1, "10.0.1.0/24", "us-east-1a"), s2 = subnet(v2, "10.1.1.0/24", "us-west-2b");
  const std::string web = group(v1, "web");
  const json i1 = run("m5.large", s1, {{"SecurityGroupIds", {web}}}), i2 = run("t3.micro", s2);
  const std::string e = eni(s1)["NetworkInterfaceId"];
  attach(e, i1["InstanceId"], 1);
  stop(i2["InstanceId"]);
  auto f = [](const std::string& name, std::vector<std::string> values) {
    return json{{"Filters", json::array({{{"Name", name}, {"Values", values}}})}};
  };
  auto ids = [&](const std::string& action, const json& params, const char* list, const char* key) {
    std::vector<std::string> out;
    const json r = call(action, params);
    if (std::string(list) == "Reservations") {
      for (const auto& res : r["Reservations"])
        for (const auto& i : res["Instances"]) out.push_back(i["InstanceId"]);
    } else {
      for (const auto& x : r[list]) out.push_back(x[key]);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids("DescribeVpcs", f("vpc-id", {v2}), "Vpcs", "VpcId"), V({v2}));
  EXPECT_EQ(ids("DescribeVpcs", f("cidr", {"10.1.*"}), "Vpcs", "VpcId"), V({v2}));
  EXPECT_EQ(ids("DescribeSubnets", f("vpc-id", {v1}), "Subnets", "SubnetId"), V({s1}));
  EXPECT_EQ(ids("DescribeSubnets", f("availability-zone", {"us-west-*"}), "Subnets", "SubnetId"), V({s2}));
  EXPECT_EQ(ids("DescribeSubnets", f("subnet-id", {s1, s2}), "Subnets", "SubnetId").size(), 2u);
  EXPECT_EQ(ids("DescribeSecurityGroups", f("group-name", {"web"}), "SecurityGroups", "GroupId"), V({web}));
  EXPECT_EQ(ids("DescribeSecurityGroups", f("group-id", {web}), "SecurityGroups", "GroupId"), V({web}));
  EXPECT_EQ(ids("DescribeSecurityGroups", f("vpc-id", {v2}), "SecurityGroups", "GroupName"), V({"default"}));
  EXPECT_EQ(ids("DescribeInstances", f("instance-state-name", {"stopped"}), "Reservations", ""), V({i2["InstanceId"]}));
  EXPECT_EQ(ids("DescribeInstances", f("instance-id", {i1["InstanceId"]}), "Reservations", ""), V({i1["InstanceId"]}));
  EXPECT_EQ(ids("DescribeInstances", f("instance.group-name", {"web"}), "Reservations", ""), V({i1["InstanceId"]}));
  EXPECT_EQ(ids("DescribeInstances", f("availability-zone", {"us-east-1a"}), "Reservations", ""),
            V({i1["InstanceId"]}));
  EXPECT_EQ(ids("DescribeInstances", f("instance-type", {"t3.*"}), "Reservations", ""), V({i2["InstanceId"]}));
  EXPECT_EQ(ids("DescribeNetworkInterfaces", f("attachment.instance-id", {i1["InstanceId"]}), "NetworkInterfaces",
                "NetworkInterfaceId")
                .size(),
            2u);
  EXPECT_EQ(
      ids("DescribeNetworkInterfaces", f("attachment.device-index", {"1"}), "NetworkInterfaces", "NetworkInterfaceId"),
      V({e}));
  EXPECT_EQ(ids("DescribeNetworkInterfaces", f("network-interface-id", {e}), "NetworkInterfaces", "NetworkInterfaceId"),
            V({e}));
  EXPECT_EQ(ids("DescribeNetworkInterfaces", f("subnet-id", {s2}), "NetworkInterfaces", "NetworkInterfaceId").size(),
            1u);
  EXPECT_EQ(
      ids("DescribeInstanceTypes", f("network-info.efa-supported", {"true"}), "InstanceTypes", "InstanceType").size(),
      4u);
  // Filters AND; values OR; with ids, both.
  json two = f("vpc-id", {v1, v2});
  two["Filters"].push_back({{"Name", "availability-zone"}, {"Values", {"us-east-1a"}}});
  EXPECT_EQ(ids("DescribeSubnets", two, "Subnets", "SubnetId"), V({s1}));
  json with_ids = f("vpc-id", {v2});
  with_ids["SubnetIds"] = {s1};
  EXPECT_EQ(ids("DescribeSubnets", with_ids, "Subnets", "SubnetId"), V());
  // Refused: an unknown name, no values, bad shapes.
  EXPECT_TRUE(refused("DescribeVpcs", f("colour", {"red"}), "InvalidParameterValue", {"colour"}));
  EXPECT_TRUE(refused("DescribeSubnets", f("instance-id", {"i-1"}), "InvalidParameterValue", {"instance-id"}));
  EXPECT_TRUE(refused("DescribeVpcs", f("vpc-id", {}), "MissingParameter", {"vpc-id"}));
  EXPECT_TRUE(refused("DescribeVpcs", {{"Filters", "vpc-id=x"}}, "InvalidParameterValue", {"Filters"}));
  EXPECT_TRUE(refused("DescribeVpcs", {{"Filters", {{{"Values", {"x"}}}}}}, "MissingParameter", {"Name"}));
  EXPECT_TRUE(refused("DescribeVpcs", f("vpc-id", {std::string(256, 'x')}), "InvalidParameterValue", {"255"}));
  EXPECT_TRUE(
      refused("DescribeVpcs", f("vpc-id", std::vector<std::string>(201, "x")), "InvalidParameterValue", {"200"}));
}

TEST_F(Ec2ModelTest, DescribePagesWithMaxResultsAndNextToken) {
  const std::string v = vpc();
  for (int i = 0; i < 6; i++) group(v, "g" + std::to_string(i));  // 7 groups with the default
  std::vector<std::string> seen;
  json p = {{"MaxResults", 5}};
  int pages = 0;
  for (;;) {
    const json r = call("DescribeSecurityGroups", p);
    pages++;
    for (const auto& g : r["SecurityGroups"]) seen.push_back(g["GroupId"]);
    if (!r.contains("NextToken")) break;
    p["NextToken"] = r["NextToken"];
  }
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 7u);
  EXPECT_TRUE(refused("DescribeSecurityGroups", {{"NextToken", "x"}}, "InvalidParameterValue", {"NextToken"}));
  EXPECT_TRUE(refused("DescribeSecurityGroups", {{"NextToken", "99"}}, "InvalidParameterValue", {"NextToken"}));
  EXPECT_TRUE(refused("DescribeSecurityGroups", {{"MaxResults", 4}}, "InvalidParameterValue", {"MaxResults"}));
}

// ---- placement groups as EC2 enforces them -------------------------------------

TEST_F(Ec2ModelTest, ASpreadPlacementGroupTakesSevenRunningInstancesPerZone) {
  const std::string v = vpc();
  const std::string a = subnet(v, "10.0.1.0/24", "us-east-1a"), b = subnet(v, "10.0.2.0/24", "us-east-1b");
  call("CreatePlacementGroup", {{"GroupName", "apart"}, {"Strategy", "spread"}});
  const json in_group = {{"Placement", {{"GroupName", "apart"}}}};
  std::vector<std::string> ids;
  for (int k = 0; k < 7; k++) ids.push_back(run("m5.large", a, in_group)["InstanceId"]);
  json eighth = {{"InstanceType", "m5.large"}, {"SubnetId", a}, {"Placement", {{"GroupName", "apart"}}}};
  EXPECT_TRUE(refused("RunInstances", eighth, "InsufficientInstanceCapacity", {"apart", "7", "us-east-1a"}, "limit"));
  // Another zone has room of its own; an instance outside the group too.
  EXPECT_EQ(run("m5.large", b, in_group)["Placement"]["AvailabilityZone"], "us-east-1b");
  run("m5.large", a);
  // A stopped instance is not running: the group takes another, and the
  // stopped one may not start again until one stops.
  stop(ids[0]);
  const std::string again = run("m5.large", a, in_group)["InstanceId"];
  EXPECT_TRUE(refused("StartInstances", {{"InstanceIds", {ids[0]}}}, "InsufficientInstanceCapacity", {"apart", "7"}));
  stop(again);
  start(ids[0]);
  EXPECT_EQ(describe_instance(ids[0])["State"]["Name"], "running");
  // MinCount..MaxCount: as many as fit, or none when MinCount does not.
  stop(ids[1]);
  stop(ids[2]);
  json some = eighth;
  some["MinCount"] = 1;
  some["MaxCount"] = 5;
  EXPECT_EQ(call("RunInstances", some)["Instances"].size(), 2u);
  EXPECT_TRUE(refused("RunInstances", some, "InsufficientInstanceCapacity", {"apart"}));
}

TEST_F(Ec2ModelTest, AClusterPlacementGroupIsOneZoneOfSupportedTypes) {
  const std::string v = vpc();
  const std::string a = subnet(v, "10.0.1.0/24", "us-east-1a"), b = subnet(v, "10.0.2.0/24", "us-east-1b");
  call("CreatePlacementGroup", {{"GroupName", "tight"}, {"Strategy", "cluster"}});
  const json in_group = {{"Placement", {{"GroupName", "tight"}}}};
  json burstable = {{"InstanceType", "t3.nano"}, {"SubnetId", a}, {"Placement", {{"GroupName", "tight"}}}};
  EXPECT_TRUE(refused("RunInstances", burstable, "InvalidParameterCombination", {"t3.nano", "Cluster"}));
  EXPECT_FALSE(supports_cluster_placement(*find_instance_type("t3.large")));
  EXPECT_TRUE(supports_cluster_placement(*find_instance_type("c5n.18xlarge")));
  const std::string first = run("c5n.18xlarge", a, in_group)["InstanceId"];
  run("m5.large", a, in_group);  // types may mix
  json elsewhere = {{"InstanceType", "c5n.18xlarge"}, {"SubnetId", b}, {"Placement", {{"GroupName", "tight"}}}};
  EXPECT_TRUE(refused("RunInstances", elsewhere, "InvalidPlacementGroup.InUse", {"tight", "us-east-1a"}));
  // Stopped members still hold the group to their zone; once none is left, any zone.
  stop(first);
  EXPECT_TRUE(refused("RunInstances", elsewhere, "InvalidPlacementGroup.InUse", {"tight"}));
  std::vector<std::string> all;
  const json listed = call("DescribeInstances", json::object());
  for (const auto& r : listed["Reservations"])
    for (const auto& i : r["Instances"]) all.push_back(i["InstanceId"]);
  call("TerminateInstances", {{"InstanceIds", all}});
  EXPECT_EQ(run("c5n.18xlarge", b, in_group)["Placement"]["AvailabilityZone"], "us-east-1b");
}

TEST_F(Ec2ModelTest, APartitionPlacementGroupNumbersItsInstances) {
  const std::string s = subnet(vpc());
  json pg = call("CreatePlacementGroup", {{"GroupName", "racks"}, {"Strategy", "partition"}, {"PartitionCount", 3}});
  EXPECT_EQ(pg["PlacementGroup"]["PartitionCount"], 3);
  call("CreatePlacementGroup", {{"GroupName", "two"}, {"Strategy", "partition"}});
  EXPECT_EQ(call("DescribePlacementGroups", {{"GroupNames", {"two"}}})["PlacementGroups"][0]["PartitionCount"], 2)
      << "EC2's default";
  EXPECT_TRUE(refused("CreatePlacementGroup", {{"GroupName", "x"}, {"Strategy", "partition"}, {"PartitionCount", 8}},
                      "InvalidParameterValue", {"PartitionCount"}));
  EXPECT_TRUE(refused("CreatePlacementGroup", {{"GroupName", "x"}, {"Strategy", "partition"}, {"PartitionCount", 0}},
                      "InvalidParameterValue", {"PartitionCount"}));
  EXPECT_TRUE(refused("CreatePlacementGroup", {{"GroupName", "x"}, {"Strategy", "cluster"}, {"PartitionCount", 2}},
                      "InvalidParameterCombination", {"PartitionCount"}));
  call("CreatePlacementGroup", {{"GroupName", "tight"}, {"Strategy", "cluster"}});
  EXPECT_FALSE(
      call("DescribePlacementGroups", {{"GroupNames", {"tight"}}})["PlacementGroups"][0].contains("PartitionCount"));

  // Without a number, instances are spread over the partitions.
  std::map<int, int> per;
  for (int k = 0; k < 6; k++)
    per[run("m5.large", s, {{"Placement", {{"GroupName", "racks"}}}})["Placement"]["PartitionNumber"].get<int>()]++;
  EXPECT_EQ(per, (std::map<int, int>{{1, 2}, {2, 2}, {3, 2}}));
  // With one, there.
  json in3 = run("m5.large", s, {{"Placement", {{"GroupName", "racks"}, {"PartitionNumber", 3}}}});
  EXPECT_EQ(in3["Placement"]["PartitionNumber"], 3);
  EXPECT_EQ(describe_instance(in3["InstanceId"])["Placement"]["PartitionNumber"], 3);
  EXPECT_TRUE(refused(
      "RunInstances",
      {{"InstanceType", "m5.large"}, {"SubnetId", s}, {"Placement", {{"GroupName", "racks"}, {"PartitionNumber", 4}}}},
      "InvalidParameterValue", {"PartitionNumber", "3"}));
  EXPECT_TRUE(refused(
      "RunInstances",
      {{"InstanceType", "m5.large"}, {"SubnetId", s}, {"Placement", {{"GroupName", "tight"}, {"PartitionNumber", 1}}}},
      "InvalidParameterCombination", {"PartitionNumber"}));
  EXPECT_FALSE(run("m5.large", s)["Placement"].contains("PartitionNumber"));
  const json in_3 = call("DescribeInstances",
                         {{"Filters", {{{"Name", "placement-partition-number"}, {"Values", {"3"}}}}}})["Reservations"];
  size_t listed = 0;
  for (const auto& r : in_3) listed += r["Instances"].size();
  EXPECT_EQ(listed, 3u) << "two spread there and one asked for";
  // The numbers survive a restart.
  Ec2Model copy{counter(5000)};
  copy.load(m_.to_json());
  EXPECT_EQ(copy.to_json(), m_.to_json());
}

// ---- public IPv4 addresses ---------------------------------------------------------

TEST_F(Ec2ModelTest, AStoppedInstanceGivesItsPublicAddressBackAndGetsANewOneOnStart) {
  const std::string s = subnet(vpc());
  call("ModifySubnetAttribute", {{"SubnetId", s}, {"MapPublicIpOnLaunch", {{"Value", true}}}});
  json in = run("m5.large", s);
  const std::string id = in["InstanceId"], eni_id = in["NetworkInterfaces"][0]["NetworkInterfaceId"];
  const std::string first = in["PublicIpAddress"];
  stop(id);
  EXPECT_FALSE(describe_instance(id).contains("PublicIpAddress")) << "released on stop";
  EXPECT_FALSE(describe_eni(eni_id).contains("Association"));
  start(id);
  const json started = describe_instance(id);
  ASSERT_TRUE(started.contains("PublicIpAddress")) << "a new one on start";
  EXPECT_NE(started["PublicIpAddress"], first);
  EXPECT_EQ(describe_eni(eni_id)["Association"]["PublicIp"], started["PublicIpAddress"]);
  // Starting a running instance changes nothing.
  start(id);
  EXPECT_EQ(describe_instance(id)["PublicIpAddress"], started["PublicIpAddress"]);
  // An instance launched without one gets none on start.
  call("ModifySubnetAttribute", {{"SubnetId", s}, {"MapPublicIpOnLaunch", {{"Value", false}}}});
  const std::string plain = run("m5.large", s)["InstanceId"];
  stop(plain);
  start(plain);
  EXPECT_FALSE(describe_instance(plain).contains("PublicIpAddress"));
  // A released address goes back to the pool: stopping and starting never runs it dry.
  for (int k = 0; k < 300; k++) {
    stop(id);
    start(id);
  }
  EXPECT_TRUE(describe_instance(id).contains("PublicIpAddress"));
  // And a restart keeps who gets one on start.
  stop(id);
  Ec2Model copy{counter(5000)};
  copy.load(m_.to_json());
  auto none = [](const Eni&) -> uint16_t { return 99; };
  copy.call("StartInstances", {{"InstanceIds", {id}}}, none);
  EXPECT_TRUE(copy.call("DescribeInstances", {{"InstanceIds", {id}}}, none)["Reservations"][0]["Instances"][0].contains(
      "PublicIpAddress"));
}

// ---- the Intel 82599 VF: older instance types without ENA ----------------------

TEST(InstanceTypes, OlderTypesUseTheIntel82599Vf) {
  struct Want {
    const char* name;
    uint32_t vcpus, enis, ipv4;
    const char* performance;
  };
  // EC2's figures for the previous generation's SR-IOV ("simple") types.
  for (const Want& w : {Want{"c4.large", 2, 3, 10, "Moderate"}, Want{"c4.xlarge", 4, 4, 15, "High"},
                        Want{"c4.2xlarge", 8, 4, 15, "High"}, Want{"c4.4xlarge", 16, 8, 30, "High"},
                        Want{"c4.8xlarge", 36, 8, 30, "10 Gigabit"}, Want{"m4.large", 2, 2, 10, "Moderate"},
                        Want{"m4.xlarge", 4, 4, 15, "High"}, Want{"m4.2xlarge", 8, 4, 15, "High"},
                        Want{"m4.4xlarge", 16, 8, 30, "High"}, Want{"m4.10xlarge", 40, 8, 30, "10 Gigabit"},
                        Want{"r3.large", 2, 3, 10, "Moderate"}, Want{"r3.8xlarge", 32, 8, 30, "10 Gigabit"},
                        Want{"i2.xlarge", 4, 4, 15, "Moderate"}, Want{"i2.8xlarge", 32, 8, 30, "10 Gigabit"}}) {
    const InstanceType* t = find_instance_type(w.name);
    ASSERT_NE(t, nullptr) << w.name;
    EXPECT_EQ(t->vcpus, w.vcpus) << w.name;
    EXPECT_EQ(t->max_enis, w.enis) << w.name;
    EXPECT_EQ(t->ipv4_per_eni, w.ipv4) << w.name;
    EXPECT_EQ(t->performance, w.performance) << w.name;
    EXPECT_EQ(t->ena_support, "unsupported") << w.name;
    EXPECT_TRUE(t->uses_ixgbevf()) << w.name;
    EXPECT_FALSE(t->efa) << w.name;
    EXPECT_LE(t->peak_gbps, 10) << "an 82599 VF carries 10 Gbps at most: " << w.name;
  }
  EXPECT_EQ(find_instance_type("m4.16xlarge"), nullptr) << "ENA, not modelled";
  EXPECT_FALSE(find_instance_type("m5.large")->uses_ixgbevf());
  EXPECT_EQ(find_instance_type("c5n.18xlarge")->ena_support, "required");
}

TEST_F(Ec2ModelTest, DescribeShowsEnaSupportAsEc2Does) {
  const std::string s = subnet(vpc());
  const json types = call("DescribeInstanceTypes", {{"InstanceTypes", {"c4.large", "m5.large"}}})["InstanceTypes"];
  ASSERT_EQ(types.size(), 2u);
  for (const auto& t : types) {
    const bool old = t["InstanceType"] == "c4.large";
    EXPECT_EQ(t["NetworkInfo"]["EnaSupport"], old ? "unsupported" : "required") << t.dump();
    EXPECT_EQ(t["NetworkInfo"]["EfaSupported"], false);
  }
  const json c4 = call("DescribeInstanceTypes", {{"InstanceTypes", {"c4.8xlarge"}}})["InstanceTypes"][0];
  EXPECT_EQ(c4["VCpuInfo"]["DefaultVCpus"], 36);
  const json old =
      call("DescribeInstanceTypes",
           {{"Filters", {{{"Name", "network-info.ena-support"}, {"Values", {"unsupported"}}}}}})["InstanceTypes"];
  EXPECT_GE(old.size(), 14u);
  for (const auto& t : old) EXPECT_TRUE(find_instance_type(t["InstanceType"].get<std::string>())->uses_ixgbevf());

  const std::string i =
      call("RunInstances", {{"InstanceType", "c4.large"}, {"SubnetId", s}})["Instances"][0]["InstanceId"];
  const std::string m =
      call("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", s}})["Instances"][0]["InstanceId"];
  const json r = call("DescribeInstances", {{"InstanceIds", {i, m}}})["Reservations"];
  for (const auto& res : r)
    for (const auto& in : res["Instances"]) {
      if (in["InstanceId"] == i) {
        EXPECT_EQ(in["EnaSupport"], false);
        EXPECT_EQ(in["SriovNetSupport"], "simple");
      } else {
        EXPECT_EQ(in["EnaSupport"], true);
        EXPECT_FALSE(in.contains("SriovNetSupport"));
      }
    }
}

TEST_F(Ec2ModelTest, NoEfaOnAnIntel82599VfType) {
  const std::string s = subnet(vpc());
  EXPECT_TRUE(refused("RunInstances",
                      {{"InstanceType", "c4.8xlarge"}, {"SubnetId", s}, {"NetworkInterfaceType", "efa"}},
                      "InvalidParameterCombination", {"EFA", "c4.8xlarge"}));
  const std::string i =
      call("RunInstances", {{"InstanceType", "c4.8xlarge"}, {"SubnetId", s}})["Instances"][0]["InstanceId"];
  const std::string e = call("CreateNetworkInterface",
                             {{"SubnetId", s}, {"InterfaceType", "efa"}})["NetworkInterface"]["NetworkInterfaceId"];
  EXPECT_TRUE(refused("AttachNetworkInterface", {{"NetworkInterfaceId", e}, {"InstanceId", i}, {"DeviceIndex", 1}},
                      "InvalidParameterCombination", {"EFA"}));
}

TEST_F(Ec2ServiceTest, AnInstanceOfAnOlderTypeGetsIxgbevfVfs) {
  const std::string s = subnet(vpc());
  json in = run("c4.large", s);
  const vf::VfConfig& c = cfg_of(in["NetworkInterfaces"][0]);
  EXPECT_EQ(c.type, vf::Personality::kIxgbevf);
  EXPECT_EQ(c.queues, 2);
  EXPECT_EQ(c.mtu, 9001) << "jumbo frames inside a VPC";
  EXPECT_EQ(vf::max_mtu(c), VENIC_MTU_MAX) << "a VPC carries 9001 whatever the device";
  EXPECT_EQ(c.limits.bw_out_mbps, static_cast<uint64_t>(find_instance_type("c4.large")->baseline_gbps * 1000));
  EXPECT_EQ(vf_of(in["NetworkInterfaces"][0]).region->regs()->personality, uint32_t(VENIC_PERSONALITY_IXGBEVF));
  EXPECT_EQ(cfg_of(run("m5.large", s)["NetworkInterfaces"][0]).type, vf::Personality::kEna);

  // An ENI follows the instance it is attached to: ENA on an m5, the 82599 VF on a c4.
  json e = eni(s);
  const uint16_t id = e["VenicVfId"];
  EXPECT_EQ(cfg_of(e).type, vf::Personality::kEna);
  const std::string a = attach(e["NetworkInterfaceId"], in["InstanceId"], 1);
  EXPECT_EQ(cfg_of(e).type, vf::Personality::kIxgbevf);
  EXPECT_EQ(cfg_of(e).queues, 2);
  EXPECT_EQ(cfg_of(e).id, id) << "the same VF id";
  call("DetachNetworkInterface", {{"AttachmentId", a}});
  EXPECT_EQ(cfg_of(e).type, vf::Personality::kEna);
  EXPECT_EQ(saved_ids(), vf_ids());
  for (const auto& sc : store_->load()) {
    if (sc.id == id) {
      EXPECT_EQ(sc.type, vf::Personality::kEna);
    }
  }
}

}  // namespace
}  // namespace venic::model
