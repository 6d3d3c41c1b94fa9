#include "packet_rewrite.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "inet_checksum.h"

namespace venic::services {

namespace {

constexpr uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86dd;
constexpr size_t kIpv6Header = 40;

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 |
         p[3];
}
void put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Where the L4 checksum sits, or -1 when the protocol carries none we keep.
int l4_checksum_offset(uint8_t proto) {
  return proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : -1;
}

size_t l4_min(uint8_t proto) {
  return proto == IPPROTO_TCP ? 20 : 8;
}

// Replaces the 4 or 16 address bytes at field with now, fixing the IPv4
// header checksum (ip_check, may be null) and the L4 checksum (l4_check; a
// UDP/IPv4 checksum of 0 means none and stays 0).
void rewrite_addr(uint8_t* field, const uint8_t* now, size_t n, uint8_t* ip_check, uint8_t* l4_check, bool udp4) {
  if (std::memcmp(field, now, n) == 0) return;
  if (ip_check) checksum_adjust(ip_check, field, now, n);
  if (!(udp4 && l4_check[0] == 0 && l4_check[1] == 0)) {
    checksum_adjust(l4_check, field, now, n);
    if (udp4 && l4_check[0] == 0 && l4_check[1] == 0) l4_check[0] = l4_check[1] = 0xff;
  }
  std::memcpy(field, now, n);
}

bool service4(uint32_t dst, uint8_t proto, uint16_t port) {
  return (dst == addr::kImds4 && proto == IPPROTO_TCP && port == addr::kImdsPort) ||
         (dst == addr::kTime4 && proto == IPPROTO_UDP && port == addr::kTimePort) ||
         (dst == addr::kDns4 && port == addr::kDnsPort);
}

bool service6(const Ip6& dst, uint8_t proto, uint16_t port) {
  return (dst == addr::kImds6 && proto == IPPROTO_TCP && port == addr::kImdsPort) ||
         (dst == addr::kTime6 && proto == IPPROTO_UDP && port == addr::kTimePort) ||
         (dst == addr::kDns6 && port == addr::kDnsPort);
}

uint32_t vpc_dns(const EniView& e) {
  return e.vpc_cidr.addr + 2;
}

std::optional<IpSpan> ipv4_in(const Directory::Entry& e, uint16_t vf, uint8_t* ip, size_t room) {
  if (room < 20 || (ip[0] >> 4) != 4) return std::nullopt;
  const size_t ihl = (ip[0] & 0xf) * 4u, total = be16(ip + 2);
  if (ihl < 20 || total < ihl || total > room) return std::nullopt;
  if (be16(ip + 6) & 0x3fff) return std::nullopt;  // a fragment (MF or an offset)
  const uint8_t proto = ip[9];
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return std::nullopt;
  if (total < ihl + l4_min(proto)) return std::nullopt;
  uint8_t* l4 = ip + ihl;
  uint32_t dst = be32(ip + 16);
  ClientTag tag{vf, 0, false};
  if (dst == vpc_dns(e.eni) && be16(l4 + 2) == addr::kDnsPort) {
    tag.vpc_dns = true;
    dst = addr::kDns4;
  }
  if (!service4(dst, proto, be16(l4 + 2))) return std::nullopt;
  const auto mine = e.eni.ipv4();
  auto it = std::find(mine.begin(), mine.end(), be32(ip + 12));
  if (it == mine.end() || it - mine.begin() >= static_cast<long>(addr::kMaxIndex)) return std::nullopt;
  tag.index = static_cast<uint8_t>(it - mine.begin());
  uint8_t src_now[4], dst_now[4];
  put32(src_now, client4(tag));
  put32(dst_now, dst);
  uint8_t* l4c = l4 + l4_checksum_offset(proto);
  rewrite_addr(ip + 12, src_now, 4, ip + 10, l4c, proto == IPPROTO_UDP);
  rewrite_addr(ip + 16, dst_now, 4, ip + 10, l4c, proto == IPPROTO_UDP);
  return IpSpan{0, total};
}

std::optional<IpSpan> ipv6_in(const Directory::Entry& e, uint16_t vf, uint8_t* ip, size_t room) {
  if (room < kIpv6Header || (ip[0] >> 4) != 6) return std::nullopt;
  const size_t total = kIpv6Header + be16(ip + 4);
  const uint8_t proto = ip[6];
  if (total > room || (proto != IPPROTO_TCP && proto != IPPROTO_UDP)) return std::nullopt;
  if (total < kIpv6Header + l4_min(proto)) return std::nullopt;
  uint8_t* l4 = ip + kIpv6Header;
  Ip6 src, dst;
  std::memcpy(src.data(), ip + 8, 16);
  std::memcpy(dst.data(), ip + 24, 16);
  if (!service6(dst, proto, be16(l4 + 2))) return std::nullopt;
  auto it = std::find(e.eni.ipv6.begin(), e.eni.ipv6.end(), src);
  if (it == e.eni.ipv6.end() || it - e.eni.ipv6.begin() >= static_cast<long>(addr::kMaxIndex)) return std::nullopt;
  const Ip6 now = client6({vf, static_cast<uint8_t>(it - e.eni.ipv6.begin()), false});
  rewrite_addr(ip + 8, now.data(), 16, nullptr, l4 + l4_checksum_offset(proto), false);
  return IpSpan{0, total};
}

}  // namespace

std::optional<IpSpan> to_namespace(const Directory& dir, uint16_t vf, uint8_t* frame, size_t len) {
  const Directory::Entry* e = dir.find(vf);
  if (!e || len < kEthHeader) return std::nullopt;
  const uint16_t type = be16(frame + 12);
  std::optional<IpSpan> s;
  if (type == kEtherIpv4) s = ipv4_in(*e, vf, frame + kEthHeader, len - kEthHeader);
  if (type == kEtherIpv6) s = ipv6_in(*e, vf, frame + kEthHeader, len - kEthHeader);
  if (s) s->offset = kEthHeader;
  return s;
}

std::optional<GuestFrame> to_guest(const Directory& dir, const uint8_t* pkt, size_t len, uint8_t* out, size_t cap,
                                   const std::array<uint8_t, 6>& router_mac, const HopCap& hops) {
  if (len < 1 || len + kEthHeader > cap) return std::nullopt;
  uint8_t* ip = out + kEthHeader;
  std::memcpy(ip, pkt, len);
  const Directory::Entry* e = nullptr;
  GuestFrame g;
  uint16_t ethertype = 0;
  if ((ip[0] >> 4) == 4) {
    if (len < 20) return std::nullopt;
    const size_t ihl = (ip[0] & 0xf) * 4u, total = be16(ip + 2);
    const uint8_t proto = ip[9];
    if (ihl < 20 || total < ihl + l4_min(proto) || total > len || (be16(ip + 6) & 0x3fff)) return std::nullopt;
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return std::nullopt;
    auto tag = parse_client4(be32(ip + 16));
    if (!tag || !(e = dir.find(tag->vf))) return std::nullopt;
    const auto mine = e->eni.ipv4();
    if (tag->index >= mine.size()) return std::nullopt;
    uint8_t* l4 = ip + ihl;
    uint8_t* l4c = l4 + l4_checksum_offset(proto);
    const bool udp = proto == IPPROTO_UDP;
    if (tag->vpc_dns && be32(ip + 12) == addr::kDns4) {
      uint8_t src_now[4];
      put32(src_now, vpc_dns(e->eni));
      rewrite_addr(ip + 12, src_now, 4, ip + 10, l4c, udp);
    }
    uint8_t dst_now[4];
    put32(dst_now, mine[tag->index]);
    rewrite_addr(ip + 16, dst_now, 4, ip + 10, l4c, udp);
    if (proto == IPPROTO_TCP && be32(ip + 12) == addr::kImds4 && be16(l4) == addr::kImdsPort)
      if (uint8_t cap_hops = hops ? hops(tag->vf, be16(l4 + 2)) : 0; cap_hops && ip[8] > cap_hops) {
        // The TTL shares a 16-bit word with the protocol.
        const uint8_t old[2] = {ip[8], ip[9]}, now[2] = {cap_hops, ip[9]};
        checksum_adjust(ip + 10, old, now, 2);
        ip[8] = cap_hops;
      }
    g.vf = tag->vf;
    g.len = kEthHeader + total;
    ethertype = kEtherIpv4;
  } else if ((ip[0] >> 4) == 6) {
    if (len < kIpv6Header) return std::nullopt;
    const size_t total = kIpv6Header + be16(ip + 4);
    const uint8_t proto = ip[6];
    if (total > len || (proto != IPPROTO_TCP && proto != IPPROTO_UDP) || total < kIpv6Header + l4_min(proto))
      return std::nullopt;
    Ip6 dst;
    std::memcpy(dst.data(), ip + 24, 16);
    auto tag = parse_client6(dst);
    if (!tag || !(e = dir.find(tag->vf)) || tag->index >= e->eni.ipv6.size()) return std::nullopt;
    uint8_t* l4 = ip + kIpv6Header;
    rewrite_addr(ip + 24, e->eni.ipv6[tag->index].data(), 16, nullptr, l4 + l4_checksum_offset(proto), false);
    Ip6 src;
    std::memcpy(src.data(), ip + 8, 16);
    if (proto == IPPROTO_TCP && src == addr::kImds6 && be16(l4) == addr::kImdsPort)
      if (uint8_t cap_hops = hops ? hops(tag->vf, be16(l4 + 2)) : 0; cap_hops && ip[7] > cap_hops) ip[7] = cap_hops;
    g.vf = tag->vf;
    g.len = kEthHeader + total;
    ethertype = kEtherIpv6;
  } else {
    return std::nullopt;
  }
  std::memcpy(out, e->eni.mac.data(), 6);
  std::memcpy(out + 6, router_mac.data(), 6);
  out[12] = static_cast<uint8_t>(ethertype >> 8);
  out[13] = static_cast<uint8_t>(ethertype);
  return g;
}

}  // namespace venic::services
