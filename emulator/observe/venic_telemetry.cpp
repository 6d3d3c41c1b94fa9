#include "venic_telemetry.h"

#include <rte_telemetry.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include "tel_json.h"

namespace venic::observe {

namespace {

// Telemetry callbacks carry no user pointer: the snapshot they serve.
std::mutex g_mutex;
std::shared_ptr<StatsSnapshot> g_snapshot;

std::shared_ptr<const nlohmann::json> current() {
  std::shared_ptr<StatsSnapshot> s;
  {
    std::lock_guard lock(g_mutex);
    s = g_snapshot;
  }
  if (!s) return nullptr;
  auto j = s->read();
  return j && j->is_object() ? j : nullptr;
}

// A VF id parameter: decimal digits, 0-255.
std::optional<unsigned> vf_param(const char* params) {
  if (!params || !*params || std::strlen(params) > 3) return std::nullopt;
  unsigned id = 0;
  for (const char* p = params; *p; p++) {
    if (*p < '0' || *p > '9') return std::nullopt;
    id = id * 10 + unsigned(*p - '0');
  }
  if (id > 255) return std::nullopt;
  return id;
}

const nlohmann::json* find_vf(const nlohmann::json& snap, unsigned id) {
  for (auto& v : snap["vfs"])
    if (v.value("vf", -1) == static_cast<int>(id)) return &v;
  return nullptr;
}

int info(const char*, const char*, rte_tel_data* d) {
  auto s = current();
  if (!s) return -EAGAIN;
  return json_to_tel_dict((*s)["info"], d);
}

int vf_list(const char*, const char*, rte_tel_data* d) {
  auto s = current();
  if (!s) return -EAGAIN;
  rte_tel_data_start_array(d, RTE_TEL_U64_VAL);
  for (auto& v : (*s)["vfs"]) rte_tel_data_add_array_u64(d, v.value("vf", 0u));
  return 0;
}

int vf_stats(const char*, const char* params, rte_tel_data* d) {
  auto id = vf_param(params);
  if (!id) return -EINVAL;
  auto s = current();
  if (!s) return -EAGAIN;
  const nlohmann::json* v = find_vf(*s, *id);
  if (!v) return -ENODEV;
  nlohmann::json out = (*v)["stats"];
  out["eni"] = v->value("eni", "");
  out["instance"] = v->value("instance", "");
  return json_to_tel_dict(out, d);
}

int efa_stats(const char*, const char* params, rte_tel_data* d) {
  auto id = vf_param(params);
  if (!id) return -EINVAL;
  auto s = current();
  if (!s) return -EAGAIN;
  const nlohmann::json* v = find_vf(*s, *id);
  if (!v || !v->contains("efa")) return -ENODEV;
  return json_to_tel_dict((*v)["efa"], d);
}

int conntrack(const char*, const char* params, rte_tel_data* d) {
  if (!params || !*params || std::strlen(params) > 64) return -EINVAL;
  const std::string inst = params;
  auto s = current();
  if (!s) return -EAGAIN;
  nlohmann::json enis = nlohmann::json::array();
  uint64_t tracked = 0;
  bool found = false;
  for (auto& v : (*s)["vfs"]) {
    if (v.value("instance", "") != inst) continue;
    found = true;
    if (!v.contains("conntrack")) continue;
    const auto& ct = v["conntrack"];
    enis.push_back({{"eni", v.value("eni", "")},
                    {"vf", v.value("vf", 0u)},
                    {"tracked", ct.value("tracked", 0ull)},
                    {"max", ct.value("max", 0ull)}});
    tracked += ct.value("tracked", 0ull);
  }
  if (!found) return -ENODEV;
  return json_to_tel_dict({{"instance", inst}, {"tracked", tracked}, {"enis", enis}}, d);
}

int worker_stats(const char*, const char*, rte_tel_data* d) {
  auto s = current();
  if (!s) return -EAGAIN;
  return json_to_tel_dict({{"workers", (*s)["workers"]}}, d);
}

}  // namespace

int register_telemetry(std::shared_ptr<StatsSnapshot> snap) {
  static bool registered = false;
  {
    std::lock_guard lock(g_mutex);
    g_snapshot = std::move(snap);
  }
  if (registered) return 0;
  registered = true;
  struct Cmd {
    const char* name;
    telemetry_cb fn;
    const char* help;
  };
  static const Cmd cmds[] = {
      {"/venic/info", info, "venicd: version, ABI, pid, workers, VFs. Takes no parameters"},
      {"/venic/vf/list", vf_list, "VF ids. Takes no parameters"},
      {"/venic/vf/stats", vf_stats,
       "A VF's counters: packets, bytes, drops by reason, allowance counters, per queue. Parameters: int vf"},
      {"/venic/efa/stats", efa_stats, "An EFA VF's engine counters. Parameters: int vf"},
      {"/venic/conntrack", conntrack, "An instance's tracked flows, per ENI. Parameters: string instance-id"},
      {"/venic/worker/stats", worker_stats, "Per-worker load: busy and idle cycles, packets. Takes no parameters"},
  };
  for (const Cmd& c : cmds)
    if (int rc = rte_telemetry_register_cmd(c.name, c.fn, c.help); rc != 0) return rc;
  return 0;
}

void unregister_telemetry() {
  std::lock_guard lock(g_mutex);
  g_snapshot.reset();
}

}  // namespace venic::observe
