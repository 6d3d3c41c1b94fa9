#include "dns_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <vector>

#include "address_map.h"
#include "dns_resolver.h"
#include "udp_socket.h"

namespace venic::services {

namespace {

constexpr int kPollMs = 200;

bool read_all(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

DnsServer::DnsServer(const DirectoryBoard& dir) : dir_(dir) {
  tcp_ = bind_dual_stack(SOCK_STREAM, addr::kDnsPort);
  try {
    udp_.push_back(bind_udp4(addr::kDns4, addr::kDnsPort));
  } catch (...) {
    ::close(tcp_);
    throw;
  }
  if (int v6 = bind_udp6(addr::kDns6, addr::kDnsPort); v6 >= 0) udp_.push_back(v6);
}

DnsServer::~DnsServer() {
  stop();
  for (int fd : udp_) ::close(fd);
  ::close(tcp_);
}

void DnsServer::start() {
  udp_thread_ = std::thread([this] { serve_udp(); });
  tcp_thread_ = std::thread([this] { serve_tcp(); });
}

void DnsServer::stop() {
  stop_ = true;
  if (udp_thread_.joinable()) udp_thread_.join();
  if (tcp_thread_.joinable()) tcp_thread_.join();
}

void DnsServer::serve_udp() {
  std::vector<uint8_t> buf(dns::kMaxMessage + 1);
  while (!stop_) {
    const int fd = wait_any(udp_, kPollMs);
    if (fd < 0) continue;
    sockaddr_storage from{};
    socklen_t flen = sizeof(from);
    const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n <= 0) continue;
    auto vf = vf_of_client(peer_text(from));
    if (!vf) continue;
    auto reply = answer_dns(*dir_.get(), *vf, {buf.data(), static_cast<size_t>(n)});
    if (!reply.empty())
      ::sendto(fd, reply.data(), reply.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), flen);
  }
}

void DnsServer::serve_tcp() {
  // One connection at a time, each with a short deadline: DNS over TCP is
  // the rare fallback, and a slow client must not hold it long.
  std::vector<uint8_t> buf(dns::kMaxMessage);
  while (!stop_) {
    if (!wait_readable(tcp_, kPollMs)) continue;
    sockaddr_storage from{};
    socklen_t flen = sizeof(from);
    const int c = ::accept4(tcp_, reinterpret_cast<sockaddr*>(&from), &flen, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) continue;
    const int flags = 0;
    ::fcntl(c, F_SETFL, flags);  // blocking, with timeouts
    timeval tv{1, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    auto vf = vf_of_client(peer_text(from));
    uint8_t len[2];
    if (vf && read_all(c, len, 2)) {
      const size_t n = static_cast<size_t>(len[0] << 8 | len[1]);
      if (n <= buf.size() && read_all(c, buf.data(), n)) {
        auto reply = answer_dns(*dir_.get(), *vf, {buf.data(), n});
        if (!reply.empty()) {
          const uint8_t rl[2] = {static_cast<uint8_t>(reply.size() >> 8), static_cast<uint8_t>(reply.size())};
          reply.insert(reply.begin(), rl, rl + 2);
          (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        }
      }
    }
    ::close(c);
  }
}

}  // namespace venic::services
