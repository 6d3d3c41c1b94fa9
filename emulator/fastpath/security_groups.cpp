#include "security_groups.h"

#include <netinet/in.h>

#include "sg_scope.h"

namespace venic::fastpath {

namespace {

// Whether the groups judge pkt at all: kPass when not (key unset), kDenied
// for an IP header too short to judge, else fills key and returns nullopt.
enum class Scope : uint8_t { kJudge, kPass, kDenied };

Scope scope_of(const PortView& port, const ParsedPacket& pkt, CtDir dir, CtKey& key) {
  if (!port.sg.enforced || (pkt.l3 != L3::kIpv4 && pkt.l3 != L3::kIpv6)) return Scope::kPass;
  if (!pkt.l3_addresses) return Scope::kDenied;
  if (outside_security_groups(pkt, dir, port.gateway, port.vpc_dns)) return Scope::kPass;
  // A later fragment carries no ports: its first fragment was judged.
  if (!ct_key(pkt, port.vf, dir, key)) return Scope::kPass;
  return Scope::kJudge;
}

// A flow conntrack does not know: the rules decide, and it is tracked.
SgVerdict judge_new(const PortView& port, const ParsedPacket& pkt, const CtKey& key, CtDir dir, uint64_t now) {
  vf::SgPacket sp;
  sp.family = key.family;
  sp.proto = key.proto;
  sp.remote = key.remote;
  sp.port = pkt.dst_port;  // ingress: the local port; egress: the remote one
  sp.icmp_type = pkt.icmp_type;
  sp.icmp_code = pkt.icmp_code;
  const bool out = dir == CtDir::kOut;
  const vf::RuleVerdict v = vf::evaluate(out ? port.sg.egress : port.sg.ingress, sp);
  if (!v.allowed) return SgVerdict::kDenied;
  if (v.any_peer && (key.proto == IPPROTO_TCP || key.proto == IPPROTO_UDP)) {
    const uint8_t bit = key.family == 4 ? (key.proto == IPPROTO_TCP ? kOpenTcp4 : kOpenUdp4)
                                        : (key.proto == IPPROTO_TCP ? kOpenTcp6 : kOpenUdp6);
    if ((out ? port.open_in : port.open_out) & bit) return SgVerdict::kPass;  // untracked
  }
  if (!port.ct || !port.ct->add(key, dir, pkt.tcp_flags, port.sg.timeouts, now)) return SgVerdict::kConntrackFull;
  return SgVerdict::kPass;
}

void apply(BurstPacket& p, SgVerdict v) {
  if (v == SgVerdict::kDenied)
    p.drop_as(VENIC_DROP_SG_EGRESS);
  else if (v == SgVerdict::kConntrackFull)
    p.exceed(VENIC_ALLOW_CONNTRACK);
}

}  // namespace

SgVerdict security_groups(const PortView& port, const ParsedPacket& pkt, CtDir dir, uint64_t now) {
  CtKey key;
  switch (scope_of(port, pkt, dir, key)) {
    case Scope::kPass:
      return SgVerdict::kPass;
    case Scope::kDenied:
      return SgVerdict::kDenied;
    case Scope::kJudge:
      break;
  }
  if (port.ct && port.ct->refresh(key, dir, pkt.tcp_flags, port.sg.timeouts, now)) return SgVerdict::kPass;
  return judge_new(port, pkt, key, dir, now);
}

void ingress_groups(const PortView& port, const ParsedPacket* const* pkts, uint32_t n, uint64_t now,
                    SgVerdict* verdict) {
  CtKey keys[kBurstDescs];
  const CtKey* key_ptr[kBurstDescs];
  uint8_t flags[kBurstDescs];
  uint8_t which[kBurstDescs];
  uint32_t m = 0;
  for (uint32_t i = 0; i < n; i++) {
    verdict[i] = SgVerdict::kPass;
    switch (scope_of(port, *pkts[i], CtDir::kIn, keys[m])) {
      case Scope::kPass:
        continue;
      case Scope::kDenied:
        verdict[i] = SgVerdict::kDenied;
        continue;
      case Scope::kJudge:
        key_ptr[m] = &keys[m];
        flags[m] = pkts[i]->tcp_flags;
        which[m++] = static_cast<uint8_t>(i);
        break;
    }
  }
  if (m == 0) return;
  bool live[kBurstDescs] = {};
  if (port.ct) port.ct->refresh_bulk(key_ptr, flags, m, CtDir::kIn, port.sg.timeouts, now, live);
  for (uint32_t j = 0; j < m; j++)
    if (!live[j]) verdict[which[j]] = judge_new(port, *pkts[which[j]], keys[j], CtDir::kIn, now);
}

void egress_groups(const PortView& port, Burst& b) {
  if (!port.sg.enforced) return;
  CtKey keys[kBurstDescs];
  const CtKey* key_ptr[kBurstDescs];
  uint8_t flags[kBurstDescs];
  uint8_t which[kBurstDescs];
  uint32_t n = 0;
  for (uint32_t k = 0; k < b.npkt; k++) {
    BurstPacket& p = b.p[k];
    if (!p.alive()) continue;
    switch (scope_of(port, p.pkt, CtDir::kOut, keys[n])) {
      case Scope::kPass:
        continue;
      case Scope::kDenied:
        p.drop_as(VENIC_DROP_SG_EGRESS);
        continue;
      case Scope::kJudge:
        key_ptr[n] = &keys[n];
        flags[n] = p.pkt.tcp_flags;
        which[n++] = static_cast<uint8_t>(k);
        break;
    }
  }
  if (n == 0) return;
  bool live[kBurstDescs] = {};
  if (port.ct) port.ct->refresh_bulk(key_ptr, flags, n, CtDir::kOut, port.sg.timeouts, b.now, live);
  // New flows in packet order, so a flow's second packet finds what its first added.
  for (uint32_t i = 0; i < n; i++)
    if (!live[i]) apply(b.p[which[i]], judge_new(port, b.p[which[i]].pkt, keys[i], CtDir::kOut, b.now));
}

}  // namespace venic::fastpath
