// Time Sync's sockets: UDP port 123 at 169.254.169.123 and [fd00:ec2::123], replies from ntp_packet.h
// with the host's CLOCK_REALTIME.  Only clients behind a VF are answered.
#pragma once

#include <atomic>
#include <thread>
#include <vector>

namespace venic::services {

class NtpServer {
 public:
  NtpServer();  // in the calling thread's namespace; throws std::runtime_error
  ~NtpServer();
  void start();
  void stop();

 private:
  void serve();
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace venic::services
