#include "vhost_frontend.h"

#include <rte_vhost.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "dataplane.h"
#include "worker.h"
#include "unique_fd.h"

namespace venic::frontend {

namespace {

VhostFrontend* g_self = nullptr;

// The fast path never sees a partial checksum or a segmentation request: the
// guest computes checksums and segments itself, as on a VF without offloads.
// (virtio-net feature bits, from the virtio spec; <linux/virtio_net.h> is not
// C++-clean.)
enum VirtioNetFeature : unsigned {
  kCsum = 0,
  kGuestCsum = 1,
  kGuestTso4 = 7,
  kGuestTso6 = 8,
  kGuestEcn = 9,
  kGuestUfo = 10,
  kHostTso4 = 11,
  kHostTso6 = 12,
  kHostEcn = 13,
  kHostUfo = 14,
};
constexpr uint64_t kNoOffloads = [] {
  uint64_t m = 0;
  for (unsigned b :
       {kCsum, kGuestCsum, kGuestTso4, kGuestTso6, kGuestEcn, kGuestUfo, kHostTso4, kHostTso6, kHostEcn, kHostUfo})
    m |= 1ull << b;
  return m;
}();

std::string ifname(int vid) {
  char buf[PATH_MAX] = {};
  if (rte_vhost_get_ifname(vid, buf, sizeof(buf)) != 0) return {};
  return buf;
}

// A socket file left at a restored VF's path by a venicd that died: removed
// only if nobody listens on it.
void remove_stale_socket(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode)) throw std::runtime_error("vhost_path: " + path + " exists and is not a socket");
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  if (s.valid() && ::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0)
    throw std::runtime_error("vhost_path: " + path + " is served by another process");
  ::unlink(path.c_str());
}

// A private directory next to path (mode 0700, made by mkdtemp) where the
// socket is bound before it is renamed into place: bind itself follows a
// link planted at path; nothing can be planted in here.
std::string private_dir_beside(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  std::string tmpl = dir + "/.venic-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("vhost_path: cannot make a private directory in " + dir + ": " + std::strerror(errno));
  return tmpl;
}

}  // namespace

void VhostFrontend::remove_created(const Port& p) {
  struct stat st {};
  if (!p.created || ::lstat(p.path.c_str(), &st) != 0) return;
  if (S_ISSOCK(st.st_mode) && st.st_dev == p.created->first && st.st_ino == p.created->second) ::unlink(p.path.c_str());
}

VhostFrontend::VhostFrontend(fastpath::Dataplane& dp, std::string socket_dir)
    : dp_(dp), dir_(std::move(socket_dir)), control_thread_(pthread_self()) {
  if (g_self) throw std::logic_error("one vhost-user front-end per process");
  g_self = this;
}

VhostFrontend::~VhostFrontend() {
  std::vector<Port*> ports;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [id, p] : ports_) ports.push_back(&p);
  }
  for (Port* p : ports) {
    rte_vhost_driver_unregister(p->rte_path.c_str());
    remove_created(*p);
  }
  std::lock_guard<std::mutex> l(mu_);
  ports_.clear();
  g_self = nullptr;
}

void VhostFrontend::expose(vf::Vf& v, bool restoring) {
  const std::string& path = v.cfg.vhost_path;
  Port p;
  p.path = path;
  p.client = v.cfg.vhost_client;
  p.rte_path = path;
  std::string private_dir;
  if (!p.client) {
    struct stat st {};
    if (restoring)
      remove_stale_socket(path);
    else if (::lstat(path.c_str(), &st) == 0)
      throw std::runtime_error("vhost_path: " + path + " already exists (venicd replaces only sockets it made)");
    private_dir = private_dir_beside(path);
    p.rte_path = private_dir + "/s";
    if (p.rte_path.size() >= sizeof(sockaddr_un::sun_path)) {
      ::rmdir(private_dir.c_str());
      throw std::runtime_error("vhost_path: the directory of " + path + " has too long a path");
    }
  }
  p.bridge = std::make_unique<VhostPort>(v.cfg.id, v.cfg.queues);
  // A client keeps reconnecting to a guest that is not (yet) listening.
  const uint64_t flags = p.client ? RTE_VHOST_USER_CLIENT : 0;
  const std::string rte_path = p.rte_path;
  if (rte_vhost_driver_register(rte_path.c_str(), flags) != 0) {
    if (!private_dir.empty()) ::rmdir(private_dir.c_str());
    throw std::runtime_error("vhost_path: cannot register " + path + " with rte_vhost");
  }
  static const rte_vhost_device_ops ops = [] {
    rte_vhost_device_ops o{};
    o.new_device = on_new_device;
    o.destroy_device = on_destroy_device;
    o.new_connection = on_new_connection;
    return o;
  }();
  {
    std::lock_guard<std::mutex> l(mu_);
    ports_[v.cfg.id] = std::move(p);
  }
  std::string step;
  if (rte_vhost_driver_disable_features(rte_path.c_str(), kNoOffloads) != 0)
    step = "disable offloads";
  else if (rte_vhost_driver_callback_register(rte_path.c_str(), &ops) != 0)
    step = "register callbacks";
  else if (rte_vhost_driver_start(rte_path.c_str()) != 0)
    step = v.cfg.vhost_client ? "start connecting" : "listen";
  else if (!v.cfg.vhost_client && ::chmod(rte_path.c_str(), 0660) != 0)
    step = "chmod 0660";  // as the control socket: root and the daemon's group
  else if (!v.cfg.vhost_client &&
           ::renameat2(AT_FDCWD, rte_path.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0)
    step = std::string("put the socket in place (") + std::strerror(errno) + ")";
  if (step.empty() && !v.cfg.vhost_client) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      std::lock_guard<std::mutex> l(mu_);
      ports_[v.cfg.id].created = std::make_pair(st.st_dev, st.st_ino);
    }
  }
  if (!private_dir.empty()) {
    if (!step.empty()) ::unlink(rte_path.c_str());
    ::rmdir(private_dir.c_str());
  }
  if (!step.empty()) {
    rte_vhost_driver_unregister(rte_path.c_str());
    std::lock_guard<std::mutex> l(mu_);
    ports_.erase(v.cfg.id);
    throw std::runtime_error("vhost_path: cannot " + step + " on " + path);
  }
}

void VhostFrontend::withdraw(vf::Vf& v) {
  Port* p = nullptr;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = ports_.find(v.cfg.id);
    if (it == ports_.end()) return;
    p = &it->second;
  }
  // Closes the connection (rte_vhost calls destroy_device in this thread).
  rte_vhost_driver_unregister(p->rte_path.c_str());
  remove_created(*p);
  std::lock_guard<std::mutex> l(mu_);
  ports_.erase(v.cfg.id);  // the VF is detached: no snapshot calls this bridge any more
}

void VhostFrontend::push(Event e) {
  std::lock_guard<std::mutex> l(mu_);
  events_.push_back(e);
}

// rte_vhost's threads read a guest's rings while handling its messages
// (SET_VRING_ADDR, SET_VRING_KICK): a guest that truncated its memory must not
// kill venicd there either.  The control thread, which calls rte_vhost too
// (a client-mode connect), keeps the default.
void VhostFrontend::guard_vhost_thread() {
  if (!pthread_equal(pthread_self(), g_self->control_thread_)) fastpath::patch_peer_faults_on_this_thread();
}

int VhostFrontend::on_new_connection(int) {
  guard_vhost_thread();
  return 0;
}

int VhostFrontend::on_new_device(int vid) {
  VhostFrontend* self = g_self;
  guard_vhost_thread();
  const std::string path = ifname(vid);
  std::lock_guard<std::mutex> l(self->mu_);
  for (auto& [id, p] : self->ports_) {
    if (p.rte_path != path) continue;
    self->events_.push_back({true, id, vid});
    return 0;
  }
  return -1;
}

void VhostFrontend::on_destroy_device(int vid) {
  VhostFrontend* self = g_self;
  guard_vhost_thread();
  const std::string path = ifname(vid);
  bool was_bound = false;
  uint16_t vf = 0;
  {
    std::lock_guard<std::mutex> l(self->mu_);
    for (auto& [id, p] : self->ports_) {
      if (p.rte_path != path) continue;
      vf = id;
      was_bound = p.bridge->unbind_guest(vid);
      break;
    }
  }
  // rte_vhost unmaps the guest's memory once we return: no worker may still
  // be inside its virtqueues.
  if (was_bound) self->dp_.synchronize();
  self->push({false, vf, vid});
}

void VhostFrontend::attach(vf::VfTable& table, uint16_t id, Port& p, int vid) {
  const vf::Vf& v = table.get(id);
  // The guest's queue pairs, as many as the VF has.
  uint32_t qps = std::min<uint32_t>(v.cfg.queues, rte_vhost_get_vring_num(vid) / 2);
  if (qps == 0) qps = 1;
  p.bridge->bind(vid, *v.region);
  try {
    table.attach_bridge(id, session_of(id), p.bridge.get(), p.bridge->dma(), qps);
  } catch (const std::exception& e) {
    p.bridge->unbind_guest(vid);
    std::fprintf(stderr, "venicd: VF %u: vhost-user guest not attached: %s\n", id, e.what());
    return;
  }
  p.attached_vid = vid;
  p.qps = qps;
}

void VhostFrontend::detach(vf::VfTable& table, uint16_t id, Port& p) {
  table.detach_session(session_of(id));  // returns once the workers left the VF
  p.bridge->unbind_guest(p.attached_vid);
  p.bridge->release();
  p.attached_vid = -1;
  p.qps = 0;
}

void VhostFrontend::poll(vf::VfTable& table) {
  std::deque<Event> events;
  {
    std::lock_guard<std::mutex> l(mu_);
    events.swap(events_);
  }
  for (size_t i = 0; i < events.size(); i++) {
    const Event& e = events[i];
    auto it = ports_.find(e.vf);
    if (it == ports_.end()) continue;  // withdrawn meanwhile
    Port& p = it->second;
    if (e.ready) {
      // A guest that came and went within this batch is not attached at all.
      bool gone = false;
      for (size_t k = i + 1; k < events.size() && !gone; k++)
        gone = !events[k].ready && events[k].vf == e.vf && events[k].vid == e.vid;
      if (gone) continue;
      if (p.attached_vid >= 0) detach(table, e.vf, p);
      attach(table, e.vf, p, e.vid);
    } else if (p.attached_vid == e.vid) {
      detach(table, e.vf, p);
    }
  }
  // A bridge VF reset by malicious-driver detection (its queues stopped):
  // start it again on the same connection.
  for (auto& [id, p] : ports_) {
    if (p.attached_vid < 0 || table.get(id).started) continue;
    const int vid = p.attached_vid;
    detach(table, id, p);
    attach(table, id, p, vid);
  }
}

nlohmann::json VhostFrontend::describe(const vf::Vf& v) const {
  auto it = ports_.find(v.cfg.id);
  if (it == ports_.end()) return {{"path", v.cfg.vhost_path}, {"serving", false}};
  const Port& p = it->second;
  VhostCounters c = p.bridge->counters();
  return {{"path", p.path},
          {"mode", p.client ? "client" : "server"},
          {"serving", true},
          {"connected", p.attached_vid >= 0},
          {"queues", p.qps},
          {"from_guest_pkts", c.from_guest},
          {"to_guest_pkts", c.to_guest},
          {"to_guest_dropped", c.guest_full},
          {"dropped_no_guest", c.guest_gone},
          {"dropped_too_many_segs", c.too_many_segs},
          {"guests_cut_off_for_memory_faults", c.memory_faults}};
}

}  // namespace venic::frontend
