// The control socket: accepts clients (authorised by SO_PEERCRED), reads
// requests, answers them through ControlMethods, and drives the VF table's
// periodic work.  Runs on the daemon's main thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control_methods.h"
#include "unique_fd.h"

namespace venic::control {

struct ServerOptions {
  std::string path;
  std::vector<uid_t> allow_uids;  // besides root and the daemon's own uid
  std::optional<gid_t> group;     // socket group (mode 0660), else root's
};

class ControlServer {
 public:
  // Binds the socket; throws std::runtime_error with a readable reason.
  ControlServer(ServerOptions opts, ControlMethods& methods, vf::VfTable& table);
  ~ControlServer();

  // Serves until stop becomes true.
  void run(const std::atomic<bool>& stop);

 private:
  struct Client {
    UniqueFd fd;
    Session session;
    bool refused = false;  // not authorised: answered with an error, then closed
  };
  void accept_clients();
  void serve(int fd);
  void drop_client(int fd);
  bool allowed(uid_t uid) const;

  ServerOptions opts_;
  ControlMethods& methods_;
  vf::VfTable& table_;
  UniqueFd listen_;
  UniqueFd epoll_;
  std::map<int, Client> clients_;
  uint64_t next_session_ = 1;
};

}  // namespace venic::control
