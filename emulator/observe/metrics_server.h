// venicd --metrics ADDR:PORT: serves GET /metrics (Prometheus text) from the
// stats snapshot on its own thread (cpp-httplib, two handler threads).
// Every VF's counters are visible to whoever reaches the address: bind it to
// the loopback or a management network.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "stats_snapshot.h"

namespace httplib {
class Server;
}

namespace venic::observe {

class MetricsServer {
 public:
  // address is HOST:PORT ([V6]:PORT for IPv6).  Binds at once; throws
  // std::runtime_error with the reason when the address is malformed or busy.
  MetricsServer(const std::string& address, std::shared_ptr<StatsSnapshot> snap);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  std::shared_ptr<StatsSnapshot> snap_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> done_{false};  // the listening thread returned
  int port_ = 0;
};

// Splits HOST:PORT; false when malformed (port 1-65535, or 0 for any).
bool split_host_port(const std::string& address, std::string& host, int& port);

}  // namespace venic::observe
