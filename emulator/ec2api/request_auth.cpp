#include "request_auth.h"

#include <ctime>

#include "api_error.h"

namespace venic::ec2api {

namespace {

constexpr const char* kAuthFailure = "AWS was not able to validate the provided access credentials";

// YYYYMMDDTHHMMSSZ as seconds since the epoch; -1 when malformed.
int64_t parse_amz_date(const std::string& s) {
  std::tm tm{};
  for (size_t i = 0; i < s.size(); i++)
    if (i != 8 && i != 15 && (s[i] < '0' || s[i] > '9')) return -1;
  auto num = [&](size_t at, size_t len) { return std::stoi(s.substr(at, len)); };
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return -1;
  return static_cast<int64_t>(::timegm(&tm));
}

}  // namespace

Authenticated authenticate(const SignedRequest& req, const AccessKeys& keys,
                           std::chrono::system_clock::time_point now) {
  auto p = read_sigv4(req);
  if (!p) throw ApiError("AuthFailure", std::string(kAuthFailure) + " (the request is not signed)");
  bool host_signed = false;
  for (const auto& h : p->signed_headers) host_signed |= h == "host";
  if (p->service != "ec2" || p->terminator != "aws4_request" || p->region.empty() || p->region.size() > 64 ||
      p->amz_date.compare(0, 8, p->date) != 0 || !host_signed)
    throw ApiError("AuthFailure", kAuthFailure);

  const int64_t signed_at = parse_amz_date(p->amz_date);
  if (signed_at < 0) throw ApiError("AuthFailure", kAuthFailure);
  const int64_t t = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const int64_t skew = std::chrono::duration_cast<std::chrono::seconds>(kMaxClockSkew).count();
  if (signed_at > t + skew || (p->presigned ? t > signed_at + p->expires : t > signed_at + skew))
    throw ApiError("RequestExpired", "Request has expired.");

  // An unknown key is checked against a secret no key has: the same work.
  const AccessKey* key = keys.find(p->access_key);
  const std::string secret = key ? key->secret : std::string(40, '\x01');
  const std::string expected =
      signature(signing_key(secret, p->date, p->region, p->service),
                string_to_sign(p->amz_date, p->scope(), canonical_request(req, p->signed_headers, p->presigned)));
  const bool match = equal_constant_time(expected, p->signature);
  if (!key || !match) throw ApiError("AuthFailure", kAuthFailure);
  return {p->access_key, key->uid};
}

}  // namespace venic::ec2api
