#include "form_params.h"

#include "api_error.h"

namespace venic::ec2api {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); i++) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

void parse_form(std::string_view text, FormParams& out) {
  size_t pos = 0;
  while (pos <= text.size() && !text.empty()) {
    size_t amp = text.find('&', pos);
    std::string_view pair = text.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!pair.empty()) {
      if (out.size() >= kMaxFormParams)
        throw ApiError("InvalidParameterValue",
                       "The request has more than " + std::to_string(kMaxFormParams) + " parameters");
      size_t eq = pair.find('=');
      std::string name, value;
      if (!percent_decode(pair.substr(0, eq), name, true) ||
          (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), value, true)))
        throw ApiError("InvalidParameterValue", "The request has a malformed percent-encoding");
      out.emplace_back(std::move(name), std::move(value));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
}

}  // namespace venic::ec2api
