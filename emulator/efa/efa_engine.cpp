#include "efa_engine.h"

#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "control_methods.h"
#include "fault_guard.h"

namespace venic::efa {

namespace {

using vf::TableError;

constexpr uint32_t kBurst = 32;
// An RDMA transfer moves at most this much per poll, so a 1 GiB write does
// not keep the poller from every other queue pair.
constexpr uint64_t kRdmaChunk = 1u << 20;
constexpr uint64_t kMaxMrBytes = 1ull << 40;
// A poller looks at held deliveries at most this many at a time.
constexpr size_t kMaxHeld = 4096;
// SENDs of one QP parked while their targets have no receive buffer: the QP
// goes on with its other work meanwhile (SRD is unordered anyway), so a
// receiver that stops posting buffers stalls only what is addressed to it,
// until this many wait; then its sender's queue waits too.
constexpr uint32_t kMaxHeldPerQp = 64;
// RDMA bytes one pass moves at most, over every QP: a pass stays short.
constexpr uint64_t kRdmaBudgetPerPoll = 4u << 20;
// Contexts per VF (every rank of an instance, each with an MTL and a BTL
// domain) and per control connection.
constexpr size_t kMaxContextsPerVf = 256;
constexpr size_t kMaxContextsPerSession = 16;
// Contexts of one uid over every VF and connection (root and venicd's uid
// are not capped): each holds an fd and a region, which others need too.
constexpr size_t kMaxContextsPerUid = 64;
// Memory objects one context's registrations may map into the daemon: the
// daemon's address space is shared by every tenant.
constexpr uint64_t kMaxMappedBytesPerContext = 64ull << 30;
// A chunk posted to an assisted registration's owner waits this long for its
// driver's answer (it answers from its progress calls); then the transfer
// fails REMOTE_ABORT and the initiator's queue goes on.
constexpr auto kAssistTimeout = std::chrono::seconds(10);
// EFA ENIs on other hosts an engine knows at once (address handles
// VENIC_MAX_VFS and up), and SENDs to them one QP has in flight.
constexpr size_t kMaxRemotePeers = 4096;
constexpr uint32_t kMaxRemotePerQp = VENIC_EFA_SQ_DEPTH;
// Views retired without a grace period (Retire::kLater) before one is
// waited for: bounds their memory.
constexpr size_t kMaxRetiredViews = 64;

// Random 32 bits from the kernel: keys a tenant must not guess.
uint32_t random_u32() {
  uint32_t v = 0;
  while (::getrandom(&v, sizeof(v), 0) != sizeof(v)) {
  }
  return v;
}

// A copy of an entry the process wrote, taken once: the compiler barrier
// keeps later uses on the copy, never a fresh load of shared memory.
template <typename T>
T read_once(const T* shared) {
  T v;
  std::memcpy(&v, shared, sizeof(T));
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return v;
}

// The real, effective, saved and filesystem uids of a process ("Uid:" in
// /proc/<pid>/status); false when unreadable.
bool process_uids(pid_t pid, int64_t (&uids)[4]) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "re");
  if (!f) return false;
  char line[256];
  bool found = false;
  while (std::fgets(line, sizeof(line), f))
    if (std::sscanf(line, "Uid: %ld %ld %ld %ld", &uids[0], &uids[1], &uids[2], &uids[3]) == 4) {
      found = true;
      break;
    }
  std::fclose(f);
  return found;
}

// Whether every uid of pid is `uid` (a setuid program the process exec'd
// since it connected is not it any more).
bool runs_as(pid_t pid, int64_t uid) {
  int64_t u[4];
  if (!process_uids(pid, u)) return false;
  for (int64_t x : u)
    if (x != uid) return false;
  return true;
}

uint64_t ns(EfaEngine::Clock::time_point t) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

const nlohmann::json& field(const nlohmann::json& p, const char* name) {
  if (!p.contains(name)) throw TableError("invalid_params", std::string(name) + ": missing");
  return p[name];
}

uint64_t u64(const nlohmann::json& p, const char* name, uint64_t max) {
  const auto& v = field(p, name);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    throw TableError("invalid_params", std::string(name) + ": must be a non-negative integer");
  uint64_t x = v.get<uint64_t>();
  if (x > max) throw TableError("invalid_params", std::string(name) + ": " + std::to_string(x) + " is too large");
  return x;
}

void only(const nlohmann::json& p, std::initializer_list<const char*> allowed) {
  for (const auto& item : p.items()) {
    const std::string& k = item.key();  // not a structured binding: clang 14 (ci/fuzz) cannot capture one
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; }) == allowed.end())
      throw TableError("invalid_params", "unknown parameter '" + k + "'");
  }
}

std::string hex(const uint8_t* b, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) s += d[b[i] >> 4], s += d[b[i] & 15];
  return s;
}

bool parse_gid(const std::string& s, uint8_t (&gid)[VENIC_EFA_GID_SIZE]) {
  if (s.size() != 2 * VENIC_EFA_GID_SIZE) return false;
  for (size_t i = 0; i < VENIC_EFA_GID_SIZE; i++) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = nib(s[2 * i]), lo = nib(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    gid[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool is_efa(const vf::VfConfig& c) {
  return c.type == vf::Personality::kEfa;
}

uint64_t mac_key(const vf::MacAddr& m) {
  uint64_t v = 0;
  for (uint8_t b : m) v = v << 8 | b;
  return v;
}

bool inside(const uint64_t va, uint64_t len, uint64_t lo, uint64_t size) {
  return va >= lo && len <= size && va - lo <= size - len;
}

}  // namespace

EfaEngine::EfaEngine(std::function<void()> synchronize, std::function<void(std::function<void()>)> defer)
    : synchronize_(std::move(synchronize)), defer_(std::move(defer)) {
  // RDMA touches memory objects their owners can truncate (SIGBUS).
  common::install_fault_guard();
  publish();
}

EfaEngine::Mapping::~Mapping() {
  if (map) ::munmap(map, map_len);
}

EfaEngine::~EfaEngine() {
  current_.store(nullptr, std::memory_order_release);
  if (synchronize_) synchronize_();
}

void EfaEngine::gid_of(const vf::VfConfig& c, uint8_t (&gid)[VENIC_EFA_GID_SIZE]) {
  gid_of(c.mac, gid);
}

void EfaEngine::gid_of(const vf::MacAddr& mac, uint8_t (&gid)[VENIC_EFA_GID_SIZE]) {
  // fe80::/64 with the MAC's modified EUI-64: stable for an ENI, which keeps
  // its MAC wherever it is attached (on this host or another).
  std::memset(gid, 0, VENIC_EFA_GID_SIZE);
  gid[0] = 0xfe;
  gid[1] = 0x80;
  gid[8] = mac[0] ^ 0x02;
  gid[9] = mac[1];
  gid[10] = mac[2];
  gid[11] = 0xff;
  gid[12] = 0xfe;
  gid[13] = mac[3];
  gid[14] = mac[4];
  gid[15] = mac[5];
}

// ------------------------------------------------------------ control side --

void EfaEngine::on_table(const vf::VfTable& table) {
  std::array<VfPolicy, VENIC_MAX_VFS> pol{};
  std::array<std::optional<vf::VfConfig>, VENIC_MAX_VFS> cfgs{};
  for (auto& [id, v] : table.all()) {
    cfgs[id] = v->cfg;
    VfPolicy& p = pol[id];
    p.efa = is_efa(v->cfg) && v->cfg.link_up;
    p.reachable_needs_group = v->cfg.security.enforced;
    p.os_bypass = v->cfg.security.efa_os_bypass;
    p.subnet = v->cfg.subnet();
    p.prefix = v->cfg.prefix;
    p.vpc = v->cfg.vpc_id;
    p.mac = v->cfg.mac;
    const uint64_t bytes_per_s = v->cfg.limits.bw_out_mbps * 125000;
    p.bw =
        vf::BucketProfile::make(bytes_per_s, std::max<uint64_t>(bytes_per_s / 100, 2 * VENIC_EFA_MTU), 1000000000ull);
  }
  policy_ = pol;
  // EFA ENIs on other hosts keep their address handle while they stay known.
  std::map<std::string, uint16_t> slots;
  std::vector<bool> used(kMaxRemotePeers);
  for (const vf::RemoteEni& r : table.network()->remote) {
    auto it = remote_slot_.find(r.eni_id);
    if (r.efa && it != remote_slot_.end()) slots[r.eni_id] = it->second, used[it->second] = true;
  }
  auto set = std::make_shared<RemoteSet>();
  set->peers.resize(remote_->peers.size());
  size_t next_free = 0;
  for (const vf::RemoteEni& r : table.network()->remote) {
    if (!r.efa) continue;
    if (!slots.count(r.eni_id)) {
      while (next_free < kMaxRemotePeers && used[next_free]) next_free++;
      if (next_free == kMaxRemotePeers) continue;  // more than an engine addresses: unreachable from here
      used[next_free] = true;
      slots[r.eni_id] = static_cast<uint16_t>(next_free);
    }
    const uint16_t i = slots[r.eni_id];
    if (set->peers.size() <= i) set->peers.resize(i + 1);
    set->peers[i] = RemotePeer{true, r.mac, r.vpc_id, r.eni_id, r.subnet_addr, r.prefix};
    set->by_mac[mac_key(r.mac)] = static_cast<uint16_t>(VENIC_MAX_VFS + i);
  }
  const auto& old = remote_->peers;
  const bool remote_changed =
      set->peers.size() != old.size() ||
      !std::equal(set->peers.begin(), set->peers.end(), old.begin(), [](const RemotePeer& a, const RemotePeer& b) {
        return a.live == b.live && a.mac == b.mac && a.vpc == b.vpc && a.eni == b.eni && a.subnet == b.subnet &&
               a.prefix == b.prefix;
      });
  remote_slot_ = std::move(slots);
  remote_ = std::move(set);
  const auto before = vfs_;
  vfs_ = cfgs;
  // Contexts of VFs that went away die now (their processes see link down);
  // freed only once the poller is out of their rings.
  std::vector<std::unique_ptr<Context>> dead;
  for (auto it = ctxs_.begin(); it != ctxs_.end();) {
    const auto& now_cfg = vfs_[it->second->vf];
    const auto& was = before[it->second->vf];
    // Kept while the VF is the same device of the same owner: not deleted,
    // still EFA, link up (an ENI detached or its instance stopped takes it
    // down), and neither its ENI nor who may open it changed.
    const bool same = now_cfg && is_efa(*now_cfg) && now_cfg->link_up &&
                      (!was || (was->eni_id == now_cfg->eni_id && was->attacher() == now_cfg->attacher()));
    if (same) {
      ++it;
      continue;
    }
    __atomic_store_n(&it->second->region->regs()->link_status, VENIC_LINK_DOWN, __ATOMIC_RELEASE);
    dead.push_back(std::move(it->second));
    it = ctxs_.erase(it);
  }
  // The poller reads policy only for queue pairs: with none (no EFA in use),
  // a VF change costs no second grace period on the control thread.
  bool qps = !dead.empty() || (remote_changed && srd_);
  for (auto& [id, ctx] : ctxs_)
    for (auto& q : ctx->qp) qps |= q != nullptr;
  // Only this thread publishes: one relaxed read of the current view is enough.
  const View* cur = current_.load(std::memory_order_relaxed);
  if (qps || (cur && !cur->qps.empty()))
    publish(Retire::kAfterGrace, std::make_shared<std::vector<std::unique_ptr<Context>>>(std::move(dead)));
}

bool EfaEngine::reachable(const View& v, uint16_t src, uint16_t dst) const {
  const VfPolicy &a = v.vf[src], &b = v.vf[dst];
  if (!a.efa || !b.efa) return false;
  // EFA's OS-bypass traffic does not leave its subnet, and an ENI's groups
  // must let it through (a self-referencing all-traffic rule).
  if (a.vpc != b.vpc || a.prefix != b.prefix || a.subnet != b.subnet) return false;
  if (a.reachable_needs_group && !a.os_bypass) return false;
  if (b.reachable_needs_group && !b.os_bypass) return false;
  return true;
}

bool EfaEngine::reachable_remote(const View& v, uint16_t src, const RemotePeer& r) {
  // The same rules as between two local VFs; the other host checks its side.
  const VfPolicy& a = v.vf[src];
  if (!a.efa || !r.live) return false;
  if (a.vpc != r.vpc || a.prefix != r.prefix || a.subnet != r.subnet) return false;
  return !a.reachable_needs_group || a.os_bypass;
}

EfaEngine::Context& EfaEngine::own_context(const nlohmann::json& p, uint64_t session) {
  uint64_t id = u64(p, "ctx", UINT32_MAX);
  auto it = ctxs_.find(static_cast<uint32_t>(id));
  if (it == ctxs_.end()) throw TableError("not_found", "no EFA context " + std::to_string(id));
  if (it->second->session != session)
    throw TableError("permission_denied", "EFA context " + std::to_string(id) + " belongs to another connection");
  return *it->second;
}

void EfaEngine::publish(Retire retire, std::shared_ptr<void> dead) {
  auto v = std::make_unique<View>();
  v->vf = policy_;
  for (const VfPolicy& p : policy_) v->timed |= p.efa && p.bw.limited();
  for (auto& [id, c] : ctxs_) {
    const auto& L = c->region->layout();
    v->keep.push_back(c->mrs);
    for (uint16_t q = 0; q < VENIC_EFA_MAX_QPS; q++) {
      QpRt* rt = c->qp[q].get();
      if (!rt) continue;
      QpView qv;
      qv.ctx = c.get();
      qv.rt = rt;
      qv.index = q;
      qv.sq = c->region->ring(L.qp[q].sq_off);
      qv.sqe = c->region->entries<venic_efa_wqe>(L.qp[q].sq_off);
      qv.sq_buf = c->region->bytes(L.qp[q].sq_buf_off);
      qv.rq = c->region->ring(L.qp[q].rq_off);
      qv.rqe = c->region->entries<venic_efa_rwqe>(L.qp[q].rq_off);
      qv.rq_buf = c->region->bytes(L.qp[q].rq_buf_off);
      qv.stage = c->region->bytes(L.stage_off + uint64_t(q) * L.stage_qp_bytes);
      qv.scq = {c->region->ring(L.cq_off[rt->send_cq]), c->region->entries<venic_efa_cqe>(L.cq_off[rt->send_cq]),
                c->cq[rt->send_cq].get()};
      qv.rcq = {c->region->ring(L.cq_off[rt->recv_cq]), c->region->entries<venic_efa_cqe>(L.cq_off[rt->recv_cq]),
                c->cq[rt->recv_cq].get()};
      qv.mrs = c->mrs.get();
      v->by_addr[uint32_t(c->vf) << 16 | rt->qpn] = static_cast<uint32_t>(v->qps.size());
      v->qps.push_back(qv);
    }
  }
  if (srd_) {
    v->remote = remote_;
    for (uint16_t i = 0; i < VENIC_MAX_VFS; i++)
      if (policy_[i].efa) v->local_by_mac[mac_key(policy_[i].mac)] = i;
  }
  const View* fresh = v.release();
  current_.store(fresh, std::memory_order_release);
  // A change that frees nothing the poller may hold (a new QP or
  // registration) retires the old view without waiting for the poller; a
  // grace period frees the retired ones with the next change that must wait,
  // or once too many are waiting.
  if (owned_) retired_.push_back(std::move(owned_));
  owned_.reset(fresh);
  if (retire == Retire::kLater && retired_.size() < kMaxRetiredViews) return;
  if (retire != Retire::kNow && defer_) {
    // Freed once every poller has passed a quiescent state, without the
    // control thread waiting for it (a starved worker stalls no request).
    auto views = std::make_shared<std::vector<std::unique_ptr<const View>>>(std::move(retired_));
    retired_.clear();
    defer_([views, dead] {});
    return;
  }
  if (synchronize_) synchronize_();
  retired_.clear();
}

void EfaEngine::close_session(uint64_t session) {
  std::vector<uint32_t> ids;
  for (auto& [id, c] : ctxs_)
    if (c->session == session) ids.push_back(id);
  if (ids.empty()) return;
  auto dead = std::make_shared<std::vector<std::unique_ptr<Context>>>();
  for (uint32_t id : ids) {
    dead->push_back(std::move(ctxs_[id]));
    ctxs_.erase(id);
  }
  publish(Retire::kAfterGrace, dead);
}

nlohmann::json EfaEngine::call(const std::string& method, const nlohmann::json& p, uint64_t session, pid_t pid,
                               int64_t uid, std::vector<int>& fds_out, uint64_t start_time,
                               std::vector<UniqueFd>* fds_in) {
  const bool privileged = uid == 0 || uid == static_cast<int64_t>(::geteuid());
  if (method == "open") {
    only(p, {"vf", "instance"});
    std::optional<uint16_t> vf;
    if (p.contains("instance")) {
      if (!p["instance"].is_string()) throw TableError("invalid_params", "instance: must be a string");
      const std::string inst = p["instance"].get<std::string>();
      if (resolve_instance_) vf = resolve_instance_(inst);
      if (!vf) throw TableError("not_found", "instance '" + inst + "' has no EFA interface attached");
    } else if (p.contains("vf")) {
      vf = static_cast<uint16_t>(u64(p, "vf", VENIC_MAX_VFS - 1));
    } else {
      for (uint16_t i = 0; i < VENIC_MAX_VFS && !vf; i++)
        if (vfs_[i] && is_efa(*vfs_[i]) && (privileged || uid == vfs_[i]->attacher())) vf = i;
      if (!vf) throw TableError("not_found", "no EFA VF exists (create one with type efa)");
    }
    if (!vfs_[*vf]) throw TableError("not_found", "no VF " + std::to_string(*vf));
    const vf::VfConfig& c = *vfs_[*vf];
    if (!is_efa(c)) throw TableError("invalid_request", "VF " + std::to_string(*vf) + " is not an EFA device");
    if (!c.link_up)
      throw TableError("busy", "VF " + std::to_string(*vf) + " is down (its ENI is detached or its instance stopped)");
    // Who may attach the VF (its instance's owner, or a plain VF's owner)
    // opens contexts on it; root and venicd's uid manage all.
    if (!privileged && uid != c.attacher())
      throw TableError("permission_denied", "VF " + std::to_string(*vf) +
                                                (c.eni_id.empty() ? "" : " backs " + c.eni_id) + ": uid " +
                                                std::to_string(uid) + " may not open it (its owner is uid " +
                                                std::to_string(c.attacher()) + ")");
    size_t on_vf = 0, on_session = 0, of_uid = 0;
    for (auto& [id, x] : ctxs_) on_vf += x->vf == *vf, on_session += x->session == session, of_uid += x->uid == uid;
    if (!privileged && of_uid >= kMaxContextsPerUid)
      throw TableError("limit", "uid " + std::to_string(uid) + " has " + std::to_string(kMaxContextsPerUid) +
                                    " open EFA contexts; close some first");
    if (on_vf >= kMaxContextsPerVf)
      throw TableError("limit",
                       "VF " + std::to_string(*vf) + " has " + std::to_string(kMaxContextsPerVf) + " open contexts");
    if (on_session >= kMaxContextsPerSession)
      throw TableError("limit", "this connection has " + std::to_string(kMaxContextsPerSession) +
                                    " open contexts; open more connections");
    // The context is the connecting process's, as it is now (its memory is
    // reached only through what it registers, never through its pid).
    if (start_time && control::process_start_time(pid) != start_time)
      throw TableError("permission_denied", "the process that opened this connection (pid " + std::to_string(pid) +
                                                ") is gone (start time " + std::to_string(start_time) + ", now " +
                                                std::to_string(control::process_start_time(pid)) + ")");
    if (uid != 0 && !runs_as(pid, uid))
      throw TableError("permission_denied", "pid " + std::to_string(pid) + " no longer runs as uid " +
                                                std::to_string(uid) + " only (it exec'd a setuid program?)");
    auto ctx = std::make_unique<Context>();
    ctx->id = next_ctx_++;
    ctx->vf = *vf;
    ctx->session = session;
    ctx->pid = pid;
    ctx->uid = uid;
    uint8_t gid[VENIC_EFA_GID_SIZE];
    gid_of(c, gid);
    ctx->region = std::make_unique<EfaRegion>(*vf, ctx->id, gid, 100000);
    fds_out.push_back(ctx->region->fd());
    nlohmann::json r = {{"ctx", ctx->id},
                        {"vf", *vf},
                        {"gid", hex(gid, sizeof(gid))},
                        {"region_size", ctx->region->size()},
                        {"eni", c.eni_id}};
    ctxs_.emplace(ctx->id, std::move(ctx));
    return r;  // nothing to publish: no queue pair yet
  }
  if (method == "create_cq") {
    only(p, {"ctx"});
    Context& c = own_context(p, session);
    for (uint32_t i = 0; i < VENIC_EFA_MAX_CQS; i++) {
      if (c.cq[i]) continue;
      c.region->reset_cq(i);
      c.cq[i] = std::make_unique<CqRt>();
      return {{"cq", i}, {"depth", VENIC_EFA_CQ_DEPTH}};
    }
    throw TableError("limit", "context has " + std::to_string(VENIC_EFA_MAX_CQS) + " completion queues already");
  }
  if (method == "destroy_cq") {
    only(p, {"ctx", "cq"});
    Context& c = own_context(p, session);
    uint32_t cq = static_cast<uint32_t>(u64(p, "cq", VENIC_EFA_MAX_CQS - 1));
    if (!c.cq[cq]) throw TableError("not_found", "no CQ " + std::to_string(cq));
    for (auto& q : c.qp)
      if (q && (q->send_cq == cq || q->recv_cq == cq))
        throw TableError("busy", "CQ " + std::to_string(cq) + " is in use by a queue pair");
    c.cq[cq].reset();
    return {{"destroyed", cq}};
  }
  if (method == "create_qp") {
    only(p, {"ctx", "type", "send_cq", "recv_cq", "qkey", "rnr_retry"});
    Context& c = own_context(p, session);
    const auto& t = field(p, "type");
    if (!t.is_string() || (t != "srd" && t != "ud"))
      throw TableError("invalid_params", "type: must be \"srd\" or \"ud\"");
    uint32_t scq = static_cast<uint32_t>(u64(p, "send_cq", VENIC_EFA_MAX_CQS - 1));
    uint32_t rcq = static_cast<uint32_t>(u64(p, "recv_cq", VENIC_EFA_MAX_CQS - 1));
    if (!c.cq[scq] || !c.cq[rcq]) throw TableError("not_found", "send_cq or recv_cq was not created");
    uint32_t qkey = p.contains("qkey") ? static_cast<uint32_t>(u64(p, "qkey", UINT32_MAX)) : 0;
    const uint8_t rnr_retry = p.contains("rnr_retry")
                                  ? static_cast<uint8_t>(u64(p, "rnr_retry", VENIC_EFA_RNR_RETRY_INFINITE))
                                  : uint8_t{VENIC_EFA_RNR_RETRY_INFINITE};
    while (qkey == 0) qkey = random_u32();
    for (uint16_t i = 0; i < VENIC_EFA_MAX_QPS; i++) {
      if (c.qp[i]) continue;
      auto rt = std::make_unique<QpRt>();
      rt->type = t == "srd" ? VENIC_EFA_QP_SRD : VENIC_EFA_QP_UD;
      // QP numbers are per device (shared by its contexts) and random: a
      // stale peer's packets most likely find no QP rather than a new one,
      // and a number says nothing of its neighbours.
      uint16_t qpn = 0;
      for (int tries = 0; tries < 65536 && !qpn; tries++) {
        const uint16_t cand = static_cast<uint16_t>(random_u32());
        if (cand == 0) continue;
        bool used = false;
        for (auto& [id, x] : ctxs_)
          if (x->vf == c.vf)
            for (auto& q : x->qp) used |= q && q->qpn == cand;
        if (!used) qpn = cand;
      }
      rt->qpn = qpn;
      rt->qkey = qkey;
      rt->rnr_retry = rnr_retry;
      rt->send_cq = scq;
      rt->recv_cq = rcq;
      rt->generation = next_generation_++;
      c.region->reset_qp(i);
      c.qp[i] = std::move(rt);
      publish(Retire::kLater);  // frees nothing
      return {{"qp", i}, {"qpn", qpn}, {"qkey", qkey}, {"rnr_retry", rnr_retry}};
    }
    throw TableError("limit", "context has " + std::to_string(VENIC_EFA_MAX_QPS) + " queue pairs already");
  }
  if (method == "destroy_qp") {
    only(p, {"ctx", "qp"});
    Context& c = own_context(p, session);
    uint32_t qp = static_cast<uint32_t>(u64(p, "qp", VENIC_EFA_MAX_QPS - 1));
    if (!c.qp[qp]) throw TableError("not_found", "no QP " + std::to_string(qp));
    std::shared_ptr<QpRt> dead = std::move(c.qp[qp]);
    publish(Retire::kAfterGrace, dead);
    return {{"destroyed", qp}};
  }
  if (method == "create_ah") {
    only(p, {"ctx", "gid"});
    Context& c = own_context(p, session);
    const auto& g = field(p, "gid");
    uint8_t gid[VENIC_EFA_GID_SIZE];
    if (!g.is_string() || !parse_gid(g.get<std::string>(), gid))
      throw TableError("invalid_params", "gid: must be 32 hex digits");
    for (uint16_t i = 0; i < VENIC_MAX_VFS; i++) {
      if (!vfs_[i] || !is_efa(*vfs_[i])) continue;
      uint8_t other[VENIC_EFA_GID_SIZE];
      gid_of(*vfs_[i], other);
      if (std::memcmp(gid, other, sizeof(gid)) != 0) continue;
      View probe;
      probe.vf = policy_;
      if (!reachable(probe, c.vf, i))
        throw TableError("unreachable", "EFA device " + g.get<std::string>() + " (VF " + std::to_string(i) +
                                            ") is not reachable from VF " + std::to_string(c.vf) +
                                            ": OS-bypass traffic stays in one subnet and needs a security group "
                                            "that allows all traffic from itself");
      return {{"ah", i}};
    }
    for (size_t i = 0; srd_ && i < remote_->peers.size(); i++) {
      const RemotePeer& r = remote_->peers[i];
      uint8_t other[VENIC_EFA_GID_SIZE];
      gid_of(r.mac, other);
      if (!r.live || std::memcmp(gid, other, sizeof(gid)) != 0) continue;
      View probe;
      probe.vf = policy_;
      if (!reachable_remote(probe, c.vf, r))
        throw TableError("unreachable", "EFA device " + g.get<std::string>() + " (" + r.eni +
                                            " on another host) is not reachable from VF " + std::to_string(c.vf) +
                                            ": OS-bypass traffic stays in one subnet and needs a security group "
                                            "that allows all traffic from itself");
      return {{"ah", VENIC_MAX_VFS + i}, {"remote", true}};
    }
    throw TableError("not_found", "no EFA device has GID " + g.get<std::string>());
  }
  if (method == "reg_mr") return reg_mr(own_context(p, session), p, fds_in);
  if (method == "dereg_mr") {
    only(p, {"ctx", "lkey"});
    Context& c = own_context(p, session);
    uint32_t key = static_cast<uint32_t>(u64(p, "lkey", UINT32_MAX));
    if (!c.mrs->count(key)) throw TableError("not_found", "no registration with key " + std::to_string(key));
    auto m = std::make_shared<MrMap>(*c.mrs);
    auto it = m->find(key);
    const bool object = it->second.obj != nullptr;
    if (object) c.mapped_bytes -= it->second.len;
    m->erase(it);
    c.mrs = std::move(m);
    // As ibv_dereg_mr: once this returns no peer reaches a memory object
    // (its mapping goes with the last view that holds it).  An assisted
    // range was never reachable but through its owner's driver, which has
    // already forgotten it.
    publish(object ? Retire::kNow : Retire::kLater);
    return {{"deregistered", key}};
  }
  if (method == "hooks") {
    only(p, {"reorder", "reorder_percent", "delay_us"});
    // The hooks act on every process's traffic: only root or venicd's uid.
    if (p.size() && !privileged)
      throw TableError("permission_denied", "uid " + std::to_string(uid) + " may not change the EFA test hooks");
    if (p.contains("reorder")) {
      if (!p["reorder"].is_boolean()) throw TableError("invalid_params", "reorder: must be true or false");
      hook_reorder_ = p["reorder"].get<bool>();
    }
    if (p.contains("reorder_percent")) hook_percent_ = static_cast<uint32_t>(u64(p, "reorder_percent", 100));
    if (p.contains("delay_us")) hook_delay_us_ = static_cast<uint32_t>(u64(p, "delay_us", 1000000));
    return {{"reorder", hook_reorder_.load()},
            {"reorder_percent", hook_percent_.load()},
            {"delay_us", hook_delay_us_.load()}};
  }
  if (method == "list") {
    only(p, {});
    nlohmann::json list = nlohmann::json::array();
    for (auto& [id, c] : ctxs_) {
      if (!privileged && c->uid != uid) continue;  // others' processes are theirs
      nlohmann::json qps = nlohmann::json::array();
      for (uint16_t q = 0; q < VENIC_EFA_MAX_QPS; q++)
        if (c->qp[q])
          qps.push_back(
              {{"qp", q}, {"qpn", c->qp[q]->qpn}, {"type", c->qp[q]->type == VENIC_EFA_QP_SRD ? "srd" : "ud"}});
      list.push_back({{"ctx", id}, {"vf", c->vf}, {"pid", c->pid}, {"qps", qps}, {"mrs", c->mrs->size()}});
    }
    return {{"contexts", list}};
  }
  throw TableError("unknown_method", "unknown method 'efa." + method + "'");
}

uint32_t EfaEngine::fresh_key(const Context& c) const {
  // Random and unique in the context (lkey == rkey): a peer that was not
  // told a key finds it only by luck, one in four billion a probe.
  for (;;) {
    const uint32_t k = random_u32();
    if (k && !c.mrs->count(k)) return k;
  }
}

nlohmann::json EfaEngine::reg_mr(Context& c, const nlohmann::json& p, std::vector<UniqueFd>* fds_in) {
  only(p, {"ctx", "va", "len", "access", "offset"});
  const uint64_t va = u64(p, "va", UINT64_MAX), len = u64(p, "len", kMaxMrBytes);
  const uint32_t access = p.contains("access") ? static_cast<uint32_t>(u64(p, "access", 7)) : 0;
  if (len == 0 || va + len < va) throw TableError("invalid_params", "va/len: an empty or wrapping range");
  if (c.mrs->size() >= VENIC_EFA_MAX_MRS)
    throw TableError("limit", "context has " + std::to_string(VENIC_EFA_MAX_MRS) + " registrations already");
  const size_t nfds = fds_in ? fds_in->size() : 0;
  if (nfds > 1) throw TableError("invalid_params", "reg_mr takes one memory object fd at most");
  if (p.contains("offset") && nfds == 0) throw TableError("invalid_params", "offset: only with a memory object fd");
  Mr mr{va, len, access, nullptr};
  if (nfds == 1) {
    // A memory object: mapped with exactly the access granted, so a
    // registration without a write right can never write it.
    const int fd = (*fds_in)[0].get();
    const uint64_t offset = p.contains("offset") ? u64(p, "offset", INT64_MAX) : 0;
    struct stat st {};
    struct statfs fs {};
    if (::fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || ::fstatfs(fd, &fs) < 0 ||
        (fs.f_type != TMPFS_MAGIC && fs.f_type != HUGETLBFS_MAGIC))
      throw TableError("invalid_params", "the memory object is not memfd, tmpfs or hugetlbfs memory");
    if (offset > INT64_MAX - len || offset + len > static_cast<uint64_t>(st.st_size))
      throw TableError("bad_address", "[offset, offset + len) lies outside the memory object (" +
                                          std::to_string(st.st_size) + " bytes)");
    if (c.mapped_bytes + len > kMaxMappedBytesPerContext)
      throw TableError("limit", "context maps " + std::to_string(c.mapped_bytes >> 20) + " MiB of memory objects; " +
                                    std::to_string(kMaxMappedBytesPerContext >> 30) + " GiB at most");
    const uint64_t page = fs.f_type == HUGETLBFS_MAGIC ? static_cast<uint64_t>(fs.f_bsize) : VENIC_PAGE_SIZE;
    const uint64_t start = offset & ~(page - 1);
    const uint64_t map_len = (offset + len - start + page - 1) & ~(page - 1);
    const bool writable = access & (VENIC_EFA_ACCESS_LOCAL_WRITE | VENIC_EFA_ACCESS_REMOTE_WRITE);
    void* m =
        ::mmap(nullptr, map_len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, static_cast<off_t>(start));
    if (m == MAP_FAILED) {
      const int e = errno;
      if (e == EACCES || e == EPERM)
        throw TableError("access_denied", std::string("the memory object cannot be mapped ") +
                                              (writable ? "for writing (opened read-only or sealed)" : "for reading") +
                                              ": " + std::strerror(e));
      throw TableError("internal", std::string("mmap memory object: ") + std::strerror(e));
    }
    auto obj = std::make_shared<Mapping>();
    obj->map = static_cast<uint8_t*>(m);
    obj->map_len = map_len;
    obj->base = obj->map + (offset - start);
    mr.obj = std::move(obj);
    c.mapped_bytes += len;
  }
  auto m = std::make_shared<MrMap>(*c.mrs);
  const uint32_t key = fresh_key(c);
  const bool object = mr.obj != nullptr;
  m->emplace(key, std::move(mr));
  c.mrs = std::move(m);
  publish(Retire::kLater);  // frees nothing
  return {{"lkey", key}, {"rkey", key}, {"object", object}};
}

void EfaEngine::tick() {
  for (auto& [id, c] : ctxs_) {
    c->region->beat();
    venic_efa_stats* s = c->region->stats();
    const venic_efa_stats& mine = c->counters;
    const uint64_t* from = reinterpret_cast<const uint64_t*>(&mine);
    uint64_t* to = reinterpret_cast<uint64_t*>(s);
    for (size_t i = 0; i < sizeof(venic_efa_stats) / 8; i++)
      __atomic_store_n(&to[i], __atomic_load_n(&from[i], __ATOMIC_RELAXED), __ATOMIC_RELAXED);
  }
}

nlohmann::json EfaEngine::vf_stats(uint16_t vf) const {
  const EfaVfCounters& c = (*counters_)[vf];
  auto rd = [](const uint64_t& x) { return __atomic_load_n(&x, __ATOMIC_RELAXED); };
  size_t open = 0;
  for (auto& [id, x] : ctxs_) open += x->vf == vf;
  return {{"contexts", open},
          {"tx_msgs", rd(c.tx_msgs)},
          {"tx_bytes", rd(c.tx_bytes)},
          {"rx_msgs", rd(c.rx_msgs)},
          {"rx_bytes", rd(c.rx_bytes)},
          {"rdma_write_bytes", rd(c.rdma_write_bytes)},
          {"rdma_read_bytes", rd(c.rdma_read_bytes)},
          {"rnr_retries", rd(c.rnr_retries)},
          {"errors", rd(c.errors)},
          {"unreachable", rd(c.unreachable)},
          {"reordered", rd(c.reordered)},
          {"bad_keys", rd(c.bad_keys)},
          {"bad_keys_in", rd(c.bad_keys_in)},
          {"assists", rd(c.assists)},
          {"bw_out_allowance_exceeded", rd(c.bw_exceeded)}};
}

// ------------------------------------------------------------- the poller --

namespace {
inline void bump(uint64_t& c, uint64_t n = 1) {
  __atomic_store_n(&c, __atomic_load_n(&c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
}  // namespace

bool EfaEngine::cq_has_room(const CqView& c, uint32_t n) {
  const uint32_t cons = __atomic_load_n(&c.ring->cons, __ATOMIC_ACQUIRE);
  const uint32_t used = c.rt->prod - cons;
  // A consumer index ahead of what we produced is the process's bug: treat
  // the CQ as full rather than overwrite what it has not read.
  return used <= VENIC_EFA_CQ_DEPTH && VENIC_EFA_CQ_DEPTH - used >= n;
}

void EfaEngine::post_cqe(const CqView& c, const venic_efa_cqe& e) {
  c.cqe[c.rt->prod & (VENIC_EFA_CQ_DEPTH - 1)] = e;
  c.rt->prod++;
  __atomic_store_n(&c.ring->prod, c.rt->prod, __ATOMIC_RELEASE);
}

void EfaEngine::complete_send(const QpView& q, const venic_efa_wqe& w, uint8_t status) {
  venic_efa_cqe e{};
  e.wr_id = w.wr_id;
  switch (w.opcode) {
    case VENIC_EFA_OP_RDMA_WRITE:
    case VENIC_EFA_OP_RDMA_WRITE_IMM:
      e.opcode = VENIC_EFA_WC_RDMA_WRITE;
      break;
    case VENIC_EFA_OP_RDMA_READ:
      e.opcode = VENIC_EFA_WC_RDMA_READ;
      break;
    default:
      e.opcode = VENIC_EFA_WC_SEND;
  }
  e.status = status;
  e.qp = q.index;
  e.byte_len = w.length;
  const bool inline_src = w.opcode != VENIC_EFA_OP_RDMA_READ && (w.flags & VENIC_EFA_WQE_F_INLINE);
  if (w.opcode >= VENIC_EFA_OP_RDMA_WRITE && w.opcode <= VENIC_EFA_OP_RDMA_READ && !inline_src &&
      (w.flags & VENIC_EFA_WQE_F_STAGED)) {
    // The driver frees the staging space (and copies a read's data out) on this.
    e.flags = VENIC_EFA_CQE_F_STAGED;
    e.slot = static_cast<uint32_t>(w.stage_off);
  }
  if (status != VENIC_EFA_WC_SUCCESS) {
    bump(q.ctx->counters.send_errors);
    bump((*counters_)[q.ctx->vf].errors);
  }
  post_cqe(q.scq, e);
}

EfaEngine::Outcome EfaEngine::deliver_send(const View& v, const QpView* src, uint16_t src_vf, uint16_t src_qpn,
                                           const QpView& dst, const venic_efa_wqe& w, const uint8_t* payload,
                                           bool count_rnr) {
  (void)v;
  const bool srd = dst.rt->type == VENIC_EFA_QP_SRD;
  // A send to itself (or between QPs sharing a CQ) posts two entries there.
  const bool one_cq = src && src->scq.rt == dst.rcq.rt;
  if (!cq_has_room(dst.rcq, one_cq ? 2 : 1) || (src && !cq_has_room(src->scq))) {
    if (srd) return Outcome::kRetry;
    if (src) complete_send(*src, w, VENIC_EFA_WC_SUCCESS);  // a datagram lost on the way
    return Outcome::kDone;
  }
  const uint32_t rq_prod = __atomic_load_n(&dst.rq->prod, __ATOMIC_ACQUIRE);
  venic_efa_rwqe r{};
  for (;;) {
    if (rq_prod == dst.rt->rq_cons || rq_prod - dst.rt->rq_cons > VENIC_EFA_RQ_DEPTH) {
      // No buffer: SRD waits for one (RNR retry); UD drops.
      if (srd) {
        if (src && count_rnr && !src->rt->stalled) {
          bump(src->ctx->counters.rnr_retries);
          bump((*counters_)[src_vf].rnr_retries);
          src->rt->stalled = true;
        }
        return Outcome::kRnr;
      }
      if (src) complete_send(*src, w, VENIC_EFA_WC_SUCCESS);
      return Outcome::kDone;
    }
    r = read_once(&dst.rqe[dst.rt->rq_cons & (VENIC_EFA_RQ_DEPTH - 1)]);
    dst.rt->rq_cons++;
    __atomic_store_n(&dst.rq->cons, dst.rt->rq_cons, __ATOMIC_RELEASE);
    if (r.slot < VENIC_EFA_RQ_DEPTH) break;
    bump(dst.ctx->counters.send_errors);  // a malformed receive buffer: skipped
    bump((*counters_)[dst.ctx->vf].errors);
  }
  std::memcpy(dst.rq_buf + uint64_t(r.slot) * VENIC_EFA_MTU, payload, w.length);
  venic_efa_cqe e{};
  e.wr_id = r.wr_id;
  e.opcode = VENIC_EFA_WC_RECV;
  e.qp = dst.index;
  e.byte_len = w.length;
  if (w.opcode == VENIC_EFA_OP_SEND_IMM) e.imm = w.imm, e.flags = VENIC_EFA_CQE_F_IMM;
  e.src_qpn = src_qpn;
  e.src_ah = src_vf;
  e.slot = r.slot;
  post_cqe(dst.rcq, e);
  bump(dst.ctx->counters.rx_msgs);
  bump(dst.ctx->counters.rx_bytes, w.length);
  bump((*counters_)[dst.ctx->vf].rx_msgs);
  bump((*counters_)[dst.ctx->vf].rx_bytes, w.length);
  if (src_vf < VENIC_MAX_VFS) {  // (a message from another host names its address handle)
    bump((*counters_)[src_vf].tx_msgs);
    bump((*counters_)[src_vf].tx_bytes, w.length);
  }
  if (src) {
    bump(src->ctx->counters.tx_msgs);
    bump(src->ctx->counters.tx_bytes, w.length);
    complete_send(*src, w, VENIC_EFA_WC_SUCCESS);
  }
  return Outcome::kDone;
}

EfaEngine::Outcome EfaEngine::end_rdma(const QpView& q, uint8_t status) {
  if (!cq_has_room(q.scq)) return Outcome::kRetry;  // the transfer stays active until it can complete
  complete_send(q, q.rt->rdma, status);
  q.rt->rdma_active = false;
  q.rt->rdma_done = 0;
  return Outcome::kDone;
}

EfaEngine::Outcome EfaEngine::start_rdma(const View& v, const QpView& q, const venic_efa_wqe& w, const uint8_t* slot,
                                         Clock::time_point now) {
  const bool inline_src = w.opcode != VENIC_EFA_OP_RDMA_READ && (w.flags & VENIC_EFA_WQE_F_INLINE);
  const bool staged = !inline_src && (w.flags & VENIC_EFA_WQE_F_STAGED);
  if ((inline_src && w.length > VENIC_EFA_MTU) ||
      (staged && (w.stage_off > kStageQpBytes || w.length > kStageQpBytes - w.stage_off))) {
    complete_send(q, w, VENIC_EFA_WC_BAD_WQE);
    return Outcome::kDone;
  }
  q.rt->rdma_active = true;
  q.rt->rdma = w;
  q.rt->rdma_done = 0;
  return step_rdma(v, q, slot, now);
}

void EfaEngine::moved(const QpView& q, uint64_t n) {
  const bool read = q.rt->rdma.opcode == VENIC_EFA_OP_RDMA_READ;
  q.rt->rdma_done += n;
  bump(read ? q.ctx->counters.rdma_read_bytes : q.ctx->counters.rdma_write_bytes, n);
  bump(read ? (*counters_)[q.ctx->vf].rdma_read_bytes : (*counters_)[q.ctx->vf].rdma_write_bytes, n);
  q.rt->stalled = false;
}

uint8_t* EfaEngine::local_bytes(const QpView& q, const uint8_t* slot, uint64_t off) const {
  const venic_efa_wqe& w = q.rt->rdma;
  const bool read = w.opcode == VENIC_EFA_OP_RDMA_READ;
  if (!read && (w.flags & VENIC_EFA_WQE_F_INLINE)) return const_cast<uint8_t*>(slot) + off;
  if (w.flags & VENIC_EFA_WQE_F_STAGED) return q.stage + w.stage_off + off;  // bounds checked at start
  // Otherwise only an object-backed lkey: private memory is the driver's to
  // copy (it stages), never the daemon's to reach.
  auto lmr = q.mrs->find(w.lkey);
  if (lmr == q.mrs->end() || !lmr->second.obj) return nullptr;
  return lmr->second.obj->base + (w.laddr - lmr->second.va) + off;
}

bool EfaEngine::assist_slot_free(const View& v, const Context& c, uint32_t i) const {
  const AssistRt& a = c.assist[i];
  // Not answered yet: the driver may still be copying into or out of it.
  if (__atomic_load_n(&c.region->assist(i)->done, __ATOMIC_ACQUIRE) != a.seq) return false;
  if (!a.owner) return true;
  // Answered, and its initiator gave up on it or is gone (destroyed QP).
  for (const QpView& x : v.qps)
    if (x.rt == a.owner) return x.rt->assist_slot < 0 || x.rt->assist_ctx != c.id;
  return true;
}

EfaEngine::Outcome EfaEngine::assist_step(const View& v, const QpView& q, const QpView& dst, uint64_t n, uint8_t* local,
                                          Clock::time_point now) {
  const venic_efa_wqe& w = q.rt->rdma;
  const bool read = w.opcode == VENIC_EFA_OP_RDMA_READ;
  Context& t = *dst.ctx;
  if (q.rt->assist_slot >= 0) {
    // A chunk is out at the target's driver: its answer?
    const uint32_t i = static_cast<uint32_t>(q.rt->assist_slot);
    venic_efa_assist* h = t.region->assist(i);
    if (__atomic_load_n(&h->done, __ATOMIC_ACQUIRE) != t.assist[i].seq) {
      if (now - q.rt->assist_since < kAssistTimeout) return Outcome::kRetry;
      q.rt->assist_slot = -1;  // the slot is reclaimed once the driver answers
      assists_waiting_--;
      return end_rdma(q, VENIC_EFA_WC_REMOTE_ABORT);
    }
    const uint8_t status = __atomic_load_n(&h->status, __ATOMIC_RELAXED);
    const uint32_t len = q.rt->assist_len;  // ours, never the shared copy
    q.rt->assist_slot = -1;
    t.assist[i].owner = nullptr;
    assists_waiting_--;
    if (status != VENIC_EFA_WC_SUCCESS) return end_rdma(q, VENIC_EFA_WC_REMOTE_ACCESS);
    if (read && !common::guarded_copy(local, t.region->assist_data(i), len))
      return end_rdma(q, VENIC_EFA_WC_LOCAL_PROT);
    moved(q, len);
    bump((*counters_)[t.vf].assists);
    return Outcome::kDone;
  }
  uint32_t i = 0;
  while (i < VENIC_EFA_ASSIST_SLOTS && !assist_slot_free(v, t, i)) i++;
  if (i == VENIC_EFA_ASSIST_SLOTS) return Outcome::kRetry;  // every slot out: next pass
  n = std::min<uint64_t>(n, VENIC_EFA_ASSIST_BYTES);
  const uint64_t off = q.rt->rdma_done;
  if (!read && !common::guarded_copy(t.region->assist_data(i), local, n)) return end_rdma(q, VENIC_EFA_WC_LOCAL_PROT);
  venic_efa_assist* h = t.region->assist(i);
  h->op = read ? VENIC_EFA_ASSIST_READ : VENIC_EFA_ASSIST_WRITE;
  h->status = 0;
  h->rkey = w.rkey;
  h->addr = w.raddr + off;
  h->len = static_cast<uint32_t>(n);
  t.assist[i].seq++;
  t.assist[i].owner = q.rt;
  __atomic_store_n(&h->seq, t.assist[i].seq, __ATOMIC_RELEASE);
  q.rt->assist_slot = static_cast<int>(i);
  q.rt->assist_ctx = t.id;
  q.rt->assist_len = static_cast<uint32_t>(n);
  q.rt->assist_since = now == Clock::time_point{} ? Clock::now() : now;  // this pass may not have read the clock
  assists_waiting_++;
  return Outcome::kRetry;
}

EfaEngine::Outcome EfaEngine::step_rdma(const View& v, const QpView& q, const uint8_t* slot, Clock::time_point now) {
  const venic_efa_wqe& w = q.rt->rdma;
  const bool read = w.opcode == VENIC_EFA_OP_RDMA_READ;
  const bool with_imm = w.opcode == VENIC_EFA_OP_RDMA_WRITE_IMM;
  const bool started = q.rt->rdma_done || q.rt->assist_slot >= 0;
  auto give_up = [&](uint8_t status) {
    if (q.rt->assist_slot >= 0) q.rt->assist_slot = -1, assists_waiting_--;  // reclaimed once answered
    return end_rdma(q, started ? uint8_t{VENIC_EFA_WC_REMOTE_ABORT} : status);
  };
  // The target is looked up again for every chunk: it may have gone away.
  if (!reachable(v, q.ctx->vf, w.dest_ah)) return give_up(VENIC_EFA_WC_UNREACHABLE);
  const QpView* dst = v.find(w.dest_ah, w.dest_qpn);
  // A wrong QP number, qkey or rkey all answer REMOTE_ACCESS: a probe learns
  // nothing of which part it got right.
  auto rmr = dst ? dst->mrs->find(w.rkey) : q.mrs->end();
  if (!dst || dst->rt->type != VENIC_EFA_QP_SRD || dst->rt->qkey != w.qkey || rmr == dst->mrs->end()) {
    if (!started && stale(v)) return Outcome::kRetry;  // published after this pass began: the next pass sees it
    if (!started) {
      bump((*counters_)[q.ctx->vf].bad_keys);
      bump((*counters_)[w.dest_ah].bad_keys_in);
    }
    return give_up(VENIC_EFA_WC_REMOTE_ACCESS);
  }
  // So are the registrations (one may be deregistered mid-transfer).
  if (!(rmr->second.access & (read ? VENIC_EFA_ACCESS_REMOTE_READ : VENIC_EFA_ACCESS_REMOTE_WRITE)) ||
      !inside(w.raddr, w.length, rmr->second.va, rmr->second.len)) {
    if (!started && stale(v)) return Outcome::kRetry;
    return give_up(VENIC_EFA_WC_REMOTE_ACCESS);
  }
  if (q.rt->assist_slot >= 0 && q.rt->assist_ctx != dst->ctx->id) return give_up(VENIC_EFA_WC_REMOTE_ABORT);
  if (!(w.flags & VENIC_EFA_WQE_F_INLINE) || read) {
    auto lmr = q.mrs->find(w.lkey);
    if (lmr == q.mrs->end() || !inside(w.laddr, w.length, lmr->second.va, lmr->second.len) ||
        (read && !(lmr->second.access & VENIC_EFA_ACCESS_LOCAL_WRITE))) {
      // A registration made just before the post may be newer than this
      // pass's view (the driver registers, then posts at once).
      if (!started && stale(v)) return Outcome::kRetry;
      return give_up(VENIC_EFA_WC_LOCAL_PROT);
    }
  }
  if (q.rt->assist_slot >= 0) {
    // The chunk at the target's driver: wait for it, or take its answer.
    uint8_t* local = local_bytes(q, slot, q.rt->rdma_done);
    if (!local) return give_up(VENIC_EFA_WC_LOCAL_PROT);
    const Outcome o = assist_step(v, q, *dst, 0, local, now);
    if (!q.rt->rdma_active || o == Outcome::kRetry) return o;  // ended (an error), or still out
    if (q.rt->rdma_done < w.length) return Outcome::kRetry;    // the next chunk at the next poll
  } else if (q.rt->rdma_done < w.length) {
    if (rdma_budget_ == 0) return Outcome::kRetry;  // this pass has moved enough
    uint64_t n = std::min({w.length - q.rt->rdma_done, kRdmaChunk, rdma_budget_});
    if (!rmr->second.obj) n = std::min<uint64_t>(n, VENIC_EFA_ASSIST_BYTES);
    const VfPolicy& pol = v.vf[q.ctx->vf];
    if (pol.bw.limited()) {
      // Charged chunk by chunk, never more than a full bucket at once.
      n = std::min<uint64_t>(n, pol.bw.depth_units);
      vf::TokenBucket& b = bw_[q.ctx->vf];
      b.refill(pol.bw, ns(now));
      if (!b.take(pol.bw, n)) {
        if (!q.rt->stalled) bump((*counters_)[q.ctx->vf].bw_exceeded), q.rt->stalled = true;
        return Outcome::kRetry;
      }
    }
    const uint64_t off = q.rt->rdma_done;
    uint8_t* local = local_bytes(q, slot, off);
    if (!local) return give_up(VENIC_EFA_WC_LOCAL_PROT);  // a private lkey, not staged
    rdma_budget_ -= std::min(rdma_budget_, n);
    if (!rmr->second.obj) {
      const Outcome o = assist_step(v, q, *dst, n, local, now);
      if (!q.rt->rdma_active) return o;                                                    // ended (an error)
      if (q.rt->assist_slot < 0 && pol.bw.limited()) bw_[q.ctx->vf].give_back(pol.bw, n);  // no free slot: not moved
      return Outcome::kRetry;
    }
    // Both sides mapped: one copy.  A truncated object faults (SIGBUS) and
    // the transfer fails; the daemon goes on.
    uint8_t* remote = rmr->second.obj->base + (w.raddr - rmr->second.va) + off;
    if (!common::guarded_copy(read ? local : remote, read ? remote : local, n)) {
      const uintptr_t at = common::last_fault_address();
      const auto* o = rmr->second.obj.get();
      const bool remote_fault =
          at >= reinterpret_cast<uintptr_t>(o->map) && at - reinterpret_cast<uintptr_t>(o->map) < o->map_len;
      return give_up(remote_fault ? VENIC_EFA_WC_REMOTE_ABORT : VENIC_EFA_WC_LOCAL_PROT);
    }
    moved(q, n);
    if (q.rt->rdma_done < w.length) return Outcome::kRetry;  // the next chunk at the next poll
  }
  // All moved: the completions.  A write with immediate consumes a receive
  // buffer at the target (as verbs does), so it waits for one.
  if (!cq_has_room(q.scq, with_imm && q.scq.rt == dst->rcq.rt ? 2 : 1) || (with_imm && !cq_has_room(dst->rcq)))
    return Outcome::kRetry;
  if (with_imm) {
    const uint32_t rq_prod = __atomic_load_n(&dst->rq->prod, __ATOMIC_ACQUIRE);
    if (rq_prod == dst->rt->rq_cons || rq_prod - dst->rt->rq_cons > VENIC_EFA_RQ_DEPTH) {
      if (!q.rt->stalled) {
        bump(q.ctx->counters.rnr_retries);
        bump((*counters_)[q.ctx->vf].rnr_retries);
        q.rt->stalled = true;
      }
      return Outcome::kRetry;
    }
    const venic_efa_rwqe r = read_once(&dst->rqe[dst->rt->rq_cons & (VENIC_EFA_RQ_DEPTH - 1)]);
    dst->rt->rq_cons++;
    __atomic_store_n(&dst->rq->cons, dst->rt->rq_cons, __ATOMIC_RELEASE);
    venic_efa_cqe e{};
    e.wr_id = r.wr_id;
    e.opcode = VENIC_EFA_WC_RECV_RDMA_IMM;
    e.qp = dst->index;
    e.byte_len = w.length;
    e.imm = w.imm;
    e.flags = VENIC_EFA_CQE_F_IMM;
    e.src_qpn = q.rt->qpn;
    e.src_ah = q.ctx->vf;
    e.slot = r.slot;
    post_cqe(dst->rcq, e);
  }
  return end_rdma(q, VENIC_EFA_WC_SUCCESS);
}

EfaEngine::Outcome EfaEngine::execute(const View& v, const QpView& q, const venic_efa_wqe& w, const uint8_t* slot,
                                      Clock::time_point now) {
  const uint16_t src_vf = q.ctx->vf;
  const bool is_send = w.opcode == VENIC_EFA_OP_SEND || w.opcode == VENIC_EFA_OP_SEND_IMM;
  const bool is_rdma = w.opcode >= VENIC_EFA_OP_RDMA_WRITE && w.opcode <= VENIC_EFA_OP_RDMA_READ;
  if (!cq_has_room(q.scq)) return Outcome::kRetry;
  if ((!is_send && !is_rdma) || (is_send && w.length > VENIC_EFA_MTU) ||
      (is_rdma && (q.rt->type != VENIC_EFA_QP_SRD || w.length > VENIC_EFA_MAX_RDMA_SIZE)) ||
      w.dest_ah >= VENIC_MAX_VFS + kMaxRemotePeers) {
    complete_send(q, w, VENIC_EFA_WC_BAD_WQE);
    return Outcome::kDone;
  }
  if (w.dest_ah >= VENIC_MAX_VFS) return execute_remote(v, q, w, slot, now);
  const bool allowed = reachable(v, src_vf, w.dest_ah);
  const QpView* dst = allowed ? v.find(w.dest_ah, w.dest_qpn) : nullptr;
  if (is_rdma && allowed) return start_rdma(v, q, w, slot, now);  // keys checked, charged chunk by chunk
  if (!dst || dst->rt->type != q.rt->type || dst->rt->qkey != w.qkey) {
    if (stale(v)) return Outcome::kRetry;  // a QP created after this pass began: the next pass sees it
    bump((*counters_)[src_vf].unreachable);
    if (allowed) bump((*counters_)[src_vf].bad_keys), bump((*counters_)[w.dest_ah].bad_keys_in);
    // A datagram to nowhere is simply lost; SRD reports it, the same for a
    // missing QP as for a wrong qkey.
    complete_send(q, w, q.rt->type == VENIC_EFA_QP_UD ? VENIC_EFA_WC_SUCCESS : VENIC_EFA_WC_UNREACHABLE);
    return Outcome::kDone;
  }
  const VfPolicy& pol = v.vf[src_vf];
  if (pol.bw.limited()) {
    vf::TokenBucket& b = bw_[src_vf];
    b.refill(pol.bw, ns(now));
    if (!b.take(pol.bw, std::max<uint32_t>(w.length, 64))) {
      if (!q.rt->stalled) bump((*counters_)[src_vf].bw_exceeded), q.rt->stalled = true;
      return Outcome::kRetry;
    }
  }
  Outcome o;
  if (hook_reorder_.load(std::memory_order_relaxed) && q.rt->type == VENIC_EFA_QP_SRD && held_.size() < kMaxHeld &&
      rng_() % 100 < hook_percent_.load(std::memory_order_relaxed)) {
    const uint32_t delay = hook_delay_us_.load(std::memory_order_relaxed);
    Held h{now + std::chrono::microseconds(delay ? rng_() % (delay + 1) : 0),
           w,
           src_vf,
           q.rt->qpn,
           q.rt->generation,
           std::vector<uint8_t>(slot, slot + w.length)};
    held_.push_back(std::move(h));
    q.rt->held++;
    bump(q.ctx->counters.reordered);
    bump((*counters_)[src_vf].reordered);
    o = Outcome::kDone;
  } else {
    // A SEND behind others of this QP that wait for a buffer at the same
    // target waits behind them (their order is kept while they may fail).
    // (The reorder hook shuffles what it holds: no order to keep then.)
    const bool behind = q.rt->held && q.rt->type == VENIC_EFA_QP_SRD &&
                        !hook_reorder_.load(std::memory_order_relaxed) && lane_busy(q, w.dest_ah, w.dest_qpn);
    o = behind ? Outcome::kRnr : deliver_send(v, &q, src_vf, q.rt->qpn, *dst, w, slot);
    const bool rnr = o == Outcome::kRnr;
    const Clock::time_point t = now == Clock::time_point{} ? Clock::now() : now;  // this pass may not have read it
    const uint8_t retry =
        w.flags & VENIC_EFA_WQE_F_RNR_UNLIMITED ? uint8_t{VENIC_EFA_RNR_RETRY_INFINITE} : q.rt->rnr_retry;
    if (rnr && !behind && rnr_expired(retry, q.rt->rnr_since == Clock::time_point{} ? t : q.rt->rnr_since, t)) {
      complete_send(q, w, VENIC_EFA_WC_RNR_RETRY_EXC);  // out of retries (rnr_retry 0: the first refusal)
      q.rt->rnr_since = {};
      o = Outcome::kDone;
    } else if (o != Outcome::kDone && q.rt->type == VENIC_EFA_QP_SRD && cq_has_room(q.scq) &&
               q.rt->held < kMaxHeldPerQp && held_.size() < kMaxHeld) {
      // No buffer (or CQ room) at the target: park the SEND, retried every pass.
      Held h{now, w, src_vf, q.rt->qpn, q.rt->generation, std::vector<uint8_t>(slot, slot + w.length)};
      h.rnr_retry = retry;
      if (rnr) h.rnr_since = q.rt->rnr_since == Clock::time_point{} ? t : q.rt->rnr_since;
      held_.push_back(std::move(h));
      q.rt->held++;
      q.rt->rnr_since = {};
      o = Outcome::kDone;
    } else if (rnr && q.rt->rnr_since == Clock::time_point{}) {
      q.rt->rnr_since = t;  // it waits at the SQ head: its retries count from now
    }
  }
  if (o != Outcome::kDone && pol.bw.limited()) bw_[src_vf].give_back(pol.bw, std::max<uint32_t>(w.length, 64));
  return o == Outcome::kDone ? o : Outcome::kRetry;
}

bool EfaEngine::rnr_expired(uint8_t retry, Clock::time_point since, Clock::time_point now) {
  return retry < VENIC_EFA_RNR_RETRY_INFINITE &&
         now - since >= std::chrono::milliseconds(uint64_t(retry) * VENIC_EFA_RNR_TIMEOUT_MS);
}

bool EfaEngine::lane_busy(const QpView& q, uint16_t vf, uint16_t qpn) const {
  for (const Held& h : held_)
    if (!h.gone && h.src_generation == q.rt->generation && h.wqe.dest_ah == vf && h.wqe.dest_qpn == qpn) return true;
  return false;
}

uint32_t EfaEngine::deliver_held(const View& v, Clock::time_point now) {
  uint32_t done = 0;
  // With the reorder hook, due ones go in random order (the point of the
  // hook); otherwise in the order they were parked, lane by lane.
  const bool shuffle = hook_reorder_.load(std::memory_order_relaxed);
  if (shuffle) std::shuffle(held_.begin(), held_.end(), rng_);
  lanes_.clear();
  for (Held& h : held_) {
    if (h.due > now) continue;
    const QpView* src = v.find(h.src_vf, h.src_qpn);
    if (src && src->rt->generation != h.src_generation) src = nullptr;  // the sender is gone
    const uint32_t dst_key = uint32_t(h.wqe.dest_ah) << 16 | h.wqe.dest_qpn;
    Lane* lane = nullptr;
    for (Lane& l : lanes_)
      if (l.src_generation == h.src_generation && l.dst == dst_key) lane = &l;
    const QpView* dst = reachable(v, h.src_vf, h.wqe.dest_ah) ? v.find(h.wqe.dest_ah, h.wqe.dest_qpn) : nullptr;
    uint8_t fail = VENIC_EFA_WC_SUCCESS;
    if (!dst || dst->rt->qkey != h.wqe.qkey) {
      fail = VENIC_EFA_WC_UNREACHABLE;  // the target went away while the SEND was held
    } else if (lane && lane->expired && h.rnr_retry < VENIC_EFA_RNR_RETRY_INFINITE) {
      fail = VENIC_EFA_WC_RNR_RETRY_EXC;  // behind one that ran out of retries
    } else if (lane && !shuffle) {
      continue;  // an earlier SEND of its lane still waits
    } else {
      const Outcome o = deliver_send(v, src, h.src_vf, h.src_qpn, *dst, h.wqe, h.payload.data(), false);
      if (o == Outcome::kRnr && h.rnr_since == Clock::time_point{}) h.rnr_since = now;
      if (o == Outcome::kRnr && rnr_expired(h.rnr_retry, h.rnr_since, now)) {
        fail = VENIC_EFA_WC_RNR_RETRY_EXC;
      } else if (o != Outcome::kDone) {
        if (!lane) lanes_.push_back(Lane{h.src_generation, dst_key, false});
        continue;
      }
    }
    if (fail != VENIC_EFA_WC_SUCCESS) {
      if (src && !cq_has_room(src->scq)) {
        if (!lane) lanes_.push_back(Lane{h.src_generation, dst_key, false});
        continue;
      }
      if (fail == VENIC_EFA_WC_UNREACHABLE) bump((*counters_)[h.src_vf].unreachable);
      if (src) complete_send(*src, h.wqe, fail);
      if (fail == VENIC_EFA_WC_RNR_RETRY_EXC) {
        if (lane)
          lane->expired = true;
        else
          lanes_.push_back(Lane{h.src_generation, dst_key, true});
      }
    }
    if (src) src->rt->held--;
    h.gone = true;
    done++;
  }
  if (done) held_.erase(std::remove_if(held_.begin(), held_.end(), [](const Held& h) { return h.gone; }), held_.end());
  return done;
}

uint32_t EfaEngine::poll() {
  const View* v = current_.load(std::memory_order_acquire);
  const bool remote = srd_ && (!srd_->idle() || !remote_done_.empty());
  if (!v || (v->qps.empty() && held_.empty() && !remote)) return 0;
  // The clock only when something needs it (allowances, the hook, other
  // hosts): reading it every pass costs more than the rest of an idle pass.
  const bool timed =
      v->timed || !held_.empty() || assists_waiting_ || remote || hook_reorder_.load(std::memory_order_relaxed);
  const Clock::time_point now = timed ? Clock::now() : Clock::time_point{};
  uint32_t work = held_.empty() ? 0 : deliver_held(*v, now);
  if (remote) {
    srd_->poll(now);
    work += complete_remote(*v);
  }
  rdma_budget_ = kRdmaBudgetPerPoll;
  const size_t nq = v->qps.size();
  if (nq) poll_start_ = (poll_start_ + 1) % nq;
  for (size_t k = 0; k < nq; k++) {
    const QpView& q = v->qps[(poll_start_ + k) % nq];
    const uint32_t prod = __atomic_load_n(&q.sq->prod, __ATOMIC_ACQUIRE);
    uint32_t n = prod - q.rt->sq_cons;
    if (n == 0) continue;
    if (n > VENIC_EFA_SQ_DEPTH) {
      // A producer index no ring could hold: the process is broken; what it
      // posted is unreadable, so skip to its index and count the error.
      bump(q.ctx->counters.send_errors);
      q.rt->sq_cons = prod;
      __atomic_store_n(&q.sq->cons, prod, __ATOMIC_RELEASE);
      continue;
    }
    n = std::min(n, kBurst);
    uint32_t moved = 0;
    for (; moved < n; moved++) {
      const uint32_t idx = (q.rt->sq_cons + moved) & (VENIC_EFA_SQ_DEPTH - 1);
      uint8_t* slot = q.sq_buf + uint64_t(idx) * VENIC_EFA_MTU;
      if (q.rt->rdma_active) {
        // The head WQE's transfer goes on (the WQE was read and kept at start).
        if (step_rdma(*v, q, slot, now) == Outcome::kRetry) break;
        continue;
      }
      const venic_efa_wqe w = read_once(&q.sqe[idx]);  // one read of what the process wrote
      if (execute(*v, q, w, slot, now) == Outcome::kRetry) break;
      q.rt->stalled = false;
      q.rt->rnr_since = {};
    }
    if (moved) {
      q.rt->sq_cons += moved;
      __atomic_store_n(&q.sq->cons, q.rt->sq_cons, __ATOMIC_RELEASE);
      work += moved;
    }
  }
  return work;
}

}  // namespace venic::efa

// ------------------------------------------------------------ other hosts --

namespace venic::efa {

void EfaEngine::set_link(EfaLink* link, srd::SrdConfig cfg) {
  link_ = link;
  cfg.max_message = VENIC_EFA_MTU;
  srd_ = std::make_unique<srd::SrdTransport>(
      cfg, [this](const uint8_t* f, uint32_t n) { return link_->send(f, n); },
      [this](const srd::InMessage& m) { return deliver_remote(m); });
  // Receive state only between a local EFA VF and a known peer.
  srd_->set_filter([this](const srd::Mac& local, const srd::Mac& remote) {
    vf::MacAddr l, r;
    std::copy(local.begin(), local.end(), l.begin());
    std::copy(remote.begin(), remote.end(), r.begin());
    return rx_view_->local_by_mac.count(mac_key(l)) && rx_view_->remote && rx_view_->remote->by_mac.count(mac_key(r));
  });
  publish(Retire::kLater);  // the views learn the peers
}

nlohmann::json EfaEngine::srd_stats() const {
  if (!srd_) return nullptr;
  const srd::SrdStats& s = srd_->stats();
  auto rd = [](const uint64_t& x) { return __atomic_load_n(&x, __ATOMIC_RELAXED); };
  return {{"tx_packets", rd(s.tx_packets)},
          {"rx_packets", rd(s.rx_packets)},
          {"acks_tx", rd(s.acks_tx)},
          {"acks_rx", rd(s.acks_rx)},
          {"retransmits", rd(s.retransmits)},
          {"duplicates", rd(s.duplicates)},
          {"rnr_naks", rd(s.rnr_naks)},
          {"rejects", rd(s.rejects)},
          {"retry_exhausted", rd(s.retry_exhausted)},
          {"bad_frames", rd(s.bad_frames)},
          {"stray_acks", rd(s.stray_acks)},
          {"out_of_window", rd(s.out_of_window)},
          {"reasm_full", rd(s.reasm_full)},
          {"reasm_expired", rd(s.reasm_expired)},
          {"flows_full", rd(s.flows_full)},
          {"unknown_peers", rd(s.unknown_peers)},
          {"link_busy", rd(s.link_busy)}};
}

void EfaEngine::receive(const uint8_t* frame, uint32_t len) {
  const View* v = current_.load(std::memory_order_acquire);
  if (!srd_ || !v) return;
  rx_view_ = v;
  srd_->receive({frame, len}, Clock::now());
  rx_view_ = nullptr;
}

srd::Verdict EfaEngine::deliver_remote(const srd::InMessage& m) {
  const View& v = *rx_view_;
  vf::MacAddr dst_mac, src_mac;
  std::copy(m.dst.begin(), m.dst.end(), dst_mac.begin());
  std::copy(m.src.begin(), m.src.end(), src_mac.begin());
  auto lit = v.local_by_mac.find(mac_key(dst_mac));
  if (lit == v.local_by_mac.end() || !v.remote) return srd::Verdict::kReject;
  auto rit = v.remote->by_mac.find(mac_key(src_mac));
  if (rit == v.remote->by_mac.end()) return srd::Verdict::kReject;
  const uint16_t dvf = lit->second, ah = rit->second;
  // This host's side of the policy: its ENI's subnet and groups.
  const RemotePeer* from = v.peer(ah);
  if (!from || !reachable_remote(v, dvf, *from)) return srd::Verdict::kReject;
  const QpView* dst = v.find(dvf, m.dst_qpn);
  const uint8_t type = m.ud ? VENIC_EFA_QP_UD : VENIC_EFA_QP_SRD;
  if (!dst || dst->rt->type != type || dst->rt->qkey != m.qkey) {
    bump((*counters_)[dvf].bad_keys_in);
    return srd::Verdict::kReject;
  }
  venic_efa_wqe w{};
  w.opcode = m.has_imm ? VENIC_EFA_OP_SEND_IMM : VENIC_EFA_OP_SEND;
  w.imm = m.imm;
  w.length = static_cast<uint32_t>(m.data.size());  // <= VENIC_EFA_MTU: the transport's max_message
  const Outcome o = deliver_send(v, nullptr, ah, m.src_qpn, *dst, w, m.data.data());
  return o == Outcome::kDone ? srd::Verdict::kPlaced : srd::Verdict::kRnr;
}

EfaEngine::Outcome EfaEngine::execute_remote(const View& v, const QpView& q, const venic_efa_wqe& w,
                                             const uint8_t* slot, Clock::time_point now) {
  const uint16_t src_vf = q.ctx->vf;
  const RemotePeer* r = v.peer(w.dest_ah);
  const bool is_rdma = w.opcode >= VENIC_EFA_OP_RDMA_WRITE && w.opcode <= VENIC_EFA_OP_RDMA_READ;
  const bool ud = q.rt->type == VENIC_EFA_QP_UD;
  if (!srd_ || !r || !reachable_remote(v, src_vf, *r) || is_rdma) {
    if (!is_rdma && stale(v)) return Outcome::kRetry;  // a peer learnt after this pass began
    // RDMA across hosts is not carried (yet): it fails as a policy refusal.
    bump((*counters_)[src_vf].unreachable);
    complete_send(q, w, ud && !is_rdma ? VENIC_EFA_WC_SUCCESS : VENIC_EFA_WC_UNREACHABLE);
    return Outcome::kDone;
  }
  if (q.rt->remote_inflight >= kMaxRemotePerQp) return Outcome::kRetry;
  const VfPolicy& pol = v.vf[src_vf];
  const Clock::time_point t = now == Clock::time_point{} ? Clock::now() : now;
  const uint32_t charge = std::max<uint32_t>(w.length, 64);
  if (pol.bw.limited()) {
    vf::TokenBucket& b = bw_[src_vf];
    b.refill(pol.bw, ns(t));
    if (!b.take(pol.bw, charge)) {
      if (!q.rt->stalled) bump((*counters_)[src_vf].bw_exceeded), q.rt->stalled = true;
      return Outcome::kRetry;
    }
  }
  srd::OutMessage m;
  std::copy(pol.mac.begin(), pol.mac.end(), m.src.begin());
  std::copy(r->mac.begin(), r->mac.end(), m.dst.begin());
  m.src_qpn = q.rt->qpn;
  m.dst_qpn = w.dest_qpn;
  m.qkey = w.qkey;
  m.has_imm = w.opcode == VENIC_EFA_OP_SEND_IMM;
  m.imm = m.has_imm ? w.imm : 0;
  m.ud = ud;
  m.data = {slot, w.length};
  m.cookie = next_cookie_++;
  m.rnr_retry = w.flags & VENIC_EFA_WQE_F_RNR_UNLIMITED ? uint8_t{VENIC_EFA_RNR_RETRY_INFINITE} : q.rt->rnr_retry;
  const srd::SendResult res = srd_->send(m, t);
  if (res == srd::SendResult::kTooLong) {
    complete_send(q, w, VENIC_EFA_WC_BAD_WQE);
    return Outcome::kDone;
  }
  if (res == srd::SendResult::kBusy && !ud) {
    if (pol.bw.limited()) bw_[src_vf].give_back(pol.bw, charge);
    return Outcome::kRetry;  // the flow's window is full: the SQ waits
  }
  if (ud) {
    // A datagram completes once sent (or lost): nothing waits for its ACK.
    bump((*counters_)[src_vf].tx_msgs);
    bump((*counters_)[src_vf].tx_bytes, w.length);
    complete_send(q, w, VENIC_EFA_WC_SUCCESS);
    return Outcome::kDone;
  }
  remote_sends_.emplace(m.cookie, RemoteSend{src_vf, q.rt->qpn, q.rt->generation, w});
  q.rt->remote_inflight++;
  return Outcome::kDone;
}

uint32_t EfaEngine::complete_remote(const View& v) {
  auto& fresh = srd_->completions();
  remote_done_.insert(remote_done_.end(), fresh.begin(), fresh.end());
  fresh.clear();
  uint32_t done = 0;
  size_t keep = 0;
  for (size_t k = 0; k < remote_done_.size(); k++) {
    const srd::Completion c = remote_done_[k];
    auto it = remote_sends_.find(c.cookie);
    if (it == remote_sends_.end()) continue;  // a datagram's: completed when sent
    const RemoteSend& s = it->second;
    const QpView* q = v.find(s.vf, s.qpn);
    if (q && q->rt->generation != s.generation) q = nullptr;  // the sender is gone
    if (q && !cq_has_room(q->scq)) {
      remote_done_[keep++] = c;  // its CQ is full: the next pass
      continue;
    }
    if (q) {
      q->rt->remote_inflight--;
      if (c.rnr) bump(q->ctx->counters.rnr_retries), bump((*counters_)[s.vf].rnr_retries);
      if (c.status == VENIC_EFA_WC_SUCCESS) {
        bump(q->ctx->counters.tx_msgs);
        bump(q->ctx->counters.tx_bytes, s.wqe.length);
        bump((*counters_)[s.vf].tx_msgs);
        bump((*counters_)[s.vf].tx_bytes, s.wqe.length);
      } else if (c.status == VENIC_EFA_WC_UNREACHABLE) {
        bump((*counters_)[s.vf].unreachable);
      }
      complete_send(*q, s.wqe, c.status);
    }
    remote_sends_.erase(it);
    done++;
  }
  remote_done_.resize(keep);
  return done;
}

}  // namespace venic::efa
