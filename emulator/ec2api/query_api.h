// One EC2 Query API request, start to end, without the HTTP server: the
// signature (request_auth.h), the parameters (query_decoder.h), the page
// (pagination.h), the action (through `call`, which the endpoint points at
// the control thread) and EC2's XML answer or error (xml_encoder.h).  Safe to
// call from several threads: it only reads the keys.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "access_keys.h"
#include "owner.h"
#include "sigv4.h"

namespace venic::ec2api {

struct HttpAnswer {
  int status = 200;
  std::string body;  // text/xml
};

// Runs an EC2 action for a caller: Ec2Service::call's contract (throws
// model::Ec2Error, vf::TableError, or ApiError for its own trouble).
using Ec2Call = std::function<nlohmann::json(const std::string& action, const nlohmann::json& params, const Caller&)>;

class QueryApi {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  QueryApi(
      const AccessKeys& keys, Ec2Call call, Clock clock = [] { return std::chrono::system_clock::now(); })
      : keys_(keys), call_(std::move(call)), clock_(std::move(clock)) {}

  // req.body is the form-encoded body of a POST (Content-Type
  // application/x-www-form-urlencoded), or empty for a GET whose query
  // string carries the parameters.
  HttpAnswer handle(const SignedRequest& req) const;

 private:
  HttpAnswer run(const SignedRequest& req, const std::string& request_id) const;

  const AccessKeys& keys_;
  Ec2Call call_;
  Clock clock_;
};

// A fresh request id (a random UUID, as EC2's).
std::string new_request_id();

}  // namespace venic::ec2api
