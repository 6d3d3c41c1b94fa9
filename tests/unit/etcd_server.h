// A real etcd (Debian's etcd-server) for a test, on loopback ports of its
// own, in a temporary directory; stopped and removed by the destructor.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "etcd_client.h"

namespace venic::testing {

inline uint16_t free_tcp_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class EtcdServer {
 public:
  static bool installed() { return access("/usr/bin/etcd", X_OK) == 0; }

  // Starts etcd and waits until it answers; false when it did not come up.
  bool start() {
    char tmpl[] = "/tmp/venic-etcd.XXXXXX";
    if (!mkdtemp(tmpl)) return false;
    dir_ = tmpl;
    const std::string client = "http://127.0.0.1:" + std::to_string(free_tcp_port());
    const std::string peer = "http://127.0.0.1:" + std::to_string(free_tcp_port());
    url_ = client;
    pid_ = fork();
    if (pid_ == 0) {
      const std::string log = dir_ + "/etcd.log";
      if (!freopen(log.c_str(), "w", stdout) || !freopen(log.c_str(), "a", stderr)) _exit(126);
      execl("/usr/bin/etcd", "etcd", "--name", "t", "--data-dir", (dir_ + "/data").c_str(), "--listen-client-urls",
            client.c_str(), "--advertise-client-urls", client.c_str(), "--listen-peer-urls", peer.c_str(),
            "--initial-advertise-peer-urls", peer.c_str(), "--initial-cluster", ("t=" + peer).c_str(), nullptr);
      _exit(127);
    }
    cluster::EtcdClient c({url_}, std::chrono::milliseconds(500));
    for (int i = 0; i < 200; i++) {
      try {
        c.get("ready?");
        return true;
      } catch (const cluster::EtcdError&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    return false;
  }
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  ~EtcdServer() {
    stop();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  const std::string& url() const { return url_; }

 private:
  std::string dir_, url_;
  pid_t pid_ = -1;
};

}  // namespace venic::testing
