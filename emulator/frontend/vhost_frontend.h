// venicd's vhost-user front-end: one socket per VF (server, or client with
// reconnect), served by DPDK's rte_vhost.  rte_vhost runs its callbacks on its
// own thread; they only record that a guest came or went, and the control
// thread attaches or detaches the VF's bridge (vf_table.h) in poll().
#pragma once

#include <pthread.h>

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sys/types.h>
#include <utility>
#include <string>

#include "vf_table.h"
#include "vhost_port.h"

namespace venic::fastpath {
class Dataplane;
}

namespace venic::frontend {

class VhostFrontend final : public vf::Frontends {
 public:
  // One per process (rte_vhost's callbacks carry no context).
  // Default sockets go into socket_dir (the control socket's directory).
  VhostFrontend(fastpath::Dataplane& dp, std::string socket_dir);
  ~VhostFrontend() override;
  VhostFrontend(const VhostFrontend&) = delete;
  VhostFrontend& operator=(const VhostFrontend&) = delete;

  void expose(vf::Vf& v, bool restoring) override;
  void withdraw(vf::Vf& v) override;
  void poll(vf::VfTable& table) override;
  nlohmann::json describe(const vf::Vf& v) const override;
  std::string default_path(uint16_t id) const override { return dir_ + "/vf" + std::to_string(id) + ".vhost"; }

  // The control-socket session id a bridge holds its VF with.
  static uint64_t session_of(uint16_t vf) { return (uint64_t{1} << 62) | vf; }

 private:
  struct Port {
    std::string path;      // as the operator named it
    std::string rte_path;  // as rte_vhost knows it (where a server socket was bound)
    bool client = false;
    // The server socket venicd put at path (device, inode): the only thing
    // there it will ever unlink.
    std::optional<std::pair<dev_t, ino_t>> created;
    std::unique_ptr<VhostPort> bridge;
    int attached_vid = -1;  // control thread: the connection the VF is attached for
    uint32_t qps = 0;
  };
  struct Event {
    bool ready;  // a guest is ready (new_device), or gone (destroy_device)
    uint16_t vf;
    int vid;
  };
  static int on_new_connection(int vid);
  static void guard_vhost_thread();
  static int on_new_device(int vid);
  static void on_destroy_device(int vid);
  void push(Event e);
  // Unlinks p.path if it is still the socket venicd created there.
  static void remove_created(const Port& p);
  void attach(vf::VfTable& table, uint16_t id, Port& p, int vid);
  void detach(vf::VfTable& table, uint16_t id, Port& p);

  fastpath::Dataplane& dp_;
  std::string dir_;
  pthread_t control_thread_;
  mutable std::mutex mu_;  // ports_ against the rte_vhost thread's lookups, and events_
  std::map<uint16_t, Port> ports_;
  std::deque<Event> events_;
};

}  // namespace venic::frontend
