// A VF's configuration as the operator sets it: what the state file keeps.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace venic::vf {

enum class Personality : uint8_t { kEna = 1, kEfa = 2 };

using MacAddr = std::array<uint8_t, 6>;

struct VfConfig {
  uint16_t id = 0;
  Personality type = Personality::kEna;
  MacAddr mac{};
  uint32_t ip = 0;  // IPv4, host byte order
  uint8_t prefix = 24;
  uint16_t mtu = 1500;
  bool trusted = false;
  uint8_t queues = 4;
  bool link_up = true;

  uint32_t subnet() const { return prefix == 0 ? 0 : ip & (~0u << (32 - prefix)); }
};

// Parsers return std::nullopt on bad input; the callers word the error.
std::optional<MacAddr> parse_mac(const std::string& s);
std::optional<uint32_t> parse_ipv4(const std::string& s);
std::string format_mac(const MacAddr& m);
std::string format_ipv4(uint32_t ip);
bool is_unicast(const MacAddr& m);

// JSON as in the state file and in the control protocol's VF object.
nlohmann::json to_json(const VfConfig& c);

// Builds a config from JSON fields (vf.create params, or a state-file entry).
// Throws ConfigError naming the offending field.
VfConfig config_from_json(const nlohmann::json& j, bool require_id);

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Checks the ranges (MTU, queues, prefix...); returns an error text or "".
std::string validate(const VfConfig& c);

}  // namespace venic::vf
