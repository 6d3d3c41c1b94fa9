#include "vpc_network_builder.h"

namespace venic::model {

vf::Network network_of(const Ec2Model& m) {
  vf::Network n;
  for (auto& [id, v] : m.vpcs()) {
    vf::VpcNetwork& out = n.vpcs[id];
    out.id = id;
    out.addr = v.cidr.addr;
    out.prefix = v.cidr.prefix;
  }
  for (auto& [id, s] : m.subnets()) {
    auto it = n.vpcs.find(s.vpc);
    if (it == n.vpcs.end()) continue;
    vf::SubnetNetwork sn;
    sn.id = id;
    sn.addr = s.cidr.addr;
    sn.prefix = s.cidr.prefix;
    it->second.subnets.push_back(std::move(sn));
  }
  return n;
}

}  // namespace venic::model
