#include "nat_table.h"

#include "ip_rewrite.h"

namespace venic::gateways {

size_t NatTable::KeyHash::operator()(const Key& k) const {
  uint64_t h = (uint64_t{k.src} << 32 | k.dst) * 0x9e3779b97f4a7c15ULL;
  h ^= (uint64_t{k.sport} << 32 | uint64_t{k.dport} << 16 | uint64_t{k.vf}) * 0xc2b2ae3d27d4eb4fULL + k.proto;
  return static_cast<size_t>(h ^ (h >> 29));
}

size_t NatTable::ReplyHash::operator()(const Reply& r) const {
  uint64_t h = (uint64_t{r.remote} << 32 | uint64_t{r.public_port} << 16 | r.rport) * 0x9e3779b97f4a7c15ULL + r.proto;
  return static_cast<size_t>(h ^ (h >> 31));
}

int64_t NatTable::idle_limit(uint8_t proto) const {
  return proto == kTcp ? opt_.tcp_idle_s : proto == kUdp ? opt_.udp_idle_s : opt_.icmp_idle_s;
}

void NatTable::erase(std::unordered_map<Key, Flow, KeyHash>::iterator it) {
  replies_.erase(Reply{it->first.proto, it->second.public_port, it->first.dst, it->first.dport});
  auto v = per_vf_.find(it->first.vf);
  if (v != per_vf_.end() && --v->second == 0) per_vf_.erase(v);
  flows_.erase(it);
}

size_t NatTable::expire(int64_t now) {
  size_t gone = 0;
  for (auto it = flows_.begin(); it != flows_.end();) {
    auto next = std::next(it);
    if (now - it->second.last >= idle_limit(it->first.proto)) {
      erase(it);
      gone++;
    }
    it = next;
  }
  return gone;
}

NatTable::Verdict NatTable::outbound(uint8_t proto, uint16_t vf, uint32_t src, uint16_t sport, uint32_t dst,
                                     uint16_t dport, int64_t now, uint16_t* public_port) {
  const Key k{proto, vf, src, sport, dst, dport};
  if (auto it = flows_.find(k); it != flows_.end()) {
    if (now - it->second.last < idle_limit(proto)) {
      it->second.last = now;
      *public_port = it->second.public_port;
      return Verdict::kOk;
    }
    erase(it);  // timed out: a new flow, maybe a new port
  }
  if (flows_.size() >= opt_.max_entries) expire(now);
  if (flows_.size() >= opt_.max_entries) return Verdict::kTableFull;
  if (of_source(vf) >= opt_.per_source_max) {
    expire(now);
    if (of_source(vf) >= opt_.per_source_max) return Verdict::kSourceFull;
  }
  // A port no flow to this remote (address, port) uses.  Entries are fewer
  // than ports, so the search ends within max_entries + 1 tries in practice.
  const uint32_t span = uint32_t{opt_.port_hi} - opt_.port_lo + 1;
  for (uint32_t i = 0; i < span; i++) {
    const auto port = static_cast<uint16_t>(opt_.port_lo + (cursor_ + i) % span);
    const Reply r{proto, port, dst, dport};
    if (replies_.count(r)) continue;
    cursor_ = (cursor_ + i + 1) % span;
    flows_.emplace(k, Flow{port, now});
    replies_.emplace(r, k);
    per_vf_[vf]++;
    *public_port = port;
    return Verdict::kOk;
  }
  return Verdict::kNoPort;
}

std::optional<NatTable::Private> NatTable::inbound(uint8_t proto, uint32_t remote, uint16_t rport, uint16_t public_port,
                                                   int64_t now) {
  auto r = replies_.find(Reply{proto, public_port, remote, rport});
  if (r == replies_.end()) return std::nullopt;
  auto f = flows_.find(r->second);
  if (f == flows_.end() || now - f->second.last >= idle_limit(proto)) return std::nullopt;
  f->second.last = now;
  return Private{f->first.vf, f->first.src, f->first.sport};
}

}  // namespace venic::gateways
