#include "service_netns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "address_map.h"

namespace venic::services {

namespace {

constexpr const char* kTunName = "svc0";
constexpr int kTunMtu = 1500;  // the guest's TCP segments follow the MSS this gives

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("instance services: " + what + ": " + std::strerror(errno));
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void set_ipv4(int sock, const std::string& ifname, unsigned long req, uint32_t a) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(a);
  std::memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
  if (::ioctl(sock, req, &ifr) != 0) fail("address on " + ifname);
}

void up(int sock, const char* ifname) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  if (::ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) fail(std::string("flags of ") + ifname);
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (::ioctl(sock, SIOCSIFFLAGS, &ifr) != 0) fail(std::string("bringing up ") + ifname);
}

// in6_ifreq (linux/ipv6.h, which clashes with netinet/in.h).
struct In6Ifreq {
  in6_addr addr;
  uint32_t prefixlen;
  int ifindex;
};

bool add_ipv6(int ifindex, const Ip6& a, int prefix) {
  Fd s{::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return false;
  In6Ifreq r{};
  std::memcpy(&r.addr, a.data(), 16);
  r.prefixlen = static_cast<uint32_t>(prefix);
  r.ifindex = ifindex;
  return ::ioctl(s.fd, SIOCSIFADDR, &r) == 0;
}

void write_sysctl(const char* path, const char* value) {
  Fd f{::open(path, O_WRONLY | O_CLOEXEC)};
  if (f.fd >= 0 && ::write(f.fd, value, std::strlen(value)) < 0) return;  // best effort: IPv6 may be off
}

}  // namespace

ServiceNetns::ServiceNetns() {
  if (::unshare(CLONE_NEWNET) != 0) fail("unshare(CLONE_NEWNET) (needs CAP_SYS_ADMIN)");
  ns_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (ns_ < 0) fail("opening the namespace");
  // Addresses usable at once: no duplicate detection on a link only we use.
  write_sysctl("/proc/sys/net/ipv6/conf/default/accept_dad", "0");
  write_sysctl("/proc/sys/net/ipv6/conf/all/accept_dad", "0");
  Fd sock{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0) fail("socket");
  up(sock.fd, "lo");

  tun_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (tun_ < 0) fail("opening /dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, kTunName, IFNAMSIZ - 1);
  if (::ioctl(tun_, TUNSETIFF, &ifr) != 0) fail("TUNSETIFF");
  set_ipv4(sock.fd, kTunName, SIOCSIFADDR, addr::kTun4);
  set_ipv4(sock.fd, kTunName, SIOCSIFNETMASK, ~0u << (32 - addr::kTun4Prefix));
  ifreq mtu{};
  std::strncpy(mtu.ifr_name, kTunName, IFNAMSIZ - 1);
  mtu.ifr_mtu = kTunMtu;
  if (::ioctl(sock.fd, SIOCSIFMTU, &mtu) != 0) fail("MTU of the TUN");
  up(sock.fd, kTunName);
  // The service addresses, as /32 aliases of lo: local, whichever link asks.
  int alias = 1;
  for (uint32_t a : {addr::kImds4, addr::kTime4, addr::kDns4})
    if (!add_loopback_ipv4(a, alias++)) fail("service address on lo");
  const int ifindex = static_cast<int>(::if_nametoindex(kTunName));
  if (add_ipv6(ifindex, addr::kTun6, addr::kTun6Prefix)) {
    const int lo = static_cast<int>(::if_nametoindex("lo"));
    for (const Ip6& a : {addr::kImds6, addr::kTime6, addr::kDns6}) add_ipv6(lo, a, 128);
  }
}

ServiceNetns::~ServiceNetns() {
  if (tun_ >= 0) ::close(tun_);
  if (ns_ >= 0) ::close(ns_);
}

bool add_loopback_ipv4(uint32_t a, int alias) {
  Fd sock{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0) return false;
  const std::string name = "lo:" + std::to_string(alias);
  try {
    set_ipv4(sock.fd, name, SIOCSIFADDR, a);
    set_ipv4(sock.fd, name, SIOCSIFNETMASK, ~0u);
    up(sock.fd, name.c_str());
  } catch (const std::runtime_error&) {
    return false;
  }
  return true;
}

}  // namespace venic::services
