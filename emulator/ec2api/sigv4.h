// AWS Signature Version 4 (HMAC-SHA256), the algorithm alone: the canonical
// request, the string to sign, the signing key and the signature, and the
// signature's parameters read from an Authorization header or a presigned
// URL's query.  Who signed and whether to believe it is request_auth.h's job.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace venic::ec2api {

// An HTTP request as signed: path and query exactly as sent (still
// percent-encoded), header names in any case.
struct SignedRequest {
  std::string method;
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The signature a request carries.
struct SigV4Params {
  std::string access_key;
  std::string date;  // YYYYMMDD, the credential scope's
  std::string region;
  std::string service;
  std::string terminator;                   // "aws4_request"
  std::vector<std::string> signed_headers;  // lowercase, as listed
  std::string signature;                    // lowercase hex
  std::string amz_date;                     // YYYYMMDDTHHMMSSZ
  bool presigned = false;
  long expires = 0;  // presigned: X-Amz-Expires, seconds
  std::string scope() const { return date + "/" + region + "/" + service + "/" + terminator; }
};

constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";

// The request's signature parameters: std::nullopt when it carries none;
// throws ApiError (AuthFailure) when they are malformed.
std::optional<SigV4Params> read_sigv4(const SignedRequest& req);

std::string canonical_request(const SignedRequest& req, const std::vector<std::string>& signed_headers, bool presigned);
std::string string_to_sign(const std::string& amz_date, const std::string& scope, const std::string& canonical);
// kSigning, raw bytes: HMAC chain over "AWS4"+secret, date, region, service, "aws4_request".
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);
// Lowercase hex HMAC-SHA256 of the string to sign under the signing key.
std::string signature(const std::string& key, const std::string& to_sign);

std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string to_hex(std::string_view bytes);
// Constant-time equality of two strings of the same length (false otherwise).
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace venic::ec2api
