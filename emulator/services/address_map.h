// The addresses of the exception path's namespace.  The services listen at
// EC2's link-local addresses; every guest source address becomes one
// namespace address that names its VF, the index of the address in its
// ENI's list, and whether it asked DNS at its VPC's base+2 -- so overlapping
// VPCs never collide in the namespace and the servers know who asks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace venic::services {

using Ip6 = std::array<uint8_t, 16>;

namespace addr {
constexpr uint32_t kImds4 = 0xa9fea9fe;                                                     // 169.254.169.254
constexpr uint32_t kTime4 = 0xa9fea97b;                                                     // 169.254.169.123
constexpr uint32_t kDns4 = 0xa9fea9fd;                                                      // 169.254.169.253
constexpr Ip6 kImds6 = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};  // fd00:ec2::254
constexpr Ip6 kTime6 = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x23};  // fd00:ec2::123
constexpr Ip6 kDns6 = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x53};   // fd00:ec2::253
// The TUN's own addresses; the clients are inside their prefixes.
constexpr uint32_t kTun4 = 0x64400001;  // 100.64.0.1/16
constexpr int kTun4Prefix = 16;
constexpr Ip6 kTun6 = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};  // fd00:ec2:0:1::1/64
constexpr int kTun6Prefix = 64;
constexpr uint16_t kImdsPort = 80, kTimePort = 123, kDnsPort = 53;
constexpr unsigned kMaxIndex = 64;  // addresses per ENI and family that the map can carry
}  // namespace addr

struct ClientTag {
  uint16_t vf = 0;       // < 256
  uint8_t index = 0;     // < addr::kMaxIndex
  bool vpc_dns = false;  // asked DNS at the VPC's base+2 (v4 only)
  bool operator==(const ClientTag&) const = default;
};

uint32_t client4(const ClientTag& t);  // host order
Ip6 client6(const ClientTag& t);
std::optional<ClientTag> parse_client4(uint32_t a);
std::optional<ClientTag> parse_client6(const Ip6& a);
// The VF behind a client address in text ("100.64.x.y", "::ffff:100.64.x.y", "fd00:ec2:0:1::...").
std::optional<uint16_t> vf_of_client(const std::string& text);

}  // namespace venic::services
