#include "imds_tokens.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <chrono>
#include <stdexcept>

namespace venic::services {

ImdsTokens::ImdsTokens(Clock now) : now_(std::move(now)) {
  if (!now_)
    now_ = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
}

std::string ImdsTokens::issue(const std::string& instance, int ttl_s) {
  if (ttl_s < kMinTtl || ttl_s > kMaxTtl) throw std::invalid_argument("token TTL out of range");
  unsigned char raw[42];
  if (RAND_bytes(raw, sizeof(raw)) != 1) throw std::runtime_error("no randomness for an IMDS token");
  std::string token(4 * sizeof(raw) / 3 + 1, '\0');
  token.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(token.data()), raw, sizeof(raw))));
  std::lock_guard g(mu_);
  const int64_t now = now_();
  retire_expired(now);
  auto& mine = by_instance_[instance];
  while (mine.size() >= kMaxPerInstance) {
    tokens_.erase(mine.front());
    mine.pop_front();
  }
  mine.push_back(token);
  tokens_[token] = {instance, now + ttl_s};
  return token;
}

int64_t ImdsTokens::remaining(const std::string& token, const std::string& instance) {
  std::lock_guard g(mu_);
  const int64_t now = now_();
  auto it = tokens_.find(token);
  if (it == tokens_.end() || it->second.instance != instance || it->second.expires <= now) return 0;
  return it->second.expires - now;
}

bool ImdsTokens::valid(const std::string& token, const std::string& instance) {
  return remaining(token, instance) > 0;
}

size_t ImdsTokens::size() const {
  std::lock_guard g(mu_);
  return tokens_.size();
}

void ImdsTokens::retire_expired(int64_t now) {
  // Oldest first per instance; TTLs differ, so an instance's front may
  // outlive a later token: stop at the first live one (bounded work).
  for (auto it = by_instance_.begin(); it != by_instance_.end();) {
    auto& q = it->second;
    while (!q.empty()) {
      auto t = tokens_.find(q.front());
      if (t != tokens_.end() && t->second.expires > now) break;
      if (t != tokens_.end()) tokens_.erase(t);
      q.pop_front();
    }
    it = q.empty() ? by_instance_.erase(it) : std::next(it);
  }
}

}  // namespace venic::services
