#include "ntp_packet.h"

#include <cstring>

namespace venic::services {

namespace {

constexpr uint64_t kUnixToNtp = 2208988800ull;  // seconds from 1900 to 1970

void put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

void put64(uint8_t* p, uint64_t v) {
  put32(p, static_cast<uint32_t>(v >> 32));
  put32(p + 4, static_cast<uint32_t>(v));
}

}  // namespace

uint64_t ntp_timestamp(timespec t) {
  const uint64_t secs = static_cast<uint64_t>(t.tv_sec) + kUnixToNtp;
  const uint64_t frac = (static_cast<uint64_t>(t.tv_nsec) << 32) / 1000000000ull;
  return secs << 32 | frac;
}

std::optional<std::array<uint8_t, kNtpPacket>> ntp_reply(std::span<const uint8_t> req, timespec rx, timespec tx) {
  if (req.size() < kNtpPacket) return std::nullopt;
  const uint8_t version = (req[0] >> 3) & 7, mode = req[0] & 7;
  if (mode != 3 || version < 1 || version > 4) return std::nullopt;
  std::array<uint8_t, kNtpPacket> r{};
  r[0] = static_cast<uint8_t>(0 << 6 | version << 3 | 4);  // no leap warning, the client's version, server
  r[1] = kNtpStratum;
  r[2] = req[2] < 4 ? 4 : req[2] > 17 ? 17 : req[2];  // poll: the client's, within RFC 5905's range
  r[3] = static_cast<uint8_t>(-20);                   // precision: about a microsecond
  put32(&r[4], 0x00000010);                           // root delay: 0.24 ms
  put32(&r[8], 0x00000010);                           // root dispersion: 0.24 ms
  put32(&r[12], 0x7f7f0101);                          // reference id: 127.127.1.1, the local clock
  timespec ref = rx;
  ref.tv_sec -= ref.tv_sec % 64;  // last set: the host keeps its clock disciplined
  put64(&r[16], ntp_timestamp(ref));
  std::memcpy(&r[24], &req[40], 8);  // origin: the client's transmit timestamp
  put64(&r[32], ntp_timestamp(rx));
  put64(&r[40], ntp_timestamp(tx));
  return r;
}

}  // namespace venic::services
