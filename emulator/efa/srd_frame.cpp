#include "srd_frame.h"

#include <cstring>

namespace venic::efa::srd {

namespace {

uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t get32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

std::optional<SrdPacket> fail(ParseError e, ParseError* why) {
  if (why) *why = e;
  return std::nullopt;
}

}  // namespace

std::optional<SrdPacket> parse_srd(std::span<const uint8_t> frame, uint32_t max_message, uint32_t max_fragment,
                                   ParseError* why) {
  if (frame.size() < kEthBytes + kHeaderBytes) return fail(ParseError::kShort, why);
  const uint8_t* f = frame.data();
  if (get16(f + 12) != kEtherType) return fail(ParseError::kEtherType, why);
  const uint8_t* h = f + kEthBytes;
  if (h[0] != kSrdVersion) return fail(ParseError::kVersion, why);
  SrdPacket p;
  std::memcpy(p.dst.data(), f, 6);
  std::memcpy(p.src.data(), f + 6, 6);
  const uint8_t type = h[1], status = h[2], flags = h[3];
  if (get16(h + 42) != 0) return fail(ParseError::kType, why);
  if (type == static_cast<uint8_t>(SrdType::kData)) {
    if (status != 0 || (flags & ~(kSrdFlagImm | kSrdFlagUd))) return fail(ParseError::kType, why);
  } else if (type == static_cast<uint8_t>(SrdType::kAck)) {
    if (flags != 0 || status > static_cast<uint8_t>(SrdStatus::kReject)) return fail(ParseError::kType, why);
  } else {
    return fail(ParseError::kType, why);
  }
  p.h.type = static_cast<SrdType>(type);
  p.h.status = static_cast<SrdStatus>(status);
  p.h.flags = flags;
  p.h.flow = get32(h + 4);
  p.h.psn = get32(h + 8);
  p.h.low = get32(h + 12);
  p.h.src_qpn = get16(h + 16);
  p.h.dst_qpn = get16(h + 18);
  p.h.qkey = get32(h + 20);
  p.h.msg_id = get32(h + 24);
  p.h.offset = get32(h + 28);
  p.h.total_len = get32(h + 32);
  p.h.imm = get32(h + 36);
  const uint32_t n = get16(h + 40);
  if (frame.size() - kEthBytes - kHeaderBytes < n) return fail(ParseError::kShort, why);
  if (p.h.type == SrdType::kAck) {
    if (n != 0) return fail(ParseError::kLength, why);
  } else {
    // 64-bit sums: offset + n cannot wrap.
    if (p.h.total_len > max_message || n > max_fragment || uint64_t(p.h.offset) + n > p.h.total_len ||
        (n == 0 && p.h.total_len != 0))
      return fail(ParseError::kLength, why);
  }
  p.payload = frame.subspan(kEthBytes + kHeaderBytes, n);
  return p;
}

size_t write_srd(std::span<uint8_t> out, const Mac& dst, const Mac& src, const SrdHeader& h,
                 std::span<const uint8_t> payload) {
  const size_t len = kEthBytes + kHeaderBytes + payload.size();
  if (out.size() < len || payload.size() > 0xffff) return 0;
  uint8_t* f = out.data();
  std::memcpy(f, dst.data(), 6);
  std::memcpy(f + 6, src.data(), 6);
  put16(f + 12, kEtherType);
  uint8_t* p = f + kEthBytes;
  p[0] = kSrdVersion;
  p[1] = static_cast<uint8_t>(h.type);
  p[2] = static_cast<uint8_t>(h.status);
  p[3] = h.flags;
  put32(p + 4, h.flow);
  put32(p + 8, h.psn);
  put32(p + 12, h.low);
  put16(p + 16, h.src_qpn);
  put16(p + 18, h.dst_qpn);
  put32(p + 20, h.qkey);
  put32(p + 24, h.msg_id);
  put32(p + 28, h.offset);
  put32(p + 32, h.total_len);
  put32(p + 36, h.imm);
  put16(p + 40, static_cast<uint16_t>(payload.size()));
  put16(p + 42, 0);
  if (!payload.empty()) std::memcpy(p + kHeaderBytes, payload.data(), payload.size());
  return len;
}

}  // namespace venic::efa::srd
