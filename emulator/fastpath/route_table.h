// A subnet's route table compiled for the fast path (the route tables
// part of issue 19 fills this in: longest-prefix match with rte_lpm/rte_lpm6).
#pragma once

namespace venic::fastpath {

class RouteTable {
 public:
  virtual ~RouteTable() = default;
};

}  // namespace venic::fastpath
