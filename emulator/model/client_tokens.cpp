#include "client_tokens.h"

#include <algorithm>
#include <array>

#include "ec2_model.h"

namespace venic::model {

bool ClientTokens::idempotent(const std::string& action) {
  static constexpr std::array<const char*, 9> kActions = {
      "RunInstances",           "CreateNetworkInterface", "CreateVpc",        "CreateSubnet",    "CreateSecurityGroup",
      "AttachNetworkInterface", "CreatePlacementGroup",   "CreateNatGateway", "CreateRouteTable"};
  return std::any_of(kActions.begin(), kActions.end(), [&](const char* a) { return action == a; });
}

std::optional<nlohmann::json> ClientTokens::replay(int64_t owner, const std::string& token, const std::string& action,
                                                   const nlohmann::json& params) const {
  auto o = owners_.find(owner);
  if (o == owners_.end()) return std::nullopt;
  auto it = o->second.by_token.find(token);
  if (it == o->second.by_token.end()) return std::nullopt;
  if (it->second.action != action || it->second.params != params)
    throw Ec2Error("invalid_params", "IdempotentParameterMismatch",
                   "The client token '" + token + "' was already used with different parameters");
  return it->second.result;
}

void ClientTokens::remember(int64_t owner, const std::string& token, const std::string& action,
                            const nlohmann::json& params, nlohmann::json result) {
  OwnerTokens& o = owners_[owner];
  if (o.by_token.count(token)) return;  // replay() answered it
  o.by_token[token] = {action, params, std::move(result)};
  o.order.push_back(token);
  while (o.order.size() > kPerOwner) {
    o.by_token.erase(o.order.front());
    o.order.pop_front();
  }
}

}  // namespace venic::model
