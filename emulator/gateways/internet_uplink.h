// "The internet" venicd's gateways talk to: a TUN device (IFF_TUN |
// IFF_NO_PI, IP packets both ways) that venicd creates by name in its own
// network namespace.  The user moves it where the internet is
// (`ip link set NAME netns NS`: the fd stays valid), gives it an address
// and a route to venic's public pool (203.0.113.0/24), and brings it up.
// Its MTU is the internet's: 1500.
#pragma once

#include <string>

namespace venic::gateways {

class InternetUplink {
 public:
  // spec: "tun:NAME" (NAME at most 15 characters).  Throws
  // std::runtime_error saying what failed (e.g. no CAP_NET_ADMIN).
  explicit InternetUplink(const std::string& spec);
  ~InternetUplink();
  InternetUplink(const InternetUplink&) = delete;
  InternetUplink& operator=(const InternetUplink&) = delete;

  int fd() const { return fd_; }  // non-blocking
  const std::string& name() const { return name_; }

 private:
  int fd_ = -1;
  std::string name_;
};

}  // namespace venic::gateways
