#include "address_map.h"

#include <arpa/inet.h>

#include <cstring>

namespace venic::services {

namespace {

// 0x8000 | vpc_dns << 14 | vf << 6 | index: never 0, never the TUN's own.
uint32_t tag_bits(const ClientTag& t) {
  return 0x8000u | (t.vpc_dns ? 0x4000u : 0u) | (static_cast<uint32_t>(t.vf & 0xff) << 6) | (t.index & 0x3f);
}

std::optional<ClientTag> from_bits(uint32_t b) {
  if ((b & ~0xffffu) || !(b & 0x8000u)) return std::nullopt;
  return ClientTag{static_cast<uint16_t>((b >> 6) & 0xff), static_cast<uint8_t>(b & 0x3f), (b & 0x4000u) != 0};
}

}  // namespace

uint32_t client4(const ClientTag& t) {
  return (addr::kTun4 & 0xffff0000u) | tag_bits(t);
}

Ip6 client6(const ClientTag& t) {
  Ip6 a = addr::kTun6;
  const uint32_t b = tag_bits(t);
  a[12] = static_cast<uint8_t>(b >> 24);
  a[13] = static_cast<uint8_t>(b >> 16);
  a[14] = static_cast<uint8_t>(b >> 8);
  a[15] = static_cast<uint8_t>(b);
  return a;
}

std::optional<ClientTag> parse_client4(uint32_t a) {
  if ((a & 0xffff0000u) != (addr::kTun4 & 0xffff0000u)) return std::nullopt;
  return from_bits(a & 0xffffu);
}

std::optional<ClientTag> parse_client6(const Ip6& a) {
  if (std::memcmp(a.data(), addr::kTun6.data(), 12) != 0) return std::nullopt;
  auto t = from_bits(static_cast<uint32_t>(a[12] << 24 | a[13] << 16 | a[14] << 8 | a[15]));
  if (t && t->vpc_dns) return std::nullopt;
  return t;
}

std::optional<uint16_t> vf_of_client(const std::string& text) {
  in_addr v4{};
  Ip6 v6{};
  std::optional<ClientTag> t;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    t = parse_client4(ntohl(v4.s_addr));
  } else if (inet_pton(AF_INET6, text.c_str(), v6.data()) == 1) {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(v6.data(), kMapped, 12) == 0)
      t = parse_client4(static_cast<uint32_t>(v6[12] << 24 | v6[13] << 16 | v6[14] << 8 | v6[15]));
    else
      t = parse_client6(v6);
  }
  if (!t) return std::nullopt;
  return t->vf;
}

}  // namespace venic::services
