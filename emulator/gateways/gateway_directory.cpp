#include "gateway_directory.h"

#include "ec2_model.h"

namespace venic::gateways {

bool GatewayDirectory::vpc_has_igw(const std::string& vpc) const {
  for (auto& [id, v] : igw_vpc)
    if (v == vpc) return true;
  return false;
}

std::shared_ptr<const GatewayDirectory> build_gateway_directory(const model::Ec2Model& m) {
  auto d = std::make_shared<GatewayDirectory>();
  auto vpc_of = [&](const model::Eni& e) {
    const model::Subnet* sn = m.subnet(e.subnet);
    return sn ? sn->vpc : std::string();
  };
  auto add = [&](const model::Eni& e, uint32_t private_ip, uint32_t public_ip) {
    if (!m.local(e)) return;  // its host's gateway serves it
    d->by_public[public_ip] = {e.vf, private_ip, e.mac, vpc_of(e)};
    d->public_of[{e.vf, private_ip}] = public_ip;
  };
  for (auto& [id, e] : m.enis()) {
    if (!m.local(e)) continue;
    d->vfs[e.vf] = {vpc_of(e), e.mac};
    if (e.public_ip) add(e, e.ip, e.public_ip);
  }
  // EIPs on secondary addresses (the primary's is the ENI's public_ip).
  for (auto& [id, a] : m.addresses()) {
    if (a.association_id.empty()) continue;
    auto e = m.enis().find(a.eni);
    if (e != m.enis().end()) add(e->second, a.private_ip, a.public_ip);
  }
  for (auto& [id, g] : m.internet_gateways())
    if (!g.vpc.empty()) d->igw_vpc[id] = g.vpc;
  for (auto& [id, n] : m.nat_gateways())
    if (!n.deleted) d->nats[id] = {n.public_ip, n.vpc};
  return d;
}

}  // namespace venic::gateways
