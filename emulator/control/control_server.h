// The control socket: accepts clients (authorised by SO_PEERCRED), reads
// requests, answers them through ControlMethods, and drives the VF table's
// periodic work.  Runs on the daemon's main thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control_methods.h"
#include "control_tasks.h"
#include "unique_fd.h"

namespace venic::control {

struct ServerOptions {
  std::string path;
  std::vector<uid_t> allow_uids;  // besides root and the daemon's own uid
  std::optional<gid_t> group;     // socket group (mode 0660), else root's
  // Open connections a uid other than root and the daemon's may hold.
  unsigned max_connections_per_uid = kDefaultMaxConnectionsPerUid;
  static constexpr unsigned kDefaultMaxConnectionsPerUid = 64;
  // More control-thread work, run about every millisecond with the
  // housekeeping (a stats snapshot a reader asked for); must return at once
  // when it has nothing to do.
  std::function<void()> housekeeping = nullptr;
};

class ControlServer {
 public:
  // Binds the socket; throws std::runtime_error with a readable reason.
  ControlServer(ServerOptions opts, ControlMethods& methods, vf::VfTable& table);
  ~ControlServer();

  // Serves until stop becomes true.
  void run(const std::atomic<bool>& stop);
  // Work other threads queue for this one (the EC2 API's requests): run
  // between requests, so only this thread ever touches the model.
  void set_tasks(ControlTasks* tasks) { tasks_ = tasks; }

 private:
  struct Client {
    UniqueFd fd;
    Session session;
  };
  void accept_clients();
  // Out of fds: stop watching the listening socket for a while.
  void pause_accepting();
  void resume_accepting_when_due();
  void serve(int fd);
  void drop_client(int fd);
  bool allowed(uid_t uid) const;
  bool capped(uid_t uid) const { return uid != 0 && uid != own_uid_; }

  ServerOptions opts_;
  ControlMethods& methods_;
  vf::VfTable& table_;
  UniqueFd listen_;
  UniqueFd epoll_;
  std::map<int, Client> clients_;
  std::map<uid_t, unsigned> connections_;  // open connections per uid
  uid_t own_uid_;
  uint64_t next_session_ = 1;
  std::optional<std::chrono::steady_clock::time_point> accept_paused_until_;
  bool fd_exhaustion_logged_ = false;  // once per spell of EMFILE/ENFILE
  ControlTasks* tasks_ = nullptr;
};

}  // namespace venic::control
