#include "ip_rewrite.h"

#include "checksum.h"

namespace venic::gateways {

namespace {

using fastpath::csum_replace16;

uint32_t get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

bool icmp_query(uint8_t type) {
  return type == 0 || type == 8 || type == 13 || type == 14;  // echo reply, echo, timestamp, its reply
}
bool icmp_error(uint8_t type) {
  return type == 3 || type == 11 || type == 12;
}

// The L4 checksum field an address change must update (the pseudo-header
// holds both addresses): TCP's always, UDP's unless 0 (none); ICMP has no
// pseudo-header.
uint8_t* pseudo_csum(Ipv4Packet& p) {
  if (!p.l4) return nullptr;
  if (p.proto == kTcp) return p.l4 + 16;
  if (p.proto == kUdp && get16(p.l4 + 6) != 0) return p.l4 + 6;
  return nullptr;
}

// Replaces 32 bits at field, with the header checksum at hc and (if any) the
// L4 checksum at l4c following.
void replace32(uint8_t* field, uint32_t now, uint8_t* hc, uint8_t* l4c) {
  const uint16_t hi = static_cast<uint16_t>(now >> 16), lo = static_cast<uint16_t>(now);
  if (l4c) {
    // The L4 checksum first, against the old words (csum_replace16 reads them).
    uint8_t copy[4] = {field[0], field[1], field[2], field[3]};
    csum_replace16(copy, hi, l4c);
    csum_replace16(copy + 2, lo, l4c);
    // UDP: a computed 0 is sent as 0xffff (0 means "no checksum").
  }
  csum_replace16(field, hi, hc);
  csum_replace16(field + 2, lo, hc);
}

void fix_udp_zero(Ipv4Packet& p, uint8_t* l4c) {
  if (l4c && p.proto == kUdp && l4c[0] == 0 && l4c[1] == 0) l4c[0] = l4c[1] = 0xff;
}

uint8_t* port_csum(Ipv4Packet& p) {
  if (p.proto == kIcmp) return p.l4 + 2;
  return pseudo_csum(p);
}

}  // namespace

uint32_t Ipv4Packet::src() const {
  return get32(ip + 12);
}
uint32_t Ipv4Packet::dst() const {
  return get32(ip + 16);
}

bool parse_ipv4(uint8_t* buf, uint32_t len, Ipv4Packet* out) {
  if (len < 20 || buf[0] >> 4 != 4) return false;
  const uint32_t ihl = (buf[0] & 0xf) * 4u, total = get16(buf + 2);
  if (ihl < 20 || total < ihl || total > len || !fastpath::ipv4_header_ok(buf, ihl)) return false;
  Ipv4Packet p;
  p.ip = buf;
  p.len = total;
  p.ihl = ihl;
  p.proto = buf[9];
  const uint16_t frag = get16(buf + 6);
  p.df = frag & 0x4000;
  const bool mf = frag & 0x2000;
  const uint16_t offset = frag & 0x1fff;
  p.fragment = mf || offset;
  p.first_fragment = p.fragment && offset == 0;
  const uint32_t need = p.proto == kTcp ? 20 : p.proto == kUdp || p.proto == kIcmp ? 8 : 0;
  if (offset == 0 && need && total - ihl >= need) {
    p.l4 = buf + ihl;
    p.l4_len = total - ihl;
    if (p.proto == kTcp && ((p.l4[12] >> 4) * 4u < 20 || (p.l4[12] >> 4) * 4u > p.l4_len)) return false;
  } else if (offset == 0 && need && !p.fragment) {
    return false;  // too short for its own L4 header
  }
  *out = p;
  return true;
}

bool parse_ipv4_header(uint8_t* buf, uint32_t len, Ipv4Packet* out) {
  if (len < 20 || buf[0] >> 4 != 4) return false;
  const uint32_t ihl = (buf[0] & 0xf) * 4u, total = get16(buf + 2);
  if (ihl < 20 || ihl + 8 > len || total < ihl + 8 || !fastpath::ipv4_header_ok(buf, ihl)) return false;
  Ipv4Packet p;
  p.ip = buf;
  p.len = total;
  p.ihl = ihl;
  p.proto = buf[9];
  p.df = get16(buf + 6) & 0x4000;
  *out = p;
  return true;
}

bool l4_ports(const Ipv4Packet& p, uint16_t* sport, uint16_t* dport) {
  if (!p.l4 || p.fragment) return false;
  if (p.proto == kTcp || p.proto == kUdp) {
    *sport = get16(p.l4);
    *dport = get16(p.l4 + 2);
    return true;
  }
  if (p.proto == kIcmp && icmp_query(p.l4[0])) {
    *sport = *dport = get16(p.l4 + 4);
    return true;
  }
  return false;
}

void set_src(Ipv4Packet& p, uint32_t addr) {
  uint8_t* l4c = pseudo_csum(p);
  replace32(p.ip + 12, addr, p.ip + 10, l4c);
  fix_udp_zero(p, l4c);
}

void set_dst(Ipv4Packet& p, uint32_t addr) {
  uint8_t* l4c = pseudo_csum(p);
  replace32(p.ip + 16, addr, p.ip + 10, l4c);
  fix_udp_zero(p, l4c);
}

void set_sport(Ipv4Packet& p, uint16_t port) {
  uint8_t* c = port_csum(p);
  uint8_t* field = p.proto == kIcmp ? p.l4 + 4 : p.l4;
  if (c) {
    csum_replace16(field, port, c);
    fix_udp_zero(p, c);
  } else {
    field[0] = static_cast<uint8_t>(port >> 8);
    field[1] = static_cast<uint8_t>(port);
  }
}

void set_dport(Ipv4Packet& p, uint16_t port) {
  if (p.proto == kIcmp) return set_sport(p, port);  // one id both ways
  uint8_t* c = port_csum(p);
  if (c) {
    csum_replace16(p.l4 + 2, port, c);
    fix_udp_zero(p, c);
  } else {
    p.l4[2] = static_cast<uint8_t>(port >> 8);
    p.l4[3] = static_cast<uint8_t>(port);
  }
}

bool icmp_error_quote(const Ipv4Packet& p, Ipv4Packet* inner) {
  if (p.proto != kIcmp || !p.l4 || p.fragment || !icmp_error(p.l4[0]) || p.l4_len < 8 + 20) return false;
  uint8_t* q = p.l4 + 8;
  const uint32_t room = p.l4_len - 8;
  const uint32_t ihl = (q[0] & 0xf) * 4u;
  if (q[0] >> 4 != 4 || ihl < 20 || ihl > room || !fastpath::ipv4_header_ok(q, ihl)) return false;
  Ipv4Packet in;
  in.ip = q;
  in.len = room;  // the quote is cut short: its total length says more
  in.ihl = ihl;
  in.proto = q[9];
  in.l4 = room >= ihl + 8 ? q + ihl : nullptr;
  in.l4_len = in.l4 ? 8 : 0;
  *inner = in;
  return true;
}

namespace {
void set_quoted(Ipv4Packet& outer, Ipv4Packet& inner, uint32_t addr, uint32_t at) {
  uint8_t* field = inner.ip + at;
  uint8_t* icmp_c = outer.l4 + 2;
  // The ICMP checksum covers the quoted header: both its address words and
  // its header checksum change.
  const uint16_t hc_before = get16(inner.ip + 10);
  uint8_t copy[4] = {field[0], field[1], field[2], field[3]};
  csum_replace16(copy, static_cast<uint16_t>(addr >> 16), icmp_c);
  csum_replace16(copy + 2, static_cast<uint16_t>(addr), icmp_c);
  csum_replace16(field, static_cast<uint16_t>(addr >> 16), inner.ip + 10);
  csum_replace16(field + 2, static_cast<uint16_t>(addr), inner.ip + 10);
  const uint16_t hc_after = get16(inner.ip + 10);
  uint8_t hc[2] = {static_cast<uint8_t>(hc_before >> 8), static_cast<uint8_t>(hc_before)};
  csum_replace16(hc, hc_after, icmp_c);
}
}  // namespace

void set_quoted_src(Ipv4Packet& outer, Ipv4Packet& inner, uint32_t addr) {
  set_quoted(outer, inner, addr, 12);
}
void set_quoted_dst(Ipv4Packet& outer, Ipv4Packet& inner, uint32_t addr) {
  set_quoted(outer, inner, addr, 16);
}

}  // namespace venic::gateways
