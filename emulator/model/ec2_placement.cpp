// Placement groups as EC2 enforces them when instances launch or start:
// a cluster group in one Availability Zone, of types that support it; a
// spread group with at most seven running instances per zone; a partition
// group's instances spread over its partitions.
#include <algorithm>
#include <vector>

#include "ec2_model.h"
#include "ec2_params.h"

namespace venic::model {

using namespace params;

long Ec2Model::placement_room(const PlacementGroup& g, const InstanceType& t, const std::string& az, long min_n,
                              long n) const {
  if (g.strategy == "cluster") {
    if (!supports_cluster_placement(t))
      fail(kInvalid, "InvalidParameterCombination",
           "Cluster placement groups are not supported by the '" + std::string(t.name) +
               "' instance type. Specify a supported instance type or change the placement group strategy");
    // Its zone is its members' (stopped ones too); with none, any.
    for (auto& [id, in] : s_.instances)
      if (in.placement_group == g.name && in.placement_owner == g.owner && in.az != az)
        fail(kBusy, "InvalidPlacementGroup.InUse",
             "The placement group '" + g.name + "' is in use in another availability zone: " + in.az);
    return n;
  }
  if (g.strategy == "spread") {
    long running = 0;
    for (auto& [id, in] : s_.instances)
      running += in.placement_group == g.name && in.placement_owner == g.owner && in.az == az && in.running;
    const long room = std::max(0L, PlacementGroup::kSpreadPerZone - running);
    if (room < min_n)
      fail(kLimit, "InsufficientInstanceCapacity",
           "The spread placement group '" + g.name + "' already runs " + std::to_string(running) + " instances in " +
               az + ": a spread group runs at most " + std::to_string(PlacementGroup::kSpreadPerZone) +
               " instances per Availability Zone");
    return std::min(n, room);
  }
  return n;
}

int Ec2Model::emptiest_partition(const PlacementGroup& g, const std::string& az) const {
  std::vector<int> count(static_cast<size_t>(g.partition_count) + 1, 0);
  for (auto& [id, in] : s_.instances)
    if (in.placement_group == g.name && in.placement_owner == g.owner && in.az == az && in.partition >= 1 &&
        in.partition <= g.partition_count)
      count[static_cast<size_t>(in.partition)]++;
  return static_cast<int>(std::min_element(count.begin() + 1, count.end()) - count.begin());
}

}  // namespace venic::model
