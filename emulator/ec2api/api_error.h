// A request the EC2 Query API refuses: EC2's error code and message, and the
// HTTP status EC2 answers it with.
#pragma once

#include <stdexcept>
#include <string>

namespace venic::ec2api {

struct ApiError : std::runtime_error {
  ApiError(std::string aws_code, const std::string& message) : std::runtime_error(message), code(std::move(aws_code)) {}
  std::string code;
};

// EC2's HTTP status for an error code: 401 for a request it cannot
// authenticate, 403 for one it will not authorise, 412 for a dry run that
// would have worked, 5xx for its own trouble, 400 for the rest.
int http_status_for(const std::string& aws_code);

}  // namespace venic::ec2api
