// EC2's ClientToken: a mutating action repeated with the same token (by the
// same owner) answers what the first one did instead of acting again, so a
// client that timed out may retry safely.  Kept in memory only, the most
// recent kPerOwner tokens of each owner: a restart forgets them.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace venic::model {

class ClientTokens {
 public:
  static constexpr size_t kPerOwner = 4096;
  static constexpr size_t kMaxTokenLength = 64;  // EC2's

  // Whether action takes a ClientToken.
  static bool idempotent(const std::string& action);

  // The first result for (owner, token) when action and params (the request
  // without its ClientToken) are the same; nullopt when the token is new.
  // Throws Ec2Error IdempotentParameterMismatch when they differ.
  std::optional<nlohmann::json> replay(int64_t owner, const std::string& token, const std::string& action,
                                       const nlohmann::json& params) const;
  // Remembers a successful call's result, forgetting the owner's oldest
  // token past kPerOwner.
  void remember(int64_t owner, const std::string& token, const std::string& action, const nlohmann::json& params,
                nlohmann::json result);

 private:
  struct Entry {
    std::string action;
    nlohmann::json params, result;
  };
  struct OwnerTokens {
    std::map<std::string, Entry> by_token;
    std::deque<std::string> order;  // oldest first
  };
  std::map<int64_t, OwnerTokens> owners_;
};

}  // namespace venic::model
