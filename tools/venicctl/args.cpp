#include "args.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <string>

namespace venic::ctl {
namespace {

// Appended piecewise: "'" + std::string(text) trips GCC 12's -Wrestrict
// false positive at -O3 (GCC bug 105651), which -Werror turns into an error.
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out += text;
  out += '\'';
  return out;
}

// Whole-string decimal integer: no sign, no blanks, no trailing junk.
bool parse_decimal(std::string_view text, long& out) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Shared by every "integer in [lo, hi]" option so their messages read alike.
std::string parse_bounded(std::string_view text, std::string_view what, long lo, long hi, int& out) {
  long value = 0;
  if (!parse_decimal(text, value) || value < lo || value > hi)
    return "invalid " + std::string(what) + " " + quoted(text) + " (expected a number " + std::to_string(lo) + "-" +
           std::to_string(hi) + ")";
  out = static_cast<int>(value);
  return {};
}

// "unlimited" or an integer 0-max (0 also means unlimited); one message for
// bad text and out-of-range alike, naming the option, the unit and the range.
std::string parse_allowance(std::string_view option, std::string_view text, std::string_view unit, long max,
                            std::uint32_t& out) {
  if (text == "unlimited") {
    out = 0;
    return {};
  }
  long value = 0;
  if (!parse_decimal(text, value) || value > max)
    return "invalid value " + quoted(text) + " for " + std::string(option) + " (expected " + std::string(unit) + " 0-" +
           std::to_string(max) + ", or unlimited)";
  out = static_cast<std::uint32_t>(value);
  return {};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

std::string parse_mac(std::string_view text, std::string& out) {
  const std::string invalid = "invalid MAC address " + quoted(text) + " (expected xx:xx:xx:xx:xx:xx)";
  constexpr std::size_t kMacTextLength = 17;
  if (text.size() != kMacTextLength) return invalid;
  std::array<int, 6> octets{};
  std::string canonical;
  canonical.reserve(kMacTextLength);
  for (std::size_t i = 0; i < octets.size(); i++) {
    const std::size_t at = i * 3;
    if (i > 0 && text[at - 1] != ':') return invalid;
    const int high = hex_value(text[at]);
    const int low = hex_value(text[at + 1]);
    if (high < 0 || low < 0) return invalid;
    octets[i] = high * 16 + low;
    if (i > 0) canonical += ':';
    canonical += lower(text[at]);
    canonical += lower(text[at + 1]);
  }
  // The group bit (bit 0 of the first octet) marks multicast/broadcast, which
  // no VF may own; all zeros is the "no address" value.
  if (octets[0] & 1)
    return "MAC address " + quoted(text) + " is multicast (a VF needs a unicast address: the first octet must be even)";
  bool all_zero = true;
  for (int octet : octets) all_zero = all_zero && octet == 0;
  if (all_zero) return "MAC address " + quoted(text) + " is all zeros";
  out = std::move(canonical);
  return {};
}

std::string parse_ipv6(std::string_view text, std::string& out) {
  in6_addr a{};
  if (::inet_pton(AF_INET6, std::string(text).c_str(), &a) != 1)
    return "invalid IPv6 address " + quoted(text) + " (expected e.g. 2600:1f18::10)";
  out = std::string(text);
  return "";
}

std::string parse_ipv4(std::string_view text, std::string& out) {
  const std::string invalid = "invalid IPv4 address " + quoted(text) + " (expected a.b.c.d)";
  std::string_view rest = text;
  for (int part = 0; part < 4; part++) {
    if (part > 0) {
      if (rest.empty() || rest.front() != '.') return invalid;
      rest.remove_prefix(1);
    }
    std::size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') digits++;
    if (digits == 0 || digits > 3 || (digits > 1 && rest.front() == '0')) return invalid;
    long octet = 0;
    if (!parse_decimal(rest.substr(0, digits), octet) || octet > 255) return invalid;
    rest.remove_prefix(digits);
  }
  if (!rest.empty()) return invalid;
  out = std::string(text);
  return {};
}

std::string parse_ipv4_cidr(std::string_view text, std::string& out) {
  const std::size_t slash = text.find('/');
  std::string ip;
  long length = 0;
  if (slash == std::string_view::npos || !parse_ipv4(text.substr(0, slash), ip).empty() ||
      !parse_decimal(text.substr(slash + 1), length) || length > 32 ||
      (slash + 2 < text.size() && text[slash + 1] == '0'))
    return "invalid IPv4 CIDR block " + quoted(text) + " (expected a.b.c.d/n, n 0-32)";
  out = std::string(text);
  return {};
}

std::string parse_ipv6_cidr(std::string_view text, std::string& out) {
  const std::size_t slash = text.find('/');
  std::string ip;
  long length = 0;
  if (slash == std::string_view::npos || !parse_ipv6(text.substr(0, slash), ip).empty() ||
      !parse_decimal(text.substr(slash + 1), length) || length > 128 ||
      (slash + 2 < text.size() && text[slash + 1] == '0'))
    return "invalid IPv6 CIDR block " + quoted(text) + " (expected ADDRESS/n, n 0-128)";
  out = std::string(text);
  return {};
}

std::string parse_number(std::string_view option, std::string_view text, long lo, long hi, long& out) {
  long value = 0;
  if (!parse_decimal(text, value) || value < lo || value > hi)
    return "invalid value " + quoted(text) + " for " + std::string(option) + " (expected a number " +
           std::to_string(lo) + "-" + std::to_string(hi) + ")";
  out = value;
  return {};
}

std::string parse_prefix(std::string_view text, int& out) {
  return parse_bounded(text, "prefix length", kMinPrefix, kMaxPrefix, out);
}

std::string parse_vf_id(std::string_view text, int& out) {
  return parse_bounded(text, "VF id", kMinVfId, kMaxVfId, out);
}

std::string parse_mtu(std::string_view text, int& out) {
  return parse_bounded(text, "MTU", kMinMtu, kMaxMtu, out);
}

std::string parse_queues(std::string_view text, int& out) {
  return parse_bounded(text, "queue count", kMinQueues, kMaxQueues, out);
}

std::string parse_vf_type(std::string_view text, std::string& out) {
  if (text != "ena" && text != "efa" && text != "ixgbevf")
    return "invalid VF type " + quoted(text) + " (expected ena, efa or ixgbevf)";
  out = std::string(text);
  return {};
}

std::string parse_on_off(std::string_view option, std::string_view text, bool& out) {
  if (text == "on" || text == "yes" || text == "true") {
    out = true;
    return {};
  }
  if (text == "off" || text == "no" || text == "false") {
    out = false;
    return {};
  }
  return "invalid value " + quoted(text) + " for " + std::string(option) + " (expected on or off)";
}

std::string parse_link_state(std::string_view text, std::string& out) {
  if (text != "up" && text != "down") return "invalid link state " + quoted(text) + " (expected up or down)";
  out = std::string(text);
  return {};
}

std::string parse_mbps(std::string_view option, std::string_view text, std::uint32_t& out) {
  return parse_allowance(option, text, "Mbit/s", kMaxMbps, out);
}

std::string parse_pps(std::string_view text, std::uint32_t& out) {
  return parse_allowance("--pps", text, "packets/s", kMaxPps, out);
}

std::string parse_burst_ms(std::string_view text, std::uint32_t& out) {
  long value = 0;
  if (!parse_decimal(text, value) || value < kMinBurstMs || value > kMaxBurstMs)
    return "invalid value " + quoted(text) + " for --burst-ms (expected milliseconds " + std::to_string(kMinBurstMs) +
           "-" + std::to_string(kMaxBurstMs) + ")";
  out = static_cast<std::uint32_t>(value);
  return {};
}

std::string parse_watch_interval(std::string_view text, double& out) {
  double seconds = 0;
  const bool starts_with_digit = !text.empty() && text.front() >= '0' && text.front() <= '9';
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  // Written as a negated range test so that NaN fails it too.
  if (!starts_with_digit || ec != std::errc() || end != text.data() + text.size() ||
      !(seconds >= kMinWatchSeconds && seconds <= kMaxWatchSeconds))
    return "invalid watch interval " + quoted(text) + " (expected seconds, 0.1-3600)";
  out = seconds;
  return {};
}

}  // namespace venic::ctl
