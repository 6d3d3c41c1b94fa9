// The state file: what save writes, load must read back; a file that is not
// one of ours is reported (naming the file) and never touched.
#include "state_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace venic::state {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using vf::VfConfig;

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/venic-state-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "vfs.json").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void write_file(const std::string& text) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << text;
    ASSERT_TRUE(out.good());
  }
  std::string read_file() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Loading the file as it is now must fail with a StateError that names the
  // file and calls it corrupt, and must leave every byte of it in place.
  void expect_corrupt(const std::string& what) {
    SCOPED_TRACE(what);
    const std::string before = read_file();
    StateStore store(path_);
    try {
      store.load();
      ADD_FAILURE() << "load accepted a bad state file: " << what;
    } catch (const StateError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(path_), std::string::npos) << msg;
      EXPECT_NE(msg.find("corrupt"), std::string::npos) << msg;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "load threw something other than StateError: " << e.what();
    }
    EXPECT_EQ(read_file(), before) << "a failed load changed the file";
  }

  // A valid file with two VFs, as JSON, for the tests to break.
  json valid_json() {
    StateStore(path_).save(sample());
    return json::parse(read_file());
  }

  static std::vector<VfConfig> sample() {
    VfConfig a;
    a.id = 0;
    a.mac = {0x02, 0, 0, 0, 0, 0x01};
    a.ip = 0x0a00010a;
    VfConfig b;
    b.id = 7;
    b.type = vf::Personality::kEfa;
    b.mac = {0x0a, 0xbc, 0xde, 0xf0, 0x12, 0x34};
    b.ip = 0xc0a80005;
    b.prefix = 16;
    b.mtu = 9001;
    b.trusted = true;
    b.queues = 8;
    b.link_up = false;
    VfConfig c;
    c.id = 255;
    c.mac = {0x02, 0, 0, 0, 0, 0xff};
    c.ip = 0x0a000001;
    c.prefix = 32;
    c.mtu = 68;
    c.queues = 1;
    return {a, b, c};
  }

  fs::path dir_;
  std::string path_;
};

void expect_same(const VfConfig& got, const VfConfig& want) {
  SCOPED_TRACE("VF " + std::to_string(want.id));
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.mac, want.mac);
  EXPECT_EQ(got.ip, want.ip);
  EXPECT_EQ(got.prefix, want.prefix);
  EXPECT_EQ(got.mtu, want.mtu);
  EXPECT_EQ(got.trusted, want.trusted);
  EXPECT_EQ(got.queues, want.queues);
  EXPECT_EQ(got.link_up, want.link_up);
}

TEST_F(StateStoreTest, SaveThenLoadRoundTripsEveryField) {
  StateStore store(path_);
  const auto want = sample();
  store.save(want);
  auto got = store.load();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); i++) expect_same(got[i], want[i]);
}

TEST_F(StateStoreTest, SaveOverwritesThePreviousContent) {
  StateStore store(path_);
  store.save(sample());
  store.save({sample()[1]});
  auto got = store.load();
  ASSERT_EQ(got.size(), 1u);
  expect_same(got[0], sample()[1]);
}

TEST_F(StateStoreTest, EmptyListRoundTrips) {
  StateStore store(path_);
  store.save({});
  EXPECT_TRUE(fs::exists(path_));
  EXPECT_TRUE(store.load().empty());
}

TEST_F(StateStoreTest, MissingFileLoadsAsNoVfs) {
  StateStore store(path_);
  EXPECT_TRUE(store.load().empty());
  EXPECT_FALSE(fs::exists(path_)) << "load must not create the file";
}

TEST_F(StateStoreTest, SaveLeavesNoTempFileBehind) {
  StateStore store(path_);
  store.save(sample());
  store.save(sample());
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"vfs.json"});
}

TEST_F(StateStoreTest, SaveIntoMissingDirectoryThrowsStateError) {
  StateStore store((dir_ / "no-such-dir" / "vfs.json").string());
  EXPECT_THROW(store.save(sample()), StateError);
}

TEST_F(StateStoreTest, UnreadableStatePathIsAnErrorNotAnEmptyTable) {
  // A directory where the file should be: not "no VFs", an error.
  fs::create_directory(path_);
  StateStore store(path_);
  EXPECT_THROW(store.load(), StateError);
}

TEST_F(StateStoreTest, NotJsonIsCorrupt) {
  write_file("this is not json {");
  expect_corrupt("garbage");
}

TEST_F(StateStoreTest, EmptyFileIsCorrupt) {
  write_file("");
  expect_corrupt("empty file");
}

TEST_F(StateStoreTest, TruncatedFileIsCorrupt) {
  StateStore(path_).save(sample());
  std::string full = read_file();
  ASSERT_GT(full.size(), 20u);
  write_file(full.substr(0, full.size() / 2));
  expect_corrupt("cut in half");
}

TEST_F(StateStoreTest, WrongShapeIsCorrupt) {
  write_file("[1, 2, 3]\n");
  expect_corrupt("array at top level");
  write_file(R"({"version": 1})");
  expect_corrupt("no vfs");
  write_file(R"({"vfs": []})");
  expect_corrupt("no version");
  write_file(R"({"version": 1, "vfs": {}})");
  expect_corrupt("vfs not a list");
}

TEST_F(StateStoreTest, DeeplyNestedFileIsCorruptNotACrash) {
  const size_t depth = 100000;
  write_file(R"({"version": 1, "vfs": [], "ec2": {"x": )" + std::string(depth, '[') + std::string(depth, ']') + "}}");
  expect_corrupt("100 000 levels deep");
}

TEST_F(StateStoreTest, WrongVersionIsCorrupt) {
  json j = valid_json();
  j["version"] = 2;
  write_file(j.dump(2));
  expect_corrupt("version 2");
  j["version"] = "1";
  write_file(j.dump(2));
  expect_corrupt("version as a string");
}

TEST_F(StateStoreTest, DuplicateIdIsCorrupt) {
  json j = valid_json();
  j["vfs"][1]["id"] = j["vfs"][0]["id"];
  write_file(j.dump(2));
  expect_corrupt("duplicate id");
}

TEST_F(StateStoreTest, DuplicateMacIsCorrupt) {
  json j = valid_json();
  j["vfs"][1]["mac"] = j["vfs"][0]["mac"];
  write_file(j.dump(2));
  expect_corrupt("duplicate MAC");
}

TEST_F(StateStoreTest, BadMacInsideIsCorrupt) {
  json j = valid_json();
  j["vfs"][0]["mac"] = "02:zz:00:00:00:01";
  write_file(j.dump(2));
  expect_corrupt("MAC not hex");
  j["vfs"][0]["mac"] = "01:00:5e:00:00:01";
  write_file(j.dump(2));
  expect_corrupt("multicast MAC");
}

TEST_F(StateStoreTest, BadFieldsInsideAreCorrupt) {
  const json good = valid_json();
  struct Case {
    const char* what;
    const char* field;
    json value;
  };
  const Case cases[] = {
      {"id missing", "id", nullptr},      {"id out of range", "id", 256},         {"mtu too big", "mtu", 9002},
      {"mtu as string", "mtu", "1500"},   {"queues zero", "queues", 0},           {"ip not IPv4", "ip", "10.0.1"},
      {"unknown type", "type", "virtio"}, {"trusted not bool", "trusted", "yes"}, {"link bogus", "link", "sideways"},
      {"prefix zero", "prefix", 0},
  };
  for (const auto& c : cases) {
    json j = good;
    if (c.value.is_null())
      j["vfs"][0].erase(c.field);
    else
      j["vfs"][0][c.field] = c.value;
    write_file(j.dump(2));
    expect_corrupt(c.what);
  }
  json j = good;
  j["vfs"][0] = "not an object";
  write_file(j.dump(2));
  expect_corrupt("entry not an object");
}

}  // namespace
}  // namespace venic::state
