// The state loader: a state file with arbitrary content, restored as venicd
// does at start (StateStore::load, the EC2 model's check, VfTable::restore,
// Ec2Service::restore).  A file may be refused (StateError, Ec2Error, or a
// VF table error while restoring), never crash us; a file that is accepted
// restores to a consistent table: every ENI has its VF, every ENI-backed VF
// its ENI, and what would be saved next loads back.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "ec2_service.h"
#include "fuzz_check.h"
#include "state_store.h"

using nlohmann::json;
using venic::fuzz::require;

namespace {

class NoPublisher : public venic::vf::Publisher {
 public:
  void publish(const venic::vf::VfTable&) override {}
};

// The file the loader reads: a memfd, rewritten for each input.
int state_fd() {
  static const int fd = ::memfd_create("venic-fuzz-state", MFD_CLOEXEC);
  require(fd >= 0, "memfd_create");
  return fd;
}

void check_restored(const venic::model::Ec2Service& ec2, const venic::vf::VfTable& table) {
  std::set<uint16_t> backing;
  for (auto& [id, e] : ec2.model().enis()) {
    require(backing.insert(e.vf).second, "no two ENIs share a VF", id);
    auto v = table.all().find(e.vf);
    require(v != table.all().end() && v->second->cfg.eni_id == id, "every ENI has its VF", id);
  }
  for (auto& [id, v] : table.all()) {
    require(v->cfg.eni_id.empty() || backing.count(id), "every ENI-backed VF has its ENI", v->cfg.eni_id);
    try {
      const venic::vf::VfConfig again = venic::vf::config_from_json(venic::vf::to_json(v->cfg), true);
      require(venic::vf::to_json(again) == venic::vf::to_json(v->cfg), "a saved VF loads back the same",
              venic::vf::to_json(v->cfg).dump());
    } catch (const std::exception& e) {
      require(false, "a saved VF loads back:", venic::vf::to_json(v->cfg).dump() + ": " + e.what());
    }
  }
  venic::model::Ec2Model reloaded;
  const json saved = ec2.model().to_json();
  try {
    reloaded.load(saved);
  } catch (const std::exception& e) {
    require(false, "the saved model loads back:", e.what());
  }
  require(reloaded.to_json() == saved, "the saved model loads back the same", saved.dump());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = state_fd();
  require(::ftruncate(fd, 0) == 0 && ::pwrite(fd, data, size, 0) == static_cast<ssize_t>(size), "write the state");
  venic::state::StateStore store("/proc/self/fd/" + std::to_string(fd));

  std::vector<venic::vf::VfConfig> saved;
  json saved_ec2;
  try {
    saved = store.load(&saved_ec2);
  } catch (const venic::state::StateError&) {
    return 0;
  }
  if (!saved_ec2.is_null()) {
    try {
      venic::model::Ec2Model check;
      check.load(saved_ec2);
    } catch (const venic::model::Ec2Error&) {
      return 0;
    }
  }
  NoPublisher publisher;
  venic::vf::VfTable table(publisher, nullptr);
  table.restore(saved);
  uint64_t counter = 0;
  venic::model::Ec2Service ec2(table, nullptr, [&counter] { return ++counter * 0x9e3779b97f4a7c15ull; });
  try {
    ec2.restore(saved_ec2);
  } catch (const venic::model::Ec2Error&) {
    return 0;
  } catch (const venic::vf::TableError&) {
    return 0;  // e.g. an ENI's VF that cannot be created: venicd stops with the reason
  }
  check_restored(ec2, table);
  return 0;
}
