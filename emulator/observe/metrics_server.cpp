#include "metrics_server.h"

#include <httplib.h>

#include <stdexcept>

#include "metrics_text.h"

namespace venic::observe {

bool split_host_port(const std::string& address, std::string& host, int& port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size() || address.size() - colon > 6)
    return false;
  host = address.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
  }
  port = 0;
  for (char c : address.substr(colon + 1)) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + (c - '0');
  }
  return port <= 65535;
}

MetricsServer::MetricsServer(const std::string& address, std::shared_ptr<StatsSnapshot> snap)
    : snap_(std::move(snap)), server_(std::make_unique<httplib::Server>()) {
  std::string host;
  int port = 0;
  if (!split_host_port(address, host, port))
    throw std::runtime_error("--metrics " + address + ": expected HOST:PORT (e.g. 127.0.0.1:9464)");
  server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server_->set_payload_max_length(4096);
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  server_->set_keep_alive_max_count(16);
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    auto j = snap_->read();
    if (!j) {
      res.status = 503;
      res.set_content("venicd has no counters yet\n", "text/plain");
      return;
    }
    res.set_content(prometheus_text(*j), "text/plain; version=0.0.4; charset=utf-8");
  });
  port_ = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) throw std::runtime_error("--metrics " + address + ": cannot listen there");
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    done_ = true;
  });
  // stop() before the thread runs would be lost: wait until it serves.
  while (!server_->is_running() && !done_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

MetricsServer::~MetricsServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace venic::observe
