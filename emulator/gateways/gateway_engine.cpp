#include "gateway_engine.h"

#include <cstring>

#include "checksum.h"
#include "icmp_answers.h"
#include "ip_rewrite.h"

namespace venic::gateways {

namespace {

constexpr uint32_t kEth = 14;

void count(std::atomic<uint64_t>& c) {
  c.fetch_add(1, std::memory_order_relaxed);
}

bool is_ipv4_frame(const uint8_t* frame, uint32_t len) {
  return len >= kEth + 20 && frame[12] == 0x08 && frame[13] == 0x00;
}

}  // namespace

void GatewayEngine::set_directory(std::shared_ptr<const GatewayDirectory> d) {
  dir_ = std::move(d);
  for (auto it = nat_.begin(); it != nat_.end();) it = dir_->nats.count(it->first) ? std::next(it) : nat_.erase(it);
}

void GatewayEngine::expire(int64_t now) {
  uint64_t n = 0;
  for (auto& [id, t] : nat_) {
    t.expire(now);
    n += t.size();
  }
  stats_.nat_entries.store(n, std::memory_order_relaxed);
}

void GatewayEngine::from_instance(uint16_t vf, const char* gateway, uint8_t* frame, uint32_t len, int64_t now,
                                  const ToUplink& uplink, const ToInstance& instance, uint32_t wire_len) {
  const std::string id = gateway ? gateway : "";
  auto v = dir_->vfs.find(vf);
  if (v == dir_->vfs.end()) return count(stats_.no_gateway);
  const std::string& vpc = v->second.first;
  auto g = dir_->igw_vpc.find(id);
  auto n = dir_->nats.find(id);
  // An internet gateway of the sender's VPC, or a NAT gateway in it (which
  // reaches the internet through the VPC's internet gateway).
  const bool igw = g != dir_->igw_vpc.end() && g->second == vpc;
  const bool nat = n != dir_->nats.end() && n->second.vpc == vpc && dir_->vpc_has_igw(vpc);
  if (!igw && !nat) return count(stats_.no_gateway);
  if (wire_len > len) {
    // Only its headers were kept: a jumbo frame, past the internet's MTU.
    Ipv4Packet p;
    if (!is_ipv4_frame(frame, len) || !parse_ipv4_header(frame + kEth, len - kEth, &p) || p.len <= kInternetMtu)
      return count(stats_.malformed);
    fits(vf, p, instance);
    return;
  }
  if (igw) return internet_out(vf, vpc, frame, len, uplink, instance);
  nat_out(vf, id, frame, len, now, uplink, instance);
}

bool GatewayEngine::fits(uint16_t vf, const Ipv4Packet& p, const ToInstance& instance) {
  if (p.len <= kInternetMtu) return true;
  if (!p.df) {
    count(stats_.too_big_dropped);  // venic does not fragment
    return false;
  }
  auto v = dir_->vfs.find(vf);
  uint8_t out[kFragNeededMax];
  const uint32_t n = frag_needed_frame(p, kInternetMtu, v->second.second.data(), opt_.router_mac.data(), out);
  if (instance(vf, out, n))
    count(stats_.frag_needed_sent);
  else
    count(stats_.inject_refused);
  return false;
}

void GatewayEngine::internet_out(uint16_t vf, const std::string& vpc, uint8_t* frame, uint32_t len,
                                 const ToUplink& uplink, const ToInstance& instance) {
  (void)vpc;
  Ipv4Packet p;
  if (!is_ipv4_frame(frame, len) || !parse_ipv4(frame + kEth, len - kEth, &p)) return count(stats_.malformed);
  auto pub = dir_->public_of.find({vf, p.src()});
  if (pub == dir_->public_of.end()) return count(stats_.no_public_ip);
  if (!fits(vf, p, instance)) return;
  set_src(p, pub->second);
  uplink(p.ip, p.len);
  count(stats_.translated_out);
}

void GatewayEngine::nat_out(uint16_t vf, const std::string& nat_id, uint8_t* frame, uint32_t len, int64_t now,
                            const ToUplink& uplink, const ToInstance& instance) {
  Ipv4Packet p;
  if (!is_ipv4_frame(frame, len) || !parse_ipv4(frame + kEth, len - kEth, &p)) return count(stats_.malformed);
  uint16_t sport, dport;
  if (!l4_ports(p, &sport, &dport)) return count(stats_.untranslatable);  // fragments, ICMP errors, other protocols
  if (!fits(vf, p, instance)) return;
  if (p.proto == kIcmp) dport = 0;
  auto t = nat_.try_emplace(nat_id, opt_.nat).first;
  uint16_t port;
  if (t->second.outbound(p.proto, vf, p.src(), sport, p.dst(), dport, now, &port) != NatTable::Verdict::kOk)
    return count(stats_.nat_table_full);
  set_src(p, dir_->nats.at(nat_id).public_ip);
  set_sport(p, port);
  uplink(p.ip, p.len);
  count(stats_.translated_out);
}

bool GatewayEngine::nat_in(const std::string& nat_id, Ipv4Packet& p, int64_t now, uint16_t* vf) {
  auto t = nat_.find(nat_id);
  if (t == nat_.end()) return false;
  uint16_t sport, dport;
  if (l4_ports(p, &sport, &dport)) {
    auto priv = t->second.inbound(p.proto, p.src(), p.proto == kIcmp ? 0 : sport, dport, now);
    if (!priv) return false;
    set_dst(p, priv->ip);
    set_dport(p, priv->port);
    *vf = priv->vf;
    return true;
  }
  // An ICMP error about a flow the NAT made: the quoted packet left with the
  // NAT's address and port.
  Ipv4Packet q;
  if (!icmp_error_quote(p, &q) || !q.l4 || (q.proto != kTcp && q.proto != kUdp)) return false;
  const uint16_t qsport = static_cast<uint16_t>(q.l4[0] << 8 | q.l4[1]);
  const uint16_t qdport = static_cast<uint16_t>(q.l4[2] << 8 | q.l4[3]);
  auto priv = t->second.inbound(q.proto, q.dst(), qdport, qsport, now);
  if (!priv) return false;
  set_quoted_src(p, q, priv->ip);
  fastpath::csum_replace16(q.l4, priv->port, p.l4 + 2);
  set_dst(p, priv->ip);
  *vf = priv->vf;
  return true;
}

void GatewayEngine::from_uplink(uint8_t* buf, uint32_t len, int64_t now, const ToInstance& instance) {
  Ipv4Packet p;
  if (len > 0 && buf[kEth] >> 4 == 6) return count(stats_.not_ipv4);
  if (!parse_ipv4(buf + kEth, len, &p)) return count(stats_.malformed);
  const uint32_t dst = p.dst();
  if (auto a = dir_->by_public.find(dst); a != dir_->by_public.end() && dir_->vpc_has_igw(a->second.vpc)) {
    Ipv4Packet q;
    if (icmp_error_quote(p, &q) && q.src() == dst) set_quoted_src(p, q, a->second.private_ip);
    set_dst(p, a->second.private_ip);
    return deliver(a->second.vf, buf, p.len, instance);
  }
  for (auto& [id, n] : dir_->nats) {
    if (n.public_ip != dst) continue;
    uint16_t vf;
    if (nat_in(id, p, now, &vf)) return deliver(vf, buf, p.len, instance);
    break;
  }
  count(stats_.inbound_unknown);
}

void GatewayEngine::deliver(uint16_t vf, uint8_t* buf, uint32_t len, const ToInstance& instance) {
  auto v = dir_->vfs.find(vf);
  if (v == dir_->vfs.end()) return count(stats_.inbound_unknown);
  std::memcpy(buf, v->second.second.data(), 6);
  std::memcpy(buf + 6, opt_.router_mac.data(), 6);
  buf[12] = 0x08;
  buf[13] = 0x00;
  if (instance(vf, buf, kEth + len))
    count(stats_.translated_in);
  else
    count(stats_.inject_refused);
}

}  // namespace venic::gateways
