// The daemon's VF table: create/set/delete, attach/detach, admin queues and
// periodic upkeep.  Used only from the control thread; every change that the
// fast path must see goes out through the Publisher, which returns at once:
// what the workers may still reach through the previous state is handed to
// Publisher::defer and freed after their grace period.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "vf.h"
#include "vpc_network.h"

namespace venic::state {
class StateStore;
}

namespace venic::vf {

class VfTable;

class Publisher {
 public:
  virtual ~Publisher() = default;
  // Makes the table the fast path's; returns without waiting for workers.
  virtual void publish(const VfTable& table) = 0;
  // Runs free_fn once no worker can reach anything that a publish before
  // this call replaced (a VF's old region, a deleted VF).  Without workers,
  // at once.
  virtual void defer(std::function<void()> free_fn) { free_fn(); }
  // Returns once no worker sees anything published before the call: for work
  // that must follow the workers out (resetting rings they poll).
  virtual void synchronize() {}
  // Fast-path housekeeping on the control thread (VfTable::tick).
  virtual void upkeep() {}
  // The VF's connection tracking ({"tracked", "max"}) or null when it has none.
  virtual nlohmann::json conntrack_usage(const Vf&) const { return nullptr; }
};

// Front-ends other than the shared-memory one (vhost-user): the table tells
// them when a VF comes and goes, and lets them run on the control thread.
class Frontends {
 public:
  virtual ~Frontends() = default;
  // Starts serving v's front-end; throws std::runtime_error with the reason.
  // restoring: v comes from the state file, so a socket left at its path by
  // an earlier venicd is ours to replace; a new VF replaces nothing.
  virtual void expose(Vf& v, bool restoring) = 0;
  // Stops serving it; when this returns no front-end thread touches v.
  virtual void withdraw(Vf& v) = 0;
  // Control-thread work (connections that came or went); about every ms.
  virtual void poll(VfTable& table) = 0;
  // The socket path a VF gets when its config names none.
  virtual std::string default_path(uint16_t id) const = 0;
  // The front-end's state for vf.show.
  virtual nlohmann::json describe(const Vf& v) const = 0;
};

// A refused request; code is one of control/protocol.h's err::*.
struct TableError : std::runtime_error {
  TableError(std::string c, const std::string& m) : std::runtime_error(m), code(std::move(c)) {}
  std::string code;
};

class VfTable {
 public:
  VfTable(Publisher& publisher, state::StateStore* store, Frontends* frontends = nullptr)
      : publisher_(publisher), store_(store), frontends_(frontends) {}

  // Restores saved VFs (no persisting while doing it).
  void restore(const std::vector<VfConfig>& saved);

  // cfg.id is used when has_id, else the lowest free id.
  const Vf& create(VfConfig cfg, bool has_id);
  void remove(uint16_t id);
  // Applies mtu / trusted / link / src_dst_check / secondary_ips from params
  // (type-checked by the caller, except the address list).
  const Vf& set(uint16_t id, const nlohmann::json& params);
  const Vf& get(uint16_t id) const;
  const std::map<uint16_t, std::unique_ptr<Vf>>& all() const { return vfs_; }

  // Attachment: the connection `session` takes VF id; returns the region fd.
  // uid is the peer's: checked against cfg.attach_uid.
  int attach(uint16_t id, uint64_t session, int pid, int64_t uid = 0);
  // Takes the VF away from its driver (an ENI detached from its instance):
  // the driver sees link down and a removal event, and the VF gets a fresh
  // region, so nothing the old owner writes reaches it any more.
  void evict(uint16_t id);
  // Replaces a VF's addresses, checks, allowances, link and attach rule;
  // id, type, MAC, queues and front-end stay.  Persists first.
  const Vf& replace_config(const VfConfig& cfg);
  // Saves the table as it is (with the store's other sections).
  void persist_all() { persist(nullptr, std::nullopt); }
  void detach_session(uint64_t session);
  // An in-daemon driver (a front-end's bridge) takes VF id as `session` and
  // starts qps queue pairs; dma is the daemon memory its descriptors use.
  void attach_bridge(uint16_t id, uint64_t session, Bridge* bridge, std::shared_ptr<const DmaTable> dma, uint32_t qps);
  // Runs the front-ends' control-thread work.
  void poll_frontends() {
    if (frontends_) frontends_->poll(*this);
  }
  std::optional<uint16_t> attached_vf(uint64_t session) const;
  struct MemRange {
    uint64_t va, len, offset;
  };
  std::vector<uint16_t> register_memory(uint64_t session, std::span<const MemRange> ranges, std::span<const int> fds);

  // Serves every attached VF's admin queue (called about every millisecond).
  void poll_admin();
  // Heartbeat, stats mirror, resets of VFs that sent malformed descriptors.
  void tick();

  nlohmann::json vf_json(const Vf& v) const;
  nlohmann::json stats_json(const Vf& v) const;
  void reset_stats(uint16_t id);

  // The VPCs' route tables, ACLs and gateways (the EC2 model sets them);
  // published to the fast path with the VFs when they change.
  void set_network(Network n);
  const std::shared_ptr<const Network>& network() const { return network_; }

 private:
  Vf& must_find(uint16_t id);
  void check_addresses_free(const VfConfig& c) const;
  void persist(const VfConfig* upsert, std::optional<uint16_t> removed);
  void stop_queues(Vf& v);
  int admin_command(Vf& v, const venic_admin_cmd& cmd, uint64_t& result);

  Publisher& publisher_;
  state::StateStore* store_;
  Frontends* frontends_;
  std::map<uint16_t, std::unique_ptr<Vf>> vfs_;
  std::shared_ptr<const Network> network_ = std::make_shared<const Network>();
};

}  // namespace venic::vf
