#include "control_methods.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "cluster_methods.h"
#include "ec2_service.h"
#include "efa_engine.h"
#include "json_depth.h"
#include "owner.h"
#include "protocol.h"

namespace venic::control {

namespace {

// A request error: becomes reply.error.
struct RequestError {
  std::string_view code;
  std::string message;
};

nlohmann::json error_reply(const nlohmann::json& id, std::string_view code, const std::string& msg) {
  return {{"id", id}, {"error", {{"code", code}, {"message", msg}}}};
}

void only_params(const nlohmann::json& p, std::initializer_list<const char*> allowed) {
  std::set<std::string> ok(allowed.begin(), allowed.end());
  for (auto& [k, v] : p.items())
    if (!ok.count(k)) throw RequestError{err::kInvalidParams, "unknown parameter '" + k + "'"};
}

uint16_t vf_id(const nlohmann::json& p, const char* name = "vf") {
  if (!p.contains(name)) throw RequestError{err::kInvalidParams, std::string(name) + ": missing"};
  const auto& v = p[name];
  if (!v.is_number_integer()) throw RequestError{err::kInvalidParams, std::string(name) + ": must be an integer"};
  long id = v.get<long>();
  if (id < 0 || id >= VENIC_MAX_VFS)
    throw RequestError{err::kInvalidParams, std::string(name) + ": " + std::to_string(id) + " is out of range 0-255"};
  return static_cast<uint16_t>(id);
}

void check_set_params(const nlohmann::json& p) {
  only_params(p, {"vf", "mtu", "trusted", "link", "src_dst_check", "secondary_ips", "ipv6", "bw_in_mbps", "bw_out_mbps",
                  "pps", "flow_mbps", "burst_ms"});
  if (p.size() < 2)
    throw RequestError{err::kInvalidParams,
                       "nothing to set (mtu, trusted, link, src_dst_check, secondary_ips, ipv6, bw_in_mbps, "
                       "bw_out_mbps, pps, flow_mbps or burst_ms)"};
  try {
    vf::Limits scratch;
    vf::limits_from_json(p, scratch);
  } catch (const vf::ConfigError& e) {
    throw RequestError{err::kInvalidParams, e.what()};
  }
  if (p.contains("mtu")) {
    if (!p["mtu"].is_number_integer()) throw RequestError{err::kInvalidParams, "mtu: must be an integer"};
    long m = p["mtu"].get<long>();
    // The VF's personality bounds it further (vf::validate).
    if (m < VENIC_MTU_MIN || m > VENIC_FRAME_MAX - VENIC_L2_OVERHEAD)
      throw RequestError{err::kInvalidParams, "mtu: " + std::to_string(m) + " is out of range 68-" +
                                                  std::to_string(VENIC_FRAME_MAX - VENIC_L2_OVERHEAD)};
  }
  if (p.contains("trusted") && !p["trusted"].is_boolean())
    throw RequestError{err::kInvalidParams, "trusted: must be true or false"};
  if (p.contains("src_dst_check") && !p["src_dst_check"].is_boolean())
    throw RequestError{err::kInvalidParams, "src_dst_check: must be true or false"};
  if (p.contains("link") && (!p["link"].is_string() || (p["link"] != "up" && p["link"] != "down")))
    throw RequestError{err::kInvalidParams, "link: must be \"up\" or \"down\""};
}

// Another owner's VF (docs/ownership.md), in EC2's words, which say nothing
// about it.
[[noreturn]] void unauthorized() {
  throw model::Ec2Error(std::string(err::kPermission), "UnauthorizedOperation",
                        "You are not authorized to perform this operation.");
}
void require_owner(const vf::Vf& v, const Caller& caller) {
  if (!caller.may_manage(v.cfg.owner_uid)) unauthorized();
}

// The caller sees the VFs it owns and those it may attach (its instances').
bool visible(const vf::Vf& v, const Caller& caller) {
  return caller.may_manage(v.cfg.owner_uid) || v.cfg.attacher() == caller.uid;
}
void require_visible(const vf::Vf& v, const Caller& caller) {
  if (!visible(v, caller)) require_owner(v, caller);
}

// A VF that backs an ENI changes only through the EC2 model.
void not_an_eni(const vf::Vf& v, const char* how) {
  if (!v.cfg.eni_id.empty())
    throw RequestError{err::kBusy, "VF " + std::to_string(v.cfg.id) + " backs " + v.cfg.eni_id + ": " + how};
}

// True when path names an entry directly inside dir: no "..", no
// subdirectory (which a tenant could not have made, but a link could lead).
bool in_directory(const std::string& path, const std::string& dir) {
  if (dir.empty()) return false;
  const std::filesystem::path p(path);
  const std::string name = p.filename().string();
  if (name.empty() || name == "." || name == ".." || p.lexically_normal() != p) return false;
  return p.parent_path() == std::filesystem::path(dir).lexically_normal();
}

uint64_t u64_field(const nlohmann::json& o, const char* name, size_t i) {
  if (!o.contains(name) || !o[name].is_number_unsigned())
    throw RequestError{err::kInvalidParams,
                       "regions[" + std::to_string(i) + "]." + name + ": must be a non-negative integer"};
  return o[name].get<uint64_t>();
}

}  // namespace

nlohmann::json ControlMethods::dispatch(const std::string& method, const nlohmann::json& p, const Session& s,
                                        std::vector<UniqueFd>& fds_in, std::vector<int>& fds_out) {
  const Caller caller = caller_for_uid(s.uid);
  if (method == "daemon.info") {
    auto up = std::chrono::steady_clock::now() - info_.started;
    nlohmann::json out = {
        {"version", info_.version},   {"abi", std::to_string(VENIC_ABI_MAJOR) + "." + std::to_string(VENIC_ABI_MINOR)},
        {"vfs", table_.all().size()}, {"max_vfs", VENIC_MAX_VFS},
        {"workers", info_.workers},   {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(up).count()}};
    if (info_.worker_load) out["worker_load"] = info_.worker_load();
    if (info_.gateways) out["gateways"] = info_.gateways();
    if (info_.underlay) out["underlay"] = info_.underlay();
    return out;
  }
  if (method == "vf.create") {
    if (ec2_ && ec2_->cluster())
      throw RequestError{err::kInvalidParams,
                         "vf.create: with --etcd every VF backs an ENI of the shared EC2 model (its ids are the "
                         "model's); create one with ec2.CreateNetworkInterface or ec2.RunInstances"};
    only_params(p, {"id",        "type",          "mac",           "ip",         "prefix",     "mtu",         "trusted",
                    "queues",    "src_dst_check", "secondary_ips", "ipv6",       "bw_in_mbps", "bw_out_mbps", "pps",
                    "flow_mbps", "burst_ms",      "frontend",      "vhost_path", "vhost_mode", "owner_uid"});
    vf::VfConfig c;
    try {
      c = vf::config_from_json(p, false);
    } catch (const vf::ConfigError& e) {
      throw RequestError{err::kInvalidParams, e.what()};
    }
    // The creator owns it; only an admin creates for someone else.
    if (!p.contains("owner_uid")) c.owner_uid = caller.uid;
    if (!caller.may_manage(c.owner_uid)) unauthorized();
    c.attach_uid = c.owner_uid;  // spelled out for every reader of attach_uid (the EFA engine's too)
    const bool capped = s.uid != 0 && s.uid != ::geteuid();
    if (capped && !c.vhost_path.empty() && !in_directory(c.vhost_path, tenant_socket_dir_))
      throw RequestError{err::kPermission,
                         "vhost_path: uid " + std::to_string(s.uid) + " may name a socket only in " +
                             (tenant_socket_dir_.empty() ? std::string("no directory") : tenant_socket_dir_) +
                             " (venicd's socket directory); leave vhost_path out for the default"};
    if (capped && vfs_created_by(s.uid) >= max_vfs_per_uid_)
      throw RequestError{err::kLimit, "uid " + std::to_string(s.uid) + " already has " +
                                          std::to_string(max_vfs_per_uid_) +
                                          " VFs, the most a uid may create (venicd --max-vfs-per-uid)"};
    const vf::Vf& v = table_.create(c, p.contains("id"));
    if (capped)
      created_by_[v.cfg.id] = s.uid;
    else
      created_by_.erase(v.cfg.id);
    return table_.vf_json(v);
  }
  if (method == "vf.list") {
    only_params(p, {});
    nlohmann::json list = nlohmann::json::array();
    for (auto& [id, v] : table_.all())
      if (visible(*v, caller)) list.push_back(table_.vf_json(*v));
    return {{"vfs", list}};
  }
  if (method == "vf.show") {
    only_params(p, {"vf"});
    const vf::Vf& v = table_.get(vf_id(p));
    require_visible(v, caller);
    return table_.vf_json(v);
  }
  if (method == "vf.set") {
    check_set_params(p);
    require_owner(table_.get(vf_id(p)), caller);
    not_an_eni(table_.get(vf_id(p)), "change it with modify-network-interface-attribute");
    return table_.vf_json(table_.set(vf_id(p), p));
  }
  if (method == "vf.delete") {
    only_params(p, {"vf"});
    uint16_t id = vf_id(p);
    require_owner(table_.get(id), caller);
    not_an_eni(table_.get(id), "delete it with delete-network-interface (detach it first)");
    table_.remove(id);
    created_by_.erase(id);
    return {{"deleted", id}};
  }
  if (method == "stats" || method == "stats.reset") {
    only_params(p, {"vf"});
    std::vector<uint16_t> ids;
    if (p.contains("vf")) {
      const vf::Vf& v = table_.get(vf_id(p));
      require_visible(v, caller);
      ids.push_back(v.cfg.id);
    } else {
      for (auto& [id, v] : table_.all())
        if (visible(*v, caller)) ids.push_back(id);
    }
    if (method == "stats.reset") {
      for (auto id : ids) table_.reset_stats(id);
      return {{"reset", ids}};
    }
    nlohmann::json list = nlohmann::json::array();
    for (auto id : ids) {
      const vf::Vf& v = table_.get(id);
      nlohmann::json j = table_.stats_json(v);
      if (efa_ && v.cfg.type == vf::Personality::kEfa) j["efa"] = efa_->vf_stats(id);
      list.push_back(std::move(j));
    }
    // The workers serve every tenant: their load is the operator's to see.
    if (worker_stats_ && caller.admin && !p.contains("vf")) return {{"vfs", list}, {"workers", worker_stats_()}};
    return {{"vfs", list}};
  }
  if (method == "vf.attach") {
    only_params(p, {"vf"});
    uint16_t id = vf_id(p);
    // The table refuses too; this says it in EC2's words.
    if (!caller.admin && table_.get(id).cfg.attacher() != caller.uid) unauthorized();
    int fd = table_.attach(id, s.id, s.pid, s.uid);
    fds_out.push_back(fd);
    return {{"vf", id}, {"region_size", table_.get(id).region->size()}};
  }
  if (method == "vf.register_memory") {
    only_params(p, {"regions"});
    if (!p.contains("regions") || !p["regions"].is_array())
      throw RequestError{err::kInvalidParams, "regions: must be a list"};
    std::vector<vf::VfTable::MemRange> ranges;
    for (size_t i = 0; i < p["regions"].size(); i++) {
      const auto& r = p["regions"][i];
      if (!r.is_object())
        throw RequestError{err::kInvalidParams, "regions[" + std::to_string(i) + "]: must be an object"};
      ranges.push_back({u64_field(r, "va", i), u64_field(r, "len", i), u64_field(r, "offset", i)});
    }
    std::vector<int> fds;
    for (auto& f : fds_in) fds.push_back(f.get());
    return {{"mem_ids", table_.register_memory(s.id, ranges, fds)}};
  }
  if (method.rfind("cluster.", 0) == 0 && ec2_)
    if (auto r = cluster_call(*ec2_, method, p, caller)) return *r;
  if (method.rfind("ec2.", 0) == 0 && ec2_extension_)
    if (auto r = ec2_extension_(method.substr(4), p, caller)) return *r;
  if (method.rfind("ec2.", 0) == 0 && ec2_) return ec2_->call(method.substr(4), p, caller);
  if (method.rfind("efa.", 0) == 0 && efa_)
    return efa_->call(method.substr(4), p, s.id, s.pid, s.uid, fds_out, s.start_time, &fds_in);
  if (extension_)
    if (auto r = extension_(method, p, caller, s.id, fds_in)) return *r;
  throw RequestError{err::kUnknownMethod, "unknown method '" + method + "'"};
}

unsigned ControlMethods::vfs_created_by(uid_t uid) {
  // A VF deleted (or replaced by another of the same id) no longer counts.
  for (auto it = created_by_.begin(); it != created_by_.end();) {
    auto v = table_.all().find(it->first);
    if (v == table_.all().end() || !v->second->cfg.eni_id.empty())
      it = created_by_.erase(it);
    else
      ++it;
  }
  unsigned n = 0;
  for (auto& [id, u] : created_by_) n += u == uid;
  return n;
}

uint64_t process_start_time(pid_t pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "re");
  if (!f) return 0;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = 0;
  // Field 22; the command name (field 2) may hold spaces, so count after its ')'.
  const char* p = std::strrchr(buf, ')');
  if (!p) return 0;
  int field = 2;
  for (; *p && field < 22; p++)
    if (*p == ' ') field++;
  return field == 22 ? std::strtoull(p, nullptr, 10) : 0;
}

void ControlMethods::session_closed(uint64_t session) {
  table_.detach_session(session);
  if (efa_) efa_->close_session(session);
  if (extension_closed_) extension_closed_(session);
}

std::string ControlMethods::handle(const std::string& request, const Session& session, std::vector<UniqueFd>& fds_in,
                                   std::vector<int>& fds_out) {
  if (json_nests_deeper_than(request, kMaxJsonDepth))
    return error_reply(nullptr, err::kInvalidRequest,
                       "request nests arrays/objects deeper than " + std::to_string(kMaxJsonDepth) + " levels")
        .dump();
  nlohmann::json req = nlohmann::json::parse(request, nullptr, false);
  if (req.is_discarded()) return error_reply(nullptr, err::kParse, "request is not valid JSON").dump();
  if (!req.is_object()) return error_reply(nullptr, err::kInvalidRequest, "request must be a JSON object").dump();
  nlohmann::json id = req.contains("id") ? req["id"] : nlohmann::json(nullptr);
  // The id is echoed back: only a scalar that names a request.
  if (!id.is_number() && !id.is_string() && !id.is_null())
    return error_reply(nullptr, err::kInvalidRequest, "id: must be a number, a string or null").dump();
  if (!req.contains("method") || !req["method"].is_string())
    return error_reply(id, err::kInvalidRequest, "method: missing or not a string").dump();
  nlohmann::json params = req.contains("params") ? req["params"] : nlohmann::json::object();
  if (params.is_null()) params = nlohmann::json::object();
  if (!params.is_object()) return error_reply(id, err::kInvalidRequest, "params: must be an object").dump();
  try {
    nlohmann::json result = dispatch(req["method"].get<std::string>(), params, session, fds_in, fds_out);
    return nlohmann::json{{"id", id}, {"result", result}}.dump();
  } catch (const RequestError& e) {
    fds_out.clear();
    return error_reply(id, e.code, e.message).dump();
  } catch (const model::Ec2Error& e) {
    fds_out.clear();
    nlohmann::json r = error_reply(id, e.code, e.what());
    r["error"]["aws_code"] = e.aws_code;
    return r.dump();
  } catch (const vf::TableError& e) {
    fds_out.clear();
    return error_reply(id, e.code, e.what()).dump();
  } catch (const std::exception& e) {
    fds_out.clear();
    return error_reply(id, err::kInternal, e.what()).dump();
  }
}

}  // namespace venic::control
