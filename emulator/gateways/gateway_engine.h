// What the internet and NAT gateways do to packets, without I/O: a frame an
// instance sent through a gateway becomes an IP packet for the uplink (or an
// ICMP answer back to the instance); an IP packet from the uplink becomes a
// frame for an instance (or is dropped).  Every outcome is counted.  The
// gateway thread (gateway_service.h) drives it; units drive it directly.
//
// Internet gateway: 1:1 — the instance's private source becomes its public
// address (an Elastic IP or an auto-assigned one), and back.  NAT gateway:
// many-to-one onto the NAT gateway's Elastic IP with a port (ICMP id) per
// flow (nat_table.h).  MTU 1500 past the VPC: a bigger packet with DF set
// gets ICMP "fragmentation needed" (next-hop MTU 1500) back, one without DF
// is dropped (venic does not fragment).  IPv4 only.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "gateway_directory.h"
#include "ip_rewrite.h"
#include "nat_table.h"

namespace venic::gateways {

struct GatewayStats {
  std::atomic<uint64_t> offered{0}, queue_full{0};
  std::atomic<uint64_t> translated_out{0}, translated_in{0};
  std::atomic<uint64_t> no_public_ip{0}, no_gateway{0}, frag_needed_sent{0}, too_big_dropped{0};
  std::atomic<uint64_t> nat_table_full{0}, untranslatable{0}, inbound_unknown{0}, malformed{0};
  std::atomic<uint64_t> not_ipv4{0};  // IPv6 from the uplink (the kernel's own chatter): venic's gateways are IPv4
  std::atomic<uint64_t> uplink_errors{0}, inject_refused{0};
  std::atomic<uint64_t> nat_entries{0};
};

class GatewayEngine {
 public:
  struct Options {
    std::array<uint8_t, 6> router_mac{};  // frames to instances come from it (fastpath kRouterMac)
    NatTable::Options nat;
  };
  using ToUplink = std::function<void(const uint8_t* ip, uint32_t len)>;
  using ToInstance = std::function<bool(uint16_t vf, const uint8_t* frame, uint32_t len)>;

  GatewayEngine(Options o, GatewayStats& stats) : opt_(o), stats_(stats) {}

  // The model's view to act on (gateway thread); NAT tables of gateways no
  // longer there are dropped.
  void set_directory(std::shared_ptr<const GatewayDirectory> d);

  // A whole Ethernet frame VF vf sent through `gateway` (igw-... or nat-...);
  // frame is rewritten in place.  wire_len > len: the frame was longer
  // than what was kept of it (its headers): too big for the internet, it is
  // answered with ICMP "fragmentation needed" (DF) or dropped.
  void from_instance(uint16_t vf, const char* gateway, uint8_t* frame, uint32_t len, int64_t now,
                     const ToUplink& uplink, const ToInstance& instance, uint32_t wire_len = 0);
  // An IP packet read from the uplink, at buf + 14 (the 14 bytes before it
  // are where its Ethernet header is written); len is the IP packet's.
  void from_uplink(uint8_t* buf, uint32_t len, int64_t now, const ToInstance& instance);
  // Idle NAT flows go (call about once a second).
  void expire(int64_t now);

  const NatTable* nat_table(const std::string& nat_id) const {
    auto it = nat_.find(nat_id);
    return it == nat_.end() ? nullptr : &it->second;
  }

 private:
  void internet_out(uint16_t vf, const std::string& vpc, uint8_t* frame, uint32_t len, const ToUplink& uplink,
                    const ToInstance& instance);
  void nat_out(uint16_t vf, const std::string& nat_id, uint8_t* frame, uint32_t len, int64_t now,
               const ToUplink& uplink, const ToInstance& instance);
  // True when the packet fits the internet's MTU; else answered or dropped.
  bool fits(uint16_t vf, const Ipv4Packet& p, const ToInstance& instance);
  bool nat_in(const std::string& nat_id, Ipv4Packet& p, int64_t now, uint16_t* vf);
  void deliver(uint16_t vf, uint8_t* buf, uint32_t len, const ToInstance& instance);

  Options opt_;
  GatewayStats& stats_;
  std::shared_ptr<const GatewayDirectory> dir_ = std::make_shared<GatewayDirectory>();
  std::map<std::string, NatTable> nat_;  // by NAT gateway id
};

}  // namespace venic::gateways
