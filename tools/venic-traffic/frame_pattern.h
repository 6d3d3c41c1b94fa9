// Verifiable test frames: Ethernet (local experimental ethertype 0x88b5), a
// small header (magic, sequence, length) and bytes derived from both, so a
// receiver can check every byte without knowing what was sent.
#pragma once

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

inline constexpr uint32_t kMinFrame = 26;  // Ethernet header + our header

inline std::vector<uint8_t> make_frame(const vf::MacAddr& dst, const vf::MacAddr& src, uint32_t seq, uint32_t len) {
  std::vector<uint8_t> f(len < kMinFrame ? kMinFrame : len);
  len = static_cast<uint32_t>(f.size());
  std::memcpy(&f[0], dst.data(), 6);
  std::memcpy(&f[6], src.data(), 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  std::memcpy(&f[14], &kFrameMagic, 4);
  std::memcpy(&f[18], &seq, 4);
  std::memcpy(&f[22], &len, 4);
  for (uint32_t i = 26; i < len; i++) f[i] = pattern_byte(seq, i);
  return f;
}

// True when the frame is one of make_frame's, intact (MACs not checked).
inline bool check_frame(const uint8_t* f, uint32_t len) {
  if (len < 26 || f[12] != 0x88 || f[13] != 0xb5) return false;
  uint32_t magic, seq, flen;
  std::memcpy(&magic, &f[14], 4);
  std::memcpy(&seq, &f[18], 4);
  std::memcpy(&flen, &f[22], 4);
  if (magic != kFrameMagic || flen != len) return false;
  for (uint32_t i = 26; i < len; i++)
    if (f[i] != pattern_byte(seq, i)) return false;
  return true;
}

}  // namespace venic::tools
