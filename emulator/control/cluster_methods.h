// The cluster.* control methods (docs/multi-host.md): what this venicd
// knows of the hosts that share its EC2 model, and registering a tunnel
// endpoint that is no venicd (a kernel Geneve/VXLAN device).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "owner.h"

namespace venic::model {
class Ec2Service;
}

namespace venic::control {

// cluster.status and cluster.add_host; nullopt for another method.  Throws
// model::Ec2Error (a bad parameter, not root, etcd out of reach).
std::optional<nlohmann::json> cluster_call(model::Ec2Service& ec2, const std::string& method,
                                           const nlohmann::json& params, const Caller& caller);

}  // namespace venic::control
