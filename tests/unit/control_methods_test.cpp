// The control protocol's methods, driven through ControlMethods::handle with
// JSON text as a client would send it, but without a socket or a fast path.
#include "control_methods.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "json_depth.h"
#include "protocol.h"
#include "state_store.h"
#include "venic_abi.h"

namespace venic::control {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// No fast path: publishing is a no-op, but count it to see that changes go out.
// With hold set it keeps what the table retires, as workers that have not yet
// passed a quiescent state would, until release().
class CountingPublisher : public vf::Publisher {
 public:
  void publish(const vf::VfTable&) override { count++; }
  void defer(std::function<void()> fn) override { hold ? held.push_back(std::move(fn)) : fn(); }
  void synchronize() override { syncs++; }
  void release() {
    for (auto& fn : held) fn();
    held.clear();
  }
  int count = 0;
  int syncs = 0;
  bool hold = false;
  std::vector<std::function<void()>> held;
};

// How many mappings of this process are of the file with inode ino.
int mappings_of(ino_t ino) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  int n = 0;
  while (std::getline(maps, line)) {
    std::istringstream f(line);
    std::string range, perms, offset, dev;
    unsigned long inode = 0;
    if (f >> range >> perms >> offset >> dev >> inode && inode == ino) n++;
  }
  return n;
}

DaemonInfo info() {
  DaemonInfo i;
  i.version = "test";
  i.workers = 1;
  return i;
}

// One vf.register_memory region entry.
json mem(uint64_t va, uint64_t len, uint64_t offset) {
  return {{"va", va}, {"len", len}, {"offset", offset}};
}

std::string mac_for(int n) {
  char b[32];
  std::snprintf(b, sizeof(b), "02:00:00:00:%02x:%02x", (n >> 8) & 0xff, n & 0xff);
  return b;
}

class ControlMethodsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/venic-ctl-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store_ = std::make_unique<state::StateStore>((dir_ / "vfs.json").string());
    table_ = std::make_unique<vf::VfTable>(pub_, store_.get());
    methods_ = std::make_unique<ControlMethods>(*table_, info());
  }
  void TearDown() override {
    methods_.reset();
    table_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Sends raw request text; returns the parsed reply (fds_out kept).
  json raw(const std::string& text, const Session& s, std::vector<UniqueFd> fds_in = {}) {
    fds_out_.clear();
    std::string reply = methods_->handle(text, s, fds_in, fds_out_);
    json j = json::parse(reply, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "reply is not JSON: " << reply;
    return j;
  }
  json call(const std::string& method, const json& params, const Session& s, std::vector<UniqueFd> fds_in = {}) {
    return raw(json{{"id", 1}, {"method", method}, {"params", params}}.dump(), s, std::move(fds_in));
  }
  json call(const std::string& method, const json& params = json::object()) { return call(method, params, s1_); }

  // The result of a call that must succeed.
  json ok(const std::string& method, const json& params = json::object()) {
    json r = call(method, params);
    EXPECT_TRUE(r.contains("result")) << method << " " << params.dump() << " -> " << r.dump();
    return r.contains("result") ? r["result"] : json();
  }
  json create(int n, json extra = json::object()) {
    json p = {{"type", "ena"}, {"mac", mac_for(n)}, {"ip", "10.0.1." + std::to_string(n % 250 + 1)}};
    p.update(extra);
    return call("vf.create", p);
  }

  std::vector<vf::VfConfig> saved() const { return store_->load(); }

  fs::path dir_;
  CountingPublisher pub_;
  std::unique_ptr<state::StateStore> store_;
  std::unique_ptr<vf::VfTable> table_;
  std::unique_ptr<ControlMethods> methods_;
  std::vector<int> fds_out_;
  Session s1_{1, 1001, 0};
  Session s2_{2, 1002, 0};
};

// An error reply with this code, and (if given) a message mentioning `names`.
::testing::AssertionResult is_error(const json& r, std::string_view code, const std::string& names = "") {
  if (!r.contains("error")) return ::testing::AssertionFailure() << "not an error: " << r.dump();
  if (r.contains("result")) return ::testing::AssertionFailure() << "both error and result: " << r.dump();
  const json& e = r["error"];
  if (!e.contains("code") || e["code"] != code)
    return ::testing::AssertionFailure() << "want code " << code << ", got " << r.dump();
  if (!e.contains("message") || !e["message"].is_string() || e["message"].get<std::string>().empty())
    return ::testing::AssertionFailure() << "no message: " << r.dump();
  if (!names.empty() && e["message"].get<std::string>().find(names) == std::string::npos)
    return ::testing::AssertionFailure() << "message does not name '" << names << "': " << r.dump();
  return ::testing::AssertionSuccess();
}

// ---- request shape ----------------------------------------------------------

TEST_F(ControlMethodsTest, MalformedJsonIsParseError) {
  json r = raw("{\"id\": 1, \"method\": ", s1_);
  EXPECT_TRUE(is_error(r, "parse_error"));
  EXPECT_TRUE(r["id"].is_null());
}

TEST_F(ControlMethodsTest, NonObjectRequestIsInvalidRequest) {
  EXPECT_TRUE(is_error(raw("[1, 2]", s1_), "invalid_request"));
  EXPECT_TRUE(is_error(raw("\"vf.list\"", s1_), "invalid_request"));
  EXPECT_TRUE(is_error(raw("42", s1_), "invalid_request"));
}

TEST_F(ControlMethodsTest, MissingOrNonStringMethodIsInvalidRequest) {
  json r = raw(R"({"id": 9, "params": {}})", s1_);
  EXPECT_TRUE(is_error(r, "invalid_request", "method"));
  EXPECT_EQ(r["id"], 9) << "the id is echoed even in an error";
  EXPECT_TRUE(is_error(raw(R"({"id": 9, "method": 3})", s1_), "invalid_request", "method"));
}

TEST_F(ControlMethodsTest, NonObjectParamsIsInvalidRequest) {
  EXPECT_TRUE(is_error(raw(R"({"id": 1, "method": "vf.list", "params": [1]})", s1_), "invalid_request", "params"));
}

TEST_F(ControlMethodsTest, NullOrAbsentParamsMeanNoParams) {
  EXPECT_TRUE(raw(R"({"id": 1, "method": "vf.list"})", s1_).contains("result"));
  EXPECT_TRUE(raw(R"({"id": 1, "method": "vf.list", "params": null})", s1_).contains("result"));
}

TEST_F(ControlMethodsTest, UnknownMethod) {
  json r = call("vf.explode");
  EXPECT_TRUE(is_error(r, "unknown_method", "vf.explode"));
  EXPECT_EQ(r["id"], 1);
}

TEST_F(ControlMethodsTest, ReplyEchoesTheRequestId) {
  json r = raw(R"({"id": "abc", "method": "vf.list"})", s1_);
  EXPECT_EQ(r["id"], "abc");
  ASSERT_TRUE(r.contains("result"));
  EXPECT_EQ(r["result"]["vfs"], json::array());
}

// A request nested deeper than the limit is refused before it is parsed, so
// nothing recursive (the reply's serializer echoing the id) ever sees it.
TEST_F(ControlMethodsTest, DeeplyNestedRequestIsRefusedWithoutCrashing) {
  const size_t depth = 100000;
  std::string id = std::string(depth, '[') + std::string(depth, ']');
  json r = raw(R"({"id":)" + id + R"(,"method":"daemon.info"})", s1_);
  EXPECT_TRUE(is_error(r, "invalid_request", "nest"));
  EXPECT_TRUE(r["id"].is_null());
  // Deep inside params, or in objects, or as the whole request: the same.
  std::string objs;
  for (size_t i = 0; i < 1000; i++) objs += R"({"a":)";
  objs += "1" + std::string(1000, '}');
  EXPECT_TRUE(
      is_error(raw(R"({"id":1,"method":"vf.list","params":{"x":)" + objs + "}}", s1_), "invalid_request", "nest"));
  EXPECT_TRUE(is_error(raw(std::string(depth, '['), s1_), "invalid_request", "nest"));
  // Brackets inside strings do not count.
  json ok_reply = raw(R"({"id":")" + std::string(1000, '[') + R"(","method":"daemon.info"})", s1_);
  EXPECT_TRUE(ok_reply.contains("result")) << ok_reply.dump().substr(0, 200);
  // Nesting up to the limit is still served.
  std::string at_limit = std::string(kMaxJsonDepth - 2, '[') + std::string(kMaxJsonDepth - 2, ']');
  json served = raw(R"({"id":1,"method":"vf.list","params":{"x":)" + at_limit + "}}", s1_);
  EXPECT_TRUE(is_error(served, "invalid_params", "x")) << "parsed and answered: " << served.dump();
  // And a normal request afterwards works.
  EXPECT_TRUE(ok("daemon.info").contains("version"));
}

TEST_F(ControlMethodsTest, IdIsANumberAStringOrNull) {
  EXPECT_EQ(raw(R"({"id": 7, "method": "daemon.info"})", s1_)["id"], 7);
  EXPECT_EQ(raw(R"({"id": "x", "method": "daemon.info"})", s1_)["id"], "x");
  EXPECT_TRUE(raw(R"({"id": null, "method": "daemon.info"})", s1_)["id"].is_null());
  EXPECT_TRUE(raw(R"({"method": "daemon.info"})", s1_).contains("result"));
  for (const char* bad : {R"([1])", R"({"a": 1})", "true"}) {
    json r = raw(std::string(R"({"id": )") + bad + R"(, "method": "daemon.info"})", s1_);
    EXPECT_TRUE(is_error(r, "invalid_request", "id")) << bad;
    EXPECT_TRUE(r["id"].is_null()) << "a refused id is not echoed: " << r.dump();
  }
}

TEST_F(ControlMethodsTest, DaemonInfo) {
  json r = ok("daemon.info");
  EXPECT_EQ(r["version"], "test");
  EXPECT_EQ(r["abi"], std::to_string(VENIC_ABI_MAJOR) + "." + std::to_string(VENIC_ABI_MINOR));
  EXPECT_EQ(r["vfs"], 0);
  EXPECT_EQ(r["max_vfs"], 256);
  EXPECT_EQ(r["workers"], 1);
  EXPECT_TRUE(r["uptime_s"].is_number_integer());
}

// ---- parameter checking ----------------------------------------------------

TEST_F(ControlMethodsTest, WrongParamTypesNameTheField) {
  ASSERT_TRUE(create(1).contains("result"));
  EXPECT_TRUE(is_error(call("vf.show", {{"vf", "0"}}), "invalid_params", "vf"));
  EXPECT_TRUE(is_error(call("vf.show", json::object()), "invalid_params", "vf"));
  EXPECT_TRUE(is_error(call("vf.show", {{"vf", 256}}), "invalid_params", "vf"));
  EXPECT_TRUE(is_error(call("vf.show", {{"vf", -1}}), "invalid_params", "vf"));
  EXPECT_TRUE(is_error(call("vf.delete", {{"vf", 1.5}}), "invalid_params", "vf"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 0}, {"mtu", "9000"}}), "invalid_params", "mtu"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 0}, {"mtu", 9002}}), "invalid_params", "mtu"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 0}, {"trusted", "yes"}}), "invalid_params", "trusted"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 0}, {"link", "sideways"}}), "invalid_params", "link"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 0}, {"colour", "red"}}), "invalid_params", "colour"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 0}}), "invalid_params"));
  EXPECT_TRUE(is_error(create(2, {{"mtu", "1500"}}), "invalid_params", "mtu"));
  EXPECT_TRUE(is_error(create(2, {{"trusted", "yes"}}), "invalid_params", "trusted"));
  EXPECT_TRUE(is_error(create(2, {{"queues", 9}}), "invalid_params", "queues"));
  EXPECT_TRUE(is_error(create(2, {{"prefix", 33}}), "invalid_params", "prefix"));
  EXPECT_TRUE(is_error(create(2, {{"id", "2"}}), "invalid_params", "id"));
  EXPECT_TRUE(is_error(create(2, {{"bogus", 1}}), "invalid_params", "bogus"));
  EXPECT_TRUE(is_error(call("vf.create", {{"type", "ena"}, {"mac", mac_for(2)}}), "invalid_params", "ip"));
  EXPECT_TRUE(is_error(create(2, {{"ip", "10.0.1.300"}}), "invalid_params", "ip"));
  EXPECT_TRUE(is_error(create(2, {{"type", "virtio"}}), "invalid_params", "type"));
  EXPECT_TRUE(is_error(call("vf.list", {{"vf", 0}}), "invalid_params", "vf"));
  // None of the refused requests changed anything.
  EXPECT_EQ(ok("vf.list")["vfs"].size(), 1u);
  EXPECT_EQ(ok("vf.show", {{"vf", 0}})["mtu"], 1500);
}

TEST_F(ControlMethodsTest, MacMustBeUnicastAndWellFormed) {
  EXPECT_TRUE(is_error(create(1, {{"mac", "01:00:5e:00:00:01"}}), "invalid_params", "mac"));
  EXPECT_TRUE(is_error(create(1, {{"mac", "ff:ff:ff:ff:ff:ff"}}), "invalid_params", "mac"));
  EXPECT_TRUE(is_error(create(1, {{"mac", "00:00:00:00:00:00"}}), "invalid_params", "mac"));
  EXPECT_TRUE(is_error(create(1, {{"mac", "02:zz:00:00:00:01"}}), "invalid_params", "mac"));
  EXPECT_TRUE(is_error(create(1, {{"mac", "02:00:00:00:00:01:"}}), "invalid_params", "mac"));
  EXPECT_TRUE(is_error(create(1, {{"mac", "02-00-00-00-00-01"}}), "invalid_params", "mac"));
  EXPECT_TRUE(is_error(create(1, {{"mac", 12345}}), "invalid_params", "mac"));
  EXPECT_TRUE(ok("vf.list")["vfs"].empty());
}

TEST_F(ControlMethodsTest, MacWithASignIsRefused) {
  // The docs say xx:xx:xx:xx:xx:xx with hex digits; scanf's %x also takes a
  // sign, so "+2" would become 02 and "-1" (0xffffffff truncated) ff: an
  // address the operator never wrote.
  EXPECT_TRUE(is_error(create(1, {{"mac", "+2:00:00:00:00:01"}}), "invalid_params", "mac"));
  EXPECT_TRUE(is_error(create(1, {{"mac", "02:00:00:00:00:-1"}}), "invalid_params", "mac"));
  EXPECT_TRUE(ok("vf.list")["vfs"].empty());
}

// ---- vf.create / list / show / set / delete ------------------------------

TEST_F(ControlMethodsTest, CreateReturnsTheVfObject) {
  json r = create(1, {{"ip", "10.0.1.10"}});
  ASSERT_TRUE(r.contains("result")) << r.dump();
  json v = r["result"];
  EXPECT_EQ(v["id"], 0);  // the lowest free id
  EXPECT_EQ(v["type"], "ena");
  EXPECT_EQ(v["mac"], "02:00:00:00:00:01");
  EXPECT_EQ(v["ip"], "10.0.1.10");
  EXPECT_EQ(v["prefix"], 24);
  EXPECT_EQ(v["subnet"], "10.0.1.0/24");
  EXPECT_EQ(v["mtu"], 1500);
  EXPECT_EQ(v["trusted"], false);
  EXPECT_EQ(v["queues"], 4);
  EXPECT_EQ(v["link"], "up");
  EXPECT_EQ(v["attached"], false);
  EXPECT_TRUE(v.contains("owner_pid") && v["owner_pid"].is_null());
  EXPECT_EQ(v["started"], false);
  EXPECT_EQ(v["active_queues"], 0);
  EXPECT_EQ(v["dma_regions"], 0);
  EXPECT_GT(pub_.count, 0) << "the new VF was never published to the fast path";

  EXPECT_EQ(ok("vf.show", {{"vf", 0}}), v);
  json list = ok("vf.list");
  ASSERT_EQ(list["vfs"].size(), 1u);
  EXPECT_EQ(list["vfs"][0], v);
}

TEST_F(ControlMethodsTest, CreateHonoursOptionalFields) {
  json v = create(
      5,
      {{"id", 42}, {"ip", "192.168.7.9"}, {"prefix", 16}, {"mtu", 9001}, {"trusted", true}, {"queues", 8}})["result"];
  EXPECT_EQ(v["id"], 42);
  EXPECT_EQ(v["subnet"], "192.168.0.0/16");
  EXPECT_EQ(v["mtu"], 9001);
  EXPECT_EQ(v["trusted"], true);
  EXPECT_EQ(v["queues"], 8);
  // Without an id the lowest free one is taken, skipping 42.
  EXPECT_EQ(create(6)["result"]["id"], 0);
  EXPECT_EQ(create(7)["result"]["id"], 1);
}

TEST_F(ControlMethodsTest, EfaVfsAreCreatedAndListedAsEfa) {
  EXPECT_EQ(create(1, {{"type", "efa"}})["result"]["type"], "efa");
  EXPECT_EQ(ok("vf.list")["vfs"][0]["type"], "efa");
  EXPECT_TRUE(is_error(create(2, {{"type", "efb"}}), "invalid_params", "type"));
}

TEST_F(ControlMethodsTest, DuplicateMacIsExists) {
  ASSERT_TRUE(create(1).contains("result"));
  json r = call("vf.create", {{"type", "ena"}, {"mac", mac_for(1)}, {"ip", "10.0.1.99"}});
  EXPECT_TRUE(is_error(r, "exists", mac_for(1)));
  EXPECT_EQ(ok("vf.list")["vfs"].size(), 1u);
}

TEST_F(ControlMethodsTest, DuplicateIdIsExists) {
  ASSERT_TRUE(create(1, {{"id", 3}}).contains("result"));
  EXPECT_TRUE(is_error(create(2, {{"id", 3}}), "exists"));
}

TEST_F(ControlMethodsTest, AddressesAreCheckedAndUniqueInASubnet) {
  json a = ok("vf.create", {{"type", "ena"},
                            {"mac", "02:00:00:00:00:01"},
                            {"ip", "10.0.1.10"},
                            {"secondary_ips", {"10.0.1.20", "10.0.1.21"}}});
  EXPECT_EQ(a["src_dst_check"], true);  // on by default, as on EC2
  EXPECT_EQ(a["secondary_ips"], json({"10.0.1.20", "10.0.1.21"}));
  // Another VF of the subnet may not take the primary or a secondary address.
  EXPECT_TRUE(
      is_error(call("vf.create", {{"type", "ena"}, {"mac", "02:00:00:00:00:02"}, {"ip", "10.0.1.21"}}), "exists"));
  // The same address in another subnet is fine.
  ok("vf.create", {{"type", "ena"},
                   {"mac", "02:00:00:00:00:03"},
                   {"ip", "10.0.1.21"},
                   {"prefix", 25},
                   {"secondary_ips", json::array()}});
  json outside =
      call("vf.create",
           {{"type", "ena"}, {"mac", "02:00:00:00:00:04"}, {"ip", "10.0.2.10"}, {"secondary_ips", {"10.0.3.1"}}});
  EXPECT_TRUE(is_error(outside, "invalid_params"));
  EXPECT_NE(outside["error"]["message"].get<std::string>().find("outside the subnet"), std::string::npos);
  EXPECT_TRUE(is_error(
      call("vf.create",
           {{"type", "ena"}, {"mac", "02:00:00:00:00:05"}, {"ip", "10.0.2.10"}, {"secondary_ips", {"10.0.2.300"}}}),
      "invalid_params"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 0}, {"src_dst_check", "off"}}), "invalid_params"));
  // IPv6: unicast only, unique across VFs.
  json v6 = ok("vf.set", {{"vf", 0}, {"ipv6", {"2600:1f18::10"}}});
  EXPECT_EQ(v6["ipv6"], json({"2600:1f18::10"}));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 1}, {"ipv6", {"2600:1f18::10"}}}), "exists"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 1}, {"ipv6", {"fe80::1"}}}), "invalid_params"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 1}, {"ipv6", {"not-an-address"}}}), "invalid_params"));
  json off = ok("vf.set", {{"vf", 0}, {"src_dst_check", false}, {"secondary_ips", {"10.0.1.30"}}});
  EXPECT_EQ(off["src_dst_check"], false);
  EXPECT_EQ(off["secondary_ips"], json({"10.0.1.30"}));
}

TEST_F(ControlMethodsTest, The257thVfIsLimit) {
  // Regions are lazily allocated memfds, so 256 VFs are cheap; keep it so.
  // No state store here: 256 fsyncs would test the disk, not the table.
  vf::VfTable table(pub_, nullptr);
  ControlMethods m(table, info());
  auto send = [&](const json& params) {
    std::vector<UniqueFd> in;
    std::vector<int> out;
    return json::parse(m.handle(json{{"id", 1}, {"method", "vf.create"}, {"params", params}}.dump(), s1_, in, out));
  };
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < VENIC_MAX_VFS; i++) {
    // One subnet each: an address belongs to one VF of a subnet.
    json r =
        send({{"type", "ena"}, {"mac", mac_for(i + 1)}, {"ip", "10.1." + std::to_string(i) + ".1"}, {"queues", 1}});
    ASSERT_TRUE(r.contains("result")) << "VF " << i << ": " << r.dump();
    ASSERT_EQ(r["result"]["id"], i);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(secs, 5.0) << "creating 256 VFs took " << secs << " s";
  EXPECT_EQ(table.all().size(), 256u);

  EXPECT_TRUE(is_error(send({{"type", "ena"}, {"mac", mac_for(1000)}, {"ip", "10.0.1.1"}}), "limit"));
  // With an explicit id every slot is taken too.
  EXPECT_TRUE(is_error(send({{"type", "ena"}, {"mac", mac_for(1000)}, {"ip", "10.0.1.1"}, {"id", 17}}), "exists"));
  EXPECT_EQ(table.all().size(), 256u);
}

TEST_F(ControlMethodsTest, AUidOtherThanRootCreatesAtMostItsCapOfVfs) {
  methods_->set_max_vfs_per_uid(2);
  const Session tenant{3, 1003, 4242};
  auto create_as = [&](const Session& s, int n) {
    return call("vf.create", {{"type", "ena"}, {"mac", mac_for(n)}, {"ip", "10.0.1." + std::to_string(n)}}, s);
  };
  ASSERT_TRUE(create_as(tenant, 1).contains("result"));
  ASSERT_TRUE(create_as(tenant, 2).contains("result"));
  EXPECT_TRUE(is_error(create_as(tenant, 3), "limit", "max-vfs-per-uid"));
  EXPECT_TRUE(create_as(s1_, 4).contains("result")) << "root has no cap";
  EXPECT_TRUE(create_as(Session{4, 1004, 4343}, 5).contains("result")) << "another uid has its own";
  ASSERT_TRUE(call("vf.delete", {{"vf", 0}}, s1_).contains("result"));
  EXPECT_TRUE(create_as(tenant, 6).contains("result")) << "a deleted VF no longer counts";
  EXPECT_TRUE(is_error(create_as(tenant, 7), "limit"));
}

TEST_F(ControlMethodsTest, DeleteUnknownIsNotFound) {
  EXPECT_TRUE(is_error(call("vf.delete", {{"vf", 3}}), "not_found", "3"));
  EXPECT_TRUE(is_error(call("vf.show", {{"vf", 3}}), "not_found"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 3}, {"mtu", 1500}}), "not_found"));
  EXPECT_TRUE(is_error(call("vf.attach", {{"vf", 3}}), "not_found"));
  EXPECT_TRUE(is_error(call("stats", {{"vf", 3}}), "not_found"));
}

TEST_F(ControlMethodsTest, DeleteRemovesTheVf) {
  ASSERT_TRUE(create(1).contains("result"));
  ASSERT_TRUE(create(2).contains("result"));
  EXPECT_EQ(ok("vf.delete", {{"vf", 0}}), json({{"deleted", 0}}));
  json list = ok("vf.list")["vfs"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], 1);
  EXPECT_TRUE(is_error(call("vf.delete", {{"vf", 0}}), "not_found"));
  // Its MAC is free again.
  EXPECT_TRUE(create(1).contains("result"));
}

TEST_F(ControlMethodsTest, SetChangesMtuTrustedAndLink) {
  ASSERT_TRUE(create(1).contains("result"));
  json v = ok("vf.set", {{"vf", 0}, {"mtu", 9001}});
  EXPECT_EQ(v["mtu"], 9001);
  EXPECT_EQ(ok("vf.show", {{"vf", 0}})["mtu"], 9001);
  EXPECT_EQ(table_->get(0).region->regs()->mtu, 9001) << "register page not updated";

  v = ok("vf.set", {{"vf", 0}, {"trusted", true}, {"link", "down"}});
  EXPECT_EQ(v["trusted"], true);
  EXPECT_EQ(v["link"], "down");
  EXPECT_EQ(table_->get(0).region->regs()->link_status, VENIC_LINK_DOWN);
  EXPECT_EQ(v["mtu"], 9001) << "an unrelated field changed";
}

TEST_F(ControlMethodsTest, LimitsDefaultToEc2sFlowCapAndUnlimitedAllowances) {
  json v = create(1)["result"];
  EXPECT_EQ(v["bw_in_mbps"], 0);
  EXPECT_EQ(v["bw_out_mbps"], 0);
  EXPECT_EQ(v["pps"], 0);
  EXPECT_EQ(v["flow_mbps"], 5000);
  EXPECT_EQ(v["burst_ms"], 10);
}

TEST_F(ControlMethodsTest, SetAndCreateTakeLimitsAndTheStateFileKeepsThem) {
  ASSERT_TRUE(create(1, {{"bw_out_mbps", 250}, {"flow_mbps", 10000}}).contains("result"));
  json v = ok("vf.set", {{"vf", 0}, {"bw_in_mbps", 1000}, {"pps", 50000}, {"burst_ms", 100}});
  EXPECT_EQ(v["bw_in_mbps"], 1000);
  EXPECT_EQ(v["bw_out_mbps"], 250) << "a limit not named changed";
  EXPECT_EQ(v["pps"], 50000);
  EXPECT_EQ(v["flow_mbps"], 10000);
  EXPECT_EQ(v["burst_ms"], 100);
  auto s = saved();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].limits.bw_in_mbps, 1000u);
  EXPECT_EQ(s[0].limits.bw_out_mbps, 250u);
  EXPECT_EQ(s[0].limits.pps, 50000u);
  EXPECT_EQ(s[0].limits.flow_mbps, 10000u);
  EXPECT_EQ(s[0].limits.burst_ms, 100u);
  // 0 lifts a limit.
  EXPECT_EQ(ok("vf.set", {{"vf", 0}, {"bw_out_mbps", 0}})["bw_out_mbps"], 0);
}

TEST_F(ControlMethodsTest, BadLimitsNameTheFieldAndChangeNothing) {
  ASSERT_TRUE(create(1).contains("result"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 0}, {"bw_in_mbps", -5}}), "invalid_params", "bw_in_mbps"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 0}, {"pps", "many"}}), "invalid_params", "pps"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 0}, {"flow_mbps", 400001}}), "invalid_params", "flow_mbps"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 0}, {"burst_ms", 0}}), "invalid_params", "burst_ms"));
  EXPECT_TRUE(is_error(call("vf.set", {{"vf", 0}, {"bw_out_mbps", 1.5}}), "invalid_params", "bw_out_mbps"));
  EXPECT_TRUE(is_error(create(2, {{"pps", true}}), "invalid_params", "pps"));
  json v = ok("vf.show", {{"vf", 0}});
  EXPECT_EQ(v["bw_in_mbps"], 0);
  EXPECT_EQ(v["flow_mbps"], 5000);
  EXPECT_EQ(v["burst_ms"], 10);
  EXPECT_EQ(saved()[0].limits, vf::Limits{});
}

TEST_F(ControlMethodsTest, StatsCarryEnasAllowanceCounters) {
  ASSERT_TRUE(create(1).contains("result"));
  json s = ok("stats", {{"vf", 0}})["vfs"][0];
  const std::set<std::string> want{"bw_in_allowance_exceeded",     "bw_out_allowance_exceeded",
                                   "pps_allowance_exceeded",       "conntrack_allowance_exceeded",
                                   "linklocal_allowance_exceeded", "flow_allowance_exceeded"};
  std::set<std::string> got;
  for (auto& [k, v] : s["allowance_exceeded"].items()) {
    got.insert(k);
    EXPECT_EQ(v, 0) << k;
  }
  EXPECT_EQ(got, want);
  // The region's stats block carries the same counters, by venic_allowance.
  vf::Vf& vf0 = const_cast<vf::Vf&>(table_->get(0));
  vf0.rt->txq[0].c.allowance[VENIC_ALLOW_BW_OUT] = 7;
  vf0.rt->rxq[0].c.allowance[VENIC_ALLOW_BW_IN] = 3;
  table_->tick();
  EXPECT_EQ(vf0.region->stats()->allowance[VENIC_ALLOW_BW_OUT], 7u);
  EXPECT_EQ(vf0.region->stats()->allowance[VENIC_ALLOW_BW_IN], 3u);
  s = ok("stats", {{"vf", 0}})["vfs"][0];
  EXPECT_EQ(s["allowance_exceeded"]["bw_out_allowance_exceeded"], 7);
  EXPECT_EQ(s["allowance_exceeded"]["bw_in_allowance_exceeded"], 3);
}

// ---- stats -------------------------------------------------------------------

TEST_F(ControlMethodsTest, StatsStartAtZeroWithEveryDropReason) {
  ASSERT_TRUE(create(1, {{"queues", 2}}).contains("result"));
  json r = ok("stats", {{"vf", 0}});
  ASSERT_EQ(r["vfs"].size(), 1u);
  json s = r["vfs"][0];
  EXPECT_EQ(s["vf"], 0);
  for (const char* k :
       {"tx_pkts", "tx_bytes", "rx_pkts", "rx_bytes", "tx_zero_copy_pkts", "rx_zero_copy_pkts", "mdd_resets"})
    EXPECT_EQ(s[k], 0) << k;
  const std::set<std::string> want{"no_route",     "bad_desc",    "oversize",    "runt",        "rx_no_buffer",
                                   "rx_oversize",  "rx_down",     "spoof_mac",   "spoof_ip",    "dst_check",
                                   "sg_egress",    "sg_ingress",  "ttl_expired", "not_flooded", "ethertype",
                                   "nacl_ingress", "nacl_egress", "blackhole",   "no_public_ip"};
  std::set<std::string> got;
  for (auto& [k, v] : s["drops"].items()) {
    got.insert(k);
    EXPECT_EQ(v, 0) << k;
  }
  EXPECT_EQ(got, want);
  // One entry per queue pair.
  ASSERT_EQ(s["queues"]["tx"].size(), 2u);
  ASSERT_EQ(s["queues"]["rx"].size(), 2u);
  EXPECT_EQ(s["queues"]["tx"][0], json({{"pkts", 0}, {"bytes", 0}, {"drops", 0}}));
}

TEST_F(ControlMethodsTest, StatsWithoutVfCoversEveryVf) {
  ASSERT_TRUE(create(1).contains("result"));
  ASSERT_TRUE(create(2).contains("result"));
  json r = ok("stats");
  ASSERT_EQ(r["vfs"].size(), 2u);
  EXPECT_EQ(r["vfs"][0]["vf"], 0);
  EXPECT_EQ(r["vfs"][1]["vf"], 1);
}

TEST_F(ControlMethodsTest, StatsResetMovesTheBaseline) {
  ASSERT_TRUE(create(1).contains("result"));
  ASSERT_TRUE(create(2).contains("result"));
  // Pretend a worker moved packets on VF 0.
  auto& rt = *table_->get(0).rt;
  rt.txq[0].c.pkts = 10;
  rt.txq[0].c.bytes = 640;
  rt.rxq[1].c.drops[VENIC_DROP_RX_NO_BUFFER] = 3;
  json s = ok("stats", {{"vf", 0}})["vfs"][0];
  EXPECT_EQ(s["tx_pkts"], 10);
  EXPECT_EQ(s["tx_bytes"], 640);
  EXPECT_EQ(s["drops"]["rx_no_buffer"], 3);
  EXPECT_EQ(s["queues"]["rx"][1]["drops"], 3);

  EXPECT_EQ(ok("stats.reset", {{"vf", 0}}), json({{"reset", json::array({0})}}));
  s = ok("stats", {{"vf", 0}})["vfs"][0];
  EXPECT_EQ(s["tx_pkts"], 0);
  EXPECT_EQ(s["tx_bytes"], 0);
  EXPECT_EQ(s["drops"]["rx_no_buffer"], 0);
  rt.txq[0].c.pkts = 12;
  EXPECT_EQ(ok("stats", {{"vf", 0}})["vfs"][0]["tx_pkts"], 2) << "counting resumes from the reset";

  EXPECT_EQ(ok("stats.reset"), json({{"reset", json::array({0, 1})}}));
  EXPECT_TRUE(is_error(call("stats.reset", {{"vf", 9}}), "not_found"));
}

// ---- attach / detach -----------------------------------------------------------

// A worker may still be in a deleted VF's rings: its region is announced
// down and unmapped only once the workers have moved on, never at once.
TEST_F(ControlMethodsTest, ADeletedVfGoesOnlyAfterTheWorkersMovedOn) {
  pub_.hold = true;
  ASSERT_TRUE(create(1).contains("result"));
  ASSERT_TRUE(call("vf.attach", {{"vf", 0}}, s1_).contains("result"));
  ASSERT_EQ(fds_out_.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::fstat(fds_out_[0], &st), 0);
  const size_t size = table_->get(0).region->size();
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fds_out_[0], 0);
  ASSERT_NE(p, MAP_FAILED);
  const auto* regs = static_cast<const venic_regs*>(p);
  const int daemon_and_driver = mappings_of(st.st_ino);
  ASSERT_GE(daemon_and_driver, 2);
  EXPECT_EQ(regs->link_status, uint32_t(VENIC_LINK_UP));

  ok("vf.delete", {{"vf", 0}});
  EXPECT_TRUE(is_error(call("vf.show", {{"vf", 0}}), "not_found")) << "gone from the table at once";
  EXPECT_EQ(regs->link_status, uint32_t(VENIC_LINK_UP)) << "announced before the workers moved on";
  EXPECT_EQ(mappings_of(st.st_ino), daemon_and_driver) << "unmapped before the workers moved on";
  EXPECT_EQ(pub_.syncs, 0) << "the request waited for the workers";

  pub_.release();
  EXPECT_EQ(regs->link_status, uint32_t(VENIC_LINK_DOWN));
  EXPECT_EQ(mappings_of(st.st_ino), 1) << "only the driver's mapping is left";
  ::munmap(p, size);
}

// Evicting a VF (its ENI detached) gives it a fresh region; the old one, which
// the last published table still points into, stays mapped until then.
TEST_F(ControlMethodsTest, AnEvictedVfsOldRegionGoesOnlyAfterTheWorkersMovedOn) {
  pub_.hold = true;
  ASSERT_TRUE(create(1).contains("result"));
  ASSERT_TRUE(call("vf.attach", {{"vf", 0}}, s1_).contains("result"));
  ASSERT_EQ(fds_out_.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::fstat(fds_out_[0], &st), 0);
  ::close(fds_out_[0]);
  fds_out_.clear();
  ASSERT_GE(mappings_of(st.st_ino), 1);
  table_->evict(0);
  EXPECT_GE(pub_.syncs, 1) << "stopping the queues waits for the workers to leave the rings";
  EXPECT_GE(mappings_of(st.st_ino), 1) << "the old region was unmapped before the workers moved on";
  pub_.release();
  EXPECT_EQ(mappings_of(st.st_ino), 0);
}

TEST_F(ControlMethodsTest, AttachHandsOverTheRegion) {
  ASSERT_TRUE(create(1).contains("result"));
  json r = call("vf.attach", {{"vf", 0}}, s1_);
  ASSERT_TRUE(r.contains("result")) << r.dump();
  const uint64_t size = table_->get(0).region->size();
  EXPECT_EQ(r["result"], json({{"vf", 0}, {"region_size", size}}));
  ASSERT_EQ(fds_out_.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::fstat(fds_out_[0], &st), 0);
  EXPECT_EQ(uint64_t(st.st_size), size);
  // The region the client maps is the VF's: it starts with the ABI magic.
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fds_out_[0], 0);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(static_cast<const venic_regs*>(p)->magic, VENIC_ABI_MAGIC);
  ::munmap(p, size);

  json v = ok("vf.show", {{"vf", 0}});
  EXPECT_EQ(v["attached"], true);
  EXPECT_EQ(v["owner_pid"], s1_.pid);
}

TEST_F(ControlMethodsTest, SecondAttachIsBusyUntilTheSessionDetaches) {
  ASSERT_TRUE(create(1).contains("result"));
  ASSERT_TRUE(call("vf.attach", {{"vf", 0}}, s1_).contains("result"));
  json r = call("vf.attach", {{"vf", 0}}, s2_);
  EXPECT_TRUE(is_error(r, "busy", std::to_string(s1_.pid)));
  EXPECT_TRUE(fds_out_.empty()) << "a refused attach must not send the region";

  table_->detach_session(s1_.id);
  json v = ok("vf.show", {{"vf", 0}});
  EXPECT_EQ(v["attached"], false);
  EXPECT_TRUE(v["owner_pid"].is_null());

  r = call("vf.attach", {{"vf", 0}}, s2_);
  EXPECT_TRUE(r.contains("result")) << r.dump();
  EXPECT_EQ(fds_out_.size(), 1u);
}

// A previous holder that kept its mapping must not reach the next attacher:
// every attach hands out a region of its own.
TEST_F(ControlMethodsTest, ReattachGetsAFreshRegion) {
  ASSERT_TRUE(create(1).contains("result"));
  ASSERT_TRUE(call("vf.attach", {{"vf", 0}}, s1_).contains("result"));
  ASSERT_EQ(fds_out_.size(), 1u);
  const uint64_t size = table_->get(0).region->size();
  UniqueFd old_fd(::dup(fds_out_[0]));
  void* old_map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, old_fd.get(), 0);
  ASSERT_NE(old_map, MAP_FAILED);
  table_->detach_session(s1_.id);

  ASSERT_TRUE(call("vf.attach", {{"vf", 0}}, s2_).contains("result"));
  ASSERT_EQ(fds_out_.size(), 1u);
  struct stat a {
  }, b{};
  ASSERT_EQ(::fstat(old_fd.get(), &a), 0);
  ASSERT_EQ(::fstat(fds_out_[0], &b), 0);
  EXPECT_NE(a.st_ino, b.st_ino) << "the second attacher got the first one's memfd";
  void* new_map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fds_out_[0], 0);
  ASSERT_NE(new_map, MAP_FAILED);
  const venic_regs& r = table_->get(0).region->layout();
  auto* old_bytes = static_cast<uint8_t*>(old_map);
  auto* new_bytes = static_cast<const uint8_t*>(new_map);
  // The old holder scribbles over a TX ring index, a copy buffer and the end.
  std::memset(old_bytes + r.qp[0].tx_sq_off, 0x5a, 64);
  std::memset(old_bytes + r.buf_area_off, 0x5a, 4096);
  old_bytes[size - 1] = 0x5a;
  for (uint64_t off : {r.qp[0].tx_sq_off, r.buf_area_off, size - 1}) EXPECT_NE(new_bytes[off], 0x5a) << off;
  EXPECT_EQ(static_cast<const venic_regs*>(new_map)->magic, VENIC_ABI_MAGIC);
  EXPECT_EQ(table_->get(0).region->base()[r.buf_area_off], 0) << "the daemon's view is the new region";
  ::munmap(old_map, size);
  ::munmap(new_map, size);
}

TEST_F(ControlMethodsTest, OneSessionHoldsAtMostOneVf) {
  ASSERT_TRUE(create(1).contains("result"));
  ASSERT_TRUE(create(2).contains("result"));
  ASSERT_TRUE(call("vf.attach", {{"vf", 0}}, s1_).contains("result"));
  EXPECT_TRUE(is_error(call("vf.attach", {{"vf", 1}}, s1_), "busy"));
  EXPECT_TRUE(fds_out_.empty());
}

// ---- ownership of plain VFs (docs/ownership.md) ----------------------------------

::testing::AssertionResult is_unauthorized(const json& r) {
  auto e = is_error(r, "permission_denied");
  if (!e) return e;
  if (r["error"].value("aws_code", "") != "UnauthorizedOperation")
    return ::testing::AssertionFailure() << "aws_code is not UnauthorizedOperation: " << r.dump();
  return ::testing::AssertionSuccess();
}

class VfOwnershipTest : public ControlMethodsTest {
 protected:
  Session b_{11, 2001, 1001};
  Session c_{12, 2002, 1002};
  Session root_{13, 2003, 0};
  // uid's VF n, created by itself.
  uint16_t create_as(const Session& s, int n) {
    json r = call("vf.create", {{"type", "ena"}, {"mac", mac_for(n)}, {"ip", "10.0.1." + std::to_string(n)}}, s);
    EXPECT_TRUE(r.contains("result")) << r.dump();
    return r.contains("result") ? r["result"]["id"].get<uint16_t>() : 0;
  }
};

TEST_F(VfOwnershipTest, TheCreatorOwnsAVf) {
  const uint16_t vc = create_as(c_, 1);
  json v = table_->vf_json(table_->get(vc));
  EXPECT_EQ(v["owner_uid"], 1002);
  EXPECT_EQ(v["owner_id"], "000000001002");
  EXPECT_EQ(saved().at(0).owner_uid, 1002) << "the state file keeps the owner";
}

TEST_F(VfOwnershipTest, ATenantCannotSetDeleteOrAttachAnothersVf) {
  const uint16_t vc = create_as(c_, 1);
  const json before = vf::to_json(table_->get(vc).cfg);
  EXPECT_TRUE(is_unauthorized(call("vf.set", {{"vf", vc}, {"src_dst_check", false}}, b_)));
  EXPECT_TRUE(is_unauthorized(call("vf.set", {{"vf", vc}, {"link", "down"}}, b_)));
  EXPECT_TRUE(is_unauthorized(call("vf.delete", {{"vf", vc}}, b_)));
  EXPECT_TRUE(is_unauthorized(call("vf.attach", {{"vf", vc}}, b_)));
  EXPECT_TRUE(fds_out_.empty());
  EXPECT_TRUE(is_unauthorized(call("vf.show", {{"vf", vc}}, b_)));
  EXPECT_TRUE(is_unauthorized(call("stats.reset", {{"vf", vc}}, b_)));
  EXPECT_EQ(vf::to_json(table_->get(vc).cfg), before);
  EXPECT_FALSE(table_->get(vc).attached());
  // The owner may.
  EXPECT_TRUE(call("vf.set", {{"vf", vc}, {"mtu", 9001}}, c_).contains("result"));
  EXPECT_TRUE(call("vf.attach", {{"vf", vc}}, c_).contains("result"));
  EXPECT_EQ(fds_out_.size(), 1u);
}

TEST_F(VfOwnershipTest, ATenantSeesOnlyItsOwnVfs) {
  const uint16_t vb = create_as(b_, 1);
  create_as(c_, 2);
  create_as(root_, 3);
  json list = call("vf.list", json::object(), b_)["result"]["vfs"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], vb);
  EXPECT_EQ(call("stats", json::object(), b_)["result"]["vfs"].size(), 1u);
  EXPECT_EQ(call("vf.list", json::object(), root_)["result"]["vfs"].size(), 3u) << "root sees all";
}

TEST_F(VfOwnershipTest, OnlyAnAdminCreatesForSomeoneElse) {
  EXPECT_TRUE(is_unauthorized(
      call("vf.create", {{"type", "ena"}, {"mac", mac_for(1)}, {"ip", "10.0.1.1"}, {"owner_uid", 0}}, b_)));
  EXPECT_TRUE(table_->all().empty());
  json r = call("vf.create", {{"type", "ena"}, {"mac", mac_for(2)}, {"ip", "10.0.1.2"}, {"owner_uid", 1002}}, root_);
  ASSERT_TRUE(r.contains("result")) << r.dump();
  EXPECT_TRUE(call("vf.attach", {{"vf", r["result"]["id"]}}, c_).contains("result")) << "root made it C's";
}

TEST_F(VfOwnershipTest, RootManagesEveryonesVfs) {
  const uint16_t vc = create_as(c_, 1);
  EXPECT_TRUE(call("vf.set", {{"vf", vc}, {"mtu", 9001}}, root_).contains("result"));
  EXPECT_TRUE(call("vf.attach", {{"vf", vc}}, root_).contains("result"));
  table_->detach_session(root_.id);
  EXPECT_TRUE(call("vf.delete", {{"vf", vc}}, root_).contains("result"));
}

TEST_F(VfOwnershipTest, AStateFileWithoutOwnersIsRoots) {
  const uint16_t vc = create_as(c_, 1);
  json j = vf::to_json(table_->get(vc).cfg);
  j.erase("owner_uid");
  EXPECT_EQ(vf::config_from_json(j, true).owner_uid, 0);
}

// ---- vf.register_memory ----------------------------------------------------------

class RegisterMemoryTest : public ControlMethodsTest {
 protected:
  static constexpr uint64_t kMem = 1 << 20;

  void SetUp() override {
    ControlMethodsTest::SetUp();
    mem_.reset(::memfd_create("venic-test-mem", MFD_CLOEXEC));
    ASSERT_TRUE(mem_.valid());
    ASSERT_EQ(::ftruncate(mem_.get(), kMem), 0);
    ASSERT_TRUE(create(1).contains("result"));
  }
  std::vector<UniqueFd> one_fd() {
    std::vector<UniqueFd> v;
    v.emplace_back(::dup(mem_.get()));
    return v;
  }
  json reg(const json& regions, const Session& s) {
    return call("vf.register_memory", {{"regions", regions}}, s, one_fd());
  }

  UniqueFd mem_;
};

TEST_F(RegisterMemoryTest, WithoutAttachIsInvalidRequest) {
  json r = reg(json::array({mem(0x10000, kMem, 0)}), s1_);
  EXPECT_TRUE(is_error(r, "invalid_request", "attach"));
}

TEST_F(RegisterMemoryTest, AttachedSessionGetsMemoryIds) {
  ASSERT_TRUE(call("vf.attach", {{"vf", 0}}, s1_).contains("result"));
  json r = reg(json::array({mem(0x7f0000000000, kMem, 0)}), s1_);
  ASSERT_TRUE(r.contains("result")) << r.dump();
  EXPECT_EQ(r["result"], json({{"mem_ids", json::array({1})}}));
  EXPECT_EQ(ok("vf.show", {{"vf", 0}})["dma_regions"], 1);
  const auto& dma = table_->get(0).dma;
  ASSERT_TRUE(dma);
  ASSERT_EQ(dma->regions().size(), 1u);
  EXPECT_EQ(dma->regions()[0].len, kMem);
  EXPECT_EQ(dma->regions()[0].client_va, 0x7f0000000000u);

  // A second registration appends: its id follows the first.
  r = reg(json::array({mem(0x7f0000200000, 4096, 4096)}), s1_);
  EXPECT_EQ(r["result"], json({{"mem_ids", json::array({2})}})) << r.dump();

  // Detaching drops the registrations.
  table_->detach_session(s1_.id);
  EXPECT_EQ(ok("vf.show", {{"vf", 0}})["dma_regions"], 0);
}

TEST_F(RegisterMemoryTest, SharedMemoryIsReallyMapped) {
  ASSERT_TRUE(call("vf.attach", {{"vf", 0}}, s1_).contains("result"));
  ASSERT_TRUE(reg(json::array({mem(0x1000, 8192, 4096)}), s1_).contains("result"));
  // What the client writes at file offset 4096 the daemon sees at byte 0.
  const char msg[] = "hello";
  ASSERT_EQ(::pwrite(mem_.get(), msg, sizeof(msg), 4096), ssize_t(sizeof(msg)));
  EXPECT_STREQ(reinterpret_cast<const char*>(table_->get(0).dma->regions()[0].base), msg);
}

TEST_F(RegisterMemoryTest, RangeBeyondTheFileIsInvalidParams) {
  ASSERT_TRUE(call("vf.attach", {{"vf", 0}}, s1_).contains("result"));
  EXPECT_TRUE(is_error(reg(json::array({mem(0x1000, kMem + 4096, 0)}), s1_), "invalid_params", "regions[0]"));
  EXPECT_TRUE(is_error(reg(json::array({mem(0x1000, 4096, kMem)}), s1_), "invalid_params", "regions[0]"));
  // offset + len wrapping around 2^64 must not pass the bounds check.
  EXPECT_TRUE(is_error(reg(json::array({mem(0x1000, 4096, UINT64_MAX - 100)}), s1_), "invalid_params", "regions[0]"));
  EXPECT_TRUE(is_error(reg(json::array({mem(0x1000, 0, 0)}), s1_), "invalid_params", "regions[0]"));
  EXPECT_EQ(ok("vf.show", {{"vf", 0}})["dma_regions"], 0);
}

TEST_F(RegisterMemoryTest, MalformedRegionsAreInvalidParams) {
  ASSERT_TRUE(call("vf.attach", {{"vf", 0}}, s1_).contains("result"));
  EXPECT_TRUE(is_error(call("vf.register_memory", json::object(), s1_, one_fd()), "invalid_params", "regions"));
  EXPECT_TRUE(is_error(call("vf.register_memory", {{"regions", 5}}, s1_, one_fd()), "invalid_params", "regions"));
  EXPECT_TRUE(
      is_error(reg(json::array({json{{"va", -1}, {"len", 4096}, {"offset", 0}}}), s1_), "invalid_params", "va"));
  EXPECT_TRUE(
      is_error(reg(json::array({json{{"va", 0}, {"len", "4096"}, {"offset", 0}}}), s1_), "invalid_params", "len"));
  EXPECT_TRUE(is_error(reg(json::array({json{{"va", 0}, {"len", 4096}}}), s1_), "invalid_params", "offset"));
  // One region described, no fd sent.
  EXPECT_TRUE(is_error(call("vf.register_memory", {{"regions", json::array({mem(0, 4096, 0)})}}, s1_), "invalid_params",
                       "file descriptors"));
}

// ---- persistence ---------------------------------------------------------------

TEST_F(ControlMethodsTest, StateFileFollowsCreateSetAndDelete) {
  EXPECT_TRUE(saved().empty());
  ASSERT_TRUE(create(1, {{"mtu", 9001}}).contains("result"));
  ASSERT_TRUE(create(2, {{"id", 9}, {"trusted", true}}).contains("result"));
  auto s = saved();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].id, 0);
  EXPECT_EQ(s[0].mtu, 9001);
  EXPECT_EQ(vf::format_mac(s[0].mac), mac_for(1));
  EXPECT_EQ(s[1].id, 9);
  EXPECT_TRUE(s[1].trusted);

  ASSERT_TRUE(call("vf.set", {{"vf", 9}, {"link", "down"}}).contains("result"));
  s = saved();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_FALSE(s[1].link_up);

  ASSERT_TRUE(call("vf.delete", {{"vf", 0}}).contains("result"));
  s = saved();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].id, 9);
}

TEST_F(ControlMethodsTest, RefusedCreateDoesNotTouchTheStateFile) {
  ASSERT_TRUE(create(1).contains("result"));
  ASSERT_TRUE(is_error(create(1), "exists"));
  EXPECT_EQ(saved().size(), 1u);
}

// ---- vhost-user front-end ---------------------------------------------------

// Records what the table asks of its front-ends; expose fails on request.
class FakeFrontends : public vf::Frontends {
 public:
  void expose(vf::Vf& v, bool) override {
    if (fail) throw std::runtime_error("vhost_path: cannot listen on " + v.cfg.vhost_path);
    exposed.push_back(v.cfg.vhost_path);
  }
  void withdraw(vf::Vf& v) override { withdrawn.push_back(v.cfg.vhost_path); }
  void poll(vf::VfTable&) override { polls++; }
  std::string default_path(uint16_t id) const override { return "/run/fake/vf" + std::to_string(id) + ".vhost"; }
  json describe(const vf::Vf&) const override { return {{"connected", false}}; }
  std::vector<std::string> exposed, withdrawn;
  bool fail = false;
  int polls = 0;
};

// A bridge that moves nothing: the table only stores and publishes it.
class IdleBridge : public vf::Bridge {
 public:
  uint32_t to_vf(uint32_t) override { return 0; }
  uint32_t from_vf(uint32_t) override { return 0; }
};

class VhostTableTest : public ControlMethodsTest {
 protected:
  void SetUp() override {
    ControlMethodsTest::SetUp();
    methods_.reset();
    table_ = std::make_unique<vf::VfTable>(pub_, store_.get(), &fe_);
    methods_ = std::make_unique<ControlMethods>(*table_, info());
  }
  json vhost(int n, json extra = json::object()) {
    extra["frontend"] = "vhost-user";
    return create(n, extra);
  }
  FakeFrontends fe_;
};

TEST_F(ControlMethodsTest, VhostUserNeedsADaemonWithTheFrontEnd) {
  EXPECT_TRUE(is_error(create(1, {{"frontend", "vhost-user"}}), "invalid_params", "vhost-user"));
  EXPECT_TRUE(saved().empty());
}

TEST_F(VhostTableTest, CreateExposesTheDefaultPathAndPersistsIt) {
  json r = vhost(1);
  ASSERT_TRUE(r.contains("result")) << r.dump();
  EXPECT_EQ(r["result"]["frontend"], "vhost-user");
  EXPECT_EQ(r["result"]["vhost_path"], "/run/fake/vf0.vhost");
  EXPECT_EQ(r["result"]["vhost_mode"], "server");
  EXPECT_EQ(r["result"]["vhost"], json({{"connected", false}}));
  EXPECT_EQ(fe_.exposed, std::vector<std::string>{"/run/fake/vf0.vhost"});
  auto cfgs = saved();
  ASSERT_EQ(cfgs.size(), 1u);
  EXPECT_EQ(cfgs[0].frontend, vf::Frontend::kVhostUser);
  EXPECT_EQ(cfgs[0].vhost_path, "/run/fake/vf0.vhost");
  EXPECT_FALSE(cfgs[0].vhost_client);

  // A restart restores the VF and exposes the same socket again.
  FakeFrontends again;
  vf::VfTable restored(pub_, nullptr, &again);
  restored.restore(cfgs);
  EXPECT_EQ(again.exposed, std::vector<std::string>{"/run/fake/vf0.vhost"});
}

TEST_F(VhostTableTest, ClientModeAndExplicitPath) {
  json r = vhost(1, {{"vhost_path", "/run/qemu/g1.sock"}, {"vhost_mode", "client"}});
  ASSERT_TRUE(r.contains("result")) << r.dump();
  EXPECT_EQ(r["result"]["vhost_mode"], "client");
  EXPECT_TRUE(saved()[0].vhost_client);
  EXPECT_TRUE(is_error(vhost(2, {{"vhost_path", "/run/qemu/g1.sock"}}), "exists", "/run/qemu/g1.sock"));
}

// A uid other than root names a vhost-user socket only in venicd's socket
// directory: root would otherwise create (or connect to) it anywhere.
TEST_F(VhostTableTest, ATenantsSocketStaysInTheSocketDirectory) {
  methods_->set_tenant_socket_dir("/run/fake");
  const Session tenant{3, 1003, 4242};
  auto as_tenant = [&](int n, json extra) {
    json p = {{"type", "ena"}, {"mac", mac_for(n)}, {"ip", "10.0.1." + std::to_string(n)}, {"frontend", "vhost-user"}};
    p.update(extra);
    return call("vf.create", p, tenant);
  };
  for (const char* bad :
       {"/etc/x.sock", "/run/fake/../x.sock", "/run/fake/sub/x.sock", "/run/fakeish/x.sock", "/run/fake/"}) {
    EXPECT_TRUE(is_error(as_tenant(1, {{"vhost_path", bad}}), "permission_denied", "vhost_path")) << bad;
    EXPECT_TRUE(
        is_error(as_tenant(1, {{"vhost_path", bad}, {"vhost_mode", "client"}}), "permission_denied", "vhost_path"))
        << bad;
  }
  EXPECT_TRUE(fe_.exposed.empty());
  EXPECT_TRUE(as_tenant(1, {{"vhost_path", "/run/fake/mine.sock"}}).contains("result"));
  EXPECT_TRUE(as_tenant(2, json::object()).contains("result")) << "the default path is in the directory";
  EXPECT_TRUE(vhost(3, {{"vhost_path", "/run/qemu/g1.sock"}}).contains("result")) << "root names any path";
}

TEST_F(VhostTableTest, BadFrontendFieldsNameTheField) {
  EXPECT_TRUE(is_error(create(1, {{"frontend", "vfio-user"}}), "invalid_params", "frontend"));
  EXPECT_TRUE(is_error(vhost(1, {{"vhost_path", "relative.sock"}}), "invalid_params", "vhost_path"));
  EXPECT_TRUE(is_error(vhost(1, {{"vhost_path", "/" + std::string(120, 'x')}}), "invalid_params", "vhost_path"));
  EXPECT_TRUE(is_error(vhost(1, {{"vhost_mode", "listen"}}), "invalid_params", "vhost_mode"));
  EXPECT_TRUE(is_error(create(1, {{"vhost_path", "/run/x.sock"}}), "invalid_params", "vhost_path"));
  EXPECT_TRUE(is_error(vhost(1, {{"type", "efa"}}), "invalid_params"));
  EXPECT_TRUE(fe_.exposed.empty());
  EXPECT_TRUE(saved().empty());
}

TEST_F(VhostTableTest, AFailedExposeLeavesNothing) {
  fe_.fail = true;
  EXPECT_TRUE(is_error(vhost(1), "invalid_params", "cannot listen"));
  EXPECT_TRUE(saved().empty());
  EXPECT_TRUE(ok("vf.list")["vfs"].empty());
}

TEST_F(VhostTableTest, ThePmdCannotAttachAVhostUserVf) {
  ASSERT_TRUE(vhost(1).contains("result"));
  EXPECT_TRUE(is_error(call("vf.attach", {{"vf", 0}}), "busy", "vhost-user"));
}

TEST_F(VhostTableTest, DeleteWithdrawsTheSocket) {
  ASSERT_TRUE(vhost(1).contains("result"));
  EXPECT_EQ(ok("vf.delete", {{"vf", 0}}), json({{"deleted", 0}}));
  EXPECT_EQ(fe_.withdrawn, std::vector<std::string>{"/run/fake/vf0.vhost"});
  EXPECT_TRUE(saved().empty());
}

TEST_F(VhostTableTest, ABridgeAttachesStartsAndDetaches) {
  ASSERT_TRUE(vhost(1, {{"queues", 2}}).contains("result"));
  IdleBridge bridge;
  auto dma = std::make_shared<vf::DmaTable>();
  static uint8_t pool[4096];
  dma->add_own(pool, sizeof(pool));
  int before = pub_.count;
  EXPECT_THROW(table_->attach_bridge(0, 77, &bridge, dma, 3), vf::TableError);  // more queues than the VF
  table_->attach_bridge(0, 77, &bridge, dma, 2);
  EXPECT_GT(pub_.count, before);
  const vf::Vf& v = table_->get(0);
  EXPECT_TRUE(v.polled());
  EXPECT_EQ(v.active_qps, 2u);
  EXPECT_EQ(v.bridge, &bridge);
  json shown = ok("vf.show", {{"vf", 0}});
  EXPECT_EQ(shown["attached"], true);
  EXPECT_TRUE(shown["owner_pid"].is_null());
  EXPECT_EQ(shown["dma_regions"], 1);
  EXPECT_THROW(table_->attach_bridge(0, 78, &bridge, dma, 1), vf::TableError);  // already held
  table_->detach_session(77);
  EXPECT_FALSE(v.attached());
  EXPECT_EQ(v.bridge, nullptr);
  EXPECT_EQ(v.active_qps, 0u);
  EXPECT_EQ(v.dma, nullptr);
}

}  // namespace
}  // namespace venic::control
