// Address translation on IPv4 packets, in place: the source or destination
// address, the TCP/UDP port or ICMP query id, with the IPv4 header and
// TCP/UDP/ICMP checksums updated incrementally (RFC 1624, fastpath/checksum.h)
// — the payload is never summed again.  What the internet and NAT gateways do
// to a packet; no state, no threads.
#pragma once

#include <cstdint>

namespace venic::gateways {

inline constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17;

// One IPv4 packet, checked: version 4, a header of 20-60 bytes with a right
// checksum, a total length that fits in what was received (anything past it
// is padding and is not counted).
struct Ipv4Packet {
  uint8_t* ip = nullptr;
  uint32_t len = 0;  // the header's total length
  uint32_t ihl = 0;  // header bytes
  uint8_t proto = 0;
  bool fragment = false;        // a fragment of a larger packet (MF set or an offset)
  bool first_fragment = false;  // ...and the one with the L4 header
  bool df = false;              // Don't Fragment
  uint8_t* l4 = nullptr;        // the L4 header when this packet has one whole (else nullptr)
  uint32_t l4_len = 0;
  uint32_t src() const;
  uint32_t dst() const;
};

// Checks buf as an IPv4 packet; false when it is not one (dropped and
// counted as malformed by the caller).
bool parse_ipv4(uint8_t* buf, uint32_t len, Ipv4Packet* out);
// The header alone (a packet cut short after its header and 8 more bytes):
// len is the total length the header says; l4 is not set.
bool parse_ipv4_header(uint8_t* buf, uint32_t len, Ipv4Packet* out);

// The L4 "port" NAT maps: the TCP/UDP source or destination port, or the
// query id of an ICMP echo/echo reply/timestamp (both "ports" are the id).
// False when the packet has none (another protocol, an ICMP error, a
// fragment without its header).
bool l4_ports(const Ipv4Packet& p, uint16_t* sport, uint16_t* dport);

void set_src(Ipv4Packet& p, uint32_t addr);
void set_dst(Ipv4Packet& p, uint32_t addr);
// Needs l4_ports() true: the port (or ICMP id) rewritten, its checksum too.
void set_sport(Ipv4Packet& p, uint16_t port);
void set_dport(Ipv4Packet& p, uint16_t port);

// An ICMP error (destination unreachable, time exceeded, parameter problem)
// quotes the packet it is about: its header is checked and returned in
// *inner (l4 points at its first 8 bytes, l4_len 8 when they are there).
bool icmp_error_quote(const Ipv4Packet& p, Ipv4Packet* inner);
// Rewrites the quoted packet's source or destination address (its header
// checksum and the outer ICMP checksum follow).
void set_quoted_src(Ipv4Packet& outer, Ipv4Packet& inner, uint32_t addr);
void set_quoted_dst(Ipv4Packet& outer, Ipv4Packet& inner, uint32_t addr);

}  // namespace venic::gateways
