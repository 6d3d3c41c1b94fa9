// MaxResults/NextToken on the describe actions EC2 paginates: the request's
// page is taken out of its params before the model sees them, and the
// model's whole answer cut to that page after.  The token is the offset of
// the page's first entry; entries keep their order between calls (the model
// lists them by id), so a page never repeats or skips one that stayed.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace venic::ec2api {

struct Page {
  std::optional<size_t> max;  // unset: the whole list
  size_t offset = 0;
};

// Throws ApiError (InvalidParameterValue: MaxResults out of 5-1000;
// InvalidPaginationToken: a token venicd did not make).  Actions EC2 does not
// paginate keep their params.
Page take_page(const std::string& action, nlohmann::json& params);
// Cuts result's list to page and adds NextToken when more follow.
void apply_page(const std::string& action, const Page& page, nlohmann::json& result);

}  // namespace venic::ec2api
