#include "http_endpoint.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>

#include "api_error.h"
#include "ec2_service.h"

namespace venic::ec2api {

namespace {

constexpr auto kControlWait = std::chrono::seconds(30);

// httplib's worker pool with a bounded queue: when it is full, enqueue waits,
// so the listener stops accepting until a worker is free.
class BoundedPool : public httplib::TaskQueue {
 public:
  BoundedPool(unsigned threads, unsigned max_pending) : max_pending_(max_pending) {
    for (unsigned i = 0; i < threads; i++) threads_.emplace_back([this] { work(); });
  }
  ~BoundedPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mu_);
    room_.wait(lock, [this] { return stopping_ || jobs_.size() < max_pending_; });
    if (stopping_) return;  // the server is going: fn's socket closes with it
    jobs_.push_back(std::move(fn));
    ready_.notify_one();
  }
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ && threads_.empty()) return;
      stopping_ = true;
    }
    ready_.notify_all();
    room_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }

 private:
  void work() {
    while (true) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, and nothing left
        fn = std::move(jobs_.front());
        jobs_.pop_front();
        room_.notify_one();
      }
      fn();
    }
  }

  const unsigned max_pending_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

SignedRequest to_signed(const httplib::Request& r) {
  SignedRequest s;
  s.method = r.method;
  // The target as sent: the path and the raw (still encoded) query.
  const std::string& target = r.target.empty() ? r.path : r.target;
  size_t q = target.find('?');
  s.path = target.substr(0, q);
  if (q != std::string::npos) s.query = target.substr(q + 1);
  for (const auto& [name, value] : r.headers) s.headers.emplace_back(name, value);
  s.body = r.body;
  return s;
}

}  // namespace

EndpointOptions parse_listen_address(const std::string& text) {
  EndpointOptions o;
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw std::invalid_argument("expected HOST:PORT, e.g. 127.0.0.1:8773");
  o.host = text.substr(0, colon);
  if (o.host.size() > 2 && o.host.front() == '[' && o.host.back() == ']') o.host = o.host.substr(1, o.host.size() - 2);
  const std::string port = text.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    throw std::invalid_argument("the port must be a number from 1 to 65535");
  o.port = std::stoi(port);
  if (o.port < 1 || o.port > 65535) throw std::invalid_argument("the port must be a number from 1 to 65535");
  return o;
}

Ec2Call control_thread_call(control::ControlTasks& tasks, model::Ec2Service& ec2) {
  return [&tasks, &ec2](const std::string& action, const nlohmann::json& params, const Caller& caller) {
    auto done = std::make_shared<std::promise<nlohmann::json>>();
    auto result = done->get_future();
    // The task alone holds the promise: dropped unrun, it breaks it and the
    // wait below ends at once.
    bool queued = tasks.post([done = std::move(done), &ec2, action, params, caller] {
      try {
        done->set_value(ec2.call(action, params, caller));
      } catch (...) {
        done->set_exception(std::current_exception());
      }
    });
    if (!queued) throw ApiError("RequestLimitExceeded", "Request limit exceeded.");
    if (result.wait_for(kControlWait) != std::future_status::ready)
      throw ApiError("ServiceUnavailable", "venicd did not answer in time; retry with the same ClientToken");
    try {
      return result.get();
    } catch (const std::future_error&) {  // dropped unrun: venicd is stopping
      throw ApiError("ServiceUnavailable", "venicd is stopping");
    }
  };
}

HttpEndpoint::HttpEndpoint(const EndpointOptions& opts, const QueryApi& api)
    : server_(std::make_unique<httplib::Server>()) {
  auto& s = *server_;
  const unsigned threads = opts.threads, pending = opts.max_pending_connections;
  s.new_task_queue = [threads, pending] { return new BoundedPool(threads, pending); };
  s.set_payload_max_length(opts.max_body);
  s.set_read_timeout(opts.read_timeout_s, 0);
  s.set_write_timeout(opts.read_timeout_s, 0);
  s.set_keep_alive_timeout(opts.keep_alive_timeout_s);
  s.set_keep_alive_max_count(opts.keep_alive_max_requests);
  auto serve = [&api](const httplib::Request& req, httplib::Response& res) {
    HttpAnswer a = api.handle(to_signed(req));
    res.status = a.status;
    res.set_content(a.body, "text/xml;charset=UTF-8");
  };
  s.Get(".*", serve);
  s.Post(".*", serve);
  if (!s.bind_to_port(opts.host.c_str(), opts.port))
    throw std::runtime_error("--ec2-api: cannot listen on " + opts.host + ":" + std::to_string(opts.port));
  port_ = opts.port;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() before the server runs would find nothing to stop and join a
  // thread that then serves for ever: return once it is running.
  for (int i = 0; i < 5000 && !server_->is_running(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

HttpEndpoint::~HttpEndpoint() {
  stop();
}

void HttpEndpoint::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace venic::ec2api
