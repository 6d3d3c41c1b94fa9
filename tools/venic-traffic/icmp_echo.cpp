#include "icmp_echo.h"

#include <algorithm>
#include <cstring>

#include "frame_pattern.h"

namespace venic::tools {

namespace {

constexpr uint8_t kIcmp = 1, kEchoReply = 0, kUnreachable = 3, kEchoRequest = 8;

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

// An intact IPv4/ICMP frame for mac: the ICMP message's offset and length.
bool icmp4(const uint8_t* f, uint32_t len, uint32_t& icmp_off, uint32_t& icmp_len) {
  if (len < 14 + 20 + 8 || be16(f + 12) != 0x0800) return false;
  const uint8_t* ip = f + 14;
  const uint32_t ihl = (ip[0] & 0xf) * 4u;
  const uint32_t total = be16(ip + 2);
  if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl + 8 || 14 + total > len || ip[9] != kIcmp) return false;
  if (be16(ip + 6) & 0x3fff) return false;  // a fragment
  if (checksum_of(sum16(ip, ihl)) != 0) return false;
  icmp_off = 14 + ihl;
  icmp_len = total - ihl;
  return checksum_of(sum16(f + icmp_off, icmp_len)) == 0;
}

}  // namespace

std::vector<uint8_t> make_echo_request(const vf::MacAddr& dst_mac, const vf::MacAddr& src_mac, uint32_t src_ip,
                                       uint32_t dst_ip, uint16_t id, uint16_t seq, uint32_t payload_len,
                                       bool dont_fragment) {
  std::vector<uint8_t> f(14 + 20 + 8 + payload_len, 0);
  write_eth(f, dst_mac, src_mac, 0x0800);
  uint8_t* ip = &f[14];
  ip[0] = 0x45;
  put16(ip + 2, static_cast<uint16_t>(20 + 8 + payload_len));
  put16(ip + 4, seq);
  if (dont_fragment) ip[6] = 0x40;
  ip[8] = 64;
  ip[9] = kIcmp;
  put32(ip + 12, src_ip);
  put32(ip + 16, dst_ip);
  put16(ip + 10, checksum_of(sum16(ip, 20)));
  uint8_t* icmp = ip + 20;
  icmp[0] = kEchoRequest;
  put16(icmp + 4, id);
  put16(icmp + 6, seq);
  for (uint32_t i = 0; i < payload_len; i++) icmp[8 + i] = static_cast<uint8_t>(i);
  put16(icmp + 2, checksum_of(sum16(icmp, 8 + payload_len)));
  return f;
}

std::optional<std::vector<uint8_t>> echo_reply_for(const uint8_t* frame, uint32_t len,
                                                   const std::vector<uint32_t>& mine) {
  uint32_t off, icmp_len;
  if (!icmp4(frame, len, off, icmp_len) || frame[off] != kEchoRequest || frame[off + 1] != 0) return std::nullopt;
  const uint32_t dst = be32(frame + 14 + 16);
  if (std::find(mine.begin(), mine.end(), dst) == mine.end()) return std::nullopt;
  std::vector<uint8_t> r(frame, frame + off + icmp_len);
  if (r.size() < 14 + 20 + 8) return std::nullopt;  // (icmp4 saw to it; tells the compiler)
  std::copy_n(frame + 6, 6, r.begin());  // back to whoever sent it (the router)
  std::copy_n(frame, 6, r.begin() + 6);
  uint8_t* ip = &r[14];
  std::memcpy(ip + 12, frame + 14 + 16, 4);
  std::memcpy(ip + 16, frame + 14 + 12, 4);
  ip[8] = 64;
  put16(ip + 10, 0);
  put16(ip + 10, checksum_of(sum16(ip, (ip[0] & 0xf) * 4u)));
  uint8_t* icmp = &r[off];
  icmp[0] = kEchoReply;
  put16(icmp + 2, 0);
  put16(icmp + 2, checksum_of(sum16(icmp, icmp_len)));
  return r;
}

std::optional<EchoReply> parse_echo_reply(const uint8_t* frame, uint32_t len, const vf::MacAddr& mac) {
  uint32_t off, icmp_len;
  if (std::memcmp(frame, mac.data(), 6) != 0 || !icmp4(frame, len, off, icmp_len) || frame[off] != kEchoReply)
    return std::nullopt;
  return EchoReply{be32(frame + 14 + 12), be16(frame + off + 4), be16(frame + off + 6)};
}

std::optional<uint16_t> parse_frag_needed(const uint8_t* frame, uint32_t len, const vf::MacAddr& mac) {
  uint32_t off, icmp_len;
  if (std::memcmp(frame, mac.data(), 6) != 0 || !icmp4(frame, len, off, icmp_len) || frame[off] != kUnreachable ||
      frame[off + 1] != 4)
    return std::nullopt;
  return be16(frame + off + 6);
}

}  // namespace venic::tools
