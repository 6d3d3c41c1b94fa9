// Route tables and VPC peering in the EC2 model (emulator/model/ec2_routes.cpp)
// with EC2's error codes, and what the fast path is told of them
// (network_of, vpc_network_builder.cpp).
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ec2_model.h"
#include "query_decoder.h"
#include "vpc_network_builder.h"
#include "xml_encoder.h"

namespace venic::model {
namespace {

using nlohmann::json;

Ec2Model::Random counter() {
  auto n = std::make_shared<uint64_t>(1);
  return [n] { return (*n)++; };
}

class RouteTablesTest : public ::testing::Test {
 protected:
  json call(const std::string& action, const json& p) {
    return m_.call(
        action, p, [this](const Eni&) { return next_vf_++; }, who_);
  }
  // Refused with this EC2 code, and the model unchanged.
  ::testing::AssertionResult refused(const std::string& action, const json& p, const std::string& aws) {
    const json before = m_.to_json();
    try {
      call(action, p);
    } catch (const Ec2Error& e) {
      if (e.aws_code != aws) return ::testing::AssertionFailure() << action << ": " << e.aws_code << " " << e.what();
      if (m_.to_json() != before) return ::testing::AssertionFailure() << action << " failed but changed the model";
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << action << " " << p.dump() << " did not throw (want " << aws << ")";
  }
  void as(int64_t uid) { who_ = Caller{uid, false}; }
  void as_root() { who_ = Caller{}; }

  std::string vpc(const std::string& cidr) { return call("CreateVpc", {{"CidrBlock", cidr}})["Vpc"]["VpcId"]; }
  std::string subnet(const std::string& v, const std::string& cidr) {
    return call("CreateSubnet",
                {{"VpcId", v}, {"CidrBlock", cidr}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"];
  }
  json instance(const std::string& sn) {
    return call("RunInstances", {{"InstanceType", "c5.large"}, {"SubnetId", sn}})["Instances"][0];
  }
  json tables(const std::string& v) {
    return call("DescribeRouteTables", {{"Filters", {{{"Name", "vpc-id"}, {"Values", {v}}}}}})["RouteTables"];
  }
  json table(const std::string& id) { return call("DescribeRouteTables", {{"RouteTableIds", {id}}})["RouteTables"][0]; }
  std::string main_table(const std::string& v) {
    return call("DescribeRouteTables",
                {{"Filters",
                  {{{"Name", "vpc-id"}, {"Values", {v}}},
                   {{"Name", "association.main"}, {"Values", {"true"}}}}}})["RouteTables"][0]["RouteTableId"];
  }
  std::string new_table(const std::string& v) {
    return call("CreateRouteTable", {{"VpcId", v}})["RouteTable"]["RouteTableId"];
  }
  json route_to(const std::string& rtb, const std::string& dst) {
    const json t = table(rtb);
    for (const auto& r : t["Routes"])
      if (r.value("DestinationCidrBlock", r.value("DestinationIpv6CidrBlock", "")) == dst) return r;
    return json();
  }
  std::string peer(const std::string& a, const std::string& b) {
    return call("CreateVpcPeeringConnection",
                {{"VpcId", a}, {"PeerVpcId", b}})["VpcPeeringConnection"]["VpcPeeringConnectionId"];
  }
  std::string status(const std::string& pcx) {
    return call("DescribeVpcPeeringConnections",
                {{"VpcPeeringConnectionIds", {pcx}}})["VpcPeeringConnections"][0]["Status"]["Code"];
  }
  const vf::SubnetNetwork& net_of(const vf::Network& n, const std::string& v, const std::string& sn) {
    for (const auto& s : n.vpcs.at(v).subnets)
      if (s.id == sn) return s;
    throw std::runtime_error("no subnet " + sn);
  }

  Ec2Model m_{counter(), [this] { return now_; }};
  Caller who_{};
  uint16_t next_vf_ = 1;
  int64_t now_ = 1'000'000;
};

TEST_F(RouteTablesTest, EveryVpcHasAMainTableWithItsLocalRoutes) {
  const std::string v =
      call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}, {"Ipv6CidrBlock", "2600:1f18:1:100::/56"}})["Vpc"]["VpcId"];
  const json all = tables(v);
  ASSERT_EQ(all.size(), 1u);
  const json& t = all[0];
  EXPECT_EQ(t["Associations"][0]["Main"], true);
  ASSERT_EQ(t["Routes"].size(), 2u);
  EXPECT_EQ(t["Routes"][0]["DestinationCidrBlock"], "10.0.0.0/16");
  EXPECT_EQ(t["Routes"][0]["GatewayId"], "local");
  EXPECT_EQ(t["Routes"][0]["State"], "active");
  EXPECT_EQ(t["Routes"][0]["Origin"], "CreateRouteTable");
  EXPECT_EQ(t["Routes"][1]["DestinationIpv6CidrBlock"], "2600:1f18:1:100::/56");
  // The main table cannot be deleted; its local route neither, nor replaced by another target.
  const std::string rtb = t["RouteTableId"];
  EXPECT_TRUE(refused("DeleteRouteTable", {{"RouteTableId", rtb}}, "DependencyViolation"));
  EXPECT_TRUE(refused("DeleteRoute", {{"RouteTableId", rtb}, {"DestinationCidrBlock", "10.0.0.0/16"}},
                      "InvalidParameterValue"));
  const std::string sn = subnet(v, "10.0.1.0/24");
  const std::string eni = instance(sn)["NetworkInterfaces"][0]["NetworkInterfaceId"];
  EXPECT_TRUE(refused("ReplaceRoute",
                      {{"RouteTableId", rtb}, {"DestinationCidrBlock", "10.0.0.0/16"}, {"NetworkInterfaceId", eni}},
                      "InvalidParameterValue"));
  call("ReplaceRoute", {{"RouteTableId", rtb}, {"DestinationCidrBlock", "10.0.0.0/16"}, {"LocalTarget", true}});
  // "local" names only the local route.
  EXPECT_TRUE(refused("CreateRoute",
                      {{"RouteTableId", rtb}, {"DestinationCidrBlock", "0.0.0.0/0"}, {"GatewayId", "local"}},
                      "InvalidParameterValue"));
}

TEST_F(RouteTablesTest, RoutesTheirTargetsAndEc2sErrors) {
  const std::string v = vpc("10.0.0.0/16"), sn = subnet(v, "10.0.1.0/24");
  const std::string rtb = new_table(v);
  const json nat = instance(sn);
  const std::string nat_id = nat["InstanceId"], nat_eni = nat["NetworkInterfaces"][0]["NetworkInterfaceId"];
  call("CreateRoute", {{"RouteTableId", rtb}, {"DestinationCidrBlock", "0.0.0.0/0"}, {"InstanceId", nat_id}});
  json r = route_to(rtb, "0.0.0.0/0");
  EXPECT_EQ(r["InstanceId"], nat_id);
  EXPECT_EQ(r["NetworkInterfaceId"], nat_eni);
  EXPECT_EQ(r["State"], "active");
  EXPECT_EQ(r["Origin"], "CreateRoute");
  EXPECT_TRUE(refused("CreateRoute",
                      {{"RouteTableId", rtb}, {"DestinationCidrBlock", "0.0.0.0/0"}, {"InstanceId", nat_id}},
                      "RouteAlreadyExists"));
  EXPECT_TRUE(refused("DeleteRoute", {{"RouteTableId", rtb}, {"DestinationCidrBlock", "10.9.0.0/16"}},
                      "InvalidRoute.NotFound"));
  EXPECT_TRUE(refused("ReplaceRoute",
                      {{"RouteTableId", rtb}, {"DestinationCidrBlock", "10.9.0.0/16"}, {"InstanceId", nat_id}},
                      "InvalidRoute.NotFound"));
  EXPECT_TRUE(refused(
      "CreateRoute",
      {{"RouteTableId", "rtb-0123456789abcdef0"}, {"DestinationCidrBlock", "1.0.0.0/8"}, {"InstanceId", nat_id}},
      "InvalidRouteTableID.NotFound"));
  EXPECT_TRUE(refused("CreateRoute",
                      {{"RouteTableId", "rtb-x"}, {"DestinationCidrBlock", "1.0.0.0/8"}, {"InstanceId", nat_id}},
                      "InvalidRouteTableID.Malformed"));
  // Gateways this model has not made are not there.
  EXPECT_TRUE(
      refused("CreateRoute",
              {{"RouteTableId", rtb}, {"DestinationCidrBlock", "1.0.0.0/8"}, {"GatewayId", "igw-0123456789abcdef0"}},
              "InvalidGatewayID.NotFound"));
  EXPECT_TRUE(
      refused("CreateRoute",
              {{"RouteTableId", rtb}, {"DestinationCidrBlock", "1.0.0.0/8"}, {"NatGatewayId", "nat-0123456789abcdef0"}},
              "InvalidNatGatewayID.NotFound"));
  EXPECT_TRUE(
      refused("CreateRoute", {{"RouteTableId", rtb}, {"DestinationCidrBlock", "1.0.0.0/8"}}, "MissingParameter"));
  EXPECT_TRUE(refused("CreateRoute",
                      {{"RouteTableId", rtb},
                       {"DestinationCidrBlock", "1.0.0.0/8"},
                       {"InstanceId", nat_id},
                       {"NetworkInterfaceId", nat_eni}},
                      "InvalidParameterCombination"));
  EXPECT_TRUE(refused("CreateRoute",
                      {{"RouteTableId", rtb}, {"DestinationCidrBlock", "1.2.3.4/8"}, {"InstanceId", nat_id}},
                      "InvalidParameterValue"));
  // An instance with two ENIs: name the interface instead.
  const std::string extra =
      call("CreateNetworkInterface", {{"SubnetId", sn}})["NetworkInterface"]["NetworkInterfaceId"];
  call("AttachNetworkInterface", {{"NetworkInterfaceId", extra}, {"InstanceId", nat_id}, {"DeviceIndex", 1}});
  EXPECT_TRUE(refused("CreateRoute",
                      {{"RouteTableId", rtb}, {"DestinationCidrBlock", "1.0.0.0/8"}, {"InstanceId", nat_id}},
                      "InvalidInstanceID"));
  call("CreateRoute", {{"RouteTableId", rtb}, {"DestinationCidrBlock", "1.0.0.0/8"}, {"NetworkInterfaceId", extra}});
  call("ReplaceRoute", {{"RouteTableId", rtb}, {"DestinationCidrBlock", "1.0.0.0/8"}, {"NetworkInterfaceId", nat_eni}});
  EXPECT_EQ(route_to(rtb, "1.0.0.0/8")["NetworkInterfaceId"], nat_eni);
  call("DeleteRoute", {{"RouteTableId", rtb}, {"DestinationCidrBlock", "1.0.0.0/8"}});
  EXPECT_TRUE(route_to(rtb, "1.0.0.0/8").is_null());
  // IPv6 destinations too.
  call("CreateRoute", {{"RouteTableId", rtb}, {"DestinationIpv6CidrBlock", "::/0"}, {"NetworkInterfaceId", nat_eni}});
  EXPECT_EQ(route_to(rtb, "::/0")["State"], "active");
}

TEST_F(RouteTablesTest, QuotasBoundRoutesAndTables) {
  const std::string v = vpc("10.0.0.0/16"), sn = subnet(v, "10.0.1.0/24");
  const std::string eni = instance(sn)["NetworkInterfaces"][0]["NetworkInterfaceId"];
  const std::string rtb = new_table(v);
  for (size_t i = 0; i < Ec2Model::kRoutesPerTable; i++)
    call("CreateRoute", {{"RouteTableId", rtb},
                         {"DestinationCidrBlock", "172.16." + std::to_string(i) + ".0/24"},
                         {"NetworkInterfaceId", eni}});
  EXPECT_TRUE(refused("CreateRoute",
                      {{"RouteTableId", rtb}, {"DestinationCidrBlock", "172.17.0.0/24"}, {"NetworkInterfaceId", eni}},
                      "RouteLimitExceeded"));
  for (size_t i = 2; i < Ec2Model::kTablesPerVpc; i++) new_table(v);  // the main one and rtb are two
  EXPECT_TRUE(refused("CreateRouteTable", {{"VpcId", v}}, "RouteTableLimitExceeded"));
}

TEST_F(RouteTablesTest, AssociationsAndTheMainTable) {
  const std::string v = vpc("10.0.0.0/16"), a = subnet(v, "10.0.1.0/24"), b = subnet(v, "10.0.2.0/24");
  const std::string main = main_table(v), rtb = new_table(v);
  const std::string assoc = call("AssociateRouteTable", {{"RouteTableId", rtb}, {"SubnetId", a}})["AssociationId"];
  EXPECT_EQ(assoc.rfind("rtbassoc-", 0), 0u);
  EXPECT_EQ(m_.route_table_of(*m_.subnet(a))->id, rtb);
  EXPECT_EQ(m_.route_table_of(*m_.subnet(b))->id, main) << "a subnet without a table of its own uses the main one";
  EXPECT_TRUE(refused("AssociateRouteTable", {{"RouteTableId", main}, {"SubnetId", a}}, "Resource.AlreadyAssociated"));
  EXPECT_TRUE(refused("DeleteRouteTable", {{"RouteTableId", rtb}}, "DependencyViolation"));
  const json filtered =
      call("DescribeRouteTables", {{"Filters", {{{"Name", "association.subnet-id"}, {"Values", {a}}}}}})["RouteTables"];
  ASSERT_EQ(filtered.size(), 1u);
  EXPECT_EQ(filtered[0]["RouteTableId"], rtb);
  // Another VPC's subnet does not go with this table.
  const std::string other = subnet(vpc("10.1.0.0/16"), "10.1.1.0/24");
  EXPECT_TRUE(refused("AssociateRouteTable", {{"RouteTableId", rtb}, {"SubnetId", other}}, "InvalidParameterValue"));
  // Moving a's association back to the main table, then making rtb the main one.
  const std::string moved =
      call("ReplaceRouteTableAssociation", {{"AssociationId", assoc}, {"RouteTableId", main}})["NewAssociationId"];
  EXPECT_EQ(m_.route_table_of(*m_.subnet(a))->id, main);
  const std::string main_assoc = table(main)["Associations"][0]["RouteTableAssociationId"];
  EXPECT_TRUE(refused("DisassociateRouteTable", {{"AssociationId", main_assoc}}, "InvalidParameterValue"));
  call("ReplaceRouteTableAssociation", {{"AssociationId", main_assoc}, {"RouteTableId", rtb}});
  EXPECT_EQ(main_table(v), rtb);
  EXPECT_EQ(m_.route_table_of(*m_.subnet(b))->id, rtb) << "subnets without a table follow the main one";
  call("DisassociateRouteTable", {{"AssociationId", moved}});
  EXPECT_EQ(m_.route_table_of(*m_.subnet(a))->id, rtb);
  EXPECT_TRUE(refused("DisassociateRouteTable", {{"AssociationId", moved}}, "InvalidAssociationID.NotFound"));
  call("DeleteRouteTable", {{"RouteTableId", main}});  // no longer the main one, nor associated
  EXPECT_TRUE(refused("DeleteRouteTable", {{"RouteTableId", main}}, "InvalidRouteTableID.NotFound"));
  // A VPC with a custom table is not deleted; a deleted subnet's association goes.
  const std::string lone = vpc("10.2.0.0/16");
  const std::string custom = new_table(lone);
  EXPECT_TRUE(refused("DeleteVpc", {{"VpcId", lone}}, "DependencyViolation"));
  call("DeleteRouteTable", {{"RouteTableId", custom}});
  call("DeleteVpc", {{"VpcId", lone}});
  EXPECT_TRUE(tables(lone).empty());
}

TEST_F(RouteTablesTest, ARouteWhoseTargetIsGoneIsABlackhole) {
  const std::string v = vpc("10.0.0.0/16"), sn = subnet(v, "10.0.1.0/24");
  const json nat = instance(sn);
  const std::string rtb = main_table(v);
  call("CreateRoute",
       {{"RouteTableId", rtb}, {"DestinationCidrBlock", "0.0.0.0/0"}, {"InstanceId", nat["InstanceId"]}});
  const std::string eni = call("CreateNetworkInterface", {{"SubnetId", sn}})["NetworkInterface"]["NetworkInterfaceId"];
  call("CreateRoute", {{"RouteTableId", rtb}, {"DestinationCidrBlock", "192.168.0.0/16"}, {"NetworkInterfaceId", eni}});
  // Stopped: the route stays active (what it carries is lost at the VF without link).
  call("StopInstances", {{"InstanceIds", {nat["InstanceId"]}}});
  EXPECT_EQ(route_to(rtb, "0.0.0.0/0")["State"], "active");
  vf::Network n = network_of(m_);
  ASSERT_EQ(net_of(n, v, sn).routes.size(), 3u);
  EXPECT_EQ(net_of(n, v, sn).routes[1].target.kind, vf::RouteTarget::Kind::kEni);
  EXPECT_EQ(net_of(n, v, sn).routes[1].target.vf, nat["NetworkInterfaces"][0]["VenicVfId"].get<uint16_t>());
  call("TerminateInstances", {{"InstanceIds", {nat["InstanceId"]}}});
  call("DeleteNetworkInterface", {{"NetworkInterfaceId", eni}});
  EXPECT_EQ(route_to(rtb, "0.0.0.0/0")["State"], "blackhole");
  EXPECT_EQ(route_to(rtb, "192.168.0.0/16")["State"], "blackhole");
  n = network_of(m_);
  const auto& routes = net_of(n, v, sn).routes;
  EXPECT_EQ(routes[0].target.kind, vf::RouteTarget::Kind::kLocal);
  EXPECT_EQ(routes[1].target.kind, vf::RouteTarget::Kind::kBlackhole);
  EXPECT_EQ(routes[2].target.kind, vf::RouteTarget::Kind::kBlackhole);
  EXPECT_EQ(routes[2].dst.prefix, 16);
  EXPECT_EQ(routes[2].dst.addr[0], 192);
  // It can be pointed somewhere that is there again.
  const std::string other = instance(sn)["NetworkInterfaces"][0]["NetworkInterfaceId"];
  call("ReplaceRoute", {{"RouteTableId", rtb}, {"DestinationCidrBlock", "0.0.0.0/0"}, {"NetworkInterfaceId", other}});
  EXPECT_EQ(route_to(rtb, "0.0.0.0/0")["State"], "active");
}

TEST_F(RouteTablesTest, PeeringIsAcceptedByThePeerOwnerOnly) {
  as(1001);
  const std::string a = vpc("10.0.0.0/16");
  as(1002);
  const std::string b = vpc("10.1.0.0/16");
  as(1001);
  const std::string pcx = peer(a, b);
  EXPECT_EQ(status(pcx), "pending-acceptance");
  EXPECT_TRUE(refused("AcceptVpcPeeringConnection", {{"VpcPeeringConnectionId", pcx}}, "OperationNotPermitted"));
  EXPECT_TRUE(
      refused("CreateVpcPeeringConnection", {{"VpcId", a}, {"PeerVpcId", b}}, "VpcPeeringConnectionAlreadyExists"));
  as(1003);  // sees neither side: not there
  EXPECT_TRUE(refused("AcceptVpcPeeringConnection", {{"VpcPeeringConnectionId", pcx}},
                      "InvalidVpcPeeringConnectionID.NotFound"));
  EXPECT_TRUE(call("DescribeVpcPeeringConnections", json::object())["VpcPeeringConnections"].empty());
  as(1002);
  const json accepted = call("AcceptVpcPeeringConnection", {{"VpcPeeringConnectionId", pcx}});
  EXPECT_EQ(accepted["VpcPeeringConnection"]["Status"]["Code"], "active");
  EXPECT_EQ(accepted["VpcPeeringConnection"]["AccepterVpcInfo"]["CidrBlock"], "10.1.0.0/16");
  EXPECT_EQ(accepted["VpcPeeringConnection"]["RequesterVpcInfo"]["OwnerId"], account_id(1001));
  EXPECT_TRUE(refused("AcceptVpcPeeringConnection", {{"VpcPeeringConnectionId", pcx}}, "InvalidStateTransition"));
  EXPECT_NE(m_.active_peering(a, b), nullptr);
  // Either side ends it.
  as(1001);
  call("DeleteVpcPeeringConnection", {{"VpcPeeringConnectionId", pcx}});
  EXPECT_EQ(status(pcx), "deleted");
  EXPECT_EQ(m_.active_peering(a, b), nullptr);
  // Rejected by the accepter.
  const std::string again = peer(a, b);
  as(1002);
  call("RejectVpcPeeringConnection", {{"VpcPeeringConnectionId", again}});
  EXPECT_EQ(status(again), "rejected");
  // Ended ones are listed for a while, then forgotten.
  now_ += Ec2Model::kEndedPeeringListedSeconds;
  EXPECT_TRUE(call("DescribeVpcPeeringConnections", json::object())["VpcPeeringConnections"].empty());
}

TEST_F(RouteTablesTest, OverlappingCidrsMakeAFailedPeering) {
  const std::string a = vpc("10.0.0.0/16"), b = vpc("10.0.128.0/17");
  const std::string pcx = peer(a, b);
  EXPECT_EQ(status(pcx), "failed");
  EXPECT_TRUE(refused("AcceptVpcPeeringConnection", {{"VpcPeeringConnectionId", pcx}}, "InvalidStateTransition"));
  EXPECT_TRUE(refused(
      "CreateRoute",
      {{"RouteTableId", main_table(a)}, {"DestinationCidrBlock", "10.0.128.0/17"}, {"VpcPeeringConnectionId", pcx}},
      "InvalidVpcPeeringConnectionID.NotFound"));
  // A VPC that is not there fails the same way: a guess is not told from a hit.
  const json missing = call("CreateVpcPeeringConnection", {{"VpcId", a}, {"PeerVpcId", "vpc-0123456789abcdef0"}});
  EXPECT_EQ(missing["VpcPeeringConnection"]["Status"]["Code"], "failed");
  EXPECT_EQ(missing["VpcPeeringConnection"]["Status"]["Message"],
            call("DescribeVpcPeeringConnections",
                 {{"VpcPeeringConnectionIds", {pcx}}})["VpcPeeringConnections"][0]["Status"]["Message"]);
  EXPECT_TRUE(refused("CreateVpcPeeringConnection", {{"VpcId", a}, {"PeerVpcId", a}}, "InvalidParameterValue"));
}

TEST_F(RouteTablesTest, RoutesThroughAPeeringFollowItsState) {
  const std::string a = vpc("10.0.0.0/16"), b = vpc("10.1.0.0/16"), c = vpc("10.2.0.0/16");
  const std::string sa = subnet(a, "10.0.1.0/24");
  const std::string ab = peer(a, b), bc = peer(b, c);
  const std::string rtb = main_table(a);
  // A route through a pending peering is a blackhole until it is accepted.
  call("CreateRoute", {{"RouteTableId", rtb}, {"DestinationCidrBlock", "10.1.0.0/16"}, {"VpcPeeringConnectionId", ab}});
  EXPECT_EQ(route_to(rtb, "10.1.0.0/16")["State"], "blackhole");
  call("AcceptVpcPeeringConnection", {{"VpcPeeringConnectionId", ab}});
  EXPECT_EQ(route_to(rtb, "10.1.0.0/16")["State"], "active");
  // a's table cannot use the b-c peering: it is not a's.
  call("AcceptVpcPeeringConnection", {{"VpcPeeringConnectionId", bc}});
  EXPECT_TRUE(refused("CreateRoute",
                      {{"RouteTableId", rtb}, {"DestinationCidrBlock", "10.2.0.0/16"}, {"VpcPeeringConnectionId", bc}},
                      "InvalidParameterValue"));
  vf::Network n = network_of(m_);
  ASSERT_EQ(net_of(n, a, sa).routes.size(), 2u);
  EXPECT_EQ(net_of(n, a, sa).routes[1].target.kind, vf::RouteTarget::Kind::kPeering);
  EXPECT_EQ(net_of(n, a, sa).routes[1].target.vpc, b);
  call("DeleteVpcPeeringConnection", {{"VpcPeeringConnectionId", ab}});
  EXPECT_EQ(route_to(rtb, "10.1.0.0/16")["State"], "blackhole");
  n = network_of(m_);
  EXPECT_EQ(net_of(n, a, sa).routes[1].target.kind, vf::RouteTarget::Kind::kBlackhole);
}

TEST_F(RouteTablesTest, GroupsMayReferAPeerVpcsGroupsWhileThePeeringIsActive) {
  const std::string a = vpc("10.0.0.0/16"), b = vpc("10.1.0.0/16");
  const std::string ga =
      call("CreateSecurityGroup", {{"GroupName", "web"}, {"Description", "w"}, {"VpcId", a}})["GroupId"];
  const std::string gb =
      call("CreateSecurityGroup", {{"GroupName", "db"}, {"Description", "d"}, {"VpcId", b}})["GroupId"];
  const json from_a = {
      {"GroupId", gb},
      {"IpPermissions",
       {{{"IpProtocol", "tcp"}, {"FromPort", 5432}, {"ToPort", 5432}, {"UserIdGroupPairs", {{{"GroupId", ga}}}}}}}};
  EXPECT_TRUE(refused("AuthorizeSecurityGroupIngress", from_a, "InvalidGroup.NotFound"));
  const std::string pcx = peer(a, b);
  EXPECT_TRUE(refused("AuthorizeSecurityGroupIngress", from_a, "InvalidGroup.NotFound")) << "pending is not enough";
  call("AcceptVpcPeeringConnection", {{"VpcPeeringConnectionId", pcx}});
  call("AuthorizeSecurityGroupIngress", from_a);
}

TEST_F(RouteTablesTest, DeletingAGroupAPeerTenantReferencesNeverNamesTheirGroup) {
  as(1001);
  const std::string a = vpc("10.0.0.0/16");
  const std::string ga =
      call("CreateSecurityGroup", {{"GroupName", "web"}, {"Description", "w"}, {"VpcId", a}})["GroupId"];
  as(1002);
  const std::string b = vpc("10.1.0.0/16");
  const std::string gb =
      call("CreateSecurityGroup", {{"GroupName", "db"}, {"Description", "d"}, {"VpcId", b}})["GroupId"];
  as(1001);
  const std::string pcx = peer(a, b);
  as(1002);
  call("AcceptVpcPeeringConnection", {{"VpcPeeringConnectionId", pcx}});
  call("AuthorizeSecurityGroupIngress",
       {{"GroupId", gb},
        {"IpPermissions",
         {{{"IpProtocol", "tcp"}, {"FromPort", 5432}, {"ToPort", 5432}, {"UserIdGroupPairs", {{{"GroupId", ga}}}}}}}});
  as(1001);
  try {
    call("DeleteSecurityGroup", {{"GroupId", ga}});
    FAIL() << "a referenced group was deleted";
  } catch (const Ec2Error& e) {
    EXPECT_EQ(e.aws_code, "DependencyViolation");
    EXPECT_EQ(std::string(e.what()).find(gb), std::string::npos) << e.what();
  }
}

TEST_F(RouteTablesTest, TablesArePersistedAndMadeForOlderStateFiles) {
  const std::string v = vpc("10.0.0.0/16"), sn = subnet(v, "10.0.1.0/24");
  const std::string eni = instance(sn)["NetworkInterfaces"][0]["NetworkInterfaceId"];
  const std::string rtb = new_table(v);
  call("AssociateRouteTable", {{"RouteTableId", rtb}, {"SubnetId", sn}});
  call("CreateRoute", {{"RouteTableId", rtb}, {"DestinationCidrBlock", "0.0.0.0/0"}, {"NetworkInterfaceId", eni}});
  const std::string pcx = peer(v, vpc("10.1.0.0/16"));
  const json saved = m_.to_json();
  Ec2Model copy{counter()};
  copy.load(saved);
  EXPECT_EQ(copy.to_json(), saved);
  EXPECT_EQ(copy.route_table_of(*copy.subnet(sn))->id, rtb);
  EXPECT_EQ(copy.peerings().at(pcx).status, "pending-acceptance");
  // A state file from before route tables: each VPC gets its main table.
  json old = saved;
  old.erase("route_tables");
  old.erase("vpc_peerings");
  Ec2Model older{counter()};
  older.load(old);
  ASSERT_EQ(older.route_tables().size(), 2u);
  for (auto& [id, t] : older.route_tables()) {
    EXPECT_TRUE(t.main);
    ASSERT_EQ(t.routes.size(), 1u);
    EXPECT_EQ(t.routes[0].target, RouteEntry::Target::kLocal);
  }
  // A corrupt one is refused.
  json bad = saved;
  bad["route_tables"][0]["vpc"] = "vpc-0000000000000dead";
  Ec2Model broken{counter()};
  EXPECT_THROW(broken.load(bad), Ec2Error);
}

TEST_F(RouteTablesTest, OnlyTheOwnerChangesATable) {
  as(1001);
  const std::string v = vpc("10.0.0.0/16"), sn = subnet(v, "10.0.1.0/24");
  const std::string rtb = main_table(v);
  const std::string eni = instance(sn)["NetworkInterfaces"][0]["NetworkInterfaceId"];
  as(1002);
  EXPECT_TRUE(refused("CreateRoute",
                      {{"RouteTableId", rtb}, {"DestinationCidrBlock", "0.0.0.0/0"}, {"NetworkInterfaceId", eni}},
                      "InvalidRouteTableID.NotFound"));
  EXPECT_TRUE(refused("CreateRouteTable", {{"VpcId", v}}, "InvalidVpcID.NotFound"));
  EXPECT_TRUE(call("DescribeRouteTables", json::object())["RouteTables"].empty());
  // Its own table cannot point at another tenant's ENI.
  const std::string mine = vpc("10.5.0.0/16");
  EXPECT_TRUE(
      refused("CreateRoute",
              {{"RouteTableId", main_table(mine)}, {"DestinationCidrBlock", "0.0.0.0/0"}, {"NetworkInterfaceId", eni}},
              "InvalidNetworkInterfaceID.NotFound"));
}

}  // namespace
}  // namespace venic::model

// ---- the Query API's names for them ----------------------------------------------

namespace venic::ec2api {
namespace {

TEST(RouteTablesQueryApi, RequestListsAndResponseElementsAreEc2s) {
  const QueryRequest q = decode_query({{"Action", "DescribeRouteTables"},
                                       {"RouteTableId.1", "rtb-0123456789abcdef0"},
                                       {"Filter.1.Name", "association.main"},
                                       {"Filter.1.Value.1", "true"}});
  EXPECT_EQ(q.params["RouteTableIds"], nlohmann::json::array({"rtb-0123456789abcdef0"}));
  const QueryRequest r = decode_query({{"Action", "ReplaceRoute"},
                                       {"RouteTableId", "rtb-0123456789abcdef0"},
                                       {"DestinationCidrBlock", "10.0.0.0/16"},
                                       {"LocalTarget", "true"}});
  EXPECT_EQ(r.params["RouteTableId"], "rtb-0123456789abcdef0") << "a scalar stays one";
  EXPECT_EQ(r.params["LocalTarget"], true);
  for (const char* a : {"CreateRouteTable", "AcceptVpcPeeringConnection", "DescribeVpcPeeringConnections"})
    EXPECT_TRUE(is_served_action(a)) << a;
  const nlohmann::json result = {{"RouteTables",
                                  {{{"RouteTableId", "rtb-1"},
                                    {"Routes", {{{"DestinationCidrBlock", "10.0.0.0/16"}, {"GatewayId", "local"}}}},
                                    {"Associations", {{{"Main", true}}}},
                                    {"PropagatingVgws", nlohmann::json::array()}}}}};
  const std::string xml = xml_response("DescribeRouteTables", result, "req");
  for (const char* want :
       {"<routeTableSet><item><associationSet><item><main>true</main>", "<routeTableId>rtb-1</routeTableId>",
        "<routeSet><item><destinationCidrBlock>10.0.0.0/16</destinationCidrBlock>", "<propagatingVgwSet"})
    EXPECT_NE(xml.find(want), std::string::npos) << want << " in " << xml;
  EXPECT_NE(xml_response("DescribeVpcPeeringConnections",
                         {{"VpcPeeringConnections", {{{"VpcPeeringConnectionId", "pcx-1"}}}}}, "req")
                .find("<vpcPeeringConnectionSet><item>"),
            std::string::npos);
}

}  // namespace
}  // namespace venic::ec2api
