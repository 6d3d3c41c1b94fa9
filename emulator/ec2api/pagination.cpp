#include "pagination.h"

#include <algorithm>
#include <string_view>

#include "api_error.h"

namespace venic::ec2api {

namespace {

struct Paginated {
  std::string_view action, list;
};
constexpr Paginated kPaginated[] = {
    {"DescribeInstances", "Reservations"},
    {"DescribeVpcs", "Vpcs"},
    {"DescribeSubnets", "Subnets"},
    {"DescribeSecurityGroups", "SecurityGroups"},
    {"DescribeNetworkInterfaces", "NetworkInterfaces"},
    {"DescribeInstanceTypes", "InstanceTypes"},
    {"DescribeRouteTables", "RouteTables"},
    {"DescribeVpcPeeringConnections", "VpcPeeringConnections"},
    {"DescribeNetworkAcls", "NetworkAcls"},
};
constexpr std::string_view kTokenPrefix = "venic-page-";
constexpr size_t kMaxOffset = 10'000'000;

const Paginated* paginated(const std::string& action) {
  for (const auto& p : kPaginated)
    if (p.action == action) return &p;
  return nullptr;
}

}  // namespace

Page take_page(const std::string& action, nlohmann::json& params) {
  Page page;
  if (!paginated(action)) return page;
  if (params.contains("MaxResults")) {
    const auto& m = params["MaxResults"];
    if (!m.is_number_integer() || m.get<long long>() < 5 || m.get<long long>() > 1000)
      throw ApiError("InvalidParameterValue", "MaxResults must be an integer from 5 to 1000");
    page.max = m.get<size_t>();
    params.erase("MaxResults");
  }
  if (params.contains("NextToken")) {
    const auto& t = params["NextToken"];
    std::string s = t.is_string() ? t.get<std::string>() : "";
    std::string_view digits = std::string_view(s).substr(std::min(s.size(), kTokenPrefix.size()));
    if (s.rfind(kTokenPrefix, 0) != 0 || digits.empty() || digits.size() > 8 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(std::string(digits)) > kMaxOffset)
      throw ApiError("InvalidPaginationToken", "The pagination token is not valid");
    page.offset = std::stoul(std::string(digits));
    params.erase("NextToken");
  }
  return page;
}

void apply_page(const std::string& action, const Page& page, nlohmann::json& result) {
  const Paginated* p = paginated(action);
  if (!p || (!page.max && page.offset == 0)) return;
  const std::string key(p->list);
  if (!result.is_object() || !result.contains(key) || !result[key].is_array()) return;
  auto& list = result[key];
  const size_t n = list.size();
  const size_t from = std::min(page.offset, n);
  const size_t to = page.max ? std::min(n, from + *page.max) : n;
  nlohmann::json cut = nlohmann::json::array();
  for (size_t i = from; i < to; i++) cut.push_back(std::move(list[i]));
  list = std::move(cut);
  if (to < n) result["NextToken"] = std::string(kTokenPrefix) + std::to_string(to);
}

}  // namespace venic::ec2api
