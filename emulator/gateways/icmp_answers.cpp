#include "icmp_answers.h"

#include <cstring>

#include "checksum.h"

namespace venic::gateways {

uint32_t frag_needed_frame(const Ipv4Packet& too_big, uint16_t mtu, const uint8_t mac[6], const uint8_t router_mac[6],
                           uint8_t* out) {
  const uint32_t quote = too_big.ihl + (too_big.len - too_big.ihl < 8 ? too_big.len - too_big.ihl : 8);
  const uint32_t ip_len = 20 + 8 + quote;
  std::memcpy(out, mac, 6);
  std::memcpy(out + 6, router_mac, 6);
  out[12] = 0x08;
  out[13] = 0x00;
  uint8_t* ip = out + 14;
  std::memset(ip, 0, 20);
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(ip_len >> 8);
  ip[3] = static_cast<uint8_t>(ip_len);
  ip[6] = 0x40;  // DF
  ip[8] = 64;
  ip[9] = kIcmp;
  std::memcpy(ip + 12, too_big.ip + 16, 4);  // from where it was going
  std::memcpy(ip + 16, too_big.ip + 12, 4);  // to whoever sent it
  const uint16_t hc = static_cast<uint16_t>(~fastpath::csum_add(ip, 20));
  ip[10] = static_cast<uint8_t>(hc >> 8);
  ip[11] = static_cast<uint8_t>(hc);
  uint8_t* icmp = ip + 20;
  icmp[0] = 3;  // destination unreachable
  icmp[1] = 4;  // fragmentation needed and DF set
  icmp[2] = icmp[3] = 0;
  icmp[4] = icmp[5] = 0;
  icmp[6] = static_cast<uint8_t>(mtu >> 8);
  icmp[7] = static_cast<uint8_t>(mtu);
  std::memcpy(icmp + 8, too_big.ip, quote);
  const uint16_t ic = static_cast<uint16_t>(~fastpath::csum_add(icmp, 8 + quote));
  icmp[2] = static_cast<uint8_t>(ic >> 8);
  icmp[3] = static_cast<uint8_t>(ic);
  return 14 + ip_len;
}

}  // namespace venic::gateways
