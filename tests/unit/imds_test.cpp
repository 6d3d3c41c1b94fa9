// The instance metadata service: its path tree and EC2's formats, the model's
// metadata options, IMDSv2's token rules, and the HTTP layer (cpp-httplib)
// against a server on 127.0.0.1 (who asks is mapped to a VF by the test).
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "imds_server.h"
#include "imds_tokens.h"
#include "imds_tree.h"
#include "services_world.h"

namespace venic::services {
namespace {

using testing::World;

struct Imds : ::testing::Test {
  World w;
  std::shared_ptr<const Directory> d = w.dir();
  const Directory::Entry& a() { return *d->find(w.vf_a); }
  ImdsAnswer get(const std::string& path) { return imds_lookup(*a().instance, a().eni, path); }
};

TEST_F(Imds, IdentityValues) {
  EXPECT_EQ(get("latest/meta-data/instance-id").body, w.a);
  EXPECT_EQ(get("latest/meta-data/instance-type").body, "m5.large");
  EXPECT_EQ(get("latest/meta-data/local-ipv4").body, "10.0.1.5");
  EXPECT_EQ(get("latest/meta-data/mac").body, a().eni.mac_text());
  EXPECT_EQ(get("latest/meta-data/placement/availability-zone").body, "us-east-1a");
  EXPECT_EQ(get("latest/meta-data/placement/region").body, "us-east-1");
  EXPECT_EQ(get("latest/meta-data/local-hostname").body, "ip-10-0-1-5.ec2.internal");
  EXPECT_EQ(get("latest/meta-data/security-groups").body, "default");
  EXPECT_EQ(get("latest/meta-data/ami-id").status, 200);
  EXPECT_EQ(get("latest/user-data").body, "#!/bin/sh\necho hi\n");
  // A dated version serves what latest does.
  EXPECT_EQ(get("2021-07-15/meta-data/instance-id").body, w.a);
}

TEST_F(Imds, ListingsMarkDirectoriesWithASlash) {
  const std::string md = get("latest/meta-data/").body;
  EXPECT_NE(md.find("instance-id\n"), std::string::npos) << md;
  EXPECT_NE(md.find("network/\n"), std::string::npos) << md;
  EXPECT_NE(md.find("placement/\n"), std::string::npos) << md;
  EXPECT_NE(md.find("iam/\n"), std::string::npos) << md;
  EXPECT_NE(md.back(), '\n') << md;
  EXPECT_EQ(get("latest/meta-data").body, md);
  EXPECT_EQ(get("latest/").body, "dynamic/\nmeta-data/\nuser-data");
  EXPECT_EQ(get("latest/meta-data/network/interfaces/macs/").body, a().eni.mac_text() + "/");
}

TEST_F(Imds, PerMacInterfaceTree) {
  const std::string m = "latest/meta-data/network/interfaces/macs/" + a().eni.mac_text() + "/";
  EXPECT_EQ(get(m + "device-number").body, "0");
  EXPECT_EQ(get(m + "interface-id").body, a().eni.id);
  EXPECT_EQ(get(m + "local-ipv4s").body, "10.0.1.5\n10.0.1.50");
  EXPECT_EQ(get(m + "subnet-id").body, a().eni.subnet_id);
  EXPECT_EQ(get(m + "subnet-ipv4-cidr-block").body, "10.0.1.0/24");
  EXPECT_EQ(get(m + "vpc-id").body, a().eni.vpc_id);
  EXPECT_EQ(get(m + "vpc-ipv4-cidr-blocks").body, "10.0.0.0/16");
  EXPECT_EQ(get(m + "security-group-ids").body, a().eni.group_ids.at(0));
  EXPECT_EQ(get(m + "owner-id").body, "000000000000");
  EXPECT_EQ(get(m + "ipv6s").status, 404);  // no IPv6 on this ENI
}

TEST_F(Imds, IdentityDocumentIsEc2sJson) {
  ImdsAnswer r = get("latest/dynamic/instance-identity/document");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_NE(r.body.find("\"instanceId\" : \"" + w.a + "\""), std::string::npos) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["instanceId"], w.a);
  EXPECT_EQ(j["region"], "us-east-1");
  EXPECT_EQ(j["availabilityZone"], "us-east-1a");
  EXPECT_EQ(j["privateIp"], "10.0.1.5");
  EXPECT_EQ(j["instanceType"], "m5.large");
  EXPECT_EQ(j["accountId"], "000000000000");
  EXPECT_TRUE(j["kernelId"].is_null());
}

TEST_F(Imds, RoleCredentialsOnlyWithARole) {
  EXPECT_EQ(get("latest/meta-data/iam/security-credentials/").body, "web-role");
  auto j = nlohmann::json::parse(get("latest/meta-data/iam/security-credentials/web-role").body);
  EXPECT_EQ(j["Code"], "Success");
  EXPECT_EQ(j["AccessKeyId"].get<std::string>().substr(0, 4), "ASIA");
  const Directory::Entry& b = *d->find(w.vf_b);
  EXPECT_EQ(imds_lookup(*b.instance, b.eni, "latest/meta-data/iam/").status, 404);
  EXPECT_EQ(imds_lookup(*b.instance, b.eni, "latest/user-data").status, 404);  // none given
}

TEST_F(Imds, UnknownPathsAre404) {
  for (const char* p : {"latest/meta-data/nope", "latest/meta-data/instance-id/x", "nope",
                        "latest/meta-data/placement/x", "latest/meta-data/network/interfaces/macs/02:00:00:00:00:99/"})
    EXPECT_EQ(get(p).status, 404) << p;
}

TEST_F(Imds, OverlappingVpcsEachSeeTheirOwn) {
  const Directory::Entry& c = *d->find(w.vf_c);
  EXPECT_EQ(imds_lookup(*c.instance, c.eni, "latest/meta-data/instance-id").body, w.c);
  EXPECT_EQ(imds_lookup(*c.instance, c.eni, "latest/meta-data/local-hostname").body,
            "ip-10-0-1-7.eu-west-1.compute.internal");
}

TEST(ImdsModel, PlacementPartitionAndPublicAddressFollowTheModel) {
  World w;
  const std::string sn = w.m.instance(w.a)->subnet;
  w.call("CreatePlacementGroup", {{"GroupName", "racks"}, {"Strategy", "partition"}, {"PartitionCount", 5}});
  w.call("ModifySubnetAttribute", {{"SubnetId", sn}, {"MapPublicIpOnLaunch", {{"Value", true}}}});
  auto in = w.call("RunInstances", {{"InstanceType", "m5.large"},
                                    {"SubnetId", sn},
                                    {"Placement", {{"GroupName", "racks"}, {"PartitionNumber", 4}}}})["Instances"][0];
  const uint16_t vf = in["NetworkInterfaces"][0]["VenicVfId"];
  auto lookup = [&](const std::string& path) {
    auto d = w.dir();
    const Directory::Entry& e = *d->find(vf);
    return imds_lookup(*e.instance, e.eni, path);
  };
  EXPECT_EQ(lookup("latest/meta-data/placement/group-name").body, "racks");
  EXPECT_EQ(lookup("latest/meta-data/placement/partition-number").body, "4");
  const std::string first = lookup("latest/meta-data/public-ipv4").body;
  EXPECT_EQ(first, in["PublicIpAddress"]);
  w.call("StopInstances", {{"InstanceIds", {in["InstanceId"]}}});
  EXPECT_EQ(lookup("latest/meta-data/public-ipv4").status, 404) << "released on stop";
  w.call("StartInstances", {{"InstanceIds", {in["InstanceId"]}}});
  const ImdsAnswer again = lookup("latest/meta-data/public-ipv4");
  EXPECT_EQ(again.status, 200);
  EXPECT_NE(again.body, first) << "a new one on start";
  // Outside a partition group: no partition-number.
  auto d = w.dir();
  EXPECT_EQ(imds_lookup(*d->find(w.vf_a)->instance, d->find(w.vf_a)->eni, "latest/meta-data/placement/partition-number")
                .status,
            404);
}

TEST(ImdsModel, MetadataOptionsAndUserDataAreValidatedAndKept) {
  World w;
  auto r = w.call("ModifyInstanceMetadataOptions",
                  {{"InstanceId", w.a}, {"HttpTokens", "required"}, {"HttpPutResponseHopLimit", 2}});
  EXPECT_EQ(r["InstanceMetadataOptions"]["HttpTokens"], "required");
  EXPECT_EQ(r["InstanceMetadataOptions"]["HttpPutResponseHopLimit"], 2);
  EXPECT_THROW(w.call("ModifyInstanceMetadataOptions", {{"InstanceId", w.a}, {"HttpPutResponseHopLimit", 65}}),
               model::Ec2Error);
  EXPECT_THROW(w.call("ModifyInstanceMetadataOptions", {{"InstanceId", w.a}, {"HttpTokens", "maybe"}}),
               model::Ec2Error);
  EXPECT_THROW(w.call("ModifyInstanceMetadataOptions", {{"InstanceId", "i-nope"}}), model::Ec2Error);
  // Another tenant cannot change A's options (nor learn it exists).
  venic::Caller other{1000, false};
  try {
    w.m.call(
        "ModifyInstanceMetadataOptions", {{"InstanceId", w.a}, {"HttpEndpoint", "disabled"}},
        [](const model::Eni&) -> uint16_t { return 0; }, other);
    ADD_FAILURE() << "another tenant modified the instance";
  } catch (const model::Ec2Error& e) {
    EXPECT_EQ(e.aws_code, "InvalidInstanceID.NotFound");
  }
  // Persisted: a reloaded model keeps options and user data.
  model::Ec2Model again;
  again.load(w.m.to_json());
  EXPECT_TRUE(again.instance(w.a)->meta.options.http_tokens_required);
  EXPECT_EQ(again.instance(w.a)->meta.options.hop_limit, 2);
  EXPECT_EQ(again.instance(w.a)->meta.user_data, "#!/bin/sh\necho hi\n");
  EXPECT_EQ(again.instance(w.a)->meta.iam_role, "web-role");
  EXPECT_THROW(
      w.call("RunInstances",
             {{"InstanceType", "t3.micro"}, {"SubnetId", w.m.instance(w.a)->subnet}, {"UserData", "not base64!"}}),
      model::Ec2Error);
  EXPECT_THROW(w.call("RunInstances", {{"InstanceType", "t3.micro"},
                                       {"SubnetId", w.m.instance(w.a)->subnet},
                                       {"UserData", std::string(30000, 'A')}}),
               model::Ec2Error);
}

TEST(ImdsTokens, BoundToTheInstanceAndItsTtl) {
  int64_t now = 1000;
  ImdsTokens t([&] { return now; });
  const std::string tok = t.issue("i-a", 60);
  EXPECT_GE(tok.size(), 40u);
  EXPECT_NE(tok, t.issue("i-a", 60));  // random
  EXPECT_TRUE(t.valid(tok, "i-a"));
  EXPECT_FALSE(t.valid(tok, "i-b"));  // another instance's
  EXPECT_FALSE(t.valid("", "i-a"));
  EXPECT_FALSE(t.valid(tok + "x", "i-a"));
  EXPECT_EQ(t.remaining(tok, "i-a"), 60);
  now += 59;
  EXPECT_TRUE(t.valid(tok, "i-a"));
  now += 1;
  EXPECT_FALSE(t.valid(tok, "i-a"));  // expired
  EXPECT_THROW(t.issue("i-a", 0), std::invalid_argument);
  EXPECT_THROW(t.issue("i-a", 21601), std::invalid_argument);
}

TEST(ImdsTokens, AnInstanceHoldsBoundedTokens) {
  ImdsTokens t([] { return int64_t{5}; });
  const std::string first = t.issue("i-a", 21600);
  for (size_t i = 0; i < ImdsTokens::kMaxPerInstance + 10; i++) t.issue("i-a", 21600);
  EXPECT_LE(t.size(), ImdsTokens::kMaxPerInstance);
  EXPECT_FALSE(t.valid(first, "i-a"));  // the oldest retired
}

// The HTTP layer: a real server on 127.0.0.1, the test playing VF a.
struct ImdsHttp : ::testing::Test {
  World w;
  DirectoryBoard board;
  ImdsTokens tokens;
  std::vector<std::tuple<uint16_t, int, int>> capped;
  uint16_t asker = 0;
  ImdsServer server{board, tokens, [this](const std::string&) { return std::optional<uint16_t>(asker); },
                    [this](uint16_t vf, int port, int hops) { capped.emplace_back(vf, port, hops); }};
  int port = 0;
  void SetUp() override {
    asker = w.vf_a;
    board.publish(w.dir());
    port = server.bind("127.0.0.1", 0);
    ASSERT_GT(port, 0);
    server.start();
  }
  httplib::Client client() {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(5);
    c.set_read_timeout(5);
    return c;
  }
  std::string token(int ttl = 60) {
    auto r = client().Put("/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", std::to_string(ttl)}}, "",
                          "text/plain");
    return r && r->status == 200 ? r->body : "";
  }
};

TEST_F(ImdsHttp, V1AndV2) {
  auto r = client().Get("/latest/meta-data/instance-id");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, w.a);
  const std::string tok = token();
  ASSERT_FALSE(tok.empty());
  ASSERT_EQ(capped.size(), 1u);
  EXPECT_EQ(std::get<0>(capped[0]), w.vf_a);
  EXPECT_EQ(std::get<2>(capped[0]), 1);  // the default hop limit
  r = client().Get("/latest/meta-data/instance-id", {{"X-aws-ec2-metadata-token", tok}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, w.a);
  // A bad token is refused even where IMDSv1 is allowed.
  r = client().Get("/latest/meta-data/instance-id", {{"X-aws-ec2-metadata-token", tok + "A"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = client().Get("/latest/meta-data/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(ImdsHttp, TokensRequired) {
  w.call("ModifyInstanceMetadataOptions",
         {{"InstanceId", w.a}, {"HttpTokens", "required"}, {"HttpPutResponseHopLimit", 3}});
  board.publish(w.dir());
  auto r = client().Get("/latest/meta-data/instance-id");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  const std::string tok = token(21600);
  ASSERT_FALSE(tok.empty());
  EXPECT_EQ(std::get<2>(capped.back()), 3);
  r = client().Get("/latest/meta-data/instance-id", {{"X-aws-ec2-metadata-token", tok}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // Instance B cannot use A's token.
  asker = w.vf_b;
  r = client().Get("/latest/meta-data/instance-id", {{"X-aws-ec2-metadata-token", tok}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
}

TEST_F(ImdsHttp, TokenRequestRules) {
  auto put = [&](const httplib::Headers& h) {
    auto r = client().Put("/latest/api/token", h, "", "text/plain");
    return r ? r->status : -1;
  };
  EXPECT_EQ(put({}), 400);
  EXPECT_EQ(put({{"X-aws-ec2-metadata-token-ttl-seconds", "0"}}), 400);
  EXPECT_EQ(put({{"X-aws-ec2-metadata-token-ttl-seconds", "21601"}}), 400);
  EXPECT_EQ(put({{"X-aws-ec2-metadata-token-ttl-seconds", "12x"}}), 400);
  EXPECT_EQ(put({{"X-aws-ec2-metadata-token-ttl-seconds", "60"}, {"X-Forwarded-For", "10.0.0.9"}}), 403);
  EXPECT_EQ(put({{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}), 200);
}

// curl -X PUT sends no Content-Length: the token must come back at once.
TEST_F(ImdsHttp, PutWithoutContentLength) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{3, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  const std::string req =
      "PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n";
  ASSERT_EQ(::send(s, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  char buf[2048];
  const ssize_t n = ::recv(s, buf, sizeof(buf), 0);
  ::close(s);
  ASSERT_GT(n, 0) << "no answer within 3 s";
  EXPECT_NE(std::string(buf, static_cast<size_t>(n)).find(" 200 "), std::string::npos);
}

TEST_F(ImdsHttp, EndpointDisabled) {
  w.call("ModifyInstanceMetadataOptions", {{"InstanceId", w.a}, {"HttpEndpoint", "disabled"}});
  board.publish(w.dir());
  auto r = client().Get("/latest/meta-data/instance-id");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_TRUE(token().empty());
}

}  // namespace
}  // namespace venic::services
