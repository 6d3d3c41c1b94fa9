// The gateways' thread above the fast path: the GatewayPort the workers
// hand frames for internet and NAT gateways to (fastpath/gateway_port.h), a
// bounded queue, the translation (gateway_engine.h) and the internet uplink
// (internet_uplink.h); answers reach instances through an inject function
// (Dataplane::inject).
//
// Threads: offer() from any worker; publish() and stats() from the control
// thread; one gateway thread of its own does the rest.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "gateway_directory.h"
#include "gateway_engine.h"
#include "gateway_port.h"
#include "gateway_queue.h"

namespace venic::gateways {

class GatewayService final : public fastpath::GatewayPort {
 public:
  struct Options {
    GatewayEngine::Options engine;
    uint32_t queue_frames = 1024;
  };
  using Inject = GatewayEngine::ToInstance;

  GatewayService(Options o, Inject inject);
  ~GatewayService() override;

  // Starts the gateway thread on the uplink's fd (uplink_fd: a TUN's, not
  // owned).  Before it, offer() takes nothing.
  void start(int uplink_fd);
  void stop();

  bool offer(uint16_t vf, const char* gateway, const uint8_t* frame, uint32_t len) override;

  // The model's view (control thread, after every change).
  void publish(std::shared_ptr<const GatewayDirectory> d);
  const GatewayStats& stats() const { return stats_; }
  nlohmann::json stats_json() const;

 private:
  void run();
  std::shared_ptr<const GatewayDirectory> latest();

  Options opt_;
  Inject inject_;
  GatewayStats stats_;
  GatewayEngine engine_;
  GatewayQueue queue_;
  std::mutex dir_mu_;
  std::shared_ptr<const GatewayDirectory> dir_;
  uint64_t dir_serial_ = 0;
  int uplink_ = -1;
  int wake_ = -1;  // eventfd: the queue went from empty to not
  std::atomic<bool> running_{false}, stop_{false};
  std::thread thread_;
};

}  // namespace venic::gateways
