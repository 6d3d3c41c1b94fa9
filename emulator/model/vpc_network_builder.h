// The model's VPCs as the fast path needs them (vf::Network): each subnet
// with its route table and network ACL.  Rebuilt after every change; the VF
// table publishes it only when it differs.
#pragma once

#include "ec2_model.h"
#include "vpc_network.h"

namespace venic::model {

vf::Network network_of(const Ec2Model& m);

}  // namespace venic::model
