// EC2's Filters on Describe* ([{"Name": "vpc-id", "Values": ["vpc-1"]}]): a
// resource is listed when every filter matches it, a filter matching when
// any of its values matches any of the resource's values for that name.
// Values take EC2's wildcards: * (any run), ? (any one character), \ to
// escape either.  Each Describe* has its own table of filter names, each
// naming the path of the resource's JSON field it reads; an unknown name is
// InvalidParameterValue, as EC2 answers.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace venic::model {

// One filter name and the field it reads: "Key.Key" steps into objects,
// "Key[]" into every element of a list (e.g. "IpPermissions[].IpProtocol").
struct FilterField {
  const char* name;
  const char* path;
};

class Filters {
 public:
  static constexpr size_t kMaxFilters = 50, kMaxValues = 200, kMaxValueLength = 255;

  // The Filters parameter of p (none: matches all), checked against the
  // names in `known`; throws Ec2Error.
  Filters(const nlohmann::json& p, std::vector<FilterField> known);

  bool matches(const nlohmann::json& resource) const;
  // Keeps the matching elements of a list.
  nlohmann::json keep(const nlohmann::json& list) const;

 private:
  struct Filter {
    std::string path;
    std::vector<std::string> values;
  };
  std::vector<Filter> filters_;
};

// EC2's wildcard match of text against pattern (*, ?, \).
bool wildcard_match(const std::string& pattern, const std::string& text);

// The filter names of each Describe*, by its suffix ("Vpcs", "Instances"...).
const std::vector<FilterField>& filter_names(const std::string& what);

}  // namespace venic::model
