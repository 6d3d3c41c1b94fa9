// Internet gateways, NAT gateways and Elastic IPs in the EC2 model
// (emulator/model/ec2_gateways.cpp): EC2's rules, error codes, ownership,
// the shared public pool, and gateway_usable for the route tables.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "ec2_model.h"
#include "gateway_directory.h"
#include "query_decoder.h"
#include "xml_encoder.h"

namespace venic::model {
namespace {

using nlohmann::json;

class GatewaysTest : public ::testing::Test {
 protected:
  json call(const std::string& action, const json& params) {
    return m_.call(
        action, params, [this](const Eni&) { return next_vf_++; }, who_);
  }
  // Refused with this EC2 code, and the model unchanged.
  ::testing::AssertionResult refused(const std::string& action, const json& params, const std::string& aws) {
    const json before = m_.to_json();
    try {
      call(action, params);
    } catch (const Ec2Error& e) {
      if (e.aws_code != aws) return ::testing::AssertionFailure() << action << ": " << e.aws_code << " " << e.what();
      if (m_.to_json() != before) return ::testing::AssertionFailure() << action << " failed but changed the model";
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << action << " did not fail (want " << aws << ")";
  }
  void SetUp() override {
    vpc_ = call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}})["Vpc"]["VpcId"];
    subnet_ =
        call("CreateSubnet",
             {{"VpcId", vpc_}, {"CidrBlock", "10.0.1.0/24"}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"];
  }
  std::string igw() { return call("CreateInternetGateway", json::object())["InternetGateway"]["InternetGatewayId"]; }
  std::string attached_igw() {
    std::string id = igw();
    call("AttachInternetGateway", {{"InternetGatewayId", id}, {"VpcId", vpc_}});
    return id;
  }
  json eip() { return call("AllocateAddress", {{"Domain", "vpc"}}); }
  json instance() {
    return call("RunInstances", {{"InstanceType", "c5.large"}, {"SubnetId", subnet_}})["Instances"][0];
  }
  json eni_of(const std::string& id) {
    return call("DescribeNetworkInterfaces", {{"NetworkInterfaceIds", {id}}})["NetworkInterfaces"][0];
  }

  Ec2Model m_{[n = std::make_shared<uint64_t>(1)] { return (*n)++; }, [] { return int64_t{1700000000}; }};
  Caller who_{0, true};
  uint16_t next_vf_ = 0;
  std::string vpc_, subnet_;
};

TEST_F(GatewaysTest, OneInternetGatewayPerVpc) {
  const std::string a = attached_igw(), b = igw();
  EXPECT_TRUE(
      refused("AttachInternetGateway", {{"InternetGatewayId", b}, {"VpcId", vpc_}}, "Resource.AlreadyAssociated"));
  const std::string vpc2 = call("CreateVpc", {{"CidrBlock", "10.1.0.0/16"}})["Vpc"]["VpcId"];
  EXPECT_TRUE(
      refused("AttachInternetGateway", {{"InternetGatewayId", a}, {"VpcId", vpc2}}, "Resource.AlreadyAssociated"));
  EXPECT_TRUE(refused("DeleteInternetGateway", {{"InternetGatewayId", a}}, "DependencyViolation"));
  EXPECT_TRUE(refused("DeleteVpc", {{"VpcId", vpc_}}, "DependencyViolation"));
  EXPECT_TRUE(refused("DetachInternetGateway", {{"InternetGatewayId", b}, {"VpcId", vpc_}}, "Gateway.NotAttached"));
  json d = call("DescribeInternetGateways", {{"InternetGatewayIds", {a}}})["InternetGateways"][0];
  EXPECT_EQ(d["Attachments"][0]["VpcId"], vpc_);
  EXPECT_EQ(d["Attachments"][0]["State"], "available");
  call("DetachInternetGateway", {{"InternetGatewayId", a}, {"VpcId", vpc_}});
  call("DeleteInternetGateway", {{"InternetGatewayId", a}});
  EXPECT_TRUE(refused("DescribeInternetGateways", {{"InternetGatewayIds", {a}}}, "InvalidInternetGatewayID.NotFound"));
  EXPECT_TRUE(
      refused("DeleteInternetGateway", {{"InternetGatewayId", "igw-nothing"}}, "InvalidInternetGatewayID.Malformed"));
}

TEST_F(GatewaysTest, GatewayUsable) {
  const std::string g = igw();
  EXPECT_FALSE(m_.gateway_usable(g, vpc_));
  call("AttachInternetGateway", {{"InternetGatewayId", g}, {"VpcId", vpc_}});
  EXPECT_TRUE(m_.gateway_usable(g, vpc_));
  EXPECT_FALSE(m_.gateway_usable(g, "vpc-00000000000000001"));
  EXPECT_FALSE(m_.gateway_usable("igw-00000000000000009", vpc_));
  const std::string alloc = eip()["AllocationId"];
  const std::string nat =
      call("CreateNatGateway", {{"SubnetId", subnet_}, {"AllocationId", alloc}})["NatGateway"]["NatGatewayId"];
  EXPECT_TRUE(m_.gateway_usable(nat, vpc_));
  call("DeleteNatGateway", {{"NatGatewayId", nat}});
  EXPECT_FALSE(m_.gateway_usable(nat, vpc_));
  EXPECT_EQ(call("DescribeNatGateways", {{"NatGatewayIds", {nat}}})["NatGateways"][0]["State"], "deleted");
}

TEST_F(GatewaysTest, NatGatewayNeedsAFreeElasticIp) {
  attached_igw();
  EXPECT_TRUE(refused("CreateNatGateway", {{"SubnetId", subnet_}}, "MissingParameter"));
  EXPECT_TRUE(refused("CreateNatGateway", {{"SubnetId", subnet_}, {"AllocationId", "eipalloc-00000000000000042"}},
                      "InvalidAllocationID.NotFound"));
  const std::string alloc = eip()["AllocationId"];
  json n = call("CreateNatGateway", {{"SubnetId", subnet_}, {"AllocationId", alloc}})["NatGateway"];
  EXPECT_EQ(n["State"], "available");
  EXPECT_EQ(n["ConnectivityType"], "public");
  EXPECT_EQ(n["VpcId"], vpc_);
  // Its private address is taken from the subnet.
  const std::string nat_ip = n["NatGatewayAddresses"][0]["PrivateIp"];
  EXPECT_EQ(nat_ip, "10.0.1.4");
  EXPECT_EQ(instance()["NetworkInterfaces"][0]["PrivateIpAddress"], "10.0.1.5");
  EXPECT_TRUE(
      refused("CreateNatGateway", {{"SubnetId", subnet_}, {"AllocationId", alloc}}, "Resource.AlreadyAssociated"));
  EXPECT_TRUE(refused("ReleaseAddress", {{"AllocationId", alloc}}, "InvalidIPAddress.InUse"));
  EXPECT_TRUE(refused("DetachInternetGateway",
                      {{"InternetGatewayId", m_.internet_gateways().begin()->first}, {"VpcId", vpc_}},
                      "DependencyViolation"));
  EXPECT_TRUE(refused("DeleteSubnet", {{"SubnetId", subnet_}}, "DependencyViolation"));
  call("DeleteNatGateway", {{"NatGatewayId", n["NatGatewayId"]}});
  call("ReleaseAddress", {{"AllocationId", alloc}});
}

TEST_F(GatewaysTest, ElasticIpReplacesTheAutoAssignedAddress) {
  call("ModifySubnetAttribute", {{"SubnetId", subnet_}, {"MapPublicIpOnLaunch", {{"Value", true}}}});
  json in = instance();
  const std::string iid = in["InstanceId"], eni = in["NetworkInterfaces"][0]["NetworkInterfaceId"];
  const std::string auto_ip = in["PublicIpAddress"];
  const json a = eip();
  // No internet gateway yet: EC2 refuses.
  EXPECT_TRUE(
      refused("AssociateAddress", {{"AllocationId", a["AllocationId"]}, {"InstanceId", iid}}, "Gateway.NotAttached"));
  attached_igw();
  const std::string assoc =
      call("AssociateAddress", {{"AllocationId", a["AllocationId"]}, {"InstanceId", iid}})["AssociationId"];
  EXPECT_EQ(assoc.rfind("eipassoc-", 0), 0u);
  EXPECT_EQ(eni_of(eni)["Association"]["PublicIp"], a["PublicIp"]);
  json d = call("DescribeAddresses", {{"AllocationIds", {a["AllocationId"]}}})["Addresses"][0];
  EXPECT_EQ(d["AssociationId"], assoc);
  EXPECT_EQ(d["InstanceId"], iid);
  EXPECT_EQ(d["NetworkInterfaceId"], eni);
  EXPECT_EQ(d["PrivateIpAddress"], "10.0.1.4");
  // The auto-assigned address went back to the pool: the next one can have it.
  bool seen = false;
  for (auto& [id, e] : m_.enis()) seen = seen || (e.public_ip && vf::format_ipv4(e.public_ip) == auto_ip);
  EXPECT_FALSE(seen);
  EXPECT_TRUE(refused("ReleaseAddress", {{"AllocationId", a["AllocationId"]}}, "InvalidIPAddress.InUse"));
  // Stop and start: the EIP stays.
  call("StopInstances", {{"InstanceIds", {iid}}});
  call("StartInstances", {{"InstanceIds", {iid}}});
  EXPECT_EQ(eni_of(eni)["Association"]["PublicIp"], a["PublicIp"]);
  // A second EIP on the same address needs AllowReassociation only for itself; the first is replaced.
  const json b = eip();
  call("AssociateAddress", {{"AllocationId", b["AllocationId"]}, {"NetworkInterfaceId", eni}});
  EXPECT_EQ(eni_of(eni)["Association"]["PublicIp"], b["PublicIp"]);
  EXPECT_FALSE(
      call("DescribeAddresses", {{"AllocationIds", {a["AllocationId"]}}})["Addresses"][0].contains("AssociationId"));
  const std::string assoc_b = m_.addresses().at(b["AllocationId"]).association_id;
  call("DisassociateAddress", {{"AssociationId", assoc_b}});
  EXPECT_FALSE(eni_of(eni).contains("Association"));
  EXPECT_TRUE(refused("DisassociateAddress", {{"AssociationId", assoc_b}}, "InvalidAssociationID.NotFound"));
  call("ReleaseAddress", {{"AllocationId", b["AllocationId"]}});
  EXPECT_TRUE(refused("ReleaseAddress", {{"AllocationId", b["AllocationId"]}}, "InvalidAllocationID.NotFound"));
}

TEST_F(GatewaysTest, AlreadyAssociatedNeedsAllowReassociation) {
  attached_igw();
  const std::string e1 = instance()["NetworkInterfaces"][0]["NetworkInterfaceId"];
  const std::string e2 = instance()["NetworkInterfaces"][0]["NetworkInterfaceId"];
  const std::string alloc = eip()["AllocationId"];
  call("AssociateAddress", {{"AllocationId", alloc}, {"NetworkInterfaceId", e1}});
  EXPECT_TRUE(
      refused("AssociateAddress", {{"AllocationId", alloc}, {"NetworkInterfaceId", e2}}, "Resource.AlreadyAssociated"));
  call("AssociateAddress", {{"AllocationId", alloc}, {"NetworkInterfaceId", e2}, {"AllowReassociation", true}});
  EXPECT_FALSE(eni_of(e1).contains("Association"));
  EXPECT_TRUE(eni_of(e2).contains("Association"));
  EXPECT_TRUE(refused("DetachInternetGateway",
                      {{"InternetGatewayId", m_.internet_gateways().begin()->first}, {"VpcId", vpc_}},
                      "DependencyViolation"));
}

TEST_F(GatewaysTest, AddressesPerOwnerAreBounded) {
  for (size_t i = 0; i < Ec2Model::kMaxAddressesPerOwner; i++) eip();
  EXPECT_TRUE(refused("AllocateAddress", json::object(), "AddressLimitExceeded"));
  EXPECT_TRUE(refused("AllocateAddress", {{"Domain", "standard"}}, "InvalidParameterValue"));
  // Another tenant has its own five.
  who_ = Caller{1001, false};
  EXPECT_NO_THROW(eip());
}

TEST_F(GatewaysTest, AnotherTenantSeesNothingAndTouchesNothing) {
  const std::string g = attached_igw();
  const std::string alloc = eip()["AllocationId"];
  who_ = Caller{1001, false};
  EXPECT_TRUE(call("DescribeAddresses", json::object())["Addresses"].empty());
  EXPECT_TRUE(call("DescribeInternetGateways", json::object())["InternetGateways"].empty());
  EXPECT_TRUE(refused("ReleaseAddress", {{"AllocationId", alloc}}, "InvalidAllocationID.NotFound"));
  EXPECT_TRUE(refused("DetachInternetGateway", {{"InternetGatewayId", g}, {"VpcId", vpc_}},
                      "InvalidInternetGatewayID.NotFound"));
  const std::string mine = call("AllocateAddress", json::object())["AllocationId"];
  EXPECT_TRUE(refused("CreateNatGateway", {{"SubnetId", subnet_}, {"AllocationId", mine}}, "InvalidSubnetID.NotFound"));
}

TEST_F(GatewaysTest, PoolFreesAddressesAndIsShared) {
  std::set<std::string> seen;
  for (int round = 0; round < 60; round++) {
    const json a = eip();
    seen.insert(a["PublicIp"].get<std::string>());
    call("ReleaseAddress", {{"AllocationId", a["AllocationId"]}});
  }
  // 60 allocations and releases never run the pool dry; a freed address comes back (late).
  for (int round = 0; round < 300; round++) {
    const json a = eip();
    call("ReleaseAddress", {{"AllocationId", a["AllocationId"]}});
  }
  EXPECT_EQ(seen.size(), 60u);
  EXPECT_TRUE(m_.addresses().empty());
}

TEST_F(GatewaysTest, TerminatingTheInstanceDisassociates) {
  attached_igw();
  const std::string iid = instance()["InstanceId"];
  const std::string alloc = eip()["AllocationId"];
  call("AssociateAddress", {{"AllocationId", alloc}, {"InstanceId", iid}});
  call("TerminateInstances", {{"InstanceIds", {iid}}});
  EXPECT_FALSE(m_.addresses().at(alloc).associated());
  call("ReleaseAddress", {{"AllocationId", alloc}});
}

TEST_F(GatewaysTest, SurvivesSaveAndLoad) {
  const std::string g = attached_igw();
  const std::string iid = instance()["InstanceId"];
  const std::string a1 = eip()["AllocationId"], a2 = eip()["AllocationId"];
  call("AssociateAddress", {{"AllocationId", a1}, {"InstanceId", iid}});
  call("CreateNatGateway", {{"SubnetId", subnet_}, {"AllocationId", a2}});
  const json saved = m_.to_json();
  Ec2Model other;
  other.load(saved);
  EXPECT_EQ(other.to_json(), saved);
  EXPECT_TRUE(other.gateway_usable(g, vpc_));
  json bad = saved;
  bad["gateways"]["addresses"][0]["public_ip"] = "8.8.8.8";
  EXPECT_THROW(other.load(bad), Ec2Error);
}

// What the gateway thread learns of the model: public addresses (an EIP on a
// secondary address too), attached gateways, available NAT gateways.
TEST_F(GatewaysTest, GatewayDirectoryFollowsTheModel) {
  const std::string g = attached_igw();
  const json in = instance();
  const std::string eni = in["NetworkInterfaces"][0]["NetworkInterfaceId"];
  call("AssignPrivateIpAddresses", {{"NetworkInterfaceId", eni}, {"PrivateIpAddresses", {"10.0.1.50"}}});
  const json a = eip(), b = eip(), c = eip();
  call("AssociateAddress", {{"AllocationId", a["AllocationId"]}, {"NetworkInterfaceId", eni}});
  call("AssociateAddress",
       {{"AllocationId", b["AllocationId"]}, {"NetworkInterfaceId", eni}, {"PrivateIpAddress", "10.0.1.50"}});
  const std::string nat = call(
      "CreateNatGateway", {{"SubnetId", subnet_}, {"AllocationId", c["AllocationId"]}})["NatGateway"]["NatGatewayId"];
  auto d = gateways::build_gateway_directory(m_);
  const uint16_t vf = m_.enis().at(eni).vf;
  const uint32_t pa = *vf::parse_ipv4(a["PublicIp"].get<std::string>()),
                 pb = *vf::parse_ipv4(b["PublicIp"].get<std::string>());
  ASSERT_TRUE(d->by_public.count(pa) && d->by_public.count(pb));
  EXPECT_EQ(d->by_public.at(pa).private_ip, m_.enis().at(eni).ip);
  EXPECT_EQ(d->by_public.at(pb).private_ip, *vf::parse_ipv4("10.0.1.50"));
  EXPECT_EQ(d->public_of.at({vf, *vf::parse_ipv4("10.0.1.50")}), pb);
  EXPECT_EQ(d->igw_vpc.at(g), vpc_);
  EXPECT_EQ(d->nats.at(nat).vpc, vpc_);
  call("DeleteNatGateway", {{"NatGatewayId", nat}});
  EXPECT_FALSE(gateways::build_gateway_directory(m_)->nats.count(nat));
}

// The Query API names them as EC2 does (the aws CLI and boto3 parse by these names).
TEST(GatewaysQueryApi, DecodesListsAndEncodesSets) {
  auto q = ec2api::decode_query({{"Action", "DescribeAddresses"}, {"AllocationId.1", "eipalloc-00000000000000001"}});
  EXPECT_EQ(q.params["AllocationIds"], json::array({"eipalloc-00000000000000001"}));
  q = ec2api::decode_query(
      {{"Action", "AssociateAddress"}, {"AllocationId", "eipalloc-00000000000000001"}, {"AllowReassociation", "true"}});
  EXPECT_EQ(q.params["AllowReassociation"], true);
  q = ec2api::decode_query({{"Action", "DescribeNatGateways"}, {"NatGatewayId.1", "nat-00000000000000001"}});
  EXPECT_EQ(q.params["NatGatewayIds"].size(), 1u);
  const std::string xml = ec2api::xml_response(
      "DescribeInternetGateways",
      {{"InternetGateways", {{{"InternetGatewayId", "igw-1"}, {"Attachments", {{{"VpcId", "vpc-1"}}}}}}}}, "r");
  EXPECT_NE(xml.find("<internetGatewaySet><item><attachmentSet><item><vpcId>vpc-1</vpcId>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<internetGatewayId>igw-1</internetGatewayId>"), std::string::npos) << xml;
  EXPECT_NE(ec2api::xml_response("DescribeAddresses", {{"Addresses", json::array({{{"PublicIp", "x"}}})}}, "r")
                .find("<addressesSet><item><publicIp>x</publicIp>"),
            std::string::npos);
}

}  // namespace
}  // namespace venic::model
