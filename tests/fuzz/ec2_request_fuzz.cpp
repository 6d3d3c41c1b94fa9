// The EC2 request decoder and the model behind it: Ec2Service::call (the
// ec2.* methods) on arbitrary parameters, a few actions in a row on a fresh
// model.  One input is up to kMaxActions lines "<Action> <JSON params>"; in
// the params a string "@vpc", "@subnet", "@sg", "@i", "@eni", "@attach" or
// "@pg" (or "@acl", a network ACL), optionally followed by a digit n, becomes the id (or placement
// group name) of the n-th such resource made so far (from 0), so that mutations reach
// the actions on existing resources without guessing ids.
//
// After every action: a refused one changed nothing (model and VFs); the
// model saves to JSON that loads back to the same model (what venicd
// restores at start); every ENI has its VF and every ENI-backed VF an ENI.
// An exception other than EC2's or the VF table's errors is a finding (it
// would reach the client as an "internal" error).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ec2_service.h"
#include "fuzz_check.h"

using nlohmann::json;
using venic::fuzz::require;

namespace {

constexpr size_t kMaxActions = 8;

class NoPublisher : public venic::vf::Publisher {
 public:
  void publish(const venic::vf::VfTable&) override {}
};

// The ids a placeholder may name, by kind ("vpc", ...), in creation order.
using Made = std::map<std::string, std::vector<std::string>>;

// Adds to made the ids in the saved model that it does not hold yet.
void note_new(const json& model, Made& made) {
  static const struct {
    const char* kind;
    const char* list;
    const char* field;
  } kKinds[] = {{"vpc", "vpcs", "id"},
                {"subnet", "subnets", "id"},
                {"sg", "security_groups", "id"},
                {"i", "instances", "id"},
                {"eni", "enis", "id"},
                {"attach", "enis", "attachment"},
                {"pg", "placement_groups", "name"},
                {"acl", "network_acls", "id"}};
  for (const auto& k : kKinds) {
    std::vector<std::string>& ids = made[k.kind];
    for (const auto& x : model[k.list]) {
      if (!x.contains(k.field) || !x[k.field].is_string()) continue;
      const std::string id = x[k.field].get<std::string>();
      if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
  }
}

void substitute(json& j, const Made& made) {
  if (j.is_object() || j.is_array()) {
    for (auto& x : j) substitute(x, made);
    return;
  }
  if (!j.is_string()) return;
  const std::string s = j.get<std::string>();
  if (s.size() < 2 || s[0] != '@') return;
  std::string kind = s.substr(1);
  size_t n = 0;
  if (kind.back() >= '0' && kind.back() <= '9') {
    n = static_cast<size_t>(kind.back() - '0');
    kind.pop_back();
  }
  auto it = made.find(kind);
  if (it != made.end() && n < it->second.size()) j = it->second[n];
}

std::set<uint16_t> vf_ids(const venic::vf::VfTable& table) {
  std::set<uint16_t> out;
  for (auto& [id, v] : table.all()) out.insert(id);
  return out;
}

void check_consistent(const venic::model::Ec2Service& ec2, const venic::vf::VfTable& table) {
  const json saved = ec2.model().to_json();
  venic::model::Ec2Model reloaded;
  try {
    reloaded.load(saved);
  } catch (const std::exception& e) {
    require(false, "the saved model loads back:", e.what());
  }
  require(reloaded.to_json() == saved, "the saved model loads back the same", saved.dump());
  std::set<uint16_t> backing;
  for (auto& [id, e] : ec2.model().enis()) {
    backing.insert(e.vf);
    auto v = table.all().find(e.vf);
    require(v != table.all().end() && v->second->cfg.eni_id == id, "every ENI has its VF", id);
  }
  for (auto& [id, v] : table.all())
    require(v->cfg.eni_id.empty() || backing.count(id), "every ENI-backed VF has its ENI", v->cfg.eni_id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool echo = std::getenv("VENIC_FUZZ_ECHO") != nullptr;  // shows each action and its outcome
  NoPublisher publisher;
  venic::vf::VfTable table(publisher, nullptr);
  uint64_t counter = 0;
  venic::model::Ec2Service ec2(table, nullptr, [&counter] { return ++counter * 0x9e3779b97f4a7c15ull; });

  Made made;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (size_t n = 0; n < kMaxActions && !input.empty(); n++) {
    const size_t eol = input.find('\n');
    const std::string_view line = input.substr(0, eol);
    input = eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    const std::string action(line.substr(0, sp));
    json params = json::parse(line.substr(sp + 1), nullptr, false);
    if (params.is_discarded()) continue;  // JSON text itself is the control fuzzer's
    const json before = ec2.model().to_json();
    substitute(params, made);
    const std::set<uint16_t> vfs_before = vf_ids(table);
    try {
      const json result = ec2.call(action, params);
      if (echo) std::fprintf(stderr, "> %s %s\n< %s\n", action.c_str(), params.dump().c_str(), result.dump().c_str());
    } catch (const venic::model::Ec2Error& e) {
      if (echo)
        std::fprintf(stderr, "> %s %s\n! %s %s\n", action.c_str(), params.dump().c_str(), e.aws_code.c_str(), e.what());
      require(ec2.model().to_json() == before, "a refused action changes no model", action + " " + params.dump());
      require(vf_ids(table) == vfs_before, "a refused action changes no VF", action + " " + params.dump());
    } catch (const venic::vf::TableError& e) {
      if (echo)
        std::fprintf(stderr, "> %s %s\n! %s %s\n", action.c_str(), params.dump().c_str(), e.code.c_str(), e.what());
    } catch (const std::exception& e) {
      require(false, "only EC2 and VF table errors:", action + " " + params.dump() + ": " + e.what());
    }
    check_consistent(ec2, table);
    note_new(ec2.model().to_json(), made);
  }
  return 0;
}
