// The model's VPCs as the fast path needs them (vf::Network): each subnet
// with its route table and network ACL.  Rebuilt after every change; the VF
// table publishes it only when it differs.
#pragma once

#include "ec2_model.h"
#include "vpc_network.h"

namespace venic::model {

// With several hosts (docs/multi-host.md) it also lists the registered hosts
// and the ENIs whose VF is on another host than local_host, attached to a
// running instance there; on a single host (every ENI's host "") none.
vf::Network network_of(const Ec2Model& m, const std::string& local_host = "");

}  // namespace venic::model
