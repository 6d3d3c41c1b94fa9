// The EC2 Query API over HTTP (venicd --ec2-api ADDR:PORT): cpp-httplib on
// its own threads, each request answered by QueryApi.  Bounded: a few
// worker threads and a short queue of accepted connections (past it the
// listener stops accepting and the kernel's backlog holds the rest), a
// request body size, and read/keep-alive timeouts.  cpp-httplib blocks a
// worker per connection: a client that holds many idle connections delays
// others by up to (its connections / threads) x the read timeout, never more.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "control_tasks.h"
#include "query_api.h"

namespace httplib {
class Server;
}
namespace venic::model {
class Ec2Service;
}

namespace venic::ec2api {

struct EndpointOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  unsigned threads = 8;
  unsigned max_pending_connections = 16;
  size_t max_body = 1 << 20;
  int read_timeout_s = 5;
  int keep_alive_timeout_s = 5;
  unsigned keep_alive_max_requests = 100;
};

// "HOST:PORT" (an IPv4 address or a name; "[v6]:PORT" for IPv6); throws
// std::invalid_argument.
EndpointOptions parse_listen_address(const std::string& text);

// Runs Ec2Service actions on the control thread through tasks and waits for
// each (at most 30 s: ServiceUnavailable after).
Ec2Call control_thread_call(control::ControlTasks& tasks, model::Ec2Service& ec2);

class HttpEndpoint {
 public:
  // Binds and starts serving; throws std::runtime_error.
  HttpEndpoint(const EndpointOptions& opts, const QueryApi& api);
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  int port() const { return port_; }
  // Stops accepting, finishes the requests in hand, joins the threads.
  void stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace venic::ec2api
