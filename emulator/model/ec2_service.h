// The EC2 model on top of the VF table: runs the model's actions and keeps
// every ENI's VF what the ENI says (addresses, checks, allowances from its
// instance's type, who may attach it), persisting the model with the VFs.
// Control thread only.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "client_tokens.h"
#include "ec2_model.h"
#include "state_store.h"
#include "vf_table.h"

namespace venic::model {

// The fast-path rules of an ENI's security groups (group references expanded
// to the members' private addresses) and its instance's conntrack allowance.
vf::SecurityPolicy security_policy(const Ec2Model& m, const Eni& e);

class Ec2Service {
 public:
  Ec2Service(vf::VfTable& table, state::StateStore* store, Ec2Model::Random random = {}, Ec2Model::Clock clock = {});

  // Restores the saved model (null: none) and brings the VFs in line with it.
  void restore(const nlohmann::json& saved);
  // Runs ec2.<action> for caller; throws Ec2Error or vf::TableError.  A
  // ClientToken seen before answers the first call's result (client_tokens.h).
  nlohmann::json call(const std::string& action, const nlohmann::json& params, const Caller& caller = {});

  const Ec2Model& model() const { return model_; }
  // The largest MTU the path between hosts carries (the uplink's inner
  // MTU); 0: no limit below the device's.  Set before restore().
  void set_mtu_cap(uint16_t mtu) { mtu_cap_ = mtu; }
  // Called (control thread) after restore and after every action that ran,
  // with the model as it now is: how the instance services learn of changes.
  void set_on_change(std::function<void(const Ec2Model&)> f) { on_change_ = std::move(f); }

 private:
  // The action itself, with the VFs kept in line and the model saved.
  nlohmann::json apply(const std::string& action, const nlohmann::json& params, const Caller& caller);
  vf::VfConfig vf_config(const Eni& e, uint16_t id) const;
  // Makes each ENI's VF match it; evicts the drivers of ENIs whose
  // attachment changed since `before`.
  void reconcile(const std::map<std::string, std::string>& before);

  vf::VfTable& table_;
  state::StateStore* store_;
  Ec2Model model_;
  ClientTokens tokens_;
  std::function<void(const Ec2Model&)> on_change_;
  uint16_t mtu_cap_ = 0;
};

}  // namespace venic::model
