// Amazon DNS's sockets: UDP port 53 at 169.254.169.253 and [fd00:ec2::253],
// TCP port 53 on every address of the namespace; answers from
// dns_resolver.h for the VF that asks.  Sockets are made by the
// constructor, in the calling thread's namespace.
#pragma once

#include <atomic>
#include <thread>
#include <vector>

#include "directory.h"

namespace venic::services {

class DnsServer {
 public:
  // Throws std::runtime_error.
  explicit DnsServer(const DirectoryBoard& dir);
  ~DnsServer();
  void start();
  void stop();

 private:
  void serve_udp();
  void serve_tcp();

  const DirectoryBoard& dir_;
  std::vector<int> udp_;
  int tcp_ = -1;
  std::atomic<bool> stop_{false};
  std::thread udp_thread_, tcp_thread_;
};

}  // namespace venic::services
