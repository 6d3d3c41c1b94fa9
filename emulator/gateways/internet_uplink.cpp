#include "internet_uplink.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "icmp_answers.h"

namespace venic::gateways {

namespace {
[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("internet uplink: " + what + ": " + std::strerror(errno));
}
}  // namespace

InternetUplink::InternetUplink(const std::string& spec) {
  if (spec.rfind("tun:", 0) != 0)
    throw std::runtime_error("internet uplink: '" + spec + "' is not tun:NAME (the only kind venic has)");
  name_ = spec.substr(4);
  if (name_.empty() || name_.size() >= IFNAMSIZ || name_.find_first_of("/ \t:") != std::string::npos)
    throw std::runtime_error("internet uplink: bad interface name '" + name_ + "' (1-15 characters)");
  fd_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) fail("opening /dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, name_.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd_, TUNSETIFF, &ifr) != 0) {
    ::close(fd_);
    fd_ = -1;
    fail("creating TUN " + name_ + " (needs CAP_NET_ADMIN)");
  }
  const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock >= 0) {
    ifreq mtu{};
    std::strncpy(mtu.ifr_name, name_.c_str(), IFNAMSIZ - 1);
    mtu.ifr_mtu = static_cast<int>(kInternetMtu);
    (void)::ioctl(sock, SIOCSIFMTU, &mtu);  // 1500 is a TUN's default anyway
    ::close(sock);
  }
}

InternetUplink::~InternetUplink() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace venic::gateways
