// application/x-www-form-urlencoded text (a POST body or a query string) as
// name/value pairs, percent- and '+'-decoded, in the order sent.  Bounded: a
// hostile client gets InvalidParameterValue, never a large allocation.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace venic::ec2api {

using FormParams = std::vector<std::pair<std::string, std::string>>;

// Parameters one request may carry (query string and body together).
constexpr size_t kMaxFormParams = 1000;

// Appends text's pairs to out; throws ApiError (InvalidParameterValue) on a
// bad percent escape or past kMaxFormParams pairs in out.
void parse_form(std::string_view text, FormParams& out);

// Percent-decoding ('+' is a space when plus_is_space); false on a bad escape.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

}  // namespace venic::ec2api
