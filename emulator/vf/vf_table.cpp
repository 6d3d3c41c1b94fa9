#include "vf_table.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include <unistd.h>

#include "owner.h"
#include "state_store.h"

namespace venic::vf {

namespace {

const char* const kAllowanceNames[VENIC_ALLOW_MAX] = {"bw_in_allowance_exceeded",     "bw_out_allowance_exceeded",
                                                      "pps_allowance_exceeded",       "conntrack_allowance_exceeded",
                                                      "linklocal_allowance_exceeded", "flow_allowance_exceeded"};

QueueCounters totals(const QueueCounters& a, const QueueCounters& b) {
  QueueCounters t;
  t.pkts = a.pkts + counter_read(b.pkts);
  t.bytes = a.bytes + counter_read(b.bytes);
  t.zero_copy_pkts = a.zero_copy_pkts + counter_read(b.zero_copy_pkts);
  for (int i = 0; i < VENIC_DROP_REASONS_MAX; i++) t.drops[i] = a.drops[i] + counter_read(b.drops[i]);
  for (int i = 0; i < VENIC_ALLOW_MAX; i++) t.allowance[i] = a.allowance[i] + counter_read(b.allowance[i]);
  return t;
}

QueueCounters since(const QueueCounters& now, const QueueCounters& base) {
  QueueCounters d;
  d.pkts = now.pkts - base.pkts;
  d.bytes = now.bytes - base.bytes;
  d.zero_copy_pkts = now.zero_copy_pkts - base.zero_copy_pkts;
  for (int i = 0; i < VENIC_DROP_REASONS_MAX; i++) d.drops[i] = now.drops[i] - base.drops[i];
  for (int i = 0; i < VENIC_ALLOW_MAX; i++) d.allowance[i] = now.allowance[i] - base.allowance[i];
  return d;
}

uint64_t drop_sum(const QueueCounters& c) {
  uint64_t s = 0;
  for (auto d : c.drops) s += counter_read(d);
  return s;
}

}  // namespace

// An address belongs to one VF of a subnet, as a private IP to one ENI.
void VfTable::check_addresses_free(const VfConfig& c) const {
  for (auto& [id, v] : vfs_) {
    // Address spaces: each VPC's, and the plain VFs' (vpc_id "").
    if (id == c.id || v->cfg.vpc_id != c.vpc_id || v->cfg.subnet() != c.subnet() || v->cfg.prefix != c.prefix) continue;
    std::vector<uint32_t> mine{c.ip};
    mine.insert(mine.end(), c.secondary_ips.begin(), c.secondary_ips.end());
    for (uint32_t a : mine)
      if (v->cfg.owns_ip(a))
        throw TableError("exists", "IP " + format_ipv4(a) + " is already used by VF " + std::to_string(id));
  }
  for (auto& [id, v] : vfs_) {  // IPv6 addresses are unique in an address space
    if (id == c.id || v->cfg.vpc_id != c.vpc_id) continue;
    for (const auto& a : c.ipv6)
      for (const auto& b : v->cfg.ipv6)
        if (a == b)
          throw TableError("exists", "IPv6 " + format_ipv6(a) + " is already used by VF " + std::to_string(id));
  }
}

Vf& VfTable::must_find(uint16_t id) {
  auto it = vfs_.find(id);
  if (it == vfs_.end()) throw TableError("not_found", "no VF " + std::to_string(id));
  return *it->second;
}

const Vf& VfTable::get(uint16_t id) const {
  auto it = vfs_.find(id);
  if (it == vfs_.end()) throw TableError("not_found", "no VF " + std::to_string(id));
  return *it->second;
}

// Saves the table as it will be after a change (upsert and/or removal), before
// the change is applied: a failed save leaves table and file as they were.
void VfTable::persist(const VfConfig* upsert, std::optional<uint16_t> removed) {
  if (!store_) return;
  std::vector<VfConfig> cfgs;
  bool placed = false;
  for (auto& [id, v] : vfs_) {
    if (removed && id == *removed) continue;
    if (upsert && id == upsert->id) {
      cfgs.push_back(*upsert);
      placed = true;
    } else {
      cfgs.push_back(v->cfg);
    }
  }
  if (upsert && !placed) cfgs.push_back(*upsert);
  try {
    store_->save(cfgs);
  } catch (const std::exception& e) {
    throw TableError("internal", std::string("cannot save the state: ") + e.what());
  }
}

void VfTable::restore(const std::vector<VfConfig>& saved) {
  for (const auto& c : saved) {
    auto v = std::make_unique<Vf>();
    v->cfg = c;
    v->region = std::make_unique<VfRegion>(c);
    if (frontends_ && c.frontend != Frontend::kShm) {
      try {
        frontends_->expose(*v, /*restoring=*/true);
      } catch (const std::exception& e) {
        // The VF stays (and is saved); only its front-end is missing.
        std::fprintf(stderr, "venicd: VF %u: %s\n", c.id, e.what());
      }
    }
    vfs_[c.id] = std::move(v);
  }
  publisher_.publish(*this);
}

const Vf& VfTable::create(VfConfig cfg, bool has_id) {
  if (std::string e = validate(has_id ? cfg : (cfg.id = 0, cfg)); !e.empty()) throw TableError("invalid_params", e);
  if (!has_id) {
    uint16_t id = 0;
    while (id < VENIC_MAX_VFS && vfs_.count(id)) id++;
    if (id == VENIC_MAX_VFS) throw TableError("limit", "all 256 VFs are in use");
    cfg.id = id;
  } else if (vfs_.count(cfg.id)) {
    throw TableError("exists", "VF " + std::to_string(cfg.id) + " already exists");
  }
  for (auto& [id, v] : vfs_)
    if (v->cfg.mac == cfg.mac)
      throw TableError("exists", "MAC " + format_mac(cfg.mac) + " is already used by VF " + std::to_string(id));
  check_addresses_free(cfg);
  if (cfg.type == Personality::kEfa && cfg.frontend != Frontend::kShm && cfg.eni_id.empty())
    throw TableError("invalid_params",
                     "type: an efa VF's device is opened by processes (efa.open), not served over vhost-user");
  if (cfg.frontend != Frontend::kShm && cfg.vhost_path.empty() && frontends_)
    cfg.vhost_path = frontends_->default_path(cfg.id);
  auto v = std::make_unique<Vf>();
  v->cfg = cfg;
  v->region = std::make_unique<VfRegion>(cfg);
  if (cfg.frontend != Frontend::kShm) {
    if (!frontends_) throw TableError("invalid_params", "frontend: this venicd serves no vhost-user front-end");
    for (auto& [id, o] : vfs_)
      if (o->cfg.frontend == cfg.frontend && o->cfg.vhost_path == cfg.vhost_path)
        throw TableError("exists", "vhost_path: " + cfg.vhost_path + " is already VF " + std::to_string(id) + "'s");
    try {
      frontends_->expose(*v, /*restoring=*/false);
    } catch (const std::exception& e) {
      throw TableError("invalid_params", e.what());
    }
  }
  try {
    persist(&cfg, std::nullopt);
  } catch (...) {
    if (cfg.frontend != Frontend::kShm) frontends_->withdraw(*v);
    throw;
  }
  Vf& ref = *v;
  vfs_[cfg.id] = std::move(v);
  publisher_.publish(*this);
  return ref;
}

void VfTable::remove(uint16_t id) {
  Vf& v = must_find(id);  // not_found before anything changes
  persist(nullptr, id);
  if (frontends_ && v.cfg.frontend != Frontend::kShm) {
    // Workers leave the bridge first; then its guest connection goes.
    if (v.attached()) detach_session(v.session);
    frontends_->withdraw(v);
  }
  std::unique_ptr<Vf> gone = std::move(vfs_[id]);
  vfs_.erase(id);
  try {
    publisher_.publish(*this);
  } catch (...) {
    vfs_[id] = std::move(gone);  // workers may still see it: keep it alive
    throw;
  }
  // Announced, and freed, only once no worker can touch it: its driver may
  // then recycle every buffer it had posted.
  publisher_.defer([gone = std::shared_ptr<Vf>(std::move(gone))] {
    __atomic_store_n(&gone->region->regs()->link_status, VENIC_LINK_DOWN, __ATOMIC_RELEASE);
    if (gone->attached()) gone->region->post_event(VENIC_EVENT_REMOVAL, 0);
  });
}

const Vf& VfTable::set(uint16_t id, const nlohmann::json& p) {
  Vf& v = must_find(id);
  VfConfig c = v.cfg;
  if (p.contains("mtu")) c.mtu = p["mtu"].get<uint16_t>();
  if (p.contains("trusted")) c.trusted = p["trusted"].get<bool>();
  if (p.contains("link")) c.link_up = p["link"].get<std::string>() == "up";
  if (p.contains("src_dst_check")) c.src_dst_check = p["src_dst_check"].get<bool>();
  if (p.contains("secondary_ips")) {
    try {
      c.secondary_ips = ipv4_list_from_json(p["secondary_ips"], "secondary_ips");
    } catch (const ConfigError& e) {
      throw TableError("invalid_params", e.what());
    }
  }
  if (p.contains("ipv6")) {
    try {
      c.ipv6 = ipv6_list_from_json(p["ipv6"], "ipv6");
    } catch (const ConfigError& e) {
      throw TableError("invalid_params", e.what());
    }
  }
  try {
    limits_from_json(p, c.limits);
  } catch (const ConfigError& e) {
    throw TableError("invalid_params", e.what());
  }
  if (std::string e = validate(c); !e.empty()) throw TableError("invalid_params", e);
  check_addresses_free(c);
  persist(&c, std::nullopt);
  bool link_changed = c.link_up != v.cfg.link_up;
  v.cfg = c;
  if (!c.trusted) v.rx_mode &= ~uint32_t(VENIC_VF_PROMISC);
  v.region->publish_state(v.cfg, v.flags(), v.active_qps);
  if (link_changed && v.attached()) v.region->post_event(VENIC_EVENT_LINK_CHANGE, c.link_up ? 1 : 0);
  publisher_.publish(*this);
  return v;
}

int VfTable::attach(uint16_t id, uint64_t session, int pid, int64_t uid) {
  Vf& v = must_find(id);
  if (uid != 0 && uid != static_cast<int64_t>(::geteuid()) && uid != v.cfg.attacher())
    throw TableError("permission_denied", "uid " + std::to_string(uid) + " may not attach VF " + std::to_string(id) +
                                              (v.cfg.eni_id.empty() ? "" : " (" + v.cfg.eni_id + ")"));
  if (v.cfg.frontend == Frontend::kVhostUser)
    throw TableError("busy", "VF " + std::to_string(id) + " is served over vhost-user at " + v.cfg.vhost_path +
                                 "; attach a guest or virtio-user there");
  if (v.attached())
    throw TableError("busy", "VF " + std::to_string(id) + " is attached by pid " + std::to_string(v.owner_pid));
  for (auto& [other, ov] : vfs_)
    if (ov->session == session) throw TableError("busy", "this connection already holds VF " + std::to_string(other));
  // A region of its own, as evict gives: a previous holder that kept its
  // mapping writes only into the old memfd, which nobody reads any more.  The
  // VF is not polled (not attached), so no worker is in the old region; the
  // current snapshot still names it, but only a polled VF's rings are touched.
  v.region = std::make_unique<VfRegion>(v.cfg);
  v.rt->reset_indices();
  v.rt->bad_desc.store(0);  // a new driver starts with a clean record
  v.rt->mdd_tripped.store(false);
  v.admin_sq_cons = v.admin_cq_prod = 0;
  v.started = false;
  v.active_qps = 0;
  v.rx_mode = 0;
  v.rss = RssConfig{};
  v.offloads = 0;
  v.session = session;
  v.owner_pid = pid;
  v.region->publish_state(v.cfg, v.flags(), 0);
  return v.region->fd();
}

void VfTable::evict(uint16_t id) {
  Vf& v = must_find(id);
  if (!v.attached() || v.bridge) return;  // a bridge follows its own socket
  v.region->post_event(VENIC_EVENT_LINK_CHANGE, 0);
  v.region->post_event(VENIC_EVENT_REMOVAL, 0);
  detach_session(v.session);  // workers are out of the old rings when this returns
  // Last word on the old page (detach_session republished the state there).
  __atomic_store_n(&v.region->regs()->link_status, VENIC_LINK_DOWN, __ATOMIC_RELEASE);
  // The published snapshot still points into the old region: it goes after
  // the snapshot that replaces it.
  std::unique_ptr<VfRegion> old = std::make_unique<VfRegion>(v.cfg);
  std::swap(v.region, old);  // the VF takes the fresh one; old is the old one
  try {
    publisher_.publish(*this);
  } catch (...) {
    std::swap(v.region, old);  // still published: keep it
    throw;
  }
  publisher_.defer([old = std::shared_ptr<VfRegion>(std::move(old))] {});
}

const Vf& VfTable::replace_config(const VfConfig& cfg) {
  Vf& v = must_find(cfg.id);
  VfConfig c = cfg;
  c.type = v.cfg.type;
  c.mac = v.cfg.mac;
  c.queues = v.cfg.queues;
  c.frontend = v.cfg.frontend;
  c.vhost_path = v.cfg.vhost_path;
  c.vhost_client = v.cfg.vhost_client;
  if (std::string e = validate(c); !e.empty()) throw TableError("invalid_params", e);
  check_addresses_free(c);
  persist(&c, std::nullopt);
  const bool link_changed = c.link_up != v.cfg.link_up;
  v.cfg = c;
  v.region->publish_state(v.cfg, v.flags(), v.active_qps);
  if (link_changed && v.attached()) v.region->post_event(VENIC_EVENT_LINK_CHANGE, c.link_up ? 1 : 0);
  publisher_.publish(*this);
  return v;
}

void VfTable::stop_queues(Vf& v) {
  v.started = false;
  v.active_qps = 0;
  publisher_.publish(*this);
  publisher_.synchronize();  // workers are out of this VF's rings now
  v.region->reset_queue_rings();
  v.rt->reset_indices();
  v.region->publish_state(v.cfg, v.flags(), 0);
}

void VfTable::attach_bridge(uint16_t id, uint64_t session, Bridge* bridge, std::shared_ptr<const DmaTable> dma,
                            uint32_t qps) {
  Vf& v = must_find(id);
  if (v.attached()) throw TableError("busy", "VF " + std::to_string(id) + " is already attached");
  if (qps < 1 || qps > v.cfg.queues) throw TableError("invalid_params", "queues: out of range");
  // Not polled yet, so no worker is in the rings.
  v.region->reset_rings();
  v.rt->reset_indices();
  v.rt->bad_desc.store(0);
  v.rt->mdd_tripped.store(false);
  v.rx_mode = 0;
  v.rss = RssConfig{};
  if (qps > 1) {
    // A virtio-net guest without the RSS feature takes frames on any of its
    // queues: spread flows over them as ENA does by default.
    v.rss.types = VENIC_RSS_IPV4 | VENIC_RSS_IPV4_TCP | VENIC_RSS_IPV4_UDP | VENIC_RSS_IPV6 | VENIC_RSS_IPV6_TCP |
                  VENIC_RSS_IPV6_UDP;
    v.rss.key = VENIC_RSS_DEFAULT_KEY;
    for (uint32_t i = 0; i < VENIC_RETA_SIZE; i++) v.rss.reta[i] = static_cast<uint8_t>(i % qps);
  }
  v.offloads = 0;
  v.session = session;
  v.owner_pid = 0;
  v.bridge = bridge;
  v.dma = std::move(dma);
  v.started = true;
  v.active_qps = qps;
  v.region->publish_state(v.cfg, v.flags(), v.active_qps);
  publisher_.publish(*this);
}

void VfTable::detach_session(uint64_t session) {
  for (auto& [id, v] : vfs_) {
    if (v->session != session) continue;
    v->session = 0;
    v->owner_pid = 0;
    v->bridge = nullptr;
    v->dma.reset();  // unmapped once the snapshot below replaces the last user
    stop_queues(*v);
    v->rx_mode = 0;
    v->region->publish_state(v->cfg, v->flags(), 0);
  }
}

std::optional<uint16_t> VfTable::attached_vf(uint64_t session) const {
  for (auto& [id, v] : vfs_)
    if (v->session == session) return id;
  return std::nullopt;
}

std::vector<uint16_t> VfTable::register_memory(uint64_t session, std::span<const MemRange> ranges,
                                               std::span<const int> fds) {
  auto id = attached_vf(session);
  if (!id) throw TableError("invalid_request", "vf.register_memory needs an attached VF (vf.attach first)");
  if (ranges.size() != fds.size())
    throw TableError("invalid_params", "regions: " + std::to_string(ranges.size()) + " regions but " +
                                           std::to_string(fds.size()) + " file descriptors");
  if (ranges.empty()) throw TableError("invalid_params", "regions: empty");
  Vf& v = must_find(*id);
  size_t have = v.dma ? v.dma->regions().size() : 0;
  if (have + ranges.size() > VENIC_MAX_DMA_REGIONS)
    throw TableError("limit", "a VF takes 1 to " + std::to_string(VENIC_MAX_DMA_REGIONS) + " memory regions");
  auto table = std::make_shared<DmaTable>();
  table->inherit(v.dma);
  std::vector<uint16_t> ids;
  for (size_t i = 0; i < ranges.size(); i++) {
    try {
      table->map(fds[i], ranges[i].offset, ranges[i].len, ranges[i].va);
    } catch (const std::exception& e) {
      throw TableError("invalid_params", "regions[" + std::to_string(i) + "]: " + e.what());
    }
    ids.push_back(static_cast<uint16_t>(have + i + 1));
  }
  auto old = v.dma;
  v.dma = table;
  publisher_.publish(*this);
  return ids;
}

int VfTable::admin_command(Vf& v, const venic_admin_cmd& cmd, uint64_t& result) {
  switch (cmd.opcode) {
    case VENIC_ADMIN_START:
      if (!queues_fit(v.cfg, cmd.arg0)) return -EINVAL;
      if (v.started) stop_queues(v);
      v.started = true;
      v.active_qps = cmd.arg0;
      v.region->publish_state(v.cfg, v.flags(), v.active_qps);
      publisher_.publish(*this);
      return 0;
    case VENIC_ADMIN_STOP:
      stop_queues(v);
      return 0;
    case VENIC_ADMIN_SET_MTU: {
      if (!mtu_fits(v.cfg, cmd.arg0)) return -EINVAL;  // the personality's, and the VPC's
      VfConfig c = v.cfg;
      c.mtu = static_cast<uint16_t>(cmd.arg0);
      try {
        persist(&c, std::nullopt);
      } catch (const TableError&) {
        return -EIO;
      }
      v.cfg = c;
      v.region->publish_state(v.cfg, v.flags(), v.active_qps);
      publisher_.publish(*this);
      return 0;
    }
    case VENIC_ADMIN_SET_RX_MODE: {
      uint32_t want = cmd.arg0 & (VENIC_VF_PROMISC | VENIC_VF_ALLMULTI);
      // As on a real SR-IOV NIC, only a trusted VF may see others' traffic.
      if ((want & VENIC_VF_PROMISC) && !v.cfg.trusted) return -EPERM;
      v.rx_mode = want;
      v.region->publish_state(v.cfg, v.flags(), v.active_qps);
      publisher_.publish(*this);
      result = want;
      return 0;
    }
    case VENIC_ADMIN_SET_RSS_KEY: {
      constexpr uint32_t kTypes = VENIC_RSS_IPV4 | VENIC_RSS_IPV4_TCP | VENIC_RSS_IPV4_UDP | VENIC_RSS_IPV6 |
                                  VENIC_RSS_IPV6_TCP | VENIC_RSS_IPV6_UDP;
      if (cmd.arg0 & ~kTypes) return -EINVAL;
      v.rss.types = cmd.arg0;
      std::copy_n(cmd.data, VENIC_RSS_KEY_SIZE, v.rss.key.begin());
      publisher_.publish(*this);
      return 0;
    }
    case VENIC_ADMIN_SET_RETA: {
      if (cmd.arg0 >= VENIC_RETA_SIZE || cmd.arg1 > sizeof(cmd.data) || cmd.arg0 + cmd.arg1 > VENIC_RETA_SIZE)
        return -EINVAL;
      for (uint64_t i = 0; i < cmd.arg1; i++)
        if (cmd.data[i] >= v.cfg.queues) return -EINVAL;
      std::copy_n(cmd.data, cmd.arg1, v.rss.reta.begin() + cmd.arg0);
      publisher_.publish(*this);
      return 0;
    }
    case VENIC_ADMIN_SET_OFFLOADS:
      if (cmd.arg0 & ~uint64_t(VENIC_OFFLOAD_RX_L4_CSUM)) return -EOPNOTSUPP;
      v.offloads = static_cast<uint32_t>(cmd.arg0);
      publisher_.publish(*this);
      return 0;
    default:
      return -EOPNOTSUPP;
  }
}

void VfTable::poll_admin() {
  for (auto& [id, vp] : vfs_) {
    Vf& v = *vp;
    if (!v.attached()) continue;
    const venic_regs* r = &v.region->layout();
    venic_ring* sq = v.region->ring(r->admin_sq_off);
    venic_ring* cq = v.region->ring(r->admin_cq_off);
    const uint32_t size = r->admin_ring_size;
    uint32_t prod = __atomic_load_n(&sq->prod, __ATOMIC_ACQUIRE);
    uint32_t pending = prod - v.admin_sq_cons;
    if (pending > size) pending = 0;  // a broken producer index: ignore it
    for (uint32_t n = 0; n < pending; n++) {
      if (v.admin_cq_prod - __atomic_load_n(&cq->cons, __ATOMIC_ACQUIRE) >= size) break;
      venic_admin_cmd cmd = v.region->entries<venic_admin_cmd>(r->admin_sq_off)[v.admin_sq_cons & (size - 1)];
      __atomic_signal_fence(__ATOMIC_SEQ_CST);  // use the copy, never re-read the ring
      uint64_t result = 0;
      int status = admin_command(v, cmd, result);
      venic_admin_cqe& e = v.region->entries<venic_admin_cqe>(r->admin_cq_off)[v.admin_cq_prod & (size - 1)];
      e = venic_admin_cqe{};
      e.cmd_id = cmd.cmd_id;
      e.opcode = cmd.opcode;
      e.status = status;
      e.result = result;
      __atomic_store_n(&cq->prod, ++v.admin_cq_prod, __ATOMIC_RELEASE);
      __atomic_store_n(&sq->cons, ++v.admin_sq_cons, __ATOMIC_RELEASE);
    }
  }
}

void VfTable::tick() {
  for (auto& [id, vp] : vfs_) {
    Vf& v = *vp;
    if (v.rt->mdd_tripped.load(std::memory_order_acquire)) {
      // Malicious driver detection: stop the VF and tell its driver to reset.
      // Its registered memory may be what faulted: unmap it; the driver
      // registers again when it restarts.
      stop_queues(v);
      v.dma.reset();
      publisher_.publish(*this);
      v.rt->bad_desc.store(0);
      v.rt->mdd_tripped.store(false, std::memory_order_release);
      v.rt->mdd_resets++;
      v.region->count_reset();
      v.region->post_event(VENIC_EVENT_RESET, 0);
    }
    venic_stats* s = v.region->stats();
    QueueCounters tx, rx;
    for (uint32_t q = 0; q < v.cfg.queues; q++) {
      QueueCounters t = since(totals(QueueCounters{}, v.rt->txq[q].c), v.tx_base[q]);
      QueueCounters r = since(totals(QueueCounters{}, v.rt->rxq[q].c), v.rx_base[q]);
      s->txq[q] = {t.pkts, t.bytes, drop_sum(t), 0};
      s->rxq[q] = {r.pkts, r.bytes, drop_sum(r), 0};
      tx = totals(tx, t);
      rx = totals(rx, r);
    }
    s->tx_pkts = tx.pkts;
    s->tx_bytes = tx.bytes;
    s->rx_pkts = rx.pkts;
    s->rx_bytes = rx.bytes;
    s->tx_zero_copy_pkts = tx.zero_copy_pkts;
    s->rx_zero_copy_pkts = rx.zero_copy_pkts;
    s->mdd_resets = v.rt->mdd_resets - v.mdd_base;
    for (int i = 0; i < VENIC_DROP_REASONS_MAX; i++) s->drops[i] = tx.drops[i] + rx.drops[i];
    for (int i = 0; i < VENIC_ALLOW_MAX; i++) s->allowance[i] = tx.allowance[i] + rx.allowance[i];
    v.region->beat();
  }
  publisher_.upkeep();
}

nlohmann::json VfTable::vf_json(const Vf& v) const {
  nlohmann::json j = to_json(v.cfg);
  j["owner_id"] = account_id(v.cfg.owner_uid);  // EC2's OwnerId
  j["attached"] = v.attached();
  // A bridge (vhost-user guest) has no process of its own on the socket.
  j["owner_pid"] = v.attached() && !v.bridge ? nlohmann::json(v.owner_pid) : nlohmann::json(nullptr);
  j["started"] = v.started;
  j["active_queues"] = v.active_qps;
  j["dma_regions"] = v.dma ? v.dma->regions().size() : 0;
  j["promisc"] = (v.rx_mode & VENIC_VF_PROMISC) != 0;
  if (frontends_ && v.cfg.frontend != Frontend::kShm) j["vhost"] = frontends_->describe(v);
  if (auto ct = publisher_.conntrack_usage(v); !ct.is_null()) j["conntrack"] = ct;
  return j;
}

nlohmann::json VfTable::stats_json(const Vf& v) const {
  QueueCounters tx, rx;
  nlohmann::json txq = nlohmann::json::array(), rxq = nlohmann::json::array();
  for (uint32_t q = 0; q < v.cfg.queues; q++) {
    QueueCounters t = since(totals(QueueCounters{}, v.rt->txq[q].c), v.tx_base[q]);
    QueueCounters r = since(totals(QueueCounters{}, v.rt->rxq[q].c), v.rx_base[q]);
    txq.push_back({{"pkts", t.pkts}, {"bytes", t.bytes}, {"drops", drop_sum(t)}});
    rxq.push_back({{"pkts", r.pkts}, {"bytes", r.bytes}, {"drops", drop_sum(r)}});
    tx = totals(tx, t);
    rx = totals(rx, r);
  }
  nlohmann::json drops = nlohmann::json::object();
  for (int i = 0; i < VENIC_DROP_REASONS_MAX; i++)
    if (*venic_drop_name(i)) drops[venic_drop_name(i)] = tx.drops[i] + rx.drops[i];
  nlohmann::json allowance = nlohmann::json::object();
  for (int i = 0; i < VENIC_ALLOW_MAX; i++)
    if (kAllowanceNames[i]) allowance[kAllowanceNames[i]] = tx.allowance[i] + rx.allowance[i];
  return {{"vf", v.cfg.id},
          {"tx_pkts", tx.pkts},
          {"tx_bytes", tx.bytes},
          {"rx_pkts", rx.pkts},
          {"rx_bytes", rx.bytes},
          {"tx_zero_copy_pkts", tx.zero_copy_pkts},
          {"rx_zero_copy_pkts", rx.zero_copy_pkts},
          {"mdd_resets", v.rt->mdd_resets - v.mdd_base},
          {"drops", drops},
          {"allowance_exceeded", allowance},
          {"queues", {{"tx", txq}, {"rx", rxq}}}};
}

void VfTable::reset_stats(uint16_t id) {
  Vf& v = must_find(id);
  // Counters have one writer each (a worker); a reset moves the baseline.
  for (uint32_t q = 0; q < VENIC_MAX_QPS; q++) {
    v.tx_base[q] = totals(QueueCounters{}, v.rt->txq[q].c);
    v.rx_base[q] = totals(QueueCounters{}, v.rt->rxq[q].c);
  }
  v.mdd_base = v.rt->mdd_resets;
}

void VfTable::set_network(Network n) {
  if (n == *network_) return;
  network_ = std::make_shared<const Network>(std::move(n));
  publisher_.publish(*this);
}

}  // namespace venic::vf
