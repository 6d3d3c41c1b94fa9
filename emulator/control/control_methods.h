// The control protocol's methods: one JSON request in, one JSON reply out.
// Independent of the socket, so tests drive it directly.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "owner.h"
#include "unique_fd.h"
#include "vf_table.h"

namespace venic::model {
class Ec2Service;
}
namespace venic::efa {
class EfaEngine;
}

namespace venic::control {

// One client connection, as the server knows it.
struct Session {
  uint64_t id = 0;
  pid_t pid = 0;
  uid_t uid = 0;
  // The peer's start time (/proc/<pid>/stat, clock ticks since boot) when it
  // connected: tells the process that connected from a later one with its pid.
  uint64_t start_time = 0;
};

// A process's start time, or 0 when it cannot be read.
uint64_t process_start_time(pid_t pid);

struct DaemonInfo {
  std::string version;
  unsigned workers = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // Each worker's load for daemon.info ("worker_load"); unset: not shown.
  std::function<nlohmann::json()> worker_load;
  // The internet and NAT gateways' counters for daemon.info ("gateways"); unset: not shown.
  std::function<nlohmann::json()> gateways = {};
  // The uplink to other hosts' counters for daemon.info ("underlay"); unset: not shown.
  std::function<nlohmann::json()> underlay = {};
};

class ControlMethods {
 public:
  // ec2 (optional) serves the ec2.* methods (docs/ec2-api.md).
  // efa (optional) serves the efa.* methods (EFA device contexts).
  ControlMethods(vf::VfTable& table, DaemonInfo info, model::Ec2Service* ec2 = nullptr, efa::EfaEngine* efa = nullptr)
      : table_(table), info_(std::move(info)), ec2_(ec2), efa_(efa) {}

  // Handles one request.  fds_in are the descriptors that came with it;
  // fds_out (borrowed, not owned) go back with the reply.
  // A connection closed: whatever it held is released.
  void session_closed(uint64_t session);

  std::string handle(const std::string& request, const Session& session, std::vector<UniqueFd>& fds_in,
                     std::vector<int>& fds_out);

  // VFs a uid other than root and the daemon's may hold from vf.create.
  static constexpr unsigned kDefaultMaxVfsPerUid = 32;
  void set_max_vfs_per_uid(unsigned n) { max_vfs_per_uid_ = n; }
  // The only directory a uid other than root and the daemon's may name a
  // vhost-user socket in (the control socket's); empty: none.
  void set_tenant_socket_dir(std::string dir) { tenant_socket_dir_ = std::move(dir); }
  // Per-worker load for stats (all VFs) to root and the daemon's uid, as
  // "workers": one object a worker (busy_cycles, idle_cycles, packets).
  void set_worker_stats(std::function<nlohmann::json()> f) { worker_stats_ = std::move(f); }
  // More ec2.* actions served outside the model (flow logs): returns the
  // result, or nullopt for an action it does not serve; throws Ec2Error.
  using Ec2Extension =
      std::function<std::optional<nlohmann::json>(const std::string& action, const nlohmann::json&, const Caller&)>;
  void set_ec2_extension(Ec2Extension f) { ec2_extension_ = std::move(f); }
  // More methods served outside this class (capture.*), with the request's
  // fds: the result, or nullopt for a method it does not serve; closed(s)
  // hears of every connection that closes.
  using Extension =
      std::function<std::optional<nlohmann::json>(const std::string& method, const nlohmann::json&, const Caller&,
                                                  uint64_t session, std::vector<UniqueFd>& fds_in)>;
  void set_extension(Extension f, std::function<void(uint64_t session)> closed) {
    extension_ = std::move(f);
    extension_closed_ = std::move(closed);
  }

 private:
  nlohmann::json dispatch(const std::string& method, const nlohmann::json& params, const Session& session,
                          std::vector<UniqueFd>& fds_in, std::vector<int>& fds_out);

  vf::VfTable& table_;
  DaemonInfo info_;
  // The plain VFs each uid capped by max_vfs_per_uid_ created (VF id ->
  // uid), kept while the VF lives.  In memory only: a restart forgets it.
  unsigned vfs_created_by(uid_t uid);

  model::Ec2Service* ec2_;
  efa::EfaEngine* efa_;
  unsigned max_vfs_per_uid_ = kDefaultMaxVfsPerUid;
  std::map<uint16_t, uid_t> created_by_;
  std::string tenant_socket_dir_;
  std::function<nlohmann::json()> worker_stats_;
  Ec2Extension ec2_extension_;
  Extension extension_;
  std::function<void(uint64_t)> extension_closed_;
};

}  // namespace venic::control
