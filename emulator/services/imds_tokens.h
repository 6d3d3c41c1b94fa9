// IMDSv2 session tokens: random, bound to the instance that asked, valid
// for the TTL it asked (1-21600 s).  Bounded: an instance holds at most
// kMaxPerInstance live tokens (a new one retires its oldest).  Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace venic::services {

class ImdsTokens {
 public:
  static constexpr int kMinTtl = 1, kMaxTtl = 21600;
  static constexpr size_t kMaxPerInstance = 1024;
  using Clock = std::function<int64_t()>;  // seconds, monotonic

  explicit ImdsTokens(Clock now = {});

  // A new token for instance, valid ttl_s seconds; ttl_s must be in range.
  std::string issue(const std::string& instance, int ttl_s);
  // Whether token is live and instance's.  Expired, unknown and another
  // instance's tokens get the same answer.
  bool valid(const std::string& token, const std::string& instance);
  // Seconds token has left (0 when not valid for instance).
  int64_t remaining(const std::string& token, const std::string& instance);
  size_t size() const;

 private:
  struct Token {
    std::string instance;
    int64_t expires = 0;
  };
  void retire_expired(int64_t now);

  Clock now_;
  mutable std::mutex mu_;
  std::map<std::string, Token> tokens_;
  std::map<std::string, std::deque<std::string>> by_instance_;  // issue order
};

}  // namespace venic::services
