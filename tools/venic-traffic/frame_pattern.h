// Verifiable test frames: Ethernet (local experimental ethertype 0x88b5), a
// small header (magic, sequence, length) and bytes derived from both, so a
// receiver can check every byte without knowing what was sent.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "vf_config.h"

namespace venic::tools {

inline constexpr uint32_t kFrameMagic = 0x76656e63;  // "venc"

// Folds all four bytes of seq first, so a corrupted sequence number changes
// the expected payload too.
inline uint8_t pattern_byte(uint32_t seq, uint32_t i) {
  uint32_t s = seq ^ seq >> 8 ^ seq >> 16 ^ seq >> 24;
  return static_cast<uint8_t>((s * 31u + i * 7u) ^ (i >> 8));
}

// Ethernet header of a frame built here.
inline void write_eth(std::vector<uint8_t>& f, const vf::MacAddr& dst, const vf::MacAddr& src, uint16_t type) {
  std::memcpy(&f[0], dst.data(), 6);
  std::memcpy(&f[6], src.data(), 6);
  f[12] = uint8_t(type >> 8);
  f[13] = uint8_t(type);
}

inline constexpr uint32_t kMinFrame = 26;  // Ethernet header + our header

inline std::vector<uint8_t> make_frame(const vf::MacAddr& dst, const vf::MacAddr& src, uint32_t seq, uint32_t len) {
  std::vector<uint8_t> f(len < kMinFrame ? kMinFrame : len);
  len = static_cast<uint32_t>(f.size());
  write_eth(f, dst, src, 0x88b5);
  std::memcpy(&f[14], &kFrameMagic, 4);
  std::memcpy(&f[18], &seq, 4);
  std::memcpy(&f[22], &len, 4);
  for (uint32_t i = 26; i < len; i++) f[i] = pattern_byte(seq, i);
  return f;
}

// The verifiable payload (magic, seq, length, pattern) from off to the end of f.
inline void write_payload(std::vector<uint8_t>& f, uint32_t p, uint32_t seq) {
  const uint32_t len = static_cast<uint32_t>(f.size());
  std::memcpy(&f[p], &kFrameMagic, 4);
  std::memcpy(&f[p + 4], &seq, 4);
  std::memcpy(&f[p + 8], &len, 4);
  for (uint32_t i = p + 12; i < len; i++) f[i] = pattern_byte(seq, i);
}

inline constexpr uint8_t kTcpAck = 0x10;
inline uint32_t l4_header_len(uint8_t proto) {
  return proto == 6 ? 20 : 8;
}

// A UDP (proto 17) or TCP (6) header sport -> dport at off, checksum left 0
// for fill_l4_checksum, then the verifiable payload to the end of f.  TCP
// segments carry tcp_flags and sequence number seq.
inline void write_l4_payload(std::vector<uint8_t>& f, uint32_t off, uint8_t proto, uint16_t sport, uint16_t dport,
                             uint32_t seq, uint8_t tcp_flags = kTcpAck) {
  const uint16_t l4_len = static_cast<uint16_t>(f.size() - off);
  uint8_t* h = &f[off];
  h[0] = uint8_t(sport >> 8);
  h[1] = uint8_t(sport);
  h[2] = uint8_t(dport >> 8);
  h[3] = uint8_t(dport);
  if (proto == 6) {
    for (int i = 0; i < 4; i++) h[4 + i] = uint8_t(seq >> (24 - 8 * i));
    h[12] = 5 << 4;  // 20-byte header
    h[13] = tcp_flags;
    h[14] = 0xff;  // window
    h[15] = 0xff;
  } else {
    h[4] = uint8_t(l4_len >> 8);
    h[5] = uint8_t(l4_len);
  }
  write_payload(f, off + l4_header_len(proto), seq);
}

// Ones' complement sum of 16-bit big-endian words (an odd tail padded with 0).
inline uint32_t sum16(const uint8_t* p, uint32_t len, uint32_t sum = 0) {
  for (uint32_t i = 0; i + 1 < len; i += 2) sum += uint32_t(p[i]) << 8 | p[i + 1];
  if (len & 1) sum += uint32_t(p[len - 1]) << 8;
  return sum;
}

// The checksum field's value for a sum16 total: folded, complemented.
inline uint16_t checksum_of(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// The UDP or TCP checksum of the segment at l4_off, over the pseudo-header
// of the addresses at addr_off (addr_len bytes: 8 for IPv4, 32 for IPv6).
inline void fill_l4_checksum(std::vector<uint8_t>& f, uint8_t proto, uint32_t addr_off, uint32_t addr_len,
                             uint32_t l4_off) {
  const uint32_t l4_len = static_cast<uint32_t>(f.size()) - l4_off;
  uint16_t c = checksum_of(sum16(&f[l4_off], l4_len, sum16(&f[addr_off], addr_len) + proto + l4_len));
  if (c == 0 && proto == 17) c = 0xffff;  // 0 would mean "no checksum"
  const uint32_t at = l4_off + (proto == 6 ? 16 : 6);
  f[at] = uint8_t(c >> 8);
  f[at + 1] = uint8_t(c);
}
inline void fill_udp_checksum(std::vector<uint8_t>& f, uint32_t addr_off, uint32_t addr_len, uint32_t udp_off) {
  fill_l4_checksum(f, 17, addr_off, addr_len, udp_off);
}

// An IPv4/UDP frame src_ip:sport -> dst_ip:5001 (host-order addresses; IP
// and UDP checksums valid), its payload verifiable like make_frame's,
// for flow and address tests (RSS, source/destination check).
// make_udp_frame's TCP or UDP (proto 6 or 17) twin: src_ip:sport -> dst_ip:dport.
inline std::vector<uint8_t> make_l4_frame(const vf::MacAddr& dst, const vf::MacAddr& src, uint32_t seq, uint32_t len,
                                          uint8_t proto, uint16_t sport, uint16_t dport, uint32_t src_ip,
                                          uint32_t dst_ip, uint8_t tcp_flags = kTcpAck) {
  const uint32_t headers = 14 + 20 + l4_header_len(proto);
  std::vector<uint8_t> f(len < headers + 12 ? headers + 12 : len);
  len = static_cast<uint32_t>(f.size());
  write_eth(f, dst, src, 0x0800);
  uint8_t* ip = &f[14];
  const uint16_t ip_len = static_cast<uint16_t>(len - 14);
  const uint8_t hdr[12] = {0x45, 0, uint8_t(ip_len >> 8), uint8_t(ip_len), 0, 0, 0x40, 0, 64, proto, 0, 0};
  std::memcpy(ip, hdr, 12);
  for (int i = 0; i < 4; i++) {
    ip[12 + i] = uint8_t(src_ip >> (24 - 8 * i));
    ip[16 + i] = uint8_t(dst_ip >> (24 - 8 * i));
  }
  const uint16_t c = checksum_of(sum16(ip, 20));
  ip[10] = uint8_t(c >> 8);
  ip[11] = uint8_t(c);
  write_l4_payload(f, 34, proto, sport, dport, seq, tcp_flags);
  fill_l4_checksum(f, proto, 26, 8, 34);
  return f;
}

inline std::vector<uint8_t> make_udp_frame(const vf::MacAddr& dst, const vf::MacAddr& src, uint32_t seq, uint32_t len,
                                           uint16_t sport, uint32_t src_ip = 0x0a00010a, uint32_t dst_ip = 0x0a00010b) {
  return make_l4_frame(dst, src, seq, len, 17, sport, 5001, src_ip, dst_ip);
}

// The IPv6 twin of make_l4_frame: src:sport -> dst:dport, no extension headers.
inline std::vector<uint8_t> make_l4_6_frame(const vf::MacAddr& dst, const vf::MacAddr& src, uint32_t seq, uint32_t len,
                                            uint8_t proto, uint16_t sport, uint16_t dport,
                                            const std::array<uint8_t, 16>& src_ip,
                                            const std::array<uint8_t, 16>& dst_ip, uint8_t tcp_flags = kTcpAck) {
  const uint32_t headers = 14 + 40 + l4_header_len(proto);
  std::vector<uint8_t> f(len < headers + 12 ? headers + 12 : len);
  len = static_cast<uint32_t>(f.size());
  write_eth(f, dst, src, 0x86dd);
  uint8_t* ip = &f[14];
  const uint16_t payload = static_cast<uint16_t>(len - 54);
  ip[0] = 0x60;
  ip[4] = uint8_t(payload >> 8);
  ip[5] = uint8_t(payload);
  ip[6] = proto;
  ip[7] = 64;
  std::memcpy(ip + 8, src_ip.data(), 16);
  std::memcpy(ip + 24, dst_ip.data(), 16);
  write_l4_payload(f, 54, proto, sport, dport, seq, tcp_flags);
  fill_l4_checksum(f, proto, 22, 32, 54);
  return f;
}

inline std::vector<uint8_t> make_udp6_frame(const vf::MacAddr& dst, const vf::MacAddr& src, uint32_t seq, uint32_t len,
                                            uint16_t sport, const std::array<uint8_t, 16>& src_ip,
                                            const std::array<uint8_t, 16>& dst_ip) {
  return make_l4_6_frame(dst, src, seq, len, 17, sport, 5001, src_ip, dst_ip);
}

// Sets the TTL (IPv4, header checksum updated) or hop limit (IPv6) of an
// IP frame built here.
inline void set_ttl(std::vector<uint8_t>& f, uint8_t ttl) {
  if (f.size() >= 54 && f[12] == 0x86 && f[13] == 0xdd) {
    f[21] = ttl;
  } else if (f.size() >= 34 && f[12] == 0x08 && f[13] == 0x00) {
    f[22] = ttl;
    f[24] = f[25] = 0;
    const uint16_t c = checksum_of(sum16(&f[14], 20));
    f[24] = uint8_t(c >> 8);
    f[25] = uint8_t(c);
  }
}

// True when the frame is one of make_frame's, intact (MACs not checked).
inline bool check_frame(const uint8_t* f, uint32_t len) {
  uint32_t off;
  if (len >= 26 && f[12] == 0x88 && f[13] == 0xb5)
    off = 14;  // make_frame
  else if (len >= 54 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17)
    off = 42;  // make_udp_frame
  else if (len >= 66 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 6)
    off = 54;  // make_l4_frame, TCP
  else if (len >= 74 && f[12] == 0x86 && f[13] == 0xdd && f[20] == 17)
    off = 62;  // make_udp6_frame
  else if (len >= 86 && f[12] == 0x86 && f[13] == 0xdd && f[20] == 6)
    off = 74;  // make_l4_6_frame, TCP
  else
    return false;
  uint32_t magic, seq, flen;
  std::memcpy(&magic, &f[off], 4);
  std::memcpy(&seq, &f[off + 4], 4);
  std::memcpy(&flen, &f[off + 8], 4);
  if (magic != kFrameMagic || flen != len) return false;
  for (uint32_t i = off + 12; i < len; i++)
    if (f[i] != pattern_byte(seq, i)) return false;
  return true;
}

}  // namespace venic::tools
