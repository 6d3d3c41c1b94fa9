// A VF's configuration as the operator sets it: what the state file keeps.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "allowance.h"
#include "personality.h"
#include "security_policy.h"

namespace venic::vf {

// How a VF's driver reaches it: the device ABI's shared-memory region (the
// net_vena PMD, drivers/ena), or a vhost-user socket that venicd serves for a
// QEMU guest or a virtio-user port (the guest sees virtio-net).
enum class Frontend : uint8_t { kShm = 0, kVhostUser = 1 };

using MacAddr = std::array<uint8_t, 6>;
using Ipv6Addr = std::array<uint8_t, 16>;

struct VfConfig {
  uint16_t id = 0;
  Personality type = Personality::kEna;
  MacAddr mac{};
  uint32_t ip = 0;  // IPv4, host byte order
  uint8_t prefix = 24;
  uint16_t mtu = 1500;
  // The path's limit below the device's (an underlay between hosts carries
  // its MTU less the tunnel's 50 bytes); 0: none.
  uint16_t mtu_cap = 0;
  bool trusted = false;
  uint8_t queues = 4;  // at most caps_of(type).max_queues
  bool link_up = true;
  // EC2's source/destination check: on, the VF sends only from its own MAC
  // and addresses and receives only what is addressed to them.
  bool src_dst_check = true;
  std::vector<uint32_t> secondary_ips;  // host order, inside the subnet
  std::vector<Ipv6Addr> ipv6;           // network order
  Limits limits;                        // bandwidth, PPS and per-flow allowances
  Frontend frontend = Frontend::kShm;
  std::string vhost_path;     // the vhost-user socket (Frontend::kVhostUser)
  bool vhost_client = false;  // venicd connects to the guest's socket (QEMU server=on)
  // Set when the VF backs an ENI of the EC2 model (emulator/model), which
  // then owns this config: only the model changes it.
  std::string eni_id;
  // The ENI's VPC: an address space of its own, where venicd answers ARP and
  // neighbour discovery from the model, routes between subnets through the
  // VPC's implied router, and floods nothing.  "": a plain VF (an L2 segment).
  std::string vpc_id;
  // The VPC's Amazon DNS server, its CIDR's base + 2 (host order; 0: none),
  // which the fast path hands to the instance services.
  uint32_t vpc_dns = 0;
  // The cluster placement group (its id) of the ENI's instance, "" when
  // none: flows between members of one group get the cluster's per-flow
  // cap (Limits::kClusterFlowMbps), the others limits.flow_mbps.
  std::string cluster_group;
  // Its owner (docs/ownership.md): who created it, or the ENI's owner.
  int64_t owner_uid = 0;
  // Who may attach besides root and the daemon's uid: this uid (the owner of
  // the ENI's instance), or when -1 the owner.
  int64_t attach_uid = -1;
  int64_t attacher() const { return attach_uid >= 0 ? attach_uid : owner_uid; }
  // The ENI's security groups (enforced only on ENI-backed VFs).
  SecurityPolicy security;

  uint32_t subnet() const { return prefix == 0 ? 0 : ip & (~0u << (32 - prefix)); }
  uint32_t netmask() const { return prefix == 0 ? 0 : ~0u << (32 - prefix); }
  bool owns_ip(uint32_t a) const {
    if (a == ip) return true;
    for (uint32_t s : secondary_ips)
      if (s == a) return true;
    return false;
  }
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

// Secondary private IPv4 addresses per VF, at most (EC2's largest per-ENI
// figure is 50 addresses, the primary included).
inline constexpr size_t kMaxSecondaryIps = 49;
inline constexpr size_t kMaxIpv6 = 50;  // per ENI on EC2's largest types

std::optional<Ipv6Addr> parse_ipv6(const std::string& s);
std::string format_ipv6(const Ipv6Addr& a);
std::vector<Ipv6Addr> ipv6_list_from_json(const nlohmann::json& j, const char* field);

// Reads the allowance fields (bw_in_mbps, bw_out_mbps, pps, flow_mbps,
// burst_ms) present in j into l; throws ConfigError naming the field.
void limits_from_json(const nlohmann::json& j, Limits& l);
inline constexpr const char* kLimitFields[] = {"bw_in_mbps", "bw_out_mbps", "pps", "flow_mbps", "burst_ms"};

// Parses a JSON list of IPv4 strings; throws ConfigError naming `field`.
std::vector<uint32_t> ipv4_list_from_json(const nlohmann::json& j, const char* field);

// Checks the ranges (MTU, queues, prefix...) and the personality's limits;
// returns an error text or "".
std::string validate(const VfConfig& c);

// The largest MTU the VF takes: its device's, and inside a VPC at most the
// 9001 bytes EC2 carries.
uint16_t max_mtu(const VfConfig& c);
// What a driver may ask of the VF (SET_MTU, START) under its personality.
bool mtu_fits(const VfConfig& c, uint64_t mtu);
bool queues_fit(const VfConfig& c, uint64_t queues);

}  // namespace venic::vf
