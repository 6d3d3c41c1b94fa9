#include "imds_server.h"

#include <httplib.h>

#include <charconv>

#include "imds_tree.h"

namespace venic::services {

namespace {

constexpr const char* kTokenHeader = "X-aws-ec2-metadata-token";
constexpr const char* kTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
constexpr size_t kMaxPath = 1024;
constexpr size_t kThreads = 8;  // connections served at once, all instances together

std::optional<int> parse_ttl(const std::string& s) {
  int v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

ImdsServer::ImdsServer(const DirectoryBoard& dir, ImdsTokens& tokens, WhoAsks who, LimitHops hops)
    : dir_(dir),
      tokens_(tokens),
      who_(std::move(who)),
      hops_(std::move(hops)),
      http_(std::make_unique<httplib::Server>()) {
  // Bounded: small requests, few threads, short timeouts (a tenant's guest
  // is the client).
  http_->set_payload_max_length(4096);
  http_->set_read_timeout(2, 0);
  http_->set_write_timeout(2, 0);
  http_->set_keep_alive_max_count(100);
  http_->set_keep_alive_timeout(1);  // an idle connection holds a thread: not for long
  http_->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  auto serve = [this](const httplib::Request& req, httplib::Response& res) {
    auto header = [&req](const char* name) { return req.get_header_value(name); };
    Reply r = handle(req.method, req.path, header, req.has_header("X-Forwarded-For"), req.remote_addr, req.remote_port);
    res.status = r.status;
    for (const auto& [k, v] : r.headers) res.set_header(k.c_str(), v);
    res.set_content(r.body, r.content_type.c_str());
  };
  http_->Get(".*", serve);
  http_->Put(".*", serve);
  // httplib reads a PUT's body until the connection closes when it has no
  // Content-Length, and `curl -X PUT` (EC2's documented token request)
  // sends none: answer such a PUT before httplib waits for a body.
  http_->set_pre_routing_handler([serve](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "PUT" || req.has_header("Transfer-Encoding") ||
        (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0"))
      return httplib::Server::HandlerResponse::Unhandled;
    serve(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
}

ImdsServer::~ImdsServer() {
  stop();
}

int ImdsServer::bind(const std::string& host, int port) {
  if (port == 0) return http_->bind_to_any_port(host.c_str());
  return http_->bind_to_port(host.c_str(), port) ? port : -1;
}

void ImdsServer::start() {
  thread_ = std::thread([this] { http_->listen_after_bind(); });
}

void ImdsServer::stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

ImdsServer::Reply ImdsServer::handle(const std::string& method, const std::string& path,
                                     const std::function<std::string(const char*)>& header, bool has_forwarded_for,
                                     const std::string& remote_ip, int remote_port) {
  Reply r;
  const std::optional<uint16_t> vf = who_(remote_ip);
  auto dir = dir_.get();
  const Directory::Entry* e = vf ? dir->find(*vf) : nullptr;
  if (!e || !e->instance) return r;  // an ENI without an instance has no metadata
  const InstanceView& in = *e->instance;
  const model::MetadataOptions& opt = in.meta.options;
  if (!opt.http_endpoint) {
    r.status = 403;
    r.body = "Forbidden";
    return r;
  }
  if (path.size() > kMaxPath || path.empty() || path[0] != '/') {
    r.status = 400;
    return r;
  }
  if (method == "PUT") {
    if (path != "/latest/api/token") {
      r.status = 405;
      return r;
    }
    // A token is for the instance itself, never for something forwarding
    // its requests (EC2 refuses PUTs that carry X-Forwarded-For).
    if (has_forwarded_for) {
      r.status = 403;
      r.body = "Forbidden";
      return r;
    }
    auto ttl = parse_ttl(header(kTtlHeader));
    if (!ttl || *ttl < ImdsTokens::kMinTtl || *ttl > ImdsTokens::kMaxTtl) {
      r.status = 400;
      r.body = "Bad Request";
      return r;
    }
    hops_(*vf, remote_port, opt.hop_limit);
    r.status = 200;
    r.body = tokens_.issue(in.id, *ttl);
    r.headers[kTtlHeader] = std::to_string(*ttl);
    return r;
  }
  if (method != "GET") {
    r.status = 405;
    return r;
  }
  // A token, when given, must be good even where IMDSv1 is allowed.
  const std::string token = header(kTokenHeader);
  if (!token.empty() || opt.http_tokens_required) {
    const int64_t left = token.empty() ? 0 : tokens_.remaining(token, in.id);
    if (left <= 0) {
      r.status = 401;
      r.body = "Unauthorized";
      return r;
    }
    r.headers[kTtlHeader] = std::to_string(left);
  }
  ImdsAnswer a = imds_lookup(in, e->eni, std::string_view(path).substr(1));
  r.status = a.status;
  r.body = a.status == 200 ? std::move(a.body) : "Not Found";
  r.content_type = a.content_type;
  return r;
}

}  // namespace venic::services
