#include "sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <map>

#include "api_error.h"
#include "form_params.h"

namespace venic::ec2api {

namespace {

[[noreturn]] void malformed(const std::string& what) {
  throw ApiError("AuthFailure", "AWS was not able to validate the provided access credentials (" + what + ")");
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A header value as signed: trimmed, runs of spaces made one.
std::string canonical_value(std::string_view v) {
  v = trim(v);
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// RFC 3986 encoding as SigV4 wants it: unreserved characters kept, the rest
// %XX in upper case; '/' kept when keep_slash.
std::string uri_encode(std::string_view s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// The path with "." and ".." segments resolved and empty segments dropped,
// then each segment encoded (the path as sent is encoded once already, so
// this is the double encoding SigV4 asks of services other than S3).
std::string canonical_uri(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> segs;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    std::string_view seg = path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segs.push_back(seg);
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  std::string out;
  for (auto s : segs) out += "/" + uri_encode(s, false);
  if (out.empty() || path.back() == '/') out += "/";
  return out;
}

// name=value pairs of the raw query (not '+'-decoded: SigV4 signs '+' as %2B).
std::vector<std::pair<std::string, std::string>> raw_query_pairs(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (!q.empty() && pos <= q.size()) {
    size_t amp = q.find('&', pos);
    std::string_view pair = q.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string name, value;
      if (!percent_decode(pair.substr(0, eq), name, false) ||
          (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), value, false)))
        malformed("bad percent-encoding in the query");
      out.emplace_back(std::move(name), std::move(value));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

std::string canonical_query(std::string_view q, bool presigned) {
  std::vector<std::pair<std::string, std::string>> enc;
  for (auto& [k, v] : raw_query_pairs(q)) {
    if (presigned && k == "X-Amz-Signature") continue;
    enc.emplace_back(uri_encode(k, false), uri_encode(v, false));
  }
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (auto& [k, v] : enc) out += (out.empty() ? "" : "&") + k + "=" + v;
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t at = s.find(sep, pos);
    out.emplace_back(s.substr(pos, at == std::string_view::npos ? std::string_view::npos : at - pos));
    if (at == std::string_view::npos) return out;
    pos = at + 1;
  }
}

bool is_hex64(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Credential=AKID/20150830/us-east-1/ec2/aws4_request
void read_credential(std::string_view cred, SigV4Params& p) {
  auto parts = split(cred, '/');
  if (parts.size() != 5 || parts[0].empty() || parts[1].size() != 8) malformed("malformed credential");
  p.access_key = parts[0];
  p.date = parts[1];
  p.region = parts[2];
  p.service = parts[3];
  p.terminator = parts[4];
}

void read_signed_headers(std::string_view list, SigV4Params& p) {
  p.signed_headers = split(list, ';');
  for (const auto& h : p.signed_headers)
    if (h.empty() || h != lower(h)) malformed("malformed signed headers");
  if (p.signed_headers.size() > 64) malformed("too many signed headers");
}

std::optional<SigV4Params> from_header(std::string_view auth, const SignedRequest& req) {
  SigV4Params p;
  auth = trim(auth);
  if (auth.substr(0, kSigV4Algorithm.size()) != kSigV4Algorithm) malformed("unsupported signature algorithm");
  auth.remove_prefix(kSigV4Algorithm.size());
  bool have_cred = false, have_headers = false, have_sig = false;
  for (const auto& field : split(auth, ',')) {
    std::string_view f = trim(field);
    size_t eq = f.find('=');
    if (eq == std::string_view::npos) malformed("malformed authorization header");
    std::string_view k = f.substr(0, eq), v = f.substr(eq + 1);
    if (k == "Credential") {
      read_credential(v, p);
      have_cred = true;
    } else if (k == "SignedHeaders") {
      read_signed_headers(v, p);
      have_headers = true;
    } else if (k == "Signature") {
      p.signature = v;
      have_sig = true;
    }
  }
  if (!have_cred || !have_headers || !have_sig) malformed("incomplete authorization header");
  for (const auto& [name, value] : req.headers)
    if (lower(name) == "x-amz-date") p.amz_date = value;
  if (p.amz_date.empty()) malformed("no X-Amz-Date header");
  return p;
}

std::optional<SigV4Params> from_query(const SignedRequest& req) {
  std::map<std::string, std::string> q;
  for (auto& [k, v] : raw_query_pairs(req.query))
    if (k.rfind("X-Amz-", 0) == 0) q[k] = v;
  if (!q.count("X-Amz-Signature") && !q.count("X-Amz-Algorithm") && !q.count("X-Amz-Credential")) return std::nullopt;
  for (const char* k : {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"})
    if (!q.count(k)) malformed(std::string("no ") + k);
  if (q["X-Amz-Algorithm"] != kSigV4Algorithm) malformed("unsupported signature algorithm");
  SigV4Params p;
  p.presigned = true;
  read_credential(q["X-Amz-Credential"], p);
  read_signed_headers(q["X-Amz-SignedHeaders"], p);
  p.signature = q["X-Amz-Signature"];
  p.amz_date = q["X-Amz-Date"];
  p.expires = 900;
  if (q.count("X-Amz-Expires")) {
    const std::string& e = q["X-Amz-Expires"];
    if (e.empty() || e.size() > 6 || !std::all_of(e.begin(), e.end(), [](char c) { return c >= '0' && c <= '9'; }))
      malformed("malformed X-Amz-Expires");
    p.expires = std::stol(e);
    if (p.expires < 1 || p.expires > 604800) malformed("X-Amz-Expires out of range 1-604800");
  }
  return p;
}

}  // namespace

std::optional<SigV4Params> read_sigv4(const SignedRequest& req) {
  std::optional<SigV4Params> p;
  for (const auto& [name, value] : req.headers)
    if (lower(name) == "authorization") {
      if (p) malformed("more than one authorization header");
      p = from_header(value, req);
    }
  if (!p) p = from_query(req);
  if (p && !is_hex64(p->signature)) malformed("malformed signature");
  if (p && (p->amz_date.size() != 16 || p->amz_date[8] != 'T' || p->amz_date[15] != 'Z'))
    malformed("malformed X-Amz-Date");
  return p;
}

std::string canonical_request(const SignedRequest& req, const std::vector<std::string>& signed_headers,
                              bool presigned) {  // the payload is signed either way (only S3 leaves it out)
  std::string out = req.method + "\n" + canonical_uri(req.path) + "\n" + canonical_query(req.query, presigned) + "\n";
  for (const auto& h : signed_headers) {
    std::string joined;
    bool any = false;
    for (const auto& [name, value] : req.headers)
      if (lower(name) == h) {
        joined += (any ? "," : "") + canonical_value(value);
        any = true;
      }
    out += h + ":" + joined + "\n";
  }
  out += "\n";
  for (size_t i = 0; i < signed_headers.size(); i++) out += (i ? ";" : "") + signed_headers[i];
  out += "\n";
  out += sha256_hex(req.body);
  return out;
}

std::string string_to_sign(const std::string& amz_date, const std::string& scope, const std::string& canonical) {
  return std::string(kSigV4Algorithm) + "\n" + amz_date + "\n" + scope + "\n" + sha256_hex(canonical);
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  std::string k = hmac_sha256("AWS4" + std::string(secret), date);
  k = hmac_sha256(k, region);
  k = hmac_sha256(k, service);
  return hmac_sha256(k, "aws4_request");
}

std::string signature(const std::string& key, const std::string& to_sign) {
  return to_hex(hmac_sha256(key, to_sign));
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return to_hex(std::string_view(reinterpret_cast<const char*>(md), sizeof(md)));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string to_hex(std::string_view bytes) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace venic::ec2api
