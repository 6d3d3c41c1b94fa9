#include "query_api.h"

#include <cstdio>
#include <random>

#include "api_error.h"
#include "ec2_model.h"
#include "form_params.h"
#include "pagination.h"
#include "protocol.h"
#include "query_decoder.h"
#include "request_auth.h"
#include "vf_table.h"
#include "xml_encoder.h"

namespace venic::ec2api {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// venic's table errors in EC2's words.
std::string aws_code_for_table_error(const std::string& code) {
  if (code == control::err::kLimit) return "ResourceLimitExceeded";
  if (code == control::err::kInternal) return "InternalError";
  if (code == control::err::kPermission) return "UnauthorizedOperation";
  return "InvalidParameterValue";
}

}  // namespace

int http_status_for(const std::string& code) {
  if (code == "AuthFailure" || code == "RequestExpired") return code == "AuthFailure" ? 401 : 400;
  if (code == "UnauthorizedOperation") return 403;
  if (code == "DryRunOperation") return 412;
  if (code == "InternalError") return 500;
  if (code == "ServiceUnavailable" || code == "RequestLimitExceeded") return 503;
  return 400;
}

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

HttpAnswer QueryApi::handle(const SignedRequest& req) const {
  const std::string request_id = new_request_id();
  try {
    return run(req, request_id);
  } catch (const ApiError& e) {
    return {http_status_for(e.code), xml_error(e.code, e.what(), request_id)};
  } catch (const model::Ec2Error& e) {
    return {http_status_for(e.aws_code), xml_error(e.aws_code, e.what(), request_id)};
  } catch (const vf::TableError& e) {
    const std::string code = aws_code_for_table_error(e.code);
    return {http_status_for(code), xml_error(code, e.what(), request_id)};
  } catch (const std::exception& e) {
    return {500, xml_error("InternalError", "An internal error has occurred", request_id)};
  }
}

HttpAnswer QueryApi::run(const SignedRequest& req, const std::string& request_id) const {
  if (req.method != "POST" && req.method != "GET")
    throw ApiError("InvalidHttpRequest", "The EC2 API takes GET and POST requests");
  FormParams form;
  parse_form(req.query, form);
  if (req.method == "POST" && !req.body.empty()) {
    std::string type;
    for (const auto& [name, value] : req.headers)
      if (lower(name) == "content-type") type = lower(value);
    if (type.rfind("application/x-www-form-urlencoded", 0) != 0)
      throw ApiError("InvalidHttpRequest", "A POST body must be application/x-www-form-urlencoded");
    parse_form(req.body, form);
  }
  // Who asks comes before what they ask: an unsigned request learns nothing.
  const Authenticated who = authenticate(req, keys_, clock_());
  QueryRequest q = decode_query(form);
  if (q.params.contains("DryRun")) {
    if (!q.params["DryRun"].is_boolean()) throw ApiError("InvalidParameterValue", "DryRun must be true or false");
    const bool dry = q.params["DryRun"].get<bool>();
    q.params.erase("DryRun");
    if (dry) throw ApiError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.");
  }
  const Page page = take_page(q.action, q.params);
  nlohmann::json result = call_(q.action, q.params, caller_for_uid(who.uid));
  apply_page(q.action, page, result);
  return {200, xml_response(q.action, result, request_id)};
}

}  // namespace venic::ec2api
