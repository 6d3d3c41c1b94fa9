#include "snapshot_builder.h"

#include <unistd.h>

#include <map>

#include "ec2_service.h"
#include "efa_engine.h"
#include "vf_table.h"

namespace venic::observe {

nlohmann::json build_snapshot(const SnapshotSources& s) {
  // ENI -> instance, from the model (the VF knows only its ENI).
  std::map<std::string, std::string> instance_of;
  if (s.ec2)
    for (auto& [id, e] : s.ec2->model().enis()) instance_of[id] = e.instance;

  nlohmann::json vfs = nlohmann::json::array();
  for (auto& [id, v] : s.table->all()) {
    nlohmann::json cfg = s.table->vf_json(*v);
    const std::string eni = v->cfg.eni_id;
    auto inst = instance_of.find(eni);
    nlohmann::json j = {{"vf", id},
                        {"type", cfg.value("type", "")},
                        {"mac", cfg.value("mac", "")},
                        {"eni", eni},
                        {"instance", inst == instance_of.end() ? "" : inst->second},
                        {"owner_id", cfg.value("owner_id", "")},
                        {"attached", cfg.value("attached", false)},
                        {"stats", s.table->stats_json(*v)}};
    if (s.efa && v->cfg.type == vf::Personality::kEfa) j["efa"] = s.efa->vf_stats(id);
    if (cfg.contains("conntrack")) j["conntrack"] = cfg["conntrack"];
    vfs.push_back(std::move(j));
  }
  auto up = std::chrono::steady_clock::now() - s.started;
  nlohmann::json info = {{"version", s.version},
                         {"abi", std::to_string(VENIC_ABI_MAJOR) + "." + std::to_string(VENIC_ABI_MINOR)},
                         {"pid", ::getpid()},
                         {"workers", s.workers},
                         {"vfs", vfs.size()},
                         {"max_vfs", VENIC_MAX_VFS},
                         {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(up).count()}};
  nlohmann::json workers = s.worker_stats ? s.worker_stats() : nlohmann::json::array();
  if (!workers.is_array()) workers = nlohmann::json::array();
  nlohmann::json out = {{"info", info}, {"vfs", vfs}, {"workers", workers}};
  if (s.underlay_stats) out["underlay"] = s.underlay_stats();
  return out;
}

}  // namespace venic::observe
