#include "vf_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "venic_abi.h"

namespace venic::vf {

std::optional<MacAddr> parse_mac(const std::string& s) {
  MacAddr m{};
  unsigned v[6];
  char tail;
  if (s.size() != 17 ||
      std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
    return std::nullopt;
  for (size_t i = 0; i < 6; i++) {
    // sscanf's %x would also take a sign or a space.
    if (!std::isxdigit(static_cast<unsigned char>(s[i * 3])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i * 3 + 1])) || (i < 5 && s[i * 3 + 2] != ':'))
      return std::nullopt;
    m[i] = static_cast<uint8_t>(v[i]);
  }
  return m;
}

std::optional<uint32_t> parse_ipv4(const std::string& s) {
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::optional<Ipv6Addr> parse_ipv6(const std::string& s) {
  Ipv6Addr a{};
  if (::inet_pton(AF_INET6, s.c_str(), a.data()) != 1) return std::nullopt;
  return a;
}

std::string format_ipv6(const Ipv6Addr& a) {
  char b[INET6_ADDRSTRLEN];
  ::inet_ntop(AF_INET6, a.data(), b, sizeof(b));
  return b;
}

std::string format_mac(const MacAddr& m) {
  char b[18];
  std::snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return b;
}

std::string format_ipv4(uint32_t ip) {
  char b[16];
  std::snprintf(b, sizeof(b), "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  return b;
}

bool is_unicast(const MacAddr& m) {
  bool zero = true;
  for (auto b : m) zero = zero && b == 0;
  return !zero && !(m[0] & 1);
}

nlohmann::json to_json(const VfConfig& c) {
  nlohmann::json j = {{"id", c.id},
                      {"type", caps_of(c.type).name},
                      {"mac", format_mac(c.mac)},
                      {"ip", format_ipv4(c.ip)},
                      {"prefix", c.prefix},
                      {"subnet", format_ipv4(c.subnet()) + "/" + std::to_string(c.prefix)},
                      {"mtu", c.mtu},
                      {"trusted", c.trusted},
                      {"queues", c.queues},
                      {"link", c.link_up ? "up" : "down"},
                      {"src_dst_check", c.src_dst_check},
                      {"secondary_ips",
                       [&] {
                         nlohmann::json l = nlohmann::json::array();
                         for (uint32_t a : c.secondary_ips) l.push_back(format_ipv4(a));
                         return l;
                       }()},
                      {"ipv6",
                       [&] {
                         nlohmann::json l = nlohmann::json::array();
                         for (const auto& a : c.ipv6) l.push_back(format_ipv6(a));
                         return l;
                       }()},
                      {"bw_in_mbps", c.limits.bw_in_mbps},
                      {"bw_out_mbps", c.limits.bw_out_mbps},
                      {"pps", c.limits.pps},
                      {"flow_mbps", c.limits.flow_mbps},
                      {"burst_ms", c.limits.burst_ms},
                      {"frontend", c.frontend == Frontend::kVhostUser ? "vhost-user" : "shm"},
                      {"vhost_path", c.vhost_path},
                      {"vhost_mode", c.vhost_client ? "client" : "server"},
                      {"eni_id", c.eni_id},
                      {"vpc_id", c.vpc_id},
                      {"owner_uid", c.owner_uid},
                      {"attach_uid", c.attach_uid},
                      {"security", to_json(c.security)}};
  if (c.vpc_dns) j["vpc_dns"] = format_ipv4(c.vpc_dns);
  if (!c.cluster_group.empty()) j["cluster_group"] = c.cluster_group;
  if (c.mtu_cap) j["mtu_cap"] = c.mtu_cap;
  return j;
}

namespace {

// A JSON list of addresses, each parsed by parse; throws ConfigError naming field.
template <typename Addr, typename Parse>
std::vector<Addr> address_list(const nlohmann::json& j, const char* field, const char* family, size_t max,
                               Parse parse) {
  if (!j.is_array()) throw ConfigError(std::string(field) + ": must be a list of " + family + " addresses");
  if (j.size() > max) throw ConfigError(std::string(field) + ": at most " + std::to_string(max) + " addresses");
  std::vector<Addr> out;
  for (const auto& e : j) {
    auto a = e.is_string() ? parse(e.get<std::string>()) : std::nullopt;
    if (!a)
      throw ConfigError(std::string(field) + ": '" + (e.is_string() ? e.get<std::string>() : e.dump()) +
                        "' is not an " + family + " address");
    out.push_back(*a);
  }
  return out;
}

}  // namespace

std::vector<Ipv6Addr> ipv6_list_from_json(const nlohmann::json& j, const char* field) {
  return address_list<Ipv6Addr>(j, field, "IPv6", kMaxIpv6, parse_ipv6);
}

std::vector<uint32_t> ipv4_list_from_json(const nlohmann::json& j, const char* field) {
  return address_list<uint32_t>(j, field, "IPv4", kMaxSecondaryIps, parse_ipv4);
}

namespace {

template <typename T>
T integer_field(const nlohmann::json& j, const char* name, long lo, long hi) {
  const auto& v = j.at(name);
  if (!v.is_number_integer()) throw ConfigError(std::string(name) + ": must be an integer");
  long x = v.get<long>();
  if (x < lo || x > hi)
    throw ConfigError(std::string(name) + ": " + std::to_string(x) + " is out of range " + std::to_string(lo) + "-" +
                      std::to_string(hi));
  return static_cast<T>(x);
}

std::string string_field(const nlohmann::json& j, const char* name) {
  if (!j.contains(name)) throw ConfigError(std::string(name) + ": missing");
  const auto& v = j.at(name);
  if (!v.is_string()) throw ConfigError(std::string(name) + ": must be a string");
  return v.get<std::string>();
}

}  // namespace

VfConfig config_from_json(const nlohmann::json& j, bool require_id) {
  if (!j.is_object()) throw ConfigError("VF config must be an object");
  VfConfig c;
  if (j.contains("id"))
    c.id = integer_field<uint16_t>(j, "id", 0, VENIC_MAX_VFS - 1);
  else if (require_id)
    throw ConfigError("id: missing");
  std::string type = string_field(j, "type");
  const auto personality = personality_from_name(type);
  if (!personality) throw ConfigError("type: '" + type + "' is not a VF type (ena, efa or ixgbevf)");
  c.type = *personality;
  const DeviceCaps& caps = caps_of(c.type);
  // Unless told otherwise, a VF has every queue pair (ENA: 4) and its link's bandwidth.
  c.queues = std::min<uint8_t>(c.queues, caps.max_queues);
  c.limits.bw_in_mbps = c.limits.bw_out_mbps = caps.max_bw_mbps;
  std::string mac = string_field(j, "mac");
  auto m = parse_mac(mac);
  if (!m) throw ConfigError("mac: '" + mac + "' is not a MAC address (xx:xx:xx:xx:xx:xx)");
  if (!is_unicast(*m)) throw ConfigError("mac: '" + mac + "' is not a unicast address");
  c.mac = *m;
  std::string ip = string_field(j, "ip");
  auto a = parse_ipv4(ip);
  if (!a) throw ConfigError("ip: '" + ip + "' is not an IPv4 address");
  c.ip = *a;
  if (j.contains("prefix")) c.prefix = integer_field<uint8_t>(j, "prefix", 1, 32);
  if (j.contains("mtu")) c.mtu = integer_field<uint16_t>(j, "mtu", VENIC_MTU_MIN, VENIC_FRAME_MAX - VENIC_L2_OVERHEAD);
  if (j.contains("queues")) c.queues = integer_field<uint8_t>(j, "queues", 1, VENIC_MAX_QPS);
  if (j.contains("trusted")) {
    if (!j["trusted"].is_boolean()) throw ConfigError("trusted: must be true or false");
    c.trusted = j["trusted"].get<bool>();
  }
  if (j.contains("src_dst_check")) {
    if (!j["src_dst_check"].is_boolean()) throw ConfigError("src_dst_check: must be true or false");
    c.src_dst_check = j["src_dst_check"].get<bool>();
  }
  if (j.contains("secondary_ips")) c.secondary_ips = ipv4_list_from_json(j["secondary_ips"], "secondary_ips");
  if (j.contains("ipv6")) c.ipv6 = ipv6_list_from_json(j["ipv6"], "ipv6");
  limits_from_json(j, c.limits);
  if (j.contains("link")) {
    std::string l = string_field(j, "link");
    if (l != "up" && l != "down") throw ConfigError("link: '" + l + "' must be up or down");
    c.link_up = l == "up";
  }
  if (j.contains("frontend")) {
    std::string f = string_field(j, "frontend");
    if (f == "vhost-user")
      c.frontend = Frontend::kVhostUser;
    else if (f != "shm")
      throw ConfigError("frontend: '" + f + "' is not a front-end (shm or vhost-user)");
  }
  if (j.contains("vhost_path")) c.vhost_path = string_field(j, "vhost_path");
  if (j.contains("eni_id")) c.eni_id = string_field(j, "eni_id");
  if (j.contains("vpc_id")) c.vpc_id = string_field(j, "vpc_id");
  if (j.contains("vpc_dns") && !string_field(j, "vpc_dns").empty()) {
    const auto dns = parse_ipv4(string_field(j, "vpc_dns"));
    if (!dns) throw ConfigError("vpc_dns: not an IPv4 address");
    c.vpc_dns = *dns;
  }
  if (j.contains("cluster_group")) c.cluster_group = string_field(j, "cluster_group");
  if (j.contains("mtu_cap")) c.mtu_cap = integer_field<uint16_t>(j, "mtu_cap", VENIC_MTU_MIN, VENIC_FRAME_MAX);
  if (j.contains("owner_uid")) c.owner_uid = integer_field<int64_t>(j, "owner_uid", 0, 0x7fffffff);
  if (j.contains("attach_uid")) c.attach_uid = integer_field<int64_t>(j, "attach_uid", -1, 0x7fffffff);
  if (j.contains("security")) c.security = security_policy_from_json(j["security"]);
  if (j.contains("vhost_mode")) {
    std::string m = string_field(j, "vhost_mode");
    if (m != "server" && m != "client") throw ConfigError("vhost_mode: '" + m + "' must be server or client");
    c.vhost_client = m == "client";
  }
  return c;
}

void limits_from_json(const nlohmann::json& j, Limits& l) {
  auto field = [&](const char* name, uint64_t lo, uint64_t hi, uint64_t& out) {
    if (!j.contains(name)) return;
    const auto& v = j[name];
    if (!v.is_number_unsigned() || v.get<uint64_t>() < lo || v.get<uint64_t>() > hi)
      throw ConfigError(std::string(name) + ": must be an integer in " + std::to_string(lo) + "-" + std::to_string(hi) +
                        (lo == 0 ? " (0: unlimited)" : ""));
    out = v.get<uint64_t>();
  };
  field("bw_in_mbps", 0, Limits::kMaxMbps, l.bw_in_mbps);
  field("bw_out_mbps", 0, Limits::kMaxMbps, l.bw_out_mbps);
  field("pps", 0, Limits::kMaxPps, l.pps);
  field("flow_mbps", 0, Limits::kMaxMbps, l.flow_mbps);
  field("burst_ms", 1, Limits::kMaxBurstMs, l.burst_ms);
}

uint16_t max_mtu(const VfConfig& c) {
  uint16_t m = caps_of(c.type).max_mtu;
  if (!c.vpc_id.empty()) m = std::min<uint16_t>(m, VENIC_MTU_MAX);
  if (c.mtu_cap) m = std::min(m, std::max<uint16_t>(c.mtu_cap, VENIC_MTU_MIN));
  return m;
}

bool mtu_fits(const VfConfig& c, uint64_t mtu) {
  return mtu >= VENIC_MTU_MIN && mtu <= max_mtu(c);
}

bool queues_fit(const VfConfig& c, uint64_t queues) {
  return queues >= 1 && queues <= c.queues && queues <= caps_of(c.type).max_queues;
}

std::string validate(const VfConfig& c) {
  const DeviceCaps& caps = caps_of(c.type);
  if (c.id >= VENIC_MAX_VFS) return "id: out of range 0-255";
  if (!mtu_fits(c, c.mtu))
    return "mtu: " + std::to_string(c.mtu) + " is out of range " + std::to_string(VENIC_MTU_MIN) + "-" +
           std::to_string(max_mtu(c)) + " (" + std::string(caps.name) + (c.vpc_id.empty() ? "" : " in a VPC") + ")";
  if (c.queues < 1 || c.queues > caps.max_queues)
    return "queues: " + std::to_string(c.queues) + " is out of range: an " + std::string(caps.name) +
           " VF has at most " + std::to_string(caps.max_queues) + " queue pairs";
  if (caps.max_bw_mbps)
    for (uint64_t bw : {c.limits.bw_in_mbps, c.limits.bw_out_mbps})
      if (bw == 0 || bw > caps.max_bw_mbps)
        return "bw_in_mbps, bw_out_mbps: an " + std::string(caps.name) + " VF's link carries at most " +
               std::to_string(caps.max_bw_mbps) + " Mbps (1-" + std::to_string(caps.max_bw_mbps) + ")";
  if (c.prefix < 1 || c.prefix > 32) return "prefix: out of range 1-32";
  if (!is_unicast(c.mac)) return "mac: not a unicast address";
  if (c.frontend == Frontend::kVhostUser) {
    if (c.type == Personality::kEfa) return "frontend: vhost-user serves ena and ixgbevf VFs only";
    // sun_path holds 108 bytes with the terminating NUL.
    // Empty: venicd picks one beside its control socket.
    if (!c.vhost_path.empty() && (c.vhost_path[0] != '/' || c.vhost_path.size() > 107))
      return "vhost_path: must be an absolute socket path of at most 107 characters";
  } else if (!c.vhost_path.empty() || c.vhost_client) {
    return "vhost_path: only for frontend vhost-user";
  }
  for (size_t i = 0; i < c.secondary_ips.size(); i++) {
    uint32_t a = c.secondary_ips[i];
    if ((a & c.netmask()) != c.subnet())
      return "secondary_ips: " + format_ipv4(a) + " is outside the subnet " + format_ipv4(c.subnet()) + "/" +
             std::to_string(c.prefix);
    if (a == c.ip) return "secondary_ips: " + format_ipv4(a) + " is the primary address";
    for (size_t k = 0; k < i; k++)
      if (c.secondary_ips[k] == a) return "secondary_ips: " + format_ipv4(a) + " appears twice";
  }
  for (size_t i = 0; i < c.ipv6.size(); i++) {
    const Ipv6Addr& a = c.ipv6[i];
    // Unicast global or unique-local only: link-local is every VF's own, multicast no one's.
    if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a == Ipv6Addr{})
      return "ipv6: " + format_ipv6(a) + " is not a unicast global address";
    for (size_t k = 0; k < i; k++)
      if (c.ipv6[k] == a) return "ipv6: " + format_ipv6(a) + " appears twice";
  }
  return "";
}

}  // namespace venic::vf
