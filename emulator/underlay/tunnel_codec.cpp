#include "tunnel_codec.h"

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_geneve.h>
#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_udp.h>
#include <rte_vxlan.h>

#include <algorithm>
#include <cstring>

namespace venic::underlay {

namespace {

constexpr uint32_t kVxlanFlagI = 0x08000000;  // "the VNI is valid"

template <typename T>
std::optional<T> refuse(const char** why, const char* reason) {
  if (why) *why = reason;
  return std::nullopt;
}

uint32_t vni_of(const uint8_t* v) {
  return uint32_t{v[0]} << 16 | uint32_t{v[1]} << 8 | v[2];
}

// Over the pseudo-header and the whole datagram, its checksum included.
bool udp_checksum_holds(const rte_ipv4_hdr* ip, const rte_udp_hdr* udp, uint32_t l4_len) {
  uint32_t sum = rte_ipv4_phdr_cksum(ip, 0);
  sum += rte_raw_cksum(udp, l4_len);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

}  // namespace

uint16_t tunnel_port(Encap e) {
  return e == Encap::kGeneve ? kGenevePort : kVxlanPort;
}

void write_tunnel_header(Encap e, uint32_t vni, uint8_t* out) {
  vni &= kMaxVni;
  std::memset(out, 0, kTunnelHeader);
  if (e == Encap::kGeneve) {
    auto* g = reinterpret_cast<rte_geneve_hdr*>(out);
    g->proto = rte_cpu_to_be_16(RTE_GENEVE_TYPE_ETH);
    g->vni[0] = static_cast<uint8_t>(vni >> 16);
    g->vni[1] = static_cast<uint8_t>(vni >> 8);
    g->vni[2] = static_cast<uint8_t>(vni);
  } else {
    auto* x = reinterpret_cast<rte_vxlan_hdr*>(out);
    x->vx_flags = rte_cpu_to_be_32(kVxlanFlagI);
    x->vx_vni = rte_cpu_to_be_32(vni << 8);
  }
}

std::optional<TunnelPayload> parse_tunnel_payload(Encap e, std::span<const uint8_t> p, const char** why) {
  if (p.size() < kTunnelHeader) return refuse<TunnelPayload>(why, "shorter than a tunnel header");
  TunnelPayload t;
  size_t header = kTunnelHeader;
  if (e == Encap::kGeneve) {
    const uint8_t ver = p[0] >> 6, opt_words = p[0] & 0x3f;
    const bool oam = p[1] & 0x80, critical = p[1] & 0x40;
    if (ver != 0) return refuse<TunnelPayload>(why, "Geneve version is not 0");
    if (oam) return refuse<TunnelPayload>(why, "Geneve OAM packet");
    if (critical) return refuse<TunnelPayload>(why, "Geneve critical option not understood");
    if ((uint16_t(p[2]) << 8 | p[3]) != RTE_GENEVE_TYPE_ETH)
      return refuse<TunnelPayload>(why, "Geneve protocol is not Ethernet");
    header += opt_words * 4u;  // non-critical options: skipped
    if (p.size() < header) return refuse<TunnelPayload>(why, "Geneve options past the packet");
    t.vni = vni_of(&p[4]);
  } else {
    if (!(p[0] & 0x08)) return refuse<TunnelPayload>(why, "VXLAN header without the I flag");
    t.vni = vni_of(&p[4]);
  }
  if (p.size() - header < RTE_ETHER_HDR_LEN) return refuse<TunnelPayload>(why, "inner frame runt");
  t.inner = p.subspan(header);
  return t;
}

uint16_t entropy_port(std::span<const uint8_t> inner) {
  // The inner IPv4 addresses and ports when there are some, else the MACs;
  // copied into words first (rte_jhash reads 32-bit words).
  uint32_t key[3] = {};
  uint32_t seed = 0;
  if (inner.size() >= 14 + 20 && inner[12] == 0x08 && inner[13] == 0x00) {
    const uint8_t* ip = &inner[14];
    const uint32_t ihl = (ip[0] & 0xf) * 4u;
    std::memcpy(key, ip + 12, 8);
    if ((ip[9] == IPPROTO_TCP || ip[9] == IPPROTO_UDP) && 14 + ihl + 4 <= inner.size())
      std::memcpy(&key[2], ip + ihl, 4);
    seed = ip[9];
  } else {
    std::memcpy(key, inner.data(), std::min<size_t>(12, inner.size()));
  }
  const uint32_t h = rte_jhash(key, sizeof(key), seed);
  return static_cast<uint16_t>(49152 + (h % 16384));
}

size_t encapsulate(Encap e, const Underlay& u, uint32_t vni, std::span<const uint8_t> inner, std::span<uint8_t> out) {
  const size_t len = kOverhead + inner.size();
  if (out.size() < len || inner.size() > 0xffff - kOverhead) return 0;
  auto* eth = reinterpret_cast<rte_ether_hdr*>(out.data());
  std::memcpy(&eth->dst_addr, u.dst_mac.data(), 6);
  std::memcpy(&eth->src_addr, u.src_mac.data(), 6);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(out.data() + 14);
  std::memset(ip, 0, sizeof(*ip));
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len - 14));
  ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = rte_cpu_to_be_32(u.src_ip);
  ip->dst_addr = rte_cpu_to_be_32(u.dst_ip);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(out.data() + 34);
  udp->src_port = rte_cpu_to_be_16(entropy_port(inner));
  udp->dst_port = rte_cpu_to_be_16(tunnel_port(e));
  udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(len - 34));
  udp->dgram_cksum = 0;
  write_tunnel_header(e, vni, out.data() + 42);
  std::memcpy(out.data() + kOverhead, inner.data(), inner.size());
  return len;
}

std::optional<Decapsulated> decapsulate(Encap e, std::span<const uint8_t> f, const char** why,
                                        UdpChecksum udp_checksum) {
  if (f.size() < 14 + 20 + 8) return refuse<Decapsulated>(why, "shorter than Ethernet/IPv4/UDP");
  const auto* eth = reinterpret_cast<const rte_ether_hdr*>(f.data());
  if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) return refuse<Decapsulated>(why, "not IPv4");
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(f.data() + 14);
  const uint32_t ihl = rte_ipv4_hdr_len(ip);
  const uint32_t total = rte_be_to_cpu_16(ip->total_length);
  if ((ip->version_ihl >> 4) != 4 || ihl < 20 || total < ihl + 8 || 14 + total > f.size())
    return refuse<Decapsulated>(why, "bad IPv4 lengths");
  if (rte_raw_cksum(ip, ihl) != 0xffff) return refuse<Decapsulated>(why, "bad IPv4 checksum");
  if (rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
    return refuse<Decapsulated>(why, "IPv4 fragment");
  if (ip->next_proto_id != IPPROTO_UDP) return refuse<Decapsulated>(why, "not UDP");
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(f.data() + 14 + ihl);
  const uint32_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
  if (udp_len < 8 || udp_len > total - ihl) return refuse<Decapsulated>(why, "bad UDP length");
  if (rte_be_to_cpu_16(udp->dst_port) != tunnel_port(e)) return refuse<Decapsulated>(why, "not the tunnel port");
  if (udp_checksum == UdpChecksum::kVerify && udp->dgram_cksum != 0 && !udp_checksum_holds(ip, udp, total - ihl))
    return refuse<Decapsulated>(why, "bad UDP checksum");
  const char* inner_why = nullptr;
  auto t = parse_tunnel_payload(e, f.subspan(14 + ihl + 8, udp_len - 8), &inner_why);
  if (!t) return refuse<Decapsulated>(why, inner_why);
  Decapsulated d;
  d.vni = t->vni;
  d.outer_src = rte_be_to_cpu_32(ip->src_addr);
  d.outer_dst = rte_be_to_cpu_32(ip->dst_addr);
  d.inner = t->inner;
  return d;
}

}  // namespace venic::underlay
