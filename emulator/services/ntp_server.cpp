#include "ntp_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <ctime>

#include "address_map.h"
#include "ntp_packet.h"
#include "udp_socket.h"

namespace venic::services {

NtpServer::NtpServer() {
  fds_.push_back(bind_udp4(addr::kTime4, addr::kTimePort));
  if (int v6 = bind_udp6(addr::kTime6, addr::kTimePort); v6 >= 0) fds_.push_back(v6);
}

NtpServer::~NtpServer() {
  stop();
  for (int fd : fds_) ::close(fd);
}

void NtpServer::start() {
  thread_ = std::thread([this] { serve(); });
}

void NtpServer::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void NtpServer::serve() {
  uint8_t buf[512];
  while (!stop_) {
    const int fd = wait_any(fds_, 200);
    if (fd < 0) continue;
    sockaddr_storage from{};
    socklen_t flen = sizeof(from);
    const ssize_t n = ::recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen);
    timespec rx{};
    ::clock_gettime(CLOCK_REALTIME, &rx);
    if (n <= 0 || !vf_of_client(peer_text(from))) continue;
    timespec tx{};
    ::clock_gettime(CLOCK_REALTIME, &tx);
    if (auto r = ntp_reply({buf, static_cast<size_t>(n)}, rx, tx))
      ::sendto(fd, r->data(), r->size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), flen);
  }
}

}  // namespace venic::services
