#include "snapshot.h"

#include "network_acl.h"
#include "route_table.h"

#include <rte_hash.h>
#include <rte_cycles.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

namespace venic::fastpath {

namespace {

L2Key make_key(uint16_t vpc, uint32_t subnet, uint8_t prefix, const uint8_t* mac) {
  L2Key k{};
  k.subnet = subnet;
  k.vpc = vpc;
  k.prefix = prefix;
  std::memcpy(k.mac, mac, 6);
  return k;
}

L3Key l3_key(uint16_t vpc, uint8_t family, const uint8_t* addr) {
  L3Key k{};
  k.vpc = vpc;
  k.family = family;
  std::memcpy(k.addr, addr, family == 4 ? 4 : 16);
  return k;
}

L3Key l3_key4(uint16_t vpc, uint32_t ip) {
  const uint32_t be = htonl(ip);
  return l3_key(vpc, 4, reinterpret_cast<const uint8_t*>(&be));
}

uint8_t open_bits(const std::vector<vf::SgRule>& rules) {
  uint8_t b = 0;
  if (vf::opens_all_ports(rules, 4, IPPROTO_TCP)) b |= kOpenTcp4;
  if (vf::opens_all_ports(rules, 4, IPPROTO_UDP)) b |= kOpenUdp4;
  if (vf::opens_all_ports(rules, 6, IPPROTO_TCP)) b |= kOpenTcp6;
  if (vf::opens_all_ports(rules, 6, IPPROTO_UDP)) b |= kOpenUdp6;
  return b;
}

}  // namespace

Snapshot::Snapshot(const vf::VfTable& table, unsigned workers, uint64_t generation, const ConntrackFor& conntrack)
    : network_(table.network()), shards_(workers) {
  // Stable addresses for the pointers below.
  ports_.reserve(table.all().size() + network_->remote.size());
  std::map<std::string, uint16_t>& vpcs = vpc_numbers_;
  // Every VPC of the model has a number, also one without a polled port (a
  // peer's); then those only VF configs name.
  for (auto& [id, v] : network_->vpcs) vpcs.emplace(id, static_cast<uint16_t>(vpcs.size() + 1));
  vnis_.assign(vpcs.size() + 1, 0);
  for (auto& [id, v] : network_->vpcs) {
    if (!v.vni) continue;
    vnis_[vpcs.at(id)] = v.vni;
    vni_vpc_.emplace_back(v.vni, vpcs.at(id));
  }
  std::sort(vni_vpc_.begin(), vni_vpc_.end());
  std::map<std::string, uint32_t> clusters;
  size_t addresses = 0;
  for (auto& [id, vp] : table.all()) {
    const vf::Vf& v = *vp;
    const venic_regs* r = &v.region->layout();  // never the driver-writable page
    PortView p;
    p.vf = id;
    p.polled = v.polled();
    p.promisc = v.rx_mode & VENIC_VF_PROMISC;
    p.subnet = v.cfg.subnet();
    p.prefix = v.cfg.prefix;
    if (!v.cfg.vpc_id.empty()) {
      p.vpc = vpcs.emplace(v.cfg.vpc_id, static_cast<uint16_t>(vpcs.size() + 1)).first->second;
      p.gateway = p.subnet + 1;
      p.vpc_dns = v.cfg.vpc_dns;
      if (!v.cfg.cluster_group.empty())
        p.cluster = clusters.emplace(v.cfg.cluster_group, static_cast<uint32_t>(clusters.size() + 1)).first->second;
      addresses += 1 + v.cfg.secondary_ips.size() + v.cfg.ipv6.size();
    }
    p.mac = v.cfg.mac;
    p.frame_max = v.cfg.mtu + VENIC_L2_OVERHEAD;
    p.active_qps = v.active_qps;
    p.ring_size = r->ring_size;
    p.base = v.region->base();
    p.buf_lo = r->buf_area_off;
    p.buf_hi = r->buf_area_off + r->buf_area_size;
    for (uint32_t q = 0; q < v.cfg.queues; q++) {
      const venic_qp_layout& l = r->qp[q];
      p.q[q].tx_sq = v.region->ring(l.tx_sq_off);
      p.q[q].tx_desc = v.region->entries<venic_desc>(l.tx_sq_off);
      p.q[q].rx_sq = v.region->ring(l.rx_sq_off);
      p.q[q].rx_desc = v.region->entries<venic_desc>(l.rx_sq_off);
      p.q[q].rx_cq = v.region->ring(l.rx_cq_off);
      p.q[q].rx_cqe = v.region->entries<venic_cqe>(l.rx_cq_off);
    }
    if (v.dma) {
      dma_refs_.push_back(v.dma);
      p.dma = v.dma->regions().data();
      p.n_dma = static_cast<uint32_t>(v.dma->regions().size());
    }
    p.rss = v.rss;
    p.src_dst_check = v.cfg.src_dst_check;
    p.rx_l4_csum = v.offloads & VENIC_OFFLOAD_RX_L4_CSUM;
    p.ips.push_back(v.cfg.ip);
    p.ips.insert(p.ips.end(), v.cfg.secondary_ips.begin(), v.cfg.secondary_ips.end());
    p.ipv6 = v.cfg.ipv6;
    p.allow = vf::AllowanceProfile::make(v.cfg.limits, rte_get_tsc_hz());
    p.shaped_out = p.allow.bw_out.limited() || p.allow.pps.limited();
    p.policed_in = p.allow.bw_in.limited() || p.allow.pps.limited();
    if (v.cfg.security.enforced) {
      p.sg = v.cfg.security;
      p.open_in = open_bits(p.sg.ingress);
      p.open_out = open_bits(p.sg.egress);
      if (conntrack) {
        if (auto ct = conntrack(v)) {
          p.ct = ct.get();
          ct_refs_.push_back(std::move(ct));
        }
      }
    }
    p.rt = v.rt.get();
    p.bridge = v.bridge;
    ports_.push_back(std::move(p));
  }
  add_remote_ports(*network_, addresses);
  compile_network(*network_);
  for (auto& p : ports_) {
    if (!p.vpc) continue;
    for (const auto& sn : subnets_)
      if (sn->vpc == p.vpc && sn->addr == p.subnet && sn->prefix == p.prefix) p.net = sn.get();
  }

  std::string name = "venic_l2_" + std::to_string(generation);
  rte_hash_parameters hp{};
  hp.name = name.c_str();
  hp.entries = static_cast<uint32_t>(std::max<size_t>(2 * VENIC_MAX_VFS, 2 * ports_.size()));
  hp.key_len = sizeof(L2Key);
  hp.hash_func = rte_jhash;
  hp.socket_id = static_cast<int>(rte_socket_id());
  l2_ = rte_hash_create(&hp);
  if (!l2_) throw std::runtime_error("rte_hash_create failed for the L2 table");

  name = "venic_l3_" + std::to_string(generation);
  hp.name = name.c_str();
  hp.entries = static_cast<uint32_t>(std::max<size_t>(64, 2 * addresses));
  hp.key_len = sizeof(L3Key);
  l3_ = rte_hash_create(&hp);
  if (!l3_) {
    rte_hash_free(l2_);
    throw std::runtime_error("rte_hash_create failed for the VPC address table");
  }

  for (auto& p : ports_) {
    L2Key k = make_key(p.vpc, p.subnet, p.prefix, p.mac.data());
    rte_hash_add_key_data(l2_, &k, &p);
    if (p.vpc) {
      for (uint32_t a : p.ips) {
        L3Key k3 = l3_key4(p.vpc, a);
        rte_hash_add_key_data(l3_, &k3, &p);
      }
      for (const auto& a : p.ipv6) {
        L3Key k3 = l3_key(p.vpc, 6, a.data());
        rte_hash_add_key_data(l3_, &k3, &p);
      }
    }
    // A VF always belongs to the same worker: were it to move, the old and
    // the new worker could both be in its TX ring across a publication.
    if (p.polled) {
      shards_[p.vf % workers].push_back(&p);
      if (by_id_.size() <= p.vf) by_id_.resize(p.vf + 1u, nullptr);
      by_id_[p.vf] = &p;
    }
    if (p.vpc) continue;  // a VPC floods nothing
    for (auto& peer : ports_) {
      if (&peer == &p || !peer.polled || peer.vpc || peer.subnet != p.subnet || peer.prefix != p.prefix) continue;
      p.flood.push_back(&peer);
      if (peer.promisc) p.promisc_peers.push_back(&peer);
    }
  }
}

void Snapshot::add_remote_ports(const vf::Network& net, size_t& addresses) {
  remotes_.reserve(net.remote.size());  // stable addresses, as ports_
  for (const vf::RemoteEni& e : net.remote) {
    auto host = net.hosts.find(e.host);
    auto vpc = vpc_numbers_.find(e.vpc_id);
    if (host == net.hosts.end() || vpc == vpc_numbers_.end() || !vni_of(vpc->second)) continue;  // unreachable
    RemoteView& r = remotes_.emplace_back();
    r.host_ip = host->second.ip;
    r.host_mac = host->second.mac;
    r.vni = vni_of(vpc->second);
    r.src_dst_check = e.src_dst_check;
    PortView p;
    p.vf = 0xffff;  // no VF here
    p.vpc = vpc->second;
    p.subnet = e.subnet_addr;
    p.prefix = e.prefix;
    p.gateway = p.subnet + 1;
    p.mac = e.mac;
    p.src_dst_check = e.src_dst_check;
    p.ips.push_back(e.ip);
    p.ips.insert(p.ips.end(), e.secondary_ips.begin(), e.secondary_ips.end());
    p.ipv6 = e.ipv6;
    p.remote = &r;
    addresses += p.ips.size() + p.ipv6.size();
    ports_.push_back(std::move(p));
    r.port = &ports_.back();
  }
}

uint16_t Snapshot::vpc_of_vni(uint32_t vni) const {
  auto it = std::lower_bound(vni_vpc_.begin(), vni_vpc_.end(), std::make_pair(vni, uint16_t{0}));
  return it != vni_vpc_.end() && it->first == vni ? it->second : 0;
}

const PortView* Snapshot::lookup_remote_mac(uint16_t vpc, const uint8_t* mac) const {
  for (const RemoteView& r : remotes_)  // (EFA's frames only; a short list per VPC in practice)
    if ((!vpc || r.port->vpc == vpc) && std::memcmp(r.port->mac.data(), mac, 6) == 0) return r.port;
  return nullptr;
}

bool Snapshot::forwarder_on(uint16_t vpc, uint32_t host_ip) const {
  for (const RemoteView& r : remotes_)
    if (!r.src_dst_check && r.host_ip == host_ip && r.port->vpc == vpc) return true;
  return false;
}

void Snapshot::compile_network(const vf::Network& net) {
  uint32_t compiled_tables = 0;
  for (auto& [id, vpc] : net.vpcs) {
    for (const vf::SubnetNetwork& s : vpc.subnets) {
      auto view = std::make_unique<SubnetView>();
      view->vpc = vpc_numbers_.at(id);
      view->addr = s.addr;
      view->prefix = s.prefix;
      if (RouteTable::needed(s.routes)) {  // else local routes only, as without a table
        // At most kMaxRouteTables per snapshot: each takes DPDK memzones,
        // which the snapshot's own tables need too (and a tenant may make
        // very many subnets).  Past it, or when DPDK cannot make one, a
        // subnet keeps its local routes only and is counted.
        try {
          if (compiled_tables >= kMaxRouteTables) throw std::runtime_error("route table budget spent");
          view->routes = std::make_unique<RouteTable>(s.routes, [this](const std::string& v) { return vpc_number(v); });
          compiled_tables++;
        } catch (const std::runtime_error&) {
          view->routes.reset();
          route_tables_failed_++;
        }
      }
      if (s.nacl) {
        view->acl_in = std::make_unique<NetworkAcl>(s.nacl_in, NetworkAcl::Side::kIn);
        view->acl_out = std::make_unique<NetworkAcl>(s.nacl_out, NetworkAcl::Side::kOut);
      }
      subnets_.push_back(std::move(view));
    }
  }
}

uint16_t Snapshot::vpc_number(const std::string& id) const {
  auto it = vpc_numbers_.find(id);
  return it == vpc_numbers_.end() ? 0 : it->second;
}

SubnetView::SubnetView() = default;
SubnetView::~SubnetView() = default;
SubnetView::SubnetView(SubnetView&&) noexcept = default;

Snapshot::~Snapshot() {
  rte_hash_free(l2_);
  rte_hash_free(l3_);
}

const PortView* Snapshot::lookup(uint16_t vpc, uint32_t subnet, uint8_t prefix, const uint8_t* mac) const {
  L2Key k = make_key(vpc, subnet, prefix, mac);
  void* data = nullptr;
  if (rte_hash_lookup_data(l2_, &k, &data) < 0) return nullptr;
  return static_cast<const PortView*>(data);
}

const PortView* Snapshot::lookup_ip4(uint16_t vpc, uint32_t ip) const {
  L3Key k = l3_key4(vpc, ip);
  void* data = nullptr;
  if (rte_hash_lookup_data(l3_, &k, &data) < 0) return nullptr;
  return static_cast<const PortView*>(data);
}

const PortView* Snapshot::lookup_ip6(uint16_t vpc, const uint8_t* ip) const {
  L3Key k = l3_key(vpc, 6, ip);
  void* data = nullptr;
  if (rte_hash_lookup_data(l3_, &k, &data) < 0) return nullptr;
  return static_cast<const PortView*>(data);
}

}  // namespace venic::fastpath
