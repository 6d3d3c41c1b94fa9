#include "security_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

#include "vf_config.h"

namespace venic::vf {

namespace {

constexpr uint16_t kAny = 0xffff;

bool prefix_matches(const SgRule& r, const uint8_t* a) {
  const unsigned bytes = r.prefix / 8, bits = r.prefix % 8;
  if (std::memcmp(r.addr.data(), a, bytes) != 0) return false;
  if (bits == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff00 >> bits);
  return (r.addr[bytes] & mask) == (a[bytes] & mask);
}

bool is_icmp(uint8_t proto) {
  return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

bool rule_matches(const SgRule& r, const SgPacket& p) {
  if (r.family != p.family) return false;
  if (r.proto != 0) {
    if (r.proto != p.proto) return false;
    if (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP) {
      if (p.port < r.port_lo || p.port > r.port_hi) return false;
    } else if (is_icmp(p.proto)) {
      if (r.port_lo != kAny && r.port_lo != p.icmp_type) return false;
      if (r.port_hi != kAny && r.port_hi != p.icmp_code) return false;
    }
  }
  return prefix_matches(r, p.remote);
}

}  // namespace

RuleVerdict evaluate(const std::vector<SgRule>& rules, const SgPacket& p) {
  RuleVerdict v;
  for (const SgRule& r : rules) {
    if (!rule_matches(r, p)) continue;
    v.allowed = true;
    if (r.any_peer()) {
      v.any_peer = true;
      break;  // nothing can say more
    }
  }
  return v;
}

bool opens_all_ports(const std::vector<SgRule>& rules, uint8_t family, uint8_t proto) {
  for (const SgRule& r : rules) {
    if (r.family != family || !r.any_peer()) continue;
    if (r.proto == 0 || (r.proto == proto && r.port_lo == 0 && r.port_hi == kAny)) return true;
  }
  return false;
}

bool parse_peer(const std::string& s, SgRule& r) {
  const auto slash = s.find('/');
  if (slash == std::string::npos) return false;
  const std::string addr = s.substr(0, slash), len = s.substr(slash + 1);
  const uint8_t family = addr.find(':') == std::string::npos ? 4 : 6;
  std::array<uint8_t, 16> a{};
  if (::inet_pton(family == 4 ? AF_INET : AF_INET6, addr.c_str(), a.data()) != 1) return false;
  if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(len) > (family == 4 ? 32u : 128u))
    return false;
  r.family = family;
  r.addr = a;
  r.prefix = static_cast<uint8_t>(std::stoul(len));
  return true;
}

std::string format_peer(const SgRule& r) {
  char a[INET6_ADDRSTRLEN];
  ::inet_ntop(r.family == 4 ? AF_INET : AF_INET6, r.addr.data(), a, sizeof(a));
  return std::string(a) + "/" + std::to_string(r.prefix);
}

int protocol_number(const std::string& name) {
  if (name == "-1" || name == "all") return 0;
  if (name == "tcp") return IPPROTO_TCP;
  if (name == "udp") return IPPROTO_UDP;
  if (name == "icmp") return IPPROTO_ICMP;
  if (name == "icmpv6") return IPPROTO_ICMPV6;
  if (name.empty() || name.size() > 3 || name.find_first_not_of("0123456789") != std::string::npos) return -1;
  const int n = std::stoi(name);
  return n <= 255 ? n : -1;
}

namespace {

nlohmann::json rules_json(const std::vector<SgRule>& rules) {
  nlohmann::json out = nlohmann::json::array();
  for (const SgRule& r : rules) {
    const bool ranged = r.proto == IPPROTO_TCP || r.proto == IPPROTO_UDP;
    auto port = [&](uint16_t v) { return v == kAny && !ranged ? -1 : int{v}; };
    out.push_back({{"proto", r.proto}, {"from", port(r.port_lo)}, {"to", port(r.port_hi)}, {"peer", format_peer(r)}});
  }
  return out;
}

uint16_t port_of(const nlohmann::json& r, const char* name, bool ranged) {
  const auto& v = r.at(name);
  if (!v.is_number_integer()) throw ConfigError(std::string("security.") + name + ": must be an integer");
  const long x = v.get<long>();
  if (x == -1 && !ranged) return kAny;
  if (x < 0 || x > 65535) throw ConfigError(std::string("security.") + name + ": out of range");
  return static_cast<uint16_t>(x);
}

std::vector<SgRule> rules_from_json(const nlohmann::json& j, const char* field) {
  if (!j.is_array()) throw ConfigError(std::string("security.") + field + ": must be a list");
  std::vector<SgRule> out;
  for (const auto& e : j) {
    if (!e.is_object() || !e.contains("proto") || !e.contains("from") || !e.contains("to") || !e.contains("peer") ||
        !e["proto"].is_number_unsigned() || e["proto"].get<unsigned>() > 255 || !e["peer"].is_string())
      throw ConfigError(std::string("security.") + field + ": each rule needs proto, from, to and peer");
    SgRule r;
    r.proto = e["proto"].get<uint8_t>();
    const bool ranged = r.proto == IPPROTO_TCP || r.proto == IPPROTO_UDP;
    r.port_lo = port_of(e, "from", ranged);
    r.port_hi = port_of(e, "to", ranged);
    const std::string peer = e["peer"].get<std::string>();
    if (!parse_peer(peer, r))
      throw ConfigError(std::string("security.") + field + ": '" + peer + "' is not a CIDR (ADDRESS/LEN)");
    out.push_back(r);
  }
  return out;
}

uint32_t number_of(const nlohmann::json& j, const char* name, uint32_t lo, uint32_t hi, uint32_t dflt) {
  if (!j.contains(name)) return dflt;
  const auto& v = j[name];
  if (!v.is_number_unsigned() || v.get<uint64_t>() < lo || v.get<uint64_t>() > hi)
    throw ConfigError(std::string("security.") + name + ": must be an integer in " + std::to_string(lo) + "-" +
                      std::to_string(hi));
  return v.get<uint32_t>();
}

}  // namespace

nlohmann::json to_json(const SecurityPolicy& p) {
  return {{"enforced", p.enforced},
          {"ingress", rules_json(p.ingress)},
          {"egress", rules_json(p.egress)},
          {"tcp_established_timeout", p.timeouts.tcp_established},
          {"udp_stream_timeout", p.timeouts.udp_stream},
          {"udp_timeout", p.timeouts.udp},
          {"conntrack_max", p.conntrack_max},
          {"conntrack_group", p.conntrack_group},
          {"efa_os_bypass", p.efa_os_bypass}};
}

SecurityPolicy security_policy_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw ConfigError("security: must be an object");
  SecurityPolicy p;
  if (j.contains("enforced")) {
    if (!j["enforced"].is_boolean()) throw ConfigError("security.enforced: must be true or false");
    p.enforced = j["enforced"].get<bool>();
  }
  if (j.contains("ingress")) p.ingress = rules_from_json(j["ingress"], "ingress");
  if (j.contains("egress")) p.egress = rules_from_json(j["egress"], "egress");
  p.timeouts.tcp_established = number_of(j, "tcp_established_timeout", 60, 432000, p.timeouts.tcp_established);
  p.timeouts.udp_stream = number_of(j, "udp_stream_timeout", 60, 180, p.timeouts.udp_stream);
  p.timeouts.udp = number_of(j, "udp_timeout", 30, 60, p.timeouts.udp);
  p.conntrack_max = number_of(j, "conntrack_max", 0, kMaxConntrack, 0);
  if (j.contains("efa_os_bypass")) {
    if (!j["efa_os_bypass"].is_boolean()) throw ConfigError("security.efa_os_bypass: must be true or false");
    p.efa_os_bypass = j["efa_os_bypass"].get<bool>();
  }
  if (j.contains("conntrack_group")) {
    if (!j["conntrack_group"].is_string()) throw ConfigError("security.conntrack_group: must be a string");
    p.conntrack_group = j["conntrack_group"].get<std::string>();
  }
  return p;
}

}  // namespace venic::vf
