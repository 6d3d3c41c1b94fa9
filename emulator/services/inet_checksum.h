// The Internet checksum (RFC 1071) and its incremental update (RFC 1624),
// for rewriting addresses in IP/TCP/UDP headers without re-summing payloads.
#pragma once

#include <cstddef>
#include <cstdint>

namespace venic::services {

// The one's-complement sum of p[0..len) folded to 16 bits, plus initial
// (not complemented: ~result is the checksum field).
uint16_t ones_sum(const uint8_t* p, size_t len, uint32_t initial = 0);

// The checksum field (network order bytes at field[0..1]) after the len
// bytes at old (len even, 16-bit aligned in the summed data) became now.
void checksum_adjust(uint8_t* field, const uint8_t* old, const uint8_t* now, size_t len);

}  // namespace venic::services
