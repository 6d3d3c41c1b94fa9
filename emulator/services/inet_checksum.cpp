#include "inet_checksum.h"

namespace venic::services {

uint16_t ones_sum(const uint8_t* p, size_t len, uint32_t initial) {
  uint64_t sum = initial;
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

void checksum_adjust(uint8_t* field, const uint8_t* old, const uint8_t* now, size_t len) {
  // HC' = ~(~HC + ~m + m') over every 16-bit word m that changed.
  uint32_t sum = static_cast<uint16_t>(~(field[0] << 8 | field[1]));
  for (size_t i = 0; i + 1 < len; i += 2) {
    sum += static_cast<uint16_t>(~(old[i] << 8 | old[i + 1]));
    sum += static_cast<uint32_t>(now[i] << 8 | now[i + 1]);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  const uint16_t c = static_cast<uint16_t>(~sum);
  field[0] = static_cast<uint8_t>(c >> 8);
  field[1] = static_cast<uint8_t>(c);
}

}  // namespace venic::services
