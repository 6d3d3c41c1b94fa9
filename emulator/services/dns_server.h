// Amazon DNS's sockets: UDP and TCP port 53 on every address of the
// namespace (v4 and v6), answers from dns_resolver.h for the VF that asks.
// Sockets are made by the constructor, in the calling thread's namespace.
#pragma once

#include <atomic>
#include <thread>

#include "directory.h"

namespace venic::services {

class DnsServer {
 public:
  // port: 53, or 0 for any (tests); throws std::runtime_error.
  DnsServer(const DirectoryBoard& dir, int port = 53);
  ~DnsServer();
  void start();
  void stop();
  int udp_port() const;

 private:
  void serve_udp();
  void serve_tcp();

  const DirectoryBoard& dir_;
  int udp_ = -1, tcp_ = -1;
  std::atomic<bool> stop_{false};
  std::thread udp_thread_, tcp_thread_;
};

}  // namespace venic::services
