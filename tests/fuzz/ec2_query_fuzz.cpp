// The EC2 Query API's request path before the model: an arbitrary HTTP
// request (method, target, headers, body) through QueryApi::handle, with a
// fake model that echoes the decoded parameters back as its result, so the
// XML encoder writes whatever the decoder made.  Input: line 1 the method,
// line 2 the target (path?query), then "Name: value" header lines, an empty
// line, and the body.  Half the inputs are signed with a known key first, so
// mutations reach the decoder past the signature check.
//
// Invariants: every answer is a well-formed XML document (EC2's response or
// error document); a refusal is one of the API's error codes (never
// InternalError: that would be an exception the decoder let through); the
// decoded parameters are an object within the decoder's depth bound.
#include <cstddef>
#include <cstdint>
#include <pugixml.hpp>
#include <set>
#include <string>
#include <string_view>

#include "access_keys.h"
#include "api_error.h"
#include "fuzz_check.h"
#include "query_api.h"
#include "query_decoder.h"
#include "sigv4.h"

using nlohmann::json;
using namespace venic::ec2api;
using venic::fuzz::require;

namespace {

constexpr const char* kKey = "AKIDFUZZ0001";
constexpr const char* kSecret = "fuzz-secret";
constexpr int64_t kNow = 1440938160;  // 20150830T123600Z

size_t depth(const json& j) {
  size_t d = 0;
  if (j.is_object())
    for (auto& [k, v] : j.items()) d = std::max(d, depth(v));
  else if (j.is_array())
    for (auto& v : j) d = std::max(d, depth(v));
  else
    return 0;
  return d + 1;
}

SignedRequest parse_input(std::string_view in) {
  SignedRequest r;
  auto line = [&]() {
    size_t nl = in.find('\n');
    std::string_view l = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    return std::string(l);
  };
  r.method = line();
  std::string target = line();
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  for (std::string h = line(); !h.empty() && r.headers.size() < 32; h = line()) {
    size_t colon = h.find(':');
    if (colon == std::string::npos) continue;
    r.headers.emplace_back(h.substr(0, colon), h.substr(colon + 1));
  }
  r.body = std::string(in);
  return r;
}

void sign(SignedRequest& r) {
  r.headers.emplace_back("X-Amz-Date", "20150830T123600Z");
  r.headers.emplace_back("Host", "127.0.0.1:8773");
  const std::vector<std::string> sh{"host", "x-amz-date"};
  const std::string scope = "20150830/us-east-1/ec2/aws4_request";
  const std::string sig = signature(signing_key(kSecret, "20150830", "us-east-1", "ec2"),
                                    string_to_sign("20150830T123600Z", scope, canonical_request(r, sh, false)));
  r.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + std::string(kKey) + "/" + scope +
                                              ", SignedHeaders=host;x-amz-date, Signature=" + sig);
}

const std::set<std::string> kCodes = {"AuthFailure",     "RequestExpired",        "MissingAction",
                                      "InvalidAction",   "InvalidParameterValue", "InvalidHttpRequest",
                                      "DryRunOperation", "InvalidPaginationToken"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024 || size < 1) return 0;
  static AccessKeys keys = [] {
    AccessKeys k;
    k.add(kKey, {kSecret, 1001});
    return k;
  }();
  const bool signed_first = data[0] & 1;
  SignedRequest req = parse_input(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  if (signed_first) {
    try {
      sign(req);
    } catch (const ApiError&) {
      // A query no signer could sign: sent unsigned.
    }
  }

  bool called = false;
  QueryApi api(
      keys,
      [&](const std::string& action, const json& params, const venic::Caller& caller) {
        called = true;
        require(is_served_action(action), "an action the decoder does not serve reached the model", action);
        require(params.is_object(), "params are not an object");
        require(depth(params) <= kMaxQueryDepth + 1, "params nest deeper than the bound");
        require(caller.uid == 1001 && !caller.admin, "the caller is not the key's uid");
        params.dump();  // what the model does with them: throws on text that is not UTF-8
        return params;  // echoed: the encoder writes what the decoder made
      },
      [] { return std::chrono::system_clock::time_point(std::chrono::seconds(kNow)); });
  HttpAnswer a = api.handle(req);
  pugi::xml_document doc;
  require(static_cast<bool>(doc.load_string(a.body.c_str())), "the answer is not well-formed XML", a.body);
  if (a.status != 200) {
    const std::string code = doc.select_node("/Response/Errors/Error/Code").node().text().as_string();
    require(kCodes.count(code) == 1, "an unexpected error code", code);
  } else {
    require(called, "a 200 answer without the model");
  }
  return 0;
}
