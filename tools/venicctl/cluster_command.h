// venicctl cluster: the hosts that share venicd's EC2 model through etcd
// (docs/multi-host.md), and registering a tunnel endpoint that is no venicd.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "requests.h"

namespace CLI {
class App;
}

namespace venic::ctl {

class ClusterCommand {
 public:
  explicit ClusterCommand(CLI::App& app);
  // After the parse: cluster.status or cluster.add_host, or nullopt when the
  // command line chose another command.  Throws UsageError for a bad value.
  std::optional<Request> request() const;

 private:
  CLI::App* cluster_ = nullptr;
  CLI::App* add_host_ = nullptr;
  std::string name_, underlay_ip_, mac_;
};

// cluster.status's (and cluster.add_host's) result as text.
std::string format_cluster_status(const nlohmann::json& status);

}  // namespace venic::ctl
