#include "control_server.h"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "phase_clock.h"
#include "protocol.h"
#include "seqpacket.h"

namespace venic::control {

namespace {

// A request slower than this is logged with where its time went, since a
// client gives up after 30 s and the daemon is the only one that can tell why.
constexpr auto kSlowRequest = std::chrono::seconds(1);

struct RequestStart {
  std::chrono::steady_clock::time_point at;
  uint64_t grace_ns, save_ns;
};

RequestStart request_start() {
  return {std::chrono::steady_clock::now(), phase_ns(Phase::kGracePeriod).load(std::memory_order_relaxed),
          phase_ns(Phase::kStateSave).load(std::memory_order_relaxed)};
}

// `what`: a request's text (uid set) or the name of the daemon's own work.
void report_if_slow(const RequestStart& s, const std::string& what, std::optional<uid_t> uid) {
  auto took = std::chrono::steady_clock::now() - s.at;
  if (took < kSlowRequest) return;
  auto ms = [](uint64_t ns) { return static_cast<unsigned long long>(ns / 1000000); };
  std::string name = what;
  if (uid) {
    auto j = nlohmann::json::parse(what, nullptr, false);
    name = j.is_object() && j.contains("method") && j["method"].is_string() ? j["method"] : "?";
    name += " from uid " + std::to_string(*uid);
  }
  std::fprintf(stderr, "venicd: slow request: %s took %llu ms (%llu ms waiting for workers, %llu ms saving state)\n",
               name.c_str(), ms(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()),
               ms(phase_ns(Phase::kGracePeriod).load(std::memory_order_relaxed) - s.grace_ns),
               ms(phase_ns(Phase::kStateSave).load(std::memory_order_relaxed) - s.save_ns));
}

std::runtime_error sys_error(const std::string& what) {
  if (errno == EMFILE || errno == ENFILE)
    return std::runtime_error(what + ": venicd is out of file descriptors (" + std::strerror(errno) + ")");
  return std::runtime_error(what + ": " + std::strerror(errno));
}

// Accepts per wake-up: a flood of connections never starves the clients
// already connected.
constexpr int kAcceptsPerWake = 64;
// How long the listening socket is left alone once venicd runs out of fds.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

std::string error_text(std::string_view code, const std::string& message) {
  return nlohmann::json{{"id", nullptr}, {"error", {{"code", code}, {"message", message}}}}.dump();
}

// Answers a peer that is turned away at accept, then lets the caller close
// it.  What the peer already sent is read and dropped first: closing a socket
// with unread data resets the peer's end, and the answer with it.  (recv
// without a control buffer: fds that came along are never installed here.)
void refuse(int fd, std::string_view code, const std::string& message) {
  char sink[512];
  for (int i = 0; i < 4 && ::recv(fd, sink, sizeof(sink), MSG_DONTWAIT) >= 0; i++) {
  }
  send_message(fd, error_text(code, message));  // non-blocking: never waits on the peer
}

unsigned open_fds() {
  std::error_code ec;
  unsigned n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::end(it);
       it.increment(ec))
    n++;
  return n;
}

sockaddr_un make_addr(const std::string& path) {
  sockaddr_un a{};
  if (path.size() >= sizeof(a.sun_path)) throw std::runtime_error("socket path too long: " + path);
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

// A socket file left by a daemon that died is removed; a live one is not.
void clear_stale_socket(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) return;
  if (!S_ISSOCK(st.st_mode)) throw std::runtime_error(path + " exists and is not a socket");
  UniqueFd probe(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un a = make_addr(path);
  if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0)
    throw std::runtime_error("another venicd is already serving " + path);
  ::unlink(path.c_str());
}

}  // namespace

ControlServer::ControlServer(ServerOptions opts, ControlMethods& methods, vf::VfTable& table)
    : opts_(std::move(opts)), methods_(methods), table_(table), own_uid_(::geteuid()) {
  std::filesystem::path p(opts_.path);
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) throw std::runtime_error("cannot create " + p.parent_path().string() + ": " + ec.message());
  }
  clear_stale_socket(opts_.path);
  listen_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listen_.valid()) throw sys_error("socket");
  sockaddr_un a = make_addr(opts_.path);
  mode_t old = ::umask(0117);  // the socket is born 0660, never briefly wider
  int rc = ::bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::umask(old);
  if (rc < 0) throw sys_error("bind " + opts_.path);
  if (opts_.group && ::chown(opts_.path.c_str(), static_cast<uid_t>(-1), *opts_.group) < 0)
    throw sys_error("chown " + opts_.path);
  if (::chmod(opts_.path.c_str(), 0660) < 0) throw sys_error("chmod " + opts_.path);
  if (::listen(listen_.get(), 64) < 0) throw sys_error("listen");
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listen_.get(), &ev);
}

ControlServer::~ControlServer() {
  std::vector<int> fds;
  for (auto& [fd, c] : clients_) fds.push_back(fd);
  for (int fd : fds) drop_client(fd);
  ::unlink(opts_.path.c_str());
}

bool ControlServer::allowed(uid_t uid) const {
  if (uid == 0 || uid == own_uid_) return true;
  for (uid_t u : opts_.allow_uids)
    if (u == uid) return true;
  return false;
}

void ControlServer::accept_clients() {
  for (int i = 0; i < kAcceptsPerWake; i++) {
    int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // The listening socket stays readable while the backlog holds peers:
      // retrying now would spin.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) pause_accepting();
      return;
    }
    fd_exhaustion_logged_ = false;
    UniqueFd owned(fd);
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) continue;
    // Turned away before it costs an epoll entry or a session.
    if (!allowed(cred.uid)) {
      refuse(fd, err::kPermission, "uid " + std::to_string(cred.uid) + " may not use venicd");
      continue;
    }
    unsigned& open = connections_[cred.uid];
    if (capped(cred.uid) && open >= opts_.max_connections_per_uid) {
      refuse(fd, err::kLimit,
             "uid " + std::to_string(cred.uid) + " already has " + std::to_string(open) +
                 " connections open to venicd (the most a uid may hold: --max-connections-per-uid)");
      if (open == 0) connections_.erase(cred.uid);
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) {
      if (open == 0) connections_.erase(cred.uid);
      continue;
    }
    open++;
    Client c{std::move(owned), Session{next_session_++, cred.pid, cred.uid, process_start_time(cred.pid)}};
    clients_.emplace(fd, std::move(c));
  }
}

void ControlServer::pause_accepting() {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listen_.get(), nullptr);
  accept_paused_until_ = std::chrono::steady_clock::now() + kAcceptBackoff;
  if (fd_exhaustion_logged_) return;  // once per spell
  fd_exhaustion_logged_ = true;
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  std::fprintf(stderr,
               "venicd: venicd is out of file descriptors (%u open, limit %llu, %zu control connections): "
               "not accepting connections for %lld ms at a time until some close\n",
               open_fds(), static_cast<unsigned long long>(lim.rlim_cur), clients_.size(),
               static_cast<long long>(kAcceptBackoff.count()));
}

void ControlServer::resume_accepting_when_due() {
  if (!accept_paused_until_ || std::chrono::steady_clock::now() < *accept_paused_until_) return;
  accept_paused_until_.reset();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listen_.get(), &ev);
}

void ControlServer::drop_client(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  // A client that dies mid-transfer loses its VF; everyone else carries on.
  methods_.session_closed(it->second.session.id);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  if (auto c = connections_.find(it->second.session.uid); c != connections_.end() && --c->second == 0)
    connections_.erase(c);
  clients_.erase(it);
}

void ControlServer::serve(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  std::string req;
  std::vector<UniqueFd> fds_in;
  long n = recv_message(fd, req, fds_in);
  if (n == -EAGAIN) return;
  if (n == -EMSGSIZE) {
    send_message(fd, error_text(err::kInvalidRequest,
                                "request too large (over 256 KiB or 64 file descriptors), or venicd is out of file "
                                "descriptors to receive its descriptors"));
    return;
  }
  if (n <= 0) {
    drop_client(fd);
    return;
  }
  std::vector<int> fds_out;
  const RequestStart started = request_start();
  std::string reply = methods_.handle(req, it->second.session, fds_in, fds_out);
  report_if_slow(started, req, it->second.session.uid);
  if (send_message(fd, reply, fds_out) < 0) drop_client(fd);
}

void ControlServer::run(const std::atomic<bool>& stop) {
  using clock = std::chrono::steady_clock;
  auto next_tick = clock::now();
  epoll_event events[32];
  while (!stop.load(std::memory_order_relaxed)) {
    resume_accepting_when_due();
    int n = ::epoll_wait(epoll_.get(), events, 32, 1);
    for (int i = 0; i < n; i++) {
      if (events[i].data.fd == listen_.get())
        accept_clients();
      else
        serve(events[i].data.fd);
    }
    if (tasks_) {
      const RequestStart api_started = request_start();
      tasks_->run_pending();
      report_if_slow(api_started, "EC2 API requests", std::nullopt);
    }
    const RequestStart started = request_start();
    table_.poll_admin();
    table_.poll_frontends();
    if (clock::now() >= next_tick) {
      table_.tick();
      next_tick = clock::now() + std::chrono::milliseconds(100);
    }
    if (opts_.housekeeping) opts_.housekeeping();
    // Requests wait behind this work, so it is named when it is slow too.
    report_if_slow(started, "housekeeping (admin queues, front-ends, tick)", std::nullopt);
  }
}

}  // namespace venic::control
