// Several venic hosts sharing one EC2 model in etcd (docs/multi-host.md):
// two Ec2Services, each with its own VF table, on a real etcd the test
// starts.  Racing hosts never hand out the same address or (host, VF id);
// an instance placed on another host gets its VF there; an ENI that moves
// takes its VF along; etcd gone fails changes cleanly; a restarted host
// rebuilds its VFs.  And the model's own multi-host fields, without etcd.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "control_methods.h"
#include "ec2_model.h"
#include "ec2_service.h"
#include "etcd_server.h"
#include "model_store.h"
#include "model_watch.h"
#include "vf_table.h"
#include "vpc_network_builder.h"

namespace venic::model {
namespace {

using nlohmann::json;

class NullPublisher : public vf::Publisher {
 public:
  void publish(const vf::VfTable&) override {}
};

vf::UnderlayHost host_record(const std::string& name, uint32_t ip) {
  vf::UnderlayHost h;
  h.name = name;
  h.ip = ip;
  h.mac = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(ip & 0xff)};
  return h;
}

// One venicd's control plane: its VF table and its Ec2Service on the shared model.
struct Host {
  Host(const std::string& url, const std::string& name, uint32_t ip)
      : store({url}, std::chrono::milliseconds(1000)), table(pub, nullptr), svc(table, nullptr) {
    svc.set_cluster(&store, name);
    svc.join(host_record(name, ip));
  }
  json call(const std::string& action, const json& p) { return svc.call(action, p); }
  // eni id -> VF id of the ENI VFs in this host's table.
  std::map<std::string, uint16_t> vfs() const {
    std::map<std::string, uint16_t> out;
    for (auto& [id, v] : table.all()) out[v->cfg.eni_id] = id;
    return out;
  }
  NullPublisher pub;
  cluster::ModelStore store;
  vf::VfTable table;
  Ec2Service svc;
};

class ClusterModel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::EtcdServer::installed()) GTEST_SKIP() << "etcd-server is not installed (ci/install-deps)";
    ASSERT_TRUE(etcd_.start()) << "etcd did not come up";
    a_ = std::make_unique<Host>(etcd_.url(), "host-a", 0x0a000001);
    b_ = std::make_unique<Host>(etcd_.url(), "host-b", 0x0a000002);
    const std::string vpc = a_->call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}})["Vpc"]["VpcId"];
    subnet_ = a_->call(
        "CreateSubnet",
        {{"VpcId", vpc}, {"CidrBlock", "10.0.1.0/24"}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"];
  }
  json run(Host& h, const std::string& on = "") {
    json p = {{"InstanceType", "c5.large"}, {"SubnetId", subnet_}};
    if (!on.empty()) p["Placement"] = {{"HostId", on}};
    return h.call("RunInstances", p)["Instances"][0];
  }
  static std::string eni_of(const json& instance) { return instance["NetworkInterfaces"][0]["NetworkInterfaceId"]; }

  testing::EtcdServer etcd_;
  std::unique_ptr<Host> a_, b_;
  std::string subnet_;
};

TEST_F(ClusterModel, RacingHostsNeverShareAnAddressOrAVf) {
  // Each host launches on itself and on the other: both give out B's VF ids.
  std::vector<json> launched[2];
  std::thread t[2];
  Host* hosts[2] = {a_.get(), b_.get()};
  std::atomic<int> ready{0};
  for (int h = 0; h < 2; h++)
    t[h] = std::thread([&, h] {
      ready++;
      while (ready < 2) std::this_thread::yield();  // both start together
      for (int i = 0; i < 8; i++) {
        for (;;) {
          try {
            launched[h].push_back(run(*hosts[h], i % 2 ? "host-b" : ""));
            break;
          } catch (const Ec2Error& e) {
            if (e.aws_code != "RequestLimitExceeded") throw;  // a client retries that
          }
        }
      }
    });
  for (auto& x : t) x.join();
  std::printf("commits that lost the race and ran again: host A %llu, host B %llu\n",
              static_cast<unsigned long long>(a_->svc.conflicts()),
              static_cast<unsigned long long>(b_->svc.conflicts()));
  ASSERT_TRUE(a_->svc.refresh());
  ASSERT_TRUE(b_->svc.refresh());
  std::set<std::string> ips;
  std::set<std::pair<std::string, uint16_t>> vfs;
  const json enis = a_->call("DescribeNetworkInterfaces", json::object())["NetworkInterfaces"];
  for (const auto& eni : enis) {
    EXPECT_TRUE(ips.insert(eni["PrivateIpAddress"].get<std::string>()).second) << eni.dump();
    const std::pair<std::string, uint16_t> at{eni["VenicHost"].get<std::string>(), eni["VenicVfId"].get<uint16_t>()};
    EXPECT_TRUE(vfs.insert(at).second) << eni.dump();
  }
  EXPECT_EQ(ips.size(), 16u);
  // Each table holds exactly its host's ENIs, under the model's ids.
  size_t on_a = 0, on_b = 0;
  for (auto& [host, vf] : vfs) (host == "host-a" ? on_a : on_b)++;
  EXPECT_EQ(on_a, 4u);
  EXPECT_EQ(on_b, 12u);
  EXPECT_EQ(a_->table.all().size(), on_a);
  EXPECT_EQ(b_->table.all().size(), on_b);
}

TEST_F(ClusterModel, AnInstancePlacedOnAnotherHostGetsItsVfThere) {
  std::atomic<int64_t> seen{0};
  cluster::ModelWatch watch({etcd_.url()}, b_->svc.revision(), [&](int64_t rev) { seen = rev; });
  const json in = run(*a_, "host-b");
  EXPECT_EQ(in["Placement"]["HostId"], "host-b");
  EXPECT_TRUE(a_->vfs().empty()) << "host A serves none of it";
  // B hears of it through the watch, then reloads (venicd: a control task).
  for (int i = 0; i < 100 && seen < a_->svc.revision(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_GE(seen.load(), a_->svc.revision());
  int told = 0;  // the instance services learn of it
  b_->svc.set_on_change([&](const Ec2Model& m) { told += m.instance(in["InstanceId"]) != nullptr; });
  ASSERT_TRUE(b_->svc.refresh());
  EXPECT_EQ(told, 1);
  ASSERT_TRUE(b_->vfs().count(eni_of(in)));
  EXPECT_EQ(b_->table.get(b_->vfs().at(eni_of(in))).cfg.ip, vf::parse_ipv4(in["PrivateIpAddress"]).value());
  // A's fast path learns it as remote, with B's tunnel endpoint.
  const vf::Network n = network_of(a_->svc.model(), "host-a");
  ASSERT_EQ(n.remote.size(), 1u);
  EXPECT_EQ(n.remote[0].eni_id, eni_of(in));
  EXPECT_EQ(n.remote[0].host, "host-b");
  EXPECT_EQ(n.hosts.at("host-b").ip, 0x0a000002u);
  EXPECT_NE(n.vpcs.begin()->second.vni, 0u);
  EXPECT_TRUE(network_of(b_->svc.model(), "host-b").remote.empty());
  EXPECT_EQ(a_->table.network()->remote.size(), 1u) << "published with A's VFs";
}

// A route to an instance on another host must never name a local VF: its id there is B's.
TEST_F(ClusterModel, ARouteToAnotherHostsEniNamesNoLocalVf) {
  run(*a_);  // A's VF 0
  const json nat = run(*a_, "host-b");
  const std::string table = a_->call("DescribeRouteTables", json::object())["RouteTables"][0]["RouteTableId"];
  a_->call("CreateRoute",
           {{"RouteTableId", table}, {"DestinationCidrBlock", "0.0.0.0/0"}, {"NetworkInterfaceId", eni_of(nat)}});
  ASSERT_TRUE(b_->svc.refresh());
  auto target = [&](const Host& h) {
    const vf::Network n = network_of(h.svc.model(), h.svc.model().local_host());
    for (const auto& r : n.vpcs.begin()->second.subnets.at(0).routes)
      if (r.target.kind == vf::RouteTarget::Kind::kEni) return r.target;
    return vf::RouteTarget{};
  };
  EXPECT_EQ(target(*a_).vf, vf::RouteTarget::kOtherHost);
  EXPECT_EQ(target(*a_).eni, eni_of(nat));
  EXPECT_EQ(target(*b_).vf, nat["NetworkInterfaces"][0]["VenicVfId"].get<uint16_t>());
}

TEST_F(ClusterModel, AnUnknownHostIsRefused) {
  try {
    run(*a_, "host-z");
    FAIL() << "launched on a host nobody registered";
  } catch (const Ec2Error& e) {
    EXPECT_EQ(e.aws_code, "InvalidParameterValue");
  }
}

TEST_F(ClusterModel, AnEniMovedToAnInstanceOnAnotherHostTakesItsVfThere) {
  const json ia = run(*a_), ib = run(*a_, "host-b");
  const std::string eni =
      a_->call("CreateNetworkInterface", {{"SubnetId", subnet_}})["NetworkInterface"]["NetworkInterfaceId"];
  const std::string att =
      a_->call("AttachNetworkInterface",
               {{"NetworkInterfaceId", eni}, {"InstanceId", ia["InstanceId"]}, {"DeviceIndex", 1}})["AttachmentId"];
  ASSERT_TRUE(a_->vfs().count(eni));
  a_->call("DetachNetworkInterface", {{"AttachmentId", att}});
  a_->call("AttachNetworkInterface",
           {{"NetworkInterfaceId", eni}, {"InstanceId", ib["InstanceId"]}, {"DeviceIndex", 1}});
  EXPECT_FALSE(a_->vfs().count(eni)) << "its VF left host A";
  ASSERT_TRUE(b_->svc.refresh());
  ASSERT_TRUE(b_->vfs().count(eni)) << "and is on host B";
  const std::set<uint16_t> b_ids = {b_->vfs().at(eni), b_->vfs().at(eni_of(ib))};
  EXPECT_EQ(b_ids.size(), 2u) << "under an id free there";
}

TEST_F(ClusterModel, EtcdGoneFailsChangesCleanly) {
  run(*a_);
  ASSERT_TRUE(a_->svc.refresh());
  const std::string model = a_->svc.model().to_json().dump();
  const auto vfs = a_->vfs();
  etcd_.stop();
  try {
    run(*a_);
    FAIL() << "launched without the shared model";
  } catch (const Ec2Error& e) {
    EXPECT_EQ(e.aws_code, "ServiceUnavailable");
    EXPECT_EQ(e.code, "unavailable");
  }
  EXPECT_EQ(a_->svc.model().to_json().dump(), model);
  EXPECT_EQ(a_->vfs(), vfs);
  EXPECT_FALSE(a_->svc.refresh());
  // Describe* answers from the last model this host saw.
  EXPECT_EQ(a_->call("DescribeInstances", json::object())["Reservations"].size(), 1u);
}

TEST_F(ClusterModel, ARestartedHostRebuildsItsVfs) {
  run(*a_);
  run(*b_, "host-a");
  a_->call("CreateNetworkInterface", {{"SubnetId", subnet_}});
  ASSERT_TRUE(a_->svc.refresh());
  const auto before = a_->vfs();
  ASSERT_EQ(before.size(), 3u);
  a_.reset();
  Host again(etcd_.url(), "host-a", 0x0a000001);
  EXPECT_EQ(again.vfs(), before);
  EXPECT_EQ(again.svc.model().hosts().size(), 2u);
}

TEST_F(ClusterModel, TheModelDocumentHasRoom) {
  // What the 1.4 MiB document bounds: about this many bytes per ENI.
  for (int i = 0; i < 20; i++) a_->call("CreateNetworkInterface", {{"SubnetId", subnet_}});
  const size_t with20 = a_->svc.model().to_json().dump().size();
  for (int i = 0; i < 20; i++) a_->call("CreateNetworkInterface", {{"SubnetId", subnet_}});
  const size_t per_eni = (a_->svc.model().to_json().dump().size() - with20) / 20;
  std::printf("the model grows %zu bytes per ENI: %zu ENIs fit in %zu bytes\n", per_eni,
              cluster::ModelStore::kMaxDocument / per_eni, cluster::ModelStore::kMaxDocument);
  EXPECT_LT(per_eni, 1024u);
  // etcd takes a document of the largest size venic writes.
  cluster::EtcdClient c({etcd_.url()});
  EXPECT_GT(c.put("/venic/v1/size-probe", std::string(cluster::ModelStore::kMaxDocument, 'x')), 0);
}

TEST_F(ClusterModel, ControlMethods) {
  control::ControlMethods methods(a_->table, control::DaemonInfo{}, &a_->svc);
  auto ask = [&](const json& request, uid_t uid = 0) {
    std::vector<UniqueFd> in;
    std::vector<int> out;
    return json::parse(methods.handle(request.dump(), control::Session{1, 1, uid, 0}, in, out));
  };
  const json status = ask({{"method", "cluster.status"}})["result"];
  EXPECT_EQ(status["host"], "host-a");
  EXPECT_EQ(status["hosts"].size(), 2u);
  EXPECT_EQ(status["vpcs"][0]["vni"], 1);
  EXPECT_EQ(status["etcd"][0], etcd_.url());
  const json added =
      ask({{"method", "cluster.add_host"},
           {"params", {{"name", "kernel-peer"}, {"underlay_ip", "10.0.0.9"}, {"mac", "02:00:00:00:00:09"}}}});
  EXPECT_EQ(added["result"]["hosts"].size(), 3u) << added.dump();
  const json tenant = ask({{"method", "cluster.add_host"},
                           {"params", {{"name", "evil"}, {"underlay_ip", "10.0.0.66"}, {"mac", "02:00:00:00:00:66"}}}},
                          4242);
  EXPECT_EQ(tenant["error"]["code"], "permission_denied") << tenant.dump();
  const json plain =
      ask({{"method", "vf.create"}, {"params", {{"type", "ena"}, {"mac", "02:00:00:00:00:01"}, {"ip", "10.9.0.1"}}}});
  EXPECT_EQ(plain["error"]["code"], "invalid_params") << plain.dump();
  EXPECT_TRUE(a_->table.all().empty());
}

// ---- the model's own multi-host fields (no etcd) ------------------------------

TEST(ModelHosts, VnisAreUniqueAndOlderFilesGetThem) {
  Ec2Model m;
  const std::string v1 = m.call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}}, {})["Vpc"]["VpcId"];
  const std::string v2 = m.call("CreateVpc", {{"CidrBlock", "10.1.0.0/16"}}, {})["Vpc"]["VpcId"];
  EXPECT_EQ(m.vpc(v1)->vni, 1u);
  EXPECT_EQ(m.vpc(v2)->vni, 2u);
  json old = m.to_json();
  for (auto& v : old["vpcs"]) v.erase("vni");
  old.erase("hosts");
  Ec2Model n;
  n.load(old);
  EXPECT_NE(n.vpc(v1)->vni, 0u);
  EXPECT_NE(n.vpc(v1)->vni, n.vpc(v2)->vni);
  json dup = m.to_json();
  dup["vpcs"][1]["vni"] = dup["vpcs"][0]["vni"];
  EXPECT_THROW(n.load(dup), Ec2Error);
}

TEST(ModelHosts, OneHostTakesOnlyItsOwnNameAsHostId) {
  Ec2Model m;
  m.set_local_host("alone", false);
  const std::string v = m.call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}}, {})["Vpc"]["VpcId"];
  const std::string s = m.call("CreateSubnet", {{"VpcId", v}, {"CidrBlock", "10.0.1.0/24"}}, {})["Subnet"]["SubnetId"];
  uint16_t next = 7;
  auto new_eni = [&](const Eni&) { return next++; };
  const json ok =
      m.call("RunInstances", {{"InstanceType", "c5.large"}, {"SubnetId", s}, {"Placement", {{"HostId", "alone"}}}},
             new_eni)["Instances"][0];
  EXPECT_FALSE(ok["Placement"].contains("HostId")) << "a single host records none";
  EXPECT_EQ(ok["NetworkInterfaces"][0]["VenicVfId"], 7) << "the VF table still picks the id";
  EXPECT_THROW(m.call("RunInstances",
                      {{"InstanceType", "c5.large"}, {"SubnetId", s}, {"Placement", {{"HostId", "other"}}}}, new_eni),
               Ec2Error);
}

TEST(ModelHosts, AVfIdIsUniquePerHostAndOnOneHostUnique) {
  Ec2Model m;
  m.set_local_host("a", true);
  m.add_host(host_record("a", 0x0a000001));
  m.add_host(host_record("b", 0x0a000002));
  const std::string v = m.call("CreateVpc", {{"CidrBlock", "10.0.0.0/16"}}, {})["Vpc"]["VpcId"];
  const std::string s = m.call("CreateSubnet", {{"VpcId", v}, {"CidrBlock", "10.0.1.0/24"}}, {})["Subnet"]["SubnetId"];
  const json on_a = m.call("RunInstances", {{"InstanceType", "c5.large"}, {"SubnetId", s}}, {})["Instances"][0];
  const json on_b =
      m.call("RunInstances", {{"InstanceType", "c5.large"}, {"SubnetId", s}, {"Placement", {{"HostId", "b"}}}},
             {})["Instances"][0];
  EXPECT_EQ(on_a["NetworkInterfaces"][0]["VenicVfId"], 0);
  EXPECT_EQ(on_b["NetworkInterfaces"][0]["VenicVfId"], 0) << "each host's ids start at 0";
  Ec2Model cluster;
  cluster.set_local_host("b", true);
  EXPECT_NO_THROW(cluster.load(m.to_json()));
  Ec2Model alone;  // a single host's file: every VF is its own, so the same id twice is corrupt
  EXPECT_THROW(alone.load(m.to_json()), Ec2Error);
}

TEST(ModelHosts, HostsPersistAndNamesAreChecked) {
  Ec2Model m;
  m.set_local_host("a", true);
  m.add_host(host_record("a", 0x0a000001));
  EXPECT_THROW(m.add_host(host_record("bad name", 0x0a000002)), Ec2Error);
  EXPECT_THROW(m.add_host(host_record("b", 0x0a000001)), Ec2Error) << "an underlay address is one host's";
  Ec2Model n;
  n.load(m.to_json());
  EXPECT_EQ(n.hosts(), m.hosts());
}

}  // namespace
}  // namespace venic::model
