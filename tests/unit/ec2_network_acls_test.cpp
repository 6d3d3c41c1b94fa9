// EC2's network ACLs in the model (emulator/model/ec2_network_acls.cpp):
// the default ACL, custom ACLs and their entries, associations, EC2's codes
// and quotas, ownership, the state file; what the fast path is given
// (network_of); and the Query API's names for them (decoder, XML).
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <regex>
#include <string>

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

class NetworkAclsTest : public ::testing::Test {
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
      if (e.aws_code != aws)
        return ::testing::AssertionFailure() << e.aws_code << " (" << e.what() << "), want " << aws;
      if (m_.to_json() != before) return ::testing::AssertionFailure() << action << " failed but changed the model";
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << action << " " << p.dump() << " did not fail (want " << aws << ")";
  }
  std::string vpc(const std::string& cidr = "10.0.0.0/16", bool ipv6 = false) {
    json p = {{"CidrBlock", cidr}};
    if (ipv6) p["AmazonProvidedIpv6CidrBlock"] = true;
    return call("CreateVpc", p)["Vpc"]["VpcId"];
  }
  std::string subnet(const std::string& v, const std::string& cidr = "10.0.1.0/24") {
    return call("CreateSubnet",
                {{"VpcId", v}, {"CidrBlock", cidr}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"];
  }
  json acls(const json& filters = json::array()) {
    json p = json::object();
    if (!filters.empty()) p["Filters"] = filters;
    return call("DescribeNetworkAcls", p)["NetworkAcls"];
  }
  json acl(const std::string& id) { return call("DescribeNetworkAcls", {{"NetworkAclIds", {id}}})["NetworkAcls"][0]; }
  json default_acl(const std::string& v) {
    return acls({{{"Name", "vpc-id"}, {"Values", {v}}}, {{"Name", "default"}, {"Values", {"true"}}}})[0];
  }
  std::string custom(const std::string& v) {
    return call("CreateNetworkAcl", {{"VpcId", v}})["NetworkAcl"]["NetworkAclId"];
  }
  std::string association_of(const std::string& subnet_id) {
    for (const auto& a : acls({{{"Name", "association.subnet-id"}, {"Values", {subnet_id}}}}))
      for (const auto& as : a["Associations"])
        if (as["SubnetId"] == subnet_id) return as["NetworkAclAssociationId"];
    return "";
  }
  json entry(const std::string& acl_id, int number, bool egress, json extra = json::object()) {
    json p = {{"NetworkAclId", acl_id}, {"RuleNumber", number}, {"Protocol", "-1"},
              {"RuleAction", "allow"},  {"Egress", egress},     {"CidrBlock", "0.0.0.0/0"}};
    p.update(extra);
    return p;
  }
  // The entries of one direction as "number action protocol block".
  static std::vector<std::string> rules(const json& a, bool egress) {
    std::vector<std::string> out;
    for (const auto& e : a["Entries"])
      if (e["Egress"] == egress)
        out.push_back(std::to_string(e["RuleNumber"].get<int>()) + " " + e["RuleAction"].get<std::string>() + " " +
                      e["Protocol"].get<std::string>() + " " + e.value("CidrBlock", e.value("Ipv6CidrBlock", "")));
    return out;
  }

  Ec2Model m_{counter()};
  uint16_t next_vf_ = 0;
  Caller who_{};
};

TEST_F(NetworkAclsTest, EveryVpcHasADefaultAclItsSubnetsAreAssociatedWith) {
  const std::string v = vpc();
  const json d = default_acl(v);
  EXPECT_TRUE(std::regex_match(d["NetworkAclId"].get<std::string>(), std::regex("acl-[0-9a-f]{17}")));
  EXPECT_EQ(d["IsDefault"], true);
  EXPECT_EQ(d["OwnerId"], "000000000000");
  using V = std::vector<std::string>;
  EXPECT_EQ(rules(d, false), (V{"100 allow -1 0.0.0.0/0", "32767 deny -1 0.0.0.0/0"}));
  EXPECT_EQ(rules(d, true), (V{"100 allow -1 0.0.0.0/0", "32767 deny -1 0.0.0.0/0"}));
  EXPECT_TRUE(d["Associations"].empty());
  const std::string s = subnet(v);
  const json as = default_acl(v)["Associations"];
  ASSERT_EQ(as.size(), 1u);
  EXPECT_EQ(as[0]["SubnetId"], s);
  EXPECT_TRUE(
      std::regex_match(as[0]["NetworkAclAssociationId"].get<std::string>(), std::regex("aclassoc-[0-9a-f]{17}")));
  // With IPv6: rule 101 for ::/0, and the IPv6 `*` as 32768.
  const json d6 = default_acl(vpc("10.1.0.0/16", true));
  EXPECT_EQ(rules(d6, false),
            (V{"100 allow -1 0.0.0.0/0", "101 allow -1 ::/0", "32767 deny -1 0.0.0.0/0", "32768 deny -1 ::/0"}));
}

TEST_F(NetworkAclsTest, ACustomAclStartsWithOnlyTheStarDeny) {
  const std::string v = vpc();
  const json a = call("CreateNetworkAcl", {{"VpcId", v}})["NetworkAcl"];
  EXPECT_EQ(a["IsDefault"], false);
  EXPECT_EQ(a["VpcId"], v);
  EXPECT_EQ(rules(a, false), std::vector<std::string>{"32767 deny -1 0.0.0.0/0"});
  EXPECT_EQ(rules(a, true), std::vector<std::string>{"32767 deny -1 0.0.0.0/0"});
  EXPECT_TRUE(refused("CreateNetworkAcl", {{"VpcId", "vpc-0123456789abcdef0"}}, "InvalidVpcID.NotFound"));
  EXPECT_TRUE(
      refused("DescribeNetworkAcls", {{"NetworkAclIds", {"acl-0123456789abcdef0"}}}, "InvalidNetworkAclID.NotFound"));
  EXPECT_TRUE(refused("DeleteNetworkAcl", {{"NetworkAclId", "acl-xyz"}}, "InvalidNetworkAclID.Malformed"));
}

TEST_F(NetworkAclsTest, EntriesAreCheckedAsEc2Does) {
  const std::string a = custom(vpc());
  call("CreateNetworkAclEntry",
       entry(a, 100, false,
             {{"Protocol", "tcp"}, {"PortRange", {{"From", 22}, {"To", 22}}}, {"CidrBlock", "10.0.0.0/8"}}));
  call(
      "CreateNetworkAclEntry",
      entry(a, 110, false, {{"Protocol", "1"}, {"RuleAction", "deny"}, {"IcmpTypeCode", {{"Type", 8}, {"Code", -1}}}}));
  call("CreateNetworkAclEntry", entry(a, 100, true, {{"CidrBlock", json()}, {"Ipv6CidrBlock", "2600:1f18::/32"}}));
  const json d = acl(a);
  EXPECT_EQ(rules(d, false),
            (std::vector<std::string>{"100 allow 6 10.0.0.0/8", "110 deny 1 0.0.0.0/0", "32767 deny -1 0.0.0.0/0"}));
  EXPECT_EQ(d["Entries"][0]["Ipv6CidrBlock"], "2600:1f18::/32");
  json tcp = d["Entries"][2];
  EXPECT_EQ(tcp["PortRange"], (json{{"From", 22}, {"To", 22}}));
  EXPECT_EQ(d["Entries"][3]["IcmpTypeCode"], (json{{"Type", 8}, {"Code", -1}}));

  EXPECT_TRUE(refused("CreateNetworkAclEntry", entry(a, 100, false), "NetworkAclEntryAlreadyExists"));
  EXPECT_TRUE(refused("CreateNetworkAclEntry", entry(a, 0, false), "InvalidParameterValue"));
  EXPECT_TRUE(refused("CreateNetworkAclEntry", entry(a, 32767, false), "InvalidParameterValue"));
  EXPECT_TRUE(refused("CreateNetworkAclEntry", entry(a, 1, false, {{"Protocol", "gre"}}), "InvalidParameterValue"));
  EXPECT_TRUE(refused("CreateNetworkAclEntry", entry(a, 1, false, {{"RuleAction", "maybe"}}), "InvalidParameterValue"));
  EXPECT_TRUE(refused("CreateNetworkAclEntry", entry(a, 1, false, {{"Protocol", "udp"}}), "MissingParameter"));
  EXPECT_TRUE(refused("CreateNetworkAclEntry", entry(a, 1, false, {{"Protocol", "icmp"}}), "MissingParameter"));
  EXPECT_TRUE(refused("CreateNetworkAclEntry",
                      entry(a, 1, false, {{"Protocol", "tcp"}, {"PortRange", {{"From", 9}, {"To", 8}}}}),
                      "InvalidParameterValue"));
  EXPECT_TRUE(
      refused("CreateNetworkAclEntry", entry(a, 1, false, {{"Ipv6CidrBlock", "::/0"}}), "InvalidParameterCombination"));
  EXPECT_TRUE(
      refused("CreateNetworkAclEntry", entry(a, 1, false, {{"CidrBlock", "10.0.0.1/8"}}), "InvalidParameterValue"));
  json no_egress = entry(a, 1, false);
  no_egress.erase("Egress");
  EXPECT_TRUE(refused("CreateNetworkAclEntry", no_egress, "MissingParameter"));

  // Replace: only an existing entry; without Egress, the ingress one.
  EXPECT_TRUE(refused("ReplaceNetworkAclEntry", entry(a, 120, false), "InvalidNetworkAclEntry.NotFound"));
  json replace = entry(a, 110, false, {{"RuleAction", "allow"}});
  replace.erase("Egress");
  call("ReplaceNetworkAclEntry", replace);
  EXPECT_EQ(rules(acl(a), false)[1], "110 allow -1 0.0.0.0/0");
  // Delete.
  EXPECT_TRUE(refused("DeleteNetworkAclEntry", {{"NetworkAclId", a}, {"RuleNumber", 110}, {"Egress", true}},
                      "InvalidNetworkAclEntry.NotFound"));
  call("DeleteNetworkAclEntry", {{"NetworkAclId", a}, {"RuleNumber", 110}, {"Egress", false}});
  EXPECT_EQ(rules(acl(a), false).size(), 2u);
}

TEST_F(NetworkAclsTest, TwentyEntriesPerDirection) {
  const std::string a = custom(vpc());
  for (int n = 1; n <= 20; n++) call("CreateNetworkAclEntry", entry(a, n * 10, false));
  EXPECT_TRUE(refused("CreateNetworkAclEntry", entry(a, 5, false), "NetworkAclEntryLimitExceeded"));
  call("CreateNetworkAclEntry", entry(a, 5, true));                               // the other direction has its own
  call("ReplaceNetworkAclEntry", entry(a, 10, false, {{"RuleAction", "deny"}}));  // a replace adds none
  call("DeleteNetworkAclEntry", {{"NetworkAclId", a}, {"RuleNumber", 10}, {"Egress", false}});
  call("CreateNetworkAclEntry", entry(a, 5, false));
  // The default ACL's own entries count too.
  const std::string d = default_acl(vpc("10.1.0.0/16"))["NetworkAclId"];
  for (int n = 1; n <= 19; n++) call("CreateNetworkAclEntry", entry(d, n, true));
  EXPECT_TRUE(refused("CreateNetworkAclEntry", entry(d, 20, true), "NetworkAclEntryLimitExceeded"));
}

TEST_F(NetworkAclsTest, ReplacingAnAssociationGivesANewIdAndTheSubnetMoves) {
  const std::string v = vpc(), s = subnet(v), a = custom(v);
  const std::string old = association_of(s);
  const json r = call("ReplaceNetworkAclAssociation", {{"AssociationId", old}, {"NetworkAclId", a}});
  const std::string fresh = r["NewAssociationId"];
  EXPECT_NE(fresh, old);
  EXPECT_EQ(association_of(s), fresh);
  EXPECT_EQ(acl(a)["Associations"][0]["SubnetId"], s);
  EXPECT_TRUE(default_acl(v)["Associations"].empty());
  EXPECT_TRUE(refused("ReplaceNetworkAclAssociation", {{"AssociationId", old}, {"NetworkAclId", a}},
                      "InvalidAssociationID.NotFound"));
  // An ACL of another VPC cannot take the subnet.
  const std::string other = custom(vpc("10.1.0.0/16"));
  EXPECT_TRUE(refused("ReplaceNetworkAclAssociation", {{"AssociationId", fresh}, {"NetworkAclId", other}},
                      "InvalidParameterValue"));
  // Associated: not deleted; the default never.
  EXPECT_TRUE(refused("DeleteNetworkAcl", {{"NetworkAclId", a}}, "DependencyViolation"));
  EXPECT_TRUE(refused("DeleteNetworkAcl", {{"NetworkAclId", default_acl(v)["NetworkAclId"]}}, "InvalidParameterValue"));
  // A deleted subnet's association goes with it; then the ACL may go.
  call("DeleteSubnet", {{"SubnetId", s}});
  EXPECT_TRUE(acl(a)["Associations"].empty());
  EXPECT_TRUE(refused("DeleteVpc", {{"VpcId", v}}, "DependencyViolation")) << "its custom ACL holds it";
  call("DeleteNetworkAcl", {{"NetworkAclId", a}});
  call("DeleteVpc", {{"VpcId", v}});
  EXPECT_TRUE(acls({{{"Name", "vpc-id"}, {"Values", {v}}}}).empty()) << "the default ACL went with its VPC";
}

TEST_F(NetworkAclsTest, AnotherTenantsAclsAreNotSeenNorChanged) {
  who_ = Caller{1001, false};
  const std::string v = vpc(), a = custom(v);
  who_ = Caller{1002, false};
  EXPECT_TRUE(acls().empty());
  EXPECT_TRUE(refused("DescribeNetworkAcls", {{"NetworkAclIds", {a}}}, "InvalidNetworkAclID.NotFound"));
  EXPECT_TRUE(refused("CreateNetworkAclEntry", entry(a, 1, false), "InvalidNetworkAclID.NotFound"));
  EXPECT_TRUE(refused("DeleteNetworkAcl", {{"NetworkAclId", a}}, "InvalidNetworkAclID.NotFound"));
  EXPECT_TRUE(refused("CreateNetworkAcl", {{"VpcId", v}}, "InvalidVpcID.NotFound"));
  who_ = Caller{1001, false};
  EXPECT_EQ(acls().size(), 2u);
  EXPECT_EQ(acl(a)["OwnerId"], "000000001001");
  who_ = Caller{};
  EXPECT_EQ(acls().size(), 2u) << "root sees all";
}

TEST_F(NetworkAclsTest, TheStateFileKeepsThemAndAnOldOneGetsDefaults) {
  const std::string v = vpc(), s = subnet(v), a = custom(v);
  call("CreateNetworkAclEntry", entry(a, 7, true, {{"Protocol", "udp"}, {"PortRange", {{"From", 53}, {"To", 53}}}}));
  call("ReplaceNetworkAclAssociation", {{"AssociationId", association_of(s)}, {"NetworkAclId", a}});
  Ec2Model copy{counter()};
  copy.load(m_.to_json());
  EXPECT_EQ(copy.to_json(), m_.to_json());
  // A state file from before network ACLs.
  json old = m_.to_json();
  old.erase("network_acls");
  Ec2Model upgraded{counter()};
  upgraded.load(old);
  ASSERT_EQ(upgraded.network_acls().size(), 1u);
  const NetworkAcl& d = upgraded.network_acls().begin()->second;
  EXPECT_TRUE(d.is_default);
  EXPECT_EQ(d.vpc, v);
  EXPECT_EQ(d.associations.count(s), 1u);
  // A corrupt one is refused.
  json bad = m_.to_json();
  bad["network_acls"][0]["vpc"] = "vpc-0123456789abcdef0";
  EXPECT_THROW(upgraded.load(bad), Ec2Error);
}

TEST_F(NetworkAclsTest, TheFastPathGetsEachSubnetsEntriesByNumber) {
  const std::string v = vpc(), s1 = subnet(v), s2 = subnet(v, "10.0.2.0/24"), a = custom(v);
  call("CreateNetworkAclEntry", entry(a, 200, false, {{"RuleAction", "deny"}}));
  call("CreateNetworkAclEntry",
       entry(a, 100, false,
             {{"Protocol", "tcp"}, {"PortRange", {{"From", 80}, {"To", 81}}}, {"CidrBlock", "10.0.2.0/24"}}));
  call("CreateNetworkAclEntry",
       entry(a, 150, false, {{"Protocol", "icmp"}, {"IcmpTypeCode", {{"Type", 8}, {"Code", -1}}}}));
  call("ReplaceNetworkAclAssociation", {{"AssociationId", association_of(s2)}, {"NetworkAclId", a}});
  const vf::Network n = network_of(m_);
  const auto& subnets = n.vpcs.at(v).subnets;
  ASSERT_EQ(subnets.size(), 2u);
  const vf::SubnetNetwork& first = subnets[0].id == s1 ? subnets[0] : subnets[1];
  const vf::SubnetNetwork& second = subnets[0].id == s1 ? subnets[1] : subnets[0];
  EXPECT_TRUE(first.nacl);
  ASSERT_EQ(first.nacl_in.size(), 1u) << "the default ACL's rule 100";
  EXPECT_TRUE(first.nacl_in[0].allow);
  EXPECT_EQ(first.nacl_in[0].peer.prefix, 0);
  EXPECT_TRUE(second.nacl);
  ASSERT_EQ(second.nacl_in.size(), 3u);
  EXPECT_TRUE(second.nacl_out.empty()) << "only the * deny out";
  EXPECT_EQ(second.nacl_in[0].number, 100);
  EXPECT_EQ(second.nacl_in[0].proto, 6);
  EXPECT_EQ(second.nacl_in[0].port_lo, 80);
  EXPECT_EQ(second.nacl_in[0].port_hi, 81);
  EXPECT_EQ(second.nacl_in[0].peer.prefix, 24);
  EXPECT_EQ(second.nacl_in[0].peer.addr[2], 2);
  EXPECT_EQ(second.nacl_in[1].number, 150);
  EXPECT_EQ(second.nacl_in[1].port_lo, 8);
  EXPECT_EQ(second.nacl_in[1].port_hi, 0xffff) << "any code";
  EXPECT_EQ(second.nacl_in[2].number, 200);
  EXPECT_FALSE(second.nacl_in[2].allow);
}

// ---- the Query API's names -----------------------------------------------------

TEST(NetworkAclsQueryApi, TheAwsCliFormDecodes) {
  ec2api::FormParams f = {{"Action", "CreateNetworkAclEntry"},
                          {"Version", "2016-11-15"},
                          {"NetworkAclId", "acl-0123456789abcdef0"},
                          {"RuleNumber", "100"},
                          {"Protocol", "1"},
                          {"RuleAction", "deny"},
                          {"Egress", "true"},
                          {"CidrBlock", "0.0.0.0/0"},
                          {"Icmp.Type", "8"},
                          {"Icmp.Code", "-1"},
                          {"PortRange.From", "22"},
                          {"PortRange.To", "23"}};
  const auto r = ec2api::decode_query(f);
  EXPECT_EQ(r.params["RuleNumber"], 100);
  EXPECT_EQ(r.params["Egress"], true);
  EXPECT_EQ(r.params["IcmpTypeCode"], (json{{"Type", 8}, {"Code", -1}}));
  EXPECT_EQ(r.params["PortRange"], (json{{"From", 22}, {"To", 23}}));
  const auto d = ec2api::decode_query({{"Action", "DescribeNetworkAcls"}, {"NetworkAclId.1", "acl-1"}});
  EXPECT_EQ(d.params["NetworkAclIds"], json::array({"acl-1"}));
  for (const char* a : {"CreateNetworkAcl", "DeleteNetworkAcl", "ReplaceNetworkAclEntry", "DeleteNetworkAclEntry",
                        "ReplaceNetworkAclAssociation"})
    EXPECT_TRUE(ec2api::is_served_action(a)) << a;
}

TEST(NetworkAclsQueryApi, TheXmlHasEc2sElementNames) {
  const json r = {{"NetworkAcls",
                   {{{"NetworkAclId", "acl-1"},
                     {"IsDefault", true},
                     {"Entries", {{{"RuleNumber", 100}, {"Egress", false}}}},
                     {"Associations", {{{"NetworkAclAssociationId", "aclassoc-1"}, {"SubnetId", "subnet-1"}}}}}}}};
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(ec2api::xml_response("DescribeNetworkAcls", r, "x").c_str()));
  const auto item = doc.child("DescribeNetworkAclsResponse").child("networkAclSet").child("item");
  EXPECT_STREQ(item.child("default").text().get(), "true");
  EXPECT_STREQ(item.child("entrySet").child("item").child("ruleNumber").text().get(), "100");
  EXPECT_STREQ(item.child("associationSet").child("item").child("networkAclAssociationId").text().get(), "aclassoc-1");
  const json created = {{"NetworkAcl", {{"NetworkAclId", "acl-1"}, {"IsDefault", false}}}};
  ASSERT_TRUE(doc.load_string(ec2api::xml_response("CreateNetworkAcl", created, "x").c_str()));
  EXPECT_STREQ(doc.child("CreateNetworkAclResponse").child("networkAcl").child("default").text().get(), "false");
}

}  // namespace
}  // namespace venic::model
