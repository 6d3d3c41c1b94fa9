#include "requests.h"

#include <cstdint>

#include "args.h"

namespace venic::ctl {
namespace {

void throw_if_error(const std::string& error) {
  if (!error.empty()) throw UsageError(error);
}

// Validates each address with parse (args.h) and lists them for the request.
nlohmann::json address_list(const std::vector<std::string>& texts,
                            std::string (*parse)(std::string_view, std::string&)) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& t : texts) {
    std::string ip;
    throw_if_error(parse(t, ip));
    list.push_back(ip);
  }
  return list;
}

bool on_off(const char* option, const std::string& text) {
  bool value = false;
  throw_if_error(parse_on_off(option, text, value));
  return value;
}

int vf_id(const std::string& text) {
  int id = 0;
  throw_if_error(parse_vf_id(text, id));
  return id;
}

// Adds the given allowances as bw_in_mbps, bw_out_mbps, pps, flow_mbps and
// burst_ms ("unlimited" is sent as 0).
void add_limits(const LimitOptions& limits, nlohmann::json& params) {
  if (limits.bw && (limits.bw_in || limits.bw_out))
    throw UsageError("--bw-mbps sets both directions; give it or --bw-in-mbps/--bw-out-mbps, not both");
  std::uint32_t value = 0;
  auto mbps = [&](const char* option, const std::optional<std::string>& text, const char* key) {
    if (!text) return;
    throw_if_error(parse_mbps(option, *text, value));
    params[key] = value;
  };
  if (limits.bw) {
    throw_if_error(parse_mbps("--bw-mbps", *limits.bw, value));
    params["bw_in_mbps"] = value;
    params["bw_out_mbps"] = value;
  }
  mbps("--bw-in-mbps", limits.bw_in, "bw_in_mbps");
  mbps("--bw-out-mbps", limits.bw_out, "bw_out_mbps");
  if (limits.pps) {
    throw_if_error(parse_pps(*limits.pps, value));
    params["pps"] = value;
  }
  mbps("--flow-mbps", limits.flow, "flow_mbps");
  if (limits.burst_ms) {
    throw_if_error(parse_burst_ms(*limits.burst_ms, value));
    params["burst_ms"] = value;
  }
}

}  // namespace

Request build_vf_create(const VfCreateOptions& options) {
  Request request{"vf.create"};
  std::string type, mac, ip;
  throw_if_error(parse_vf_type(options.type, type));
  throw_if_error(parse_mac(options.mac, mac));
  throw_if_error(parse_ipv4(options.ip, ip));
  request.params = {{"type", type}, {"mac", mac}, {"ip", ip}};
  // Only what the user gave is sent: the daemon owns the defaults.
  int number = 0;
  if (options.prefix) {
    throw_if_error(parse_prefix(*options.prefix, number));
    request.params["prefix"] = number;
  }
  if (options.mtu) {
    throw_if_error(parse_mtu(*options.mtu, number));
    request.params["mtu"] = number;
  }
  if (options.queues) {
    throw_if_error(parse_queues(*options.queues, number));
    request.params["queues"] = number;
  }
  if (options.id) request.params["id"] = vf_id(*options.id);
  if (options.trusted) request.params["trusted"] = true;
  if (options.src_dst_check) request.params["src_dst_check"] = on_off("--src-dst-check", *options.src_dst_check);
  if (!options.secondary_ips.empty()) request.params["secondary_ips"] = address_list(options.secondary_ips, parse_ipv4);
  if (!options.ipv6.empty()) request.params["ipv6"] = address_list(options.ipv6, parse_ipv6);
  add_limits(options.limits, request.params);
  if (options.frontend) {
    if (*options.frontend != "shm" && *options.frontend != "vhost-user")
      throw UsageError("--frontend: '" + *options.frontend + "' is not a front-end (shm or vhost-user)");
    request.params["frontend"] = *options.frontend;
  }
  const bool vhost = options.frontend && *options.frontend == "vhost-user";
  if (options.vhost_path) {
    if (!vhost) throw UsageError("--vhost-path needs --frontend vhost-user");
    if (options.vhost_path->empty() || options.vhost_path->front() != '/')
      throw UsageError("--vhost-path: '" + *options.vhost_path + "' is not an absolute path");
    request.params["vhost_path"] = *options.vhost_path;
  }
  if (options.vhost_mode) {
    if (!vhost) throw UsageError("--vhost-mode needs --frontend vhost-user");
    if (*options.vhost_mode != "server" && *options.vhost_mode != "client")
      throw UsageError("--vhost-mode: '" + *options.vhost_mode + "' must be server or client");
    request.params["vhost_mode"] = *options.vhost_mode;
  }
  if (options.owner_uid) {
    long uid = 0;
    throw_if_error(parse_number("--owner-uid", *options.owner_uid, 0, 0x7fffffff, uid));
    request.params["owner_uid"] = uid;
  }
  return request;
}

Request build_vf_set(const VfSetOptions& options) {
  Request request{"vf.set"};
  request.params["vf"] = vf_id(options.vf);
  if (options.mtu) {
    int mtu = 0;
    throw_if_error(parse_mtu(*options.mtu, mtu));
    request.params["mtu"] = mtu;
  }
  if (options.trusted) {
    bool trusted = false;
    throw_if_error(parse_on_off("--trusted", *options.trusted, trusted));
    request.params["trusted"] = trusted;
  }
  if (options.link) {
    std::string link;
    throw_if_error(parse_link_state(*options.link, link));
    request.params["link"] = link;
  }
  if (options.src_dst_check) request.params["src_dst_check"] = on_off("--src-dst-check", *options.src_dst_check);
  if (options.secondary_ips) request.params["secondary_ips"] = address_list(*options.secondary_ips, parse_ipv4);
  if (options.ipv6) request.params["ipv6"] = address_list(*options.ipv6, parse_ipv6);
  add_limits(options.limits, request.params);
  if (request.params.size() == 1)
    throw UsageError(
        "vf set: nothing to change (give --mtu, --trusted, --link, --src-dst-check, --secondary-ip, --ipv6, "
        "--bw-mbps, --bw-in-mbps, --bw-out-mbps, --pps, --flow-mbps or --burst-ms)");
  return request;
}

Request build_vf_show(const std::string& vf) {
  return {"vf.show", {{"vf", vf_id(vf)}}};
}

Request build_vf_delete(const std::string& vf) {
  return {"vf.delete", {{"vf", vf_id(vf)}}};
}

Request build_vf_list() {
  return {"vf.list"};
}

Request build_stats(const StatsOptions& options) {
  Request request{options.reset ? "stats.reset" : "stats"};
  if (options.vf) request.params["vf"] = vf_id(*options.vf);
  return request;
}

Request build_daemon_info() {
  return {"daemon.info"};
}

}  // namespace venic::ctl
