// A subnet's network ACL (one direction) compiled for the fast path (the
// network ACL part of issue 19 fills this in).
#pragma once

namespace venic::fastpath {

class NetworkAcl {
 public:
  virtual ~NetworkAcl() = default;
};

}  // namespace venic::fastpath
