// Time Sync's socket: UDP port 123 in the namespace, replies from ntp_packet.h
// with the host's CLOCK_REALTIME.  Only clients behind a VF are answered.
#pragma once

#include <atomic>
#include <thread>

namespace venic::services {

class NtpServer {
 public:
  explicit NtpServer(int port = 123);  // in the calling thread's namespace; throws
  ~NtpServer();
  void start();
  void stop();
  int port() const;

 private:
  void serve();
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace venic::services
