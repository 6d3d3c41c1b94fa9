// The instance metadata service's tree: which paths exist for an instance
// and what EC2 answers at each (listings with a trailing / for directories,
// plain values, the identity document's JSON).  Pure: no HTTP here.
#pragma once

#include <string>
#include <string_view>

#include "directory.h"

namespace venic::services {

struct ImdsAnswer {
  int status = 404;
  std::string body;
  std::string content_type = "text/plain";
};

// The answer at path (the request path without its leading '/', e.g.
// "latest/meta-data/instance-id") for instance `in`, asked through `asking`.
ImdsAnswer imds_lookup(const InstanceView& in, const EniView& asking, std::string_view path);

}  // namespace venic::services
