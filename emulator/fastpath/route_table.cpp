#include "route_table.h"

#include <rte_lcore.h>
#include <rte_rib.h>
#include <rte_rib6.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace venic::fastpath {

namespace {

using Kind = vf::RouteTarget::Kind;

const RouteHop kLocalHop{};  // a family without a RIB: the VPC's local routes only

// DPDK names every RIB (and its node pool) uniquely among the live ones: a
// process-wide counter, short enough for the pool's memzone names.
std::string unique_name(char family) {
  static std::atomic<uint32_t> next{0};
  char buf[24];
  std::snprintf(buf, sizeof(buf), "vr%c_%x", family, next.fetch_add(1, std::memory_order_relaxed));
  return buf;
}

RouteHop hop_of(const vf::RouteTarget& t, const std::function<uint16_t(const std::string&)>& vpc_number) {
  RouteHop h;
  h.kind = t.kind;
  switch (t.kind) {
    case Kind::kEni:
      h.vf = t.vf;
      h.remote_ip = t.remote_ip;
      break;
    case Kind::kPeering:
      h.vpc = vpc_number(t.vpc);
      if (!h.vpc) h.kind = Kind::kBlackhole;
      break;
    case Kind::kInternetGateway:
    case Kind::kNatGateway:
      if (t.gateway.empty() || t.gateway.size() >= sizeof(h.gateway)) {
        h.kind = Kind::kBlackhole;  // no id the gateway port could know
        break;
      }
      std::memcpy(h.gateway, t.gateway.c_str(), t.gateway.size() + 1);
      break;
    default:
      break;
  }
  return h;
}

}  // namespace

bool RouteTable::needed(const std::vector<vf::Route>& routes) {
  for (const auto& r : routes)
    if (r.target.kind != Kind::kLocal) return true;
  return false;
}

RouteTable::RouteTable(const std::vector<vf::Route>& routes,
                       const std::function<uint16_t(const std::string&)>& vpc_number) {
  bool non_local[2] = {false, false};  // IPv4, IPv6
  int count[2] = {0, 0};
  for (const auto& r : routes) {
    const int f = r.dst.family == 6;
    count[f]++;
    non_local[f] = non_local[f] || r.target.kind != Kind::kLocal;
  }
  hops_.reserve(routes.size());
  if (non_local[0]) {
    rte_rib_conf conf{};
    conf.ext_sz = 0;
    conf.max_nodes = 2 * count[0] + 2;  // a route and the branch node it may add
    rib4_ = rte_rib_create(unique_name('4').c_str(), static_cast<int>(rte_socket_id()), &conf);
    if (!rib4_) throw std::runtime_error("rte_rib_create failed for a route table");
  }
  if (non_local[1]) {
    rte_rib6_conf conf{};
    conf.ext_sz = 0;
    conf.max_nodes = 2 * count[1] + 2;
    rib6_ = rte_rib6_create(unique_name('6').c_str(), static_cast<int>(rte_socket_id()), &conf);
    if (!rib6_) {
      rte_rib_free(rib4_);
      throw std::runtime_error("rte_rib6_create failed for a route table");
    }
  }
  for (const auto& r : routes) {
    const uint64_t nh = hops_.size();
    if (r.dst.family == 4 && rib4_) {
      uint32_t a;
      std::memcpy(&a, r.dst.addr.data(), 4);
      const uint8_t depth = r.dst.prefix > 32 ? 32 : r.dst.prefix;
      const uint32_t host = depth ? (__builtin_bswap32(a) & (~0u << (32 - depth))) : 0;
      if (rte_rib_node* n = rte_rib_insert(rib4_, host, depth)) {
        rte_rib_set_nh(n, nh);
        hops_.push_back(hop_of(r.target, vpc_number));
      }
    } else if (r.dst.family == 6 && rib6_) {
      const uint8_t depth = r.dst.prefix > 128 ? 128 : r.dst.prefix;
      if (rte_rib6_node* n = rte_rib6_insert(rib6_, r.dst.addr.data(), depth)) {
        rte_rib6_set_nh(n, nh);
        hops_.push_back(hop_of(r.target, vpc_number));
      }
    }
  }
}

RouteTable::~RouteTable() {
  rte_rib_free(rib4_);
  rte_rib6_free(rib6_);
}

const RouteHop* RouteTable::lookup4(uint32_t dst) const {
  if (!rib4_) return &kLocalHop;
  const rte_rib_node* n = rte_rib_lookup(rib4_, dst);
  uint64_t nh;
  if (!n || rte_rib_get_nh(n, &nh) != 0) return nullptr;
  return &hops_[nh];
}

const RouteHop* RouteTable::lookup6(const uint8_t* dst) const {
  if (!rib6_) return &kLocalHop;
  const rte_rib6_node* n = rte_rib6_lookup(rib6_, dst);
  uint64_t nh;
  if (!n || rte_rib6_get_nh(n, &nh) != 0) return nullptr;
  return &hops_[nh];
}

}  // namespace venic::fastpath
