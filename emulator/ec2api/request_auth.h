// Who signed an EC2 API request: its SigV4 signature checked against the
// access keys, its date against the clock.  Every failure but a stale date
// is the same AuthFailure, and an unknown key costs the same work as a wrong
// signature (a signature is computed either way, compared in constant time),
// so a client cannot tell a guessed key id from a real one.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "access_keys.h"
#include "sigv4.h"

namespace venic::ec2api {

// How far a request's X-Amz-Date may be from venicd's clock (EC2's figure).
constexpr std::chrono::minutes kMaxClockSkew{15};

struct Authenticated {
  std::string access_key;
  int64_t uid = 0;
};

// Throws ApiError: AuthFailure (unsigned, malformed, unknown key, wrong
// signature, a scope other than <date>/<region>/ec2/aws4_request) or
// RequestExpired (the date is more than kMaxClockSkew away, or a presigned
// URL's X-Amz-Expires has passed).
Authenticated authenticate(const SignedRequest& req, const AccessKeys& keys, std::chrono::system_clock::time_point now);

}  // namespace venic::ec2api
