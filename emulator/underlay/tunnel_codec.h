// The wire format between venicd hosts (issue 21): a VF's Ethernet frame
// carried in Geneve (RFC 8926) or VXLAN (RFC 7348) over UDP/IPv4, with the
// VPC's id in the VNI, as Linux's geneve/vxlan devices speak it.  Pure
// functions over bytes: the uplink port (a DPDK port or a UDP socket) and
// the policy (which host owns which ENI) live elsewhere.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace venic::underlay {

enum class Encap : uint8_t { kGeneve, kVxlan };

inline constexpr uint16_t kGenevePort = 6081;  // IANA
inline constexpr uint16_t kVxlanPort = 4789;   // IANA
inline constexpr uint32_t kTunnelHeader = 8;   // Geneve without options; VXLAN
// Ethernet + IPv4 + UDP + tunnel header in front of the inner frame: an
// underlay must carry MTU + 50 (+14 for the inner Ethernet header) bytes.
inline constexpr uint32_t kOverhead = 14 + 20 + 8 + kTunnelHeader;
inline constexpr uint32_t kMaxVni = 0xffffff;

uint16_t tunnel_port(Encap e);

// The tunnel header for vni (at most kMaxVni) into out[0..8).
void write_tunnel_header(Encap e, uint32_t vni, uint8_t* out);

// A UDP payload as a tunnel header and the inner Ethernet frame; nullopt
// (and *why set) for anything this end must drop: a Geneve version other
// than 0, options flagged critical (none is understood), OAM packets, an
// inner protocol other than Ethernet, a VXLAN header without its I flag,
// an inner frame shorter than an Ethernet header.
struct TunnelPayload {
  uint32_t vni = 0;
  std::span<const uint8_t> inner;
};
std::optional<TunnelPayload> parse_tunnel_payload(Encap e, std::span<const uint8_t> udp_payload,
                                                  const char** why = nullptr);

// The outer headers of one underlay hop.
struct Underlay {
  std::array<uint8_t, 6> src_mac{}, dst_mac{};
  uint32_t src_ip = 0, dst_ip = 0;  // host order
};

// The UDP source port for an inner frame: a hash of its addresses and
// ports, so the underlay's ECMP spreads flows (RFC 8926 section 3.3), in the
// dynamic range 49152-65535.
uint16_t entropy_port(std::span<const uint8_t> inner);

// inner wrapped in Ethernet/IPv4/UDP/tunnel headers into out; returns the
// outer frame's length, or 0 when out is too small.  IPv4 checksum set, DF
// set (the underlay must not fragment), UDP checksum 0 (allowed over IPv4).
size_t encapsulate(Encap e, const Underlay& u, uint32_t vni, std::span<const uint8_t> inner, std::span<uint8_t> out);

// An outer frame from the underlay: checked (IPv4 header and its checksum,
// no fragment, UDP to the tunnel port, lengths, the UDP checksum when one
// is set) and its tunnel payload parsed.  outer_src is who sent it, for the
// anti-spoofing check of the host that owns the inner source.
struct Decapsulated {
  uint32_t vni = 0;
  uint32_t outer_src = 0, outer_dst = 0;  // host order
  std::span<const uint8_t> inner;
};
// kTrust: a set UDP checksum is not checked.  An uplink on a veth (or a NIC
// with checksum offload) receives the kernel's frames before it fills the
// checksum in (CHECKSUM_PARTIAL); the inner frame carries its own.
enum class UdpChecksum : uint8_t { kVerify, kTrust };
std::optional<Decapsulated> decapsulate(Encap e, std::span<const uint8_t> frame, const char** why = nullptr,
                                        UdpChecksum udp_checksum = UdpChecksum::kVerify);

}  // namespace venic::underlay
