// A VF's security groups as the fast path enforces them: the union of the
// rules of every group on the ENI, with group references already expanded to
// the members' addresses (emulator/model/ec2_service.cpp), and the
// connection-tracking settings.  Stateful, as EC2's: a flow one direction's
// rules allowed is tracked, and its replies pass whatever the rules say.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace venic::vf {

// One permission.  Protocol 0 is "all" (EC2's -1).  For TCP and UDP the
// ports are a range; for ICMP, port_lo is the type and port_hi the code,
// each 0xffff for "any" (EC2's -1).  The peer is a prefix of one family.
struct SgRule {
  uint8_t proto = 0;
  uint8_t family = 4;  // 4 or 6
  uint16_t port_lo = 0, port_hi = 0xffff;
  std::array<uint8_t, 16> addr{};  // network order; IPv4 in the first four bytes
  uint8_t prefix = 0;

  bool any_peer() const { return prefix == 0; }
  bool operator==(const SgRule&) const = default;
};

// EC2's idle timeouts (seconds) and their ranges (ConnectionTrackingSpecification).
struct ConntrackTimeouts {
  uint32_t tcp_established = 432000;  // 60-432000
  uint32_t udp_stream = 180;          // 60-180: UDP seen both ways
  uint32_t udp = 30;                  // 30-60: UDP seen one way
  bool in_range() const {
    return tcp_established >= 60 && tcp_established <= 432000 && udp_stream >= 60 && udp_stream <= 180 && udp >= 30 &&
           udp <= 60;
  }
  bool operator==(const ConntrackTimeouts&) const = default;
};

inline constexpr uint32_t kMaxConntrack = 1u << 22;

struct SecurityPolicy {
  bool enforced = false;  // plain VFs have no security groups: everything passes
  std::vector<SgRule> ingress, egress;
  ConntrackTimeouts timeouts;
  uint32_t conntrack_max = 0;  // tracked flows at most (the instance's conntrack allowance)
  // VFs with the same group share one table (an instance's ENIs); "": the VF's own.
  std::string conntrack_group;
  // An EFA ENI whose groups let its OS-bypass traffic flow (all traffic in
  // from and out to one of its own groups); that traffic stays in its subnet.
  bool efa_os_bypass = false;
  bool operator==(const SecurityPolicy&) const = default;
};

// What the rules of one direction say about a packet.
struct RuleVerdict {
  bool allowed = false;
  bool any_peer = false;  // allowed by a rule whose peer is 0.0.0.0/0 or ::/0
};

// The packet as the rules see it: the remote end (source for ingress,
// destination for egress), the local port (TCP/UDP destination for ingress,
// destination for egress), or the ICMP type and code.
struct SgPacket {
  uint8_t family = 4;
  uint8_t proto = 0;  // IPPROTO_*
  const uint8_t* remote = nullptr;
  uint16_t port = 0;                     // TCP/UDP: the port the rule's range is matched against
  uint8_t icmp_type = 0, icmp_code = 0;  // ICMP / ICMPv6
};

RuleVerdict evaluate(const std::vector<SgRule>& rules, const SgPacket& p);

// A peer as ADDRESS/LEN of either family, into r's family, addr and prefix;
// false (r unchanged) when s is not one.  format_peer writes it back.
bool parse_peer(const std::string& s, SgRule& r);
std::string format_peer(const SgRule& r);

// EC2 does not track a TCP or UDP flow that a 0.0.0.0/0 (or ::/0) rule
// allows when the other direction has a rule allowing all ports of that
// protocol to or from 0.0.0.0/0 (::/0): true when `rules` has such a rule.
bool opens_all_ports(const std::vector<SgRule>& rules, uint8_t family, uint8_t proto);

// Protocols as EC2 names them: "tcp", "udp", "icmp", "icmpv6", "-1"/"all", or a number.
// Returns -1 for a name it does not know.
int protocol_number(const std::string& name);

nlohmann::json to_json(const SecurityPolicy& p);
// Throws ConfigError (vf_config.h) naming the field.
SecurityPolicy security_policy_from_json(const nlohmann::json& j);

}  // namespace venic::vf
