// The EC2 model on top of the VF table: runs the model's actions and keeps
// every ENI's VF what the ENI says (addresses, checks, allowances from its
// instance's type, who may attach it), persisting the model with the VFs.
// With several hosts (set_cluster, docs/multi-host.md) the model is one
// document in etcd instead: each action runs on the latest one and commits
// with compare-and-swap, and only the ENIs placed on this host get VFs here.
// Control thread only.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "client_tokens.h"
#include "ec2_model.h"
#include "model_store.h"
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

  // One host: its name, which RunInstances' Placement.HostId may name.
  void set_host(std::string name) { model_.set_local_host(std::move(name), false); }
  // Several hosts: the model lives in store (no state file), and this is
  // host `name`.  Then join().
  void set_cluster(cluster::ModelStore* store, std::string name);
  bool cluster() const { return cluster_ != nullptr; }
  cluster::ModelStore* cluster_store() const { return cluster_; }
  // Cluster: registers this host (its underlay address and MAC), loads the
  // model and makes the VFs of the ENIs placed here.  A restarted host does
  // the same.  Throws Ec2Error (ServiceUnavailable: etcd unreachable).
  void join(const vf::UnderlayHost& self);
  // Cluster: registers another tunnel endpoint (a kernel VXLAN device, say).
  void add_host(const vf::UnderlayHost& h);
  // Cluster: reads the document and, when another host changed it, reloads
  // the model and this host's VFs (the model watch's task).  False when etcd
  // did not answer (the last model stays).
  bool refresh();
  // Cluster: the document's revision the model is at (0: none yet).
  int64_t revision() const { return revision_; }
  // Cluster: commits that lost to another host's and ran again.
  uint64_t conflicts() const { return conflicts_; }
  // How many commits lost to another host's and were run again, then failed.
  static constexpr int kMaxAttempts = 8;
  // Called (control thread) after restore and after every action that ran,
  // with the model as it now is: how the instance services learn of changes.
  void set_on_change(std::function<void(const Ec2Model&)> f) { on_change_ = std::move(f); }

 private:
  // The action itself, with the VFs kept in line and the model saved.
  nlohmann::json apply(const std::string& action, const nlohmann::json& params, const Caller& caller);
  vf::VfConfig vf_config(const Eni& e, uint16_t id) const;
  // Removes the VFs of ENIs that are gone (or, with several hosts, moved
  // elsewhere), then makes each local ENI's VF match it; evicts the drivers
  // of ENIs whose attachment changed since `before`.
  void reconcile(const std::map<std::string, std::string>& before);
  // Cluster: change(model) on the latest document, committed with
  // compare-and-swap, again on a conflict; read_only: never committed, and
  // answered from the last model when etcd is away.
  nlohmann::json run_shared(const std::function<nlohmann::json()>& change, bool read_only);
  // Cluster: reads the document; reloads when it moved.  Throws EtcdError.
  void pull();
  // Cluster: after the model changed, the local VFs and the fast path's
  // network follow (errors are reported, the next change retries).
  void sync_local(const std::map<std::string, std::string>& before);

  vf::VfTable& table_;
  state::StateStore* store_;
  Ec2Model model_;
  ClientTokens tokens_;
  std::function<void(const Ec2Model&)> on_change_;
  uint16_t mtu_cap_ = 0;
  cluster::ModelStore* cluster_ = nullptr;
  int64_t revision_ = 0;
  uint64_t conflicts_ = 0;
  std::string document_;  // the model's text at revision_, as this build writes it
};

}  // namespace venic::model
