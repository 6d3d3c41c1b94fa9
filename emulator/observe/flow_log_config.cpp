#include "flow_log_config.h"

#include <ctime>
#include <random>
#include <set>

#include "ec2_model.h"
#include "protocol.h"

namespace venic::observe {

namespace {

using model::Ec2Error;
using nlohmann::json;

[[noreturn]] void invalid(const std::string& msg) {
  throw Ec2Error(std::string(control::err::kInvalidParams), "InvalidParameter", msg);
}

void only(const json& p, std::initializer_list<const char*> allowed) {
  std::set<std::string> ok(allowed.begin(), allowed.end());
  for (auto& [k, v] : p.items())
    if (!ok.count(k))
      throw Ec2Error(std::string(control::err::kInvalidParams), "UnknownParameter",
                     "The parameter " + k + " is not recognized");
}

std::string str(const json& p, const char* name, const std::string& def = "") {
  if (!p.contains(name)) {
    if (def.empty()) invalid("The request must contain the parameter " + std::string(name));
    return def;
  }
  if (!p[name].is_string() || p[name].get<std::string>().size() > 256)
    invalid(std::string(name) + ": must be a string");
  return p[name].get<std::string>();
}

std::vector<std::string> ids(const json& p, const char* name, bool required) {
  if (!p.contains(name)) {
    if (required) invalid("The request must contain the parameter " + std::string(name));
    return {};
  }
  const json& a = p[name];
  if (!a.is_array() || a.size() > FlowLogs::kMaxIdsPerCall)
    invalid(std::string(name) + ": must be a list of at most " + std::to_string(FlowLogs::kMaxIdsPerCall) + " ids");
  std::vector<std::string> out;
  for (auto& x : a) {
    if (!x.is_string() || x.get<std::string>().empty() || x.get<std::string>().size() > 64)
      invalid(std::string(name) + ": every id must be a string of 1-64 characters");
    out.push_back(x.get<std::string>());
  }
  return out;
}

// A file name: letters, digits, '.', '_' and '-', not starting with '.'.
bool file_name_ok(const std::string& s) {
  if (s.empty() || s.size() > 100 || s[0] == '.') return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

std::string fresh_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  char buf[32];
  std::snprintf(buf, sizeof(buf), "fl-%017llx", static_cast<unsigned long long>(rng() & 0xfffffffffffffffull));
  return buf;
}

// The owner of a VPC, subnet or ENI in the model's JSON, if it exists.
std::optional<int64_t> owner_of(const json& model, const std::string& type, const std::string& id) {
  const char* list = type == "VPC" ? "vpcs" : type == "Subnet" ? "subnets" : "enis";
  if (!model.is_object() || !model.contains(list)) return std::nullopt;
  for (auto& r : model[list])
    if (r.value("id", "") == id) return r.value("owner", int64_t{0});
  return std::nullopt;
}

std::string not_found_code(const std::string& type) {
  return type == "VPC"      ? "InvalidVpcID.NotFound"
         : type == "Subnet" ? "InvalidSubnetID.NotFound"
                            : "InvalidNetworkInterfaceID.NotFound";
}

}  // namespace

json flow_log_json(const FlowLog& f) {
  char when[32];
  std::time_t t = f.created_unix;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return {{"FlowLogId", f.id},
          {"CreationTime", when},
          {"FlowLogStatus", "ACTIVE"},
          {"DeliverLogsStatus", "SUCCESS"},
          {"ResourceId", f.resource_id},
          {"TrafficType", f.traffic_type},
          {"LogDestinationType", "file"},
          {"LogDestination", f.destination},
          {"LogFormat",
           "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} "
           "${packets} ${bytes} ${start} ${end} ${action} ${log-status}"},
          {"MaxAggregationInterval", f.max_aggregation_interval},
          {"OwnerId", account_id(f.owner)}};
}

std::optional<json> FlowLogs::call(const std::string& action, const json& p, const Caller& caller, const json& model) {
  if (action == "CreateFlowLogs") return create(p, caller, model);
  if (action == "DescribeFlowLogs") return describe(p, caller);
  if (action == "DeleteFlowLogs") return remove(p, caller);
  return std::nullopt;
}

json FlowLogs::create(const json& p, const Caller& caller, const json& model) {
  only(p, {"ResourceIds", "ResourceType", "TrafficType", "LogDestinationType", "LogDestination",
           "MaxAggregationInterval", "ClientToken"});
  const auto resources = ids(p, "ResourceIds", true);
  if (resources.empty()) invalid("ResourceIds: at least one id");
  const std::string type = str(p, "ResourceType");
  if (type != "VPC" && type != "Subnet" && type != "NetworkInterface")
    invalid("ResourceType: must be VPC, Subnet or NetworkInterface");
  const std::string traffic = str(p, "TrafficType", "ALL");
  if (traffic != "ACCEPT" && traffic != "REJECT" && traffic != "ALL")
    invalid("TrafficType: must be ACCEPT, REJECT or ALL");
  if (str(p, "LogDestinationType", "file") != "file")
    invalid("LogDestinationType: venic writes flow logs to files only (\"file\")");
  unsigned interval = 600;
  if (p.contains("MaxAggregationInterval")) {
    if (!p["MaxAggregationInterval"].is_number_integer()) invalid("MaxAggregationInterval: must be 60 or 600");
    long v = p["MaxAggregationInterval"].get<long>();
    if (v != 60 && v != 600) invalid("MaxAggregationInterval: must be 60 or 600");
    interval = static_cast<unsigned>(v);
  }
  const std::string dest_given = p.contains("LogDestination") ? str(p, "LogDestination") : "";
  if (!dest_given.empty() && !file_name_ok(dest_given))
    invalid("LogDestination: a file name of 1-100 letters, digits, '.', '_' or '-' (not starting with '.')");

  size_t mine = 0;
  for (auto& [id, f] : logs_) mine += f.owner == caller.uid;
  if (logs_.size() + resources.size() > kMaxTotal || (!caller.admin && mine + resources.size() > kMaxPerOwner))
    throw Ec2Error(std::string(control::err::kLimit), "FlowLogsLimitExceeded",
                   "You may hold at most " + std::to_string(kMaxPerOwner) + " flow logs");

  json created = json::array(), unsuccessful = json::array();
  for (const auto& r : resources) {
    auto owner = owner_of(model, type, r);
    // Another owner's resource reads as one that does not exist.
    if (!owner || !caller.may_manage(*owner)) {
      unsuccessful.push_back(
          {{"ResourceId", r},
           {"Error", {{"Code", not_found_code(type)}, {"Message", "The ID '" + r + "' does not exist"}}}});
      continue;
    }
    FlowLog f{fresh_id(), *owner, r, traffic, dest_given, interval, static_cast<int64_t>(std::time(nullptr))};
    if (f.destination.empty()) f.destination = f.id + ".log";
    bool dup = false;
    for (auto& [id, g] : logs_)
      dup = dup || (g.resource_id == r && g.traffic_type == traffic && g.destination == f.destination);
    if (dup) {
      unsuccessful.push_back(
          {{"ResourceId", r},
           {"Error", {{"Code", "FlowLogAlreadyExists"}, {"Message", "This flow log already exists"}}}});
      continue;
    }
    created.push_back(f.id);
    logs_.emplace(f.id, std::move(f));
    generation_++;
  }
  return {{"FlowLogIds", created}, {"Unsuccessful", unsuccessful}};
}

json FlowLogs::describe(const json& p, const Caller& caller) const {
  only(p, {"FlowLogIds"});
  const auto wanted = ids(p, "FlowLogIds", false);
  json out = json::array();
  for (auto& [id, f] : logs_) {
    if (!caller.may_manage(f.owner)) continue;
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), id) == wanted.end()) continue;
    out.push_back(flow_log_json(f));
  }
  return {{"FlowLogs", out}};
}

json FlowLogs::remove(const json& p, const Caller& caller) {
  only(p, {"FlowLogIds"});
  json unsuccessful = json::array();
  for (const auto& id : ids(p, "FlowLogIds", true)) {
    auto it = logs_.find(id);
    if (it == logs_.end() || !caller.may_manage(it->second.owner)) {
      unsuccessful.push_back(
          {{"ResourceId", id},
           {"Error",
            {{"Code", "InvalidFlowLogId.NotFound"}, {"Message", "The flow log '" + id + "' does not exist"}}}});
      continue;
    }
    logs_.erase(it);
    generation_++;
  }
  return {{"Unsuccessful", unsuccessful}};
}

std::vector<const FlowLog*> FlowLogs::covering(const EniPlace& place) const {
  std::vector<const FlowLog*> out;
  for (auto& [id, f] : logs_)
    if (f.resource_id == place.eni || f.resource_id == place.subnet || f.resource_id == place.vpc) out.push_back(&f);
  return out;
}

}  // namespace venic::observe
