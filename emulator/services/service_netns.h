// The private network namespace of the exception path and its TUN: created
// by the calling thread (which stays in it; threads it starts inherit it),
// anonymous, so it goes away with the last thread and fd that hold it.
#pragma once

#include <string>

namespace venic::services {

class ServiceNetns {
 public:
  // Moves the calling thread into a new network namespace, brings lo up and
  // creates the TUN "svc0" with the service and client-prefix addresses
  // (address_map.h).  Throws std::runtime_error saying what failed.
  ServiceNetns();
  ~ServiceNetns();
  ServiceNetns(const ServiceNetns&) = delete;
  ServiceNetns& operator=(const ServiceNetns&) = delete;

  int tun_fd() const { return tun_; }
  int netns_fd() const { return ns_; }  // to enter it (tests): setns(fd, CLONE_NEWNET)

 private:
  int tun_ = -1;
  int ns_ = -1;
};

// Adds address a (host order) as a /32 alias on lo, in the calling thread's
// namespace (tests bind clients there to play a VF).  False on failure.
bool add_loopback_ipv4(uint32_t a, int alias);

}  // namespace venic::services
