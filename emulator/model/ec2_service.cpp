#include "ec2_service.h"

#include "vpc_network_builder.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

namespace venic::model {

namespace {

// ENI -> the attachment it had (its id, "" when detached).
std::map<std::string, std::string> attachments(const Ec2Model& m) {
  std::map<std::string, std::string> out;
  for (auto& [id, e] : m.enis()) out[id] = e.attachment;
  return out;
}

void add_peer4(std::vector<vf::SgRule>& out, vf::SgRule r, uint32_t addr, uint8_t prefix) {
  const uint32_t be = htonl(addr);
  std::memcpy(r.addr.data(), &be, 4);
  r.family = 4;
  r.prefix = prefix;
  out.push_back(r);
}

void add_peer6(std::vector<vf::SgRule>& out, vf::SgRule r, const vf::Ipv6Addr& addr) {
  r.addr = addr;
  r.family = 6;
  r.prefix = 128;
  out.push_back(r);
}

// One EC2 permission as fast-path rules: one per peer, a referenced group's
// peers being the private addresses of every ENI in it.
void compile(const Ec2Model& m, const SgRule& rule, std::vector<vf::SgRule>& out) {
  vf::SgRule base;
  const int proto = vf::protocol_number(rule.protocol);
  if (proto < 0) return;  // the model accepts only known protocols
  base.proto = static_cast<uint8_t>(proto);
  if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
    base.port_lo = rule.from_port < 0 ? 0 : static_cast<uint16_t>(rule.from_port);
    base.port_hi = rule.to_port < 0 ? 0xffff : static_cast<uint16_t>(rule.to_port);
  } else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
    base.port_lo = rule.from_port < 0 ? 0xffff : static_cast<uint16_t>(rule.from_port);  // type
    base.port_hi = rule.to_port < 0 ? 0xffff : static_cast<uint16_t>(rule.to_port);      // code
  }
  for (const Cidr4& c : rule.cidrs) add_peer4(out, base, c.addr, c.prefix);
  for (const std::string& c : rule.ipv6_cidrs) {
    vf::SgRule r = base;
    if (vf::parse_peer(c, r)) out.push_back(r);  // canonical_cidr6 checked it
  }
  for (const std::string& g : rule.groups)
    for (auto& [id, e] : m.enis()) {
      if (std::find(e.groups.begin(), e.groups.end(), g) == e.groups.end()) continue;
      add_peer4(out, base, e.ip, 32);
      for (uint32_t a : e.secondary_ips) add_peer4(out, base, a, 32);
      for (const auto& a : e.ipv6) add_peer6(out, base, a);
    }
}

}  // namespace

vf::SecurityPolicy security_policy(const Ec2Model& m, const Eni& e) {
  vf::SecurityPolicy p;
  p.enforced = true;
  p.efa_os_bypass = e.efa && m.efa_os_bypass_problem(e).empty();
  p.timeouts = e.timeouts;
  for (const std::string& gid : e.groups) {
    const SecurityGroup* g = m.security_group(gid);
    if (!g) continue;
    for (const SgRule& r : g->ingress) compile(m, r, p.ingress);
    for (const SgRule& r : g->egress) compile(m, r, p.egress);
  }
  // A rule that two groups share counts once.
  for (auto* rules : {&p.ingress, &p.egress}) {
    std::vector<vf::SgRule> unique;
    for (const auto& r : *rules)
      if (std::find(unique.begin(), unique.end(), r) == unique.end()) unique.push_back(r);
    *rules = std::move(unique);
  }
  if (const Instance* in = e.attached() ? m.instance(e.instance) : nullptr) {
    p.conntrack_group = in->id;
    p.conntrack_max = in->conntrack_limit ? in->conntrack_limit : find_instance_type(in->type)->conntrack;
  }
  return p;
}

Ec2Service::Ec2Service(vf::VfTable& table, state::StateStore* store, Ec2Model::Random random, Ec2Model::Clock clock)
    : table_(table), store_(store), model_(std::move(random), std::move(clock)) {}

vf::VfConfig Ec2Service::vf_config(const Eni& e, uint16_t id) const {
  vf::VfConfig c;
  c.id = id;
  // An EFA ENI is an ENA device too (IP traffic) plus the OS-bypass device;
  // on an older instance type (no ENA) the device is the Intel 82599 VF.
  const Instance* owner = e.attached() ? model_.instance(e.instance) : nullptr;
  c.type = e.efa ? vf::Personality::kEfa : vf::Personality::kEna;
  if (owner && find_instance_type(owner->type)->uses_ixgbevf()) c.type = vf::Personality::kIxgbevf;
  c.queues = std::min<uint8_t>(c.queues, vf::caps_of(c.type).max_queues);
  c.mac = e.mac;
  c.ip = e.ip;
  c.prefix = model_.subnet(e.subnet)->cidr.prefix;
  c.mtu = 9001;  // jumbo frames inside a VPC, where the underlay carries them
  c.mtu_cap = mtu_cap_;
  if (mtu_cap_) c.mtu = std::min<uint16_t>(c.mtu, std::max<uint16_t>(mtu_cap_, VENIC_MTU_MIN));
  c.src_dst_check = e.src_dst_check;
  c.secondary_ips = e.secondary_ips;
  c.ipv6 = e.ipv6;
  c.eni_id = e.id;
  c.vpc_id = model_.subnet(e.subnet)->vpc;
  if (const Vpc* vpc = model_.vpc(c.vpc_id)) c.vpc_dns = vpc->cidr.addr + 2;
  c.frontend = e.vhost_user ? vf::Frontend::kVhostUser : vf::Frontend::kShm;
  c.owner_uid = e.owner;
  c.attach_uid = 0;  // a detached ENI is no instance's: root only
  c.link_up = false;
  c.security = security_policy(model_, e);
  if (const Instance* in = e.attached() ? model_.instance(e.instance) : nullptr) {
    const PlacementGroup* pg =
        in->placement_group.empty() ? nullptr : model_.placement_group(in->placement_owner, in->placement_group);
    c.limits = limits_for(*find_instance_type(in->type));
    if (pg && pg->strategy == "cluster") c.cluster_group = pg->id;
    c.attach_uid = in->owner_uid;
    c.link_up = in->running;  // a stopped instance's interfaces carry nothing
  }
  return c;
}

void Ec2Service::restore(const nlohmann::json& saved) {
  if (!saved.is_null()) model_.load(saved);
  if (store_) store_->set_ec2(model_.to_json());
  // reconcile() also removes VFs left by a crash between a VF's creation
  // and the model's save.
  reconcile(attachments(model_));
  table_.set_network(network_of(model_, model_.local_host()));
  if (on_change_) on_change_(model_);
}

void Ec2Service::reconcile(const std::map<std::string, std::string>& before) {
  // VF id -> the ENI it must back here.
  std::map<uint16_t, std::string> backing;
  for (auto& [id, e] : model_.enis())
    if (model_.local(e)) backing[e.vf] = id;
  std::vector<uint16_t> gone;
  for (auto& [id, v] : table_.all()) {
    if (v->cfg.eni_id.empty()) continue;
    auto b = backing.find(id);
    if (b == backing.end() || b->second != v->cfg.eni_id) gone.push_back(id);
  }
  for (uint16_t id : gone) {
    if (table_.get(id).attached()) table_.evict(id);  // its driver learns it is gone
    table_.remove(id);
  }
  for (auto& [id, e] : model_.enis()) {
    if (!model_.local(e)) continue;
    auto it = before.find(id);
    if (it != before.end() && it->second != e.attachment && table_.all().count(e.vf)) table_.evict(e.vf);
    vf::VfConfig want = vf_config(e, e.vf);
    auto v = table_.all().find(e.vf);
    if (v == table_.all().end()) {
      table_.create(want, true);
    } else if (v->second->cfg.type != want.type) {
      // Another device (ENA <-> 82599 VF): a new VF under the same id; its
      // driver, if any, was evicted with the attachment change.
      table_.remove(e.vf);
      table_.create(want, true);
    } else if (vf::to_json(v->second->cfg) != vf::to_json(want)) {
      table_.replace_config(want);
    }
  }
}

nlohmann::json Ec2Service::call(const std::string& action, const nlohmann::json& request, const Caller& caller) {
  // ClientToken: the model never sees it; the rest of the request is what a
  // repeat must match.
  std::string token;
  nlohmann::json params = request;
  if (ClientTokens::idempotent(action) && params.is_object() && params.contains("ClientToken")) {
    const nlohmann::json& t = params["ClientToken"];
    if (!t.is_string() || t.get<std::string>().empty() || t.get<std::string>().size() > ClientTokens::kMaxTokenLength)
      throw Ec2Error("invalid_params", "InvalidParameterValue", "ClientToken must be a string of 1-64 characters");
    token = t.get<std::string>();
    params.erase("ClientToken");
    if (auto first = tokens_.replay(caller.uid, token, action, params)) return *first;
  }
  nlohmann::json result =
      cluster_ ? run_shared([&] { return model_.call(action, params, {}, caller); }, action.rfind("Describe", 0) == 0)
               : apply(action, params, caller);
  // With several hosts, sync_local() told of a change already (and of none when nothing changed).
  if (on_change_ && !cluster_ && action.rfind("Describe", 0) != 0) on_change_(model_);
  if (!token.empty()) tokens_.remember(caller.uid, token, action, params, result);
  return result;
}

nlohmann::json Ec2Service::apply(const std::string& action, const nlohmann::json& params, const Caller& caller) {
  const auto before = attachments(model_);
  const nlohmann::json saved = model_.to_json();
  std::vector<uint16_t> created;
  auto new_eni = [&](const Eni& e) {
    // The VF exists before the model that names it is saved; a crash in
    // between leaves an orphan that restore() removes.
    const vf::Vf& v = table_.create(vf_config(e, 0), false);
    created.push_back(v.cfg.id);
    return v.cfg.id;
  };
  nlohmann::json result;
  try {
    result = model_.call(action, params, new_eni, caller);
  } catch (...) {
    for (uint16_t id : created) table_.remove(id);
    throw;
  }
  // VFs of deleted ENIs go (reconcile); the others follow their ENI.
  if (store_) store_->set_ec2(model_.to_json());
  try {
    reconcile(before);
    table_.set_network(network_of(model_));
    table_.persist_all();
  } catch (...) {
    model_.load(saved);  // the model as it was; the VFs changed so far stay as saved
    table_.set_network(network_of(model_));
    if (store_) store_->set_ec2(saved);
    throw;
  }
  return result;
}

// ---- several hosts: the model in etcd --------------------------------------

namespace {

Ec2Error unavailable(const std::exception& e) {
  return Ec2Error("unavailable", "ServiceUnavailable",
                  std::string("the shared EC2 model is out of reach, nothing changed: ") + e.what());
}

}  // namespace

void Ec2Service::set_cluster(cluster::ModelStore* store, std::string name) {
  cluster_ = store;
  model_.set_local_host(std::move(name), true);
}

void Ec2Service::pull() {
  cluster::ModelDocument d = cluster_->read();
  if (d.revision == revision_) return;
  const auto before = attachments(model_);
  nlohmann::json j;
  if (d.revision == 0) {
    j = Ec2Model().to_json();  // the document was deleted: an empty model
  } else {
    j = nlohmann::json::parse(d.text, nullptr, false);
    if (j.is_discarded()) throw Ec2Error("internal", "InvalidState", "the shared EC2 model in etcd is not JSON");
  }
  model_.load(j);  // throws Ec2Error for a corrupt one, changing nothing
  revision_ = d.revision;
  document_ = model_.to_json().dump();
  sync_local(before);
}

void Ec2Service::sync_local(const std::map<std::string, std::string>& before) {
  try {
    reconcile(before);
    table_.set_network(network_of(model_, model_.local_host()));
  } catch (const std::exception& e) {
    // The model is committed: the VFs catch up on the next change.
    std::fprintf(stderr, "venicd: the VFs of host %s lag the shared model: %s\n", model_.local_host().c_str(),
                 e.what());
  }
  if (on_change_) on_change_(model_);
}

nlohmann::json Ec2Service::run_shared(const std::function<nlohmann::json()>& change, bool read_only) {
  for (int attempt = 1;; attempt++) {
    try {
      pull();
    } catch (const cluster::EtcdError& e) {
      if (!read_only) throw unavailable(e);
      // Describe*: answered from the last model this host saw.
    }
    if (read_only) return change();
    const auto before = attachments(model_);
    Ec2Model saved = model_;
    nlohmann::json result = change();  // Ec2Error: the model undid it
    std::string text = model_.to_json().dump();
    if (text == document_) return result;
    if (text.size() > cluster::ModelStore::kMaxDocument) {
      model_ = std::move(saved);
      throw Ec2Error("limit", "ResourceLimitExceeded",
                     "the shared EC2 model would be " + std::to_string(text.size()) + " bytes, over etcd's limit of " +
                         std::to_string(cluster::ModelStore::kMaxDocument));
    }
    int64_t rev = 0;
    try {
      rev = cluster_->write(text, revision_);
    } catch (const cluster::EtcdError& e) {
      model_ = std::move(saved);
      throw unavailable(e);
    }
    if (rev) {
      revision_ = rev;
      document_ = std::move(text);
      sync_local(before);
      return result;
    }
    // Another host committed first: run it again on theirs.
    model_ = std::move(saved);
    conflicts_++;
    if (attempt >= kMaxAttempts)
      throw Ec2Error(
          "busy", "RequestLimitExceeded",
          "the shared EC2 model changed under this request " + std::to_string(kMaxAttempts) + " times; retry it");
  }
}

void Ec2Service::join(const vf::UnderlayHost& self) {
  run_shared(
      [&] {
        model_.add_host(self);
        return nlohmann::json();
      },
      false);
  // Nothing to commit (a restart with the same address): still this host's VFs.
  sync_local(attachments(model_));
}

void Ec2Service::add_host(const vf::UnderlayHost& h) {
  run_shared(
      [&] {
        model_.add_host(h);
        return nlohmann::json();
      },
      false);
}

bool Ec2Service::refresh() {
  try {
    pull();
    return true;
  } catch (const cluster::EtcdError&) {
    return false;
  } catch (const Ec2Error& e) {
    std::fprintf(stderr, "venicd: %s\n", e.what());
    return false;
  }
}

}  // namespace venic::model
