// VPC Flow Logs, the model's half: the flow logs tenants create for a VPC,
// a subnet or an ENI (ec2.CreateFlowLogs, ec2.DescribeFlowLogs,
// ec2.DeleteFlowLogs, with boto3's parameter names), and which of them cover
// an ENI.  venic's destination is a file (LogDestinationType "file"):
// LogDestination is a file name, written under venicd's flow-log directory
// in a folder per owner (<dir>/<account-id>/<name>).  Kept in memory: a
// restart forgets the flow logs.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "owner.h"

namespace venic::observe {

struct FlowLog {
  std::string id;                           // fl-...
  int64_t owner = 0;                        // uid
  std::string resource_id;                  // vpc-..., subnet-... or eni-...
  std::string traffic_type;                 // ACCEPT, REJECT or ALL
  std::string destination;                  // a file name
  unsigned max_aggregation_interval = 600;  // seconds: 60 or 600
  int64_t created_unix = 0;
  bool wants(bool accepted) const { return traffic_type == "ALL" || (traffic_type == "ACCEPT") == accepted; }
};

// Where an ENI sits, for matching flow logs.
struct EniPlace {
  std::string eni, subnet, vpc;
};

class FlowLogs {
 public:
  static constexpr size_t kMaxPerOwner = 64, kMaxTotal = 1024, kMaxIdsPerCall = 25;

  // The three actions (without the "ec2." prefix); nullopt for any other.
  // model is Ec2Model::to_json() (VPCs, subnets, ENIs and their owners).
  // Throws model::Ec2Error.
  std::optional<nlohmann::json> call(const std::string& action, const nlohmann::json& params, const Caller& caller,
                                     const nlohmann::json& model);
  static bool handles(const std::string& action) {
    return action == "CreateFlowLogs" || action == "DescribeFlowLogs" || action == "DeleteFlowLogs";
  }

  // The flow logs whose resource is the ENI, its subnet or its VPC.
  std::vector<const FlowLog*> covering(const EniPlace& place) const;
  const std::map<std::string, FlowLog>& all() const { return logs_; }
  // Changes since the caller last looked (the writer recomputes what it needs).
  uint64_t generation() const { return generation_; }

 private:
  nlohmann::json create(const nlohmann::json& p, const Caller& caller, const nlohmann::json& model);
  nlohmann::json describe(const nlohmann::json& p, const Caller& caller) const;
  nlohmann::json remove(const nlohmann::json& p, const Caller& caller);

  std::map<std::string, FlowLog> logs_;
  uint64_t generation_ = 0;
};

nlohmann::json flow_log_json(const FlowLog& f);

}  // namespace venic::observe
