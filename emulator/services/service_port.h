// The exception path to the instance's own services (issue 18): frames a VF
// sends to IMDS (169.254.169.254 tcp/80, [fd00:ec2::254]), Time Sync
// (169.254.169.123 udp/123, [fd00:ec2::123]) and Amazon DNS (169.254.169.253
// and the VPC's base+2, udp+tcp/53, [fd00:ec2::253]) leave the fast path
// here; the Linux kernel terminates TCP/UDP in a private network namespace
// (service_netns.h) where small servers answer per VF, and the replies come
// back as Ethernet frames from the router's MAC to the ENI's.
//
// Threads: offer() from any fast-path worker; set_inject() and publish()
// from the control thread; one service thread of its own moves frames
// between the queue, the TUN and inject(); the servers have theirs.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "directory.h"
#include "frame_queue.h"

namespace venic::services {

class ServicePort {
 public:
  struct Options {
    std::array<uint8_t, 6> router_mac{};  // the fast path's kRouterMac: replies come from it
    uint32_t queue_frames = 512;          // offered frames waiting at most
  };
  struct Stats {
    std::atomic<uint64_t> offered{0}, dropped{0}, refused{0}, to_services{0}, replies{0}, inject_refused{0};
  };

  explicit ServicePort(Options o);
  ~ServicePort();

  // Creates the namespace, its TUN and the servers, and starts the service
  // thread.  "" on success, else why the services are off (e.g. no
  // CAP_SYS_ADMIN); offer() then takes nothing.
  std::string start();
  void stop();

  // Fast path, from any worker thread, never blocks nor allocates: takes a
  // copy of one whole Ethernet frame sent by VF `vf`.  False when the queue
  // is full, the frame is over 2048 bytes or the port is not running (the
  // caller counts a drop).
  bool offer(uint16_t vf, const uint8_t* frame, uint32_t len);

  // How replies reach a VF's RX ring: set by the dataplane before start();
  // called on the service thread; returns false when the VF takes nothing now.
  using Inject = std::function<bool(uint16_t vf, const uint8_t* frame, uint32_t len)>;
  void set_inject(Inject f);

  // The model's view the services answer from (control thread, after every change).
  void publish(std::shared_ptr<const Directory> d) { dir_.publish(std::move(d)); }
  const DirectoryBoard& directory() const { return dir_; }

  const Stats& stats() const { return stats_; }
  // The namespace (an fd to setns into; tests), -1 before start().
  int netns_fd() const;

 private:
  struct Running;
  void run(std::promise<std::string>* started);
  void from_queue(uint8_t* buf);
  void from_tun(uint8_t* buf, uint8_t* out);
  uint8_t hop_cap(uint16_t vf, uint16_t port);
  void limit_hops(uint16_t vf, int port, int hops);

  Options opt_;
  FrameQueue queue_;
  DirectoryBoard dir_;
  Stats stats_;
  std::mutex inject_mu_;
  Inject inject_;
  std::mutex hops_mu_;
  std::map<uint32_t, uint8_t> hops_;  // vf << 16 | client port -> IMDS reply TTL cap
  std::atomic<bool> running_{false}, stop_{false};
  int wake_ = -1;  // eventfd: the queue went from empty to not
  std::unique_ptr<Running> r_;
  std::thread thread_;
};

}  // namespace venic::services
