// Validation of venicctl's command-line values, done locally so that a bad
// value is reported before any daemon is contacted.  Every parser returns an
// empty string on success (and fills `out`), or a one-line message naming the
// offending text and what was expected.  None of them touches global state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace venic::ctl {

inline constexpr int kMinVfId = 0;
inline constexpr int kMaxVfId = 255;
inline constexpr int kMinPrefix = 1;
inline constexpr int kMaxPrefix = 32;
inline constexpr int kMinMtu = 68;
inline constexpr int kMaxMtu = 9710;  // an ixgbevf VF's; venicd holds each VF to its own
inline constexpr int kMinQueues = 1;
inline constexpr int kMaxQueues = 8;
inline constexpr double kMinWatchSeconds = 0.1;
inline constexpr double kMaxWatchSeconds = 3600;
inline constexpr std::uint32_t kMaxMbps = 400000;      // --bw-*-mbps, --flow-mbps
inline constexpr std::uint32_t kMaxPps = 1000000000;   // --pps
inline constexpr std::uint32_t kMinBurstMs = 1;        // --burst-ms
inline constexpr std::uint32_t kMaxBurstMs = 3600000;  // one hour of the rate

// A unicast, non-zero MAC written xx:xx:xx:xx:xx:xx (either case); `out` is
// the lower-case form, so the daemon sees one spelling per address.
std::string parse_mac(std::string_view text, std::string& out);

// Dotted-quad IPv4 (four decimal octets 0-255, no leading zeros, which some
// parsers would read as octal); `out` is the text as given.
std::string parse_ipv4(std::string_view text, std::string& out);

// An IPv6 address in any textual form inet_pton accepts; `out` is the text.
std::string parse_ipv6(std::string_view text, std::string& out);

// An IPv4 block a.b.c.d/n (n 0-32), e.g. 10.0.0.0/16; `out` is the text.
// Whether the block suits its use (host bits, size) is the daemon's call.
std::string parse_ipv4_cidr(std::string_view text, std::string& out);

// An IPv6 block ADDRESS/n (n 0-128), e.g. 2600:1f18:1234:5600::/56.
std::string parse_ipv6_cidr(std::string_view text, std::string& out);

// A whole number lo-hi given to `option` (e.g. "--device-index"), named in
// the message.
std::string parse_number(std::string_view option, std::string_view text, long lo, long hi, long& out);

std::string parse_prefix(std::string_view text, int& out);
std::string parse_vf_id(std::string_view text, int& out);
std::string parse_mtu(std::string_view text, int& out);
std::string parse_queues(std::string_view text, int& out);

// "ena" or "efa" (the daemon may still refuse efa; that is its call).
std::string parse_vf_type(std::string_view text, std::string& out);

// on/off (also yes/no, true/false); `option` names the flag in the message.
std::string parse_on_off(std::string_view option, std::string_view text, bool& out);

// "up" or "down".
std::string parse_link_state(std::string_view text, std::string& out);

// A rate allowance: a whole number 0-kMaxMbps, or "unlimited" (= 0, which is
// also what 0 means).  `option` (e.g. "--bw-in-mbps") names the flag in the
// message, since several flags share this parser.
std::string parse_mbps(std::string_view option, std::string_view text, std::uint32_t& out);

// Packets per second (--pps): 0-kMaxPps, or "unlimited" (= 0).
std::string parse_pps(std::string_view text, std::uint32_t& out);

// Token-bucket depth in milliseconds of the rate (--burst-ms): 1-3600000;
// there is no "unlimited" here.
std::string parse_burst_ms(std::string_view text, std::uint32_t& out);

// Seconds between two --watch samples; fractions allowed.
std::string parse_watch_interval(std::string_view text, double& out);

}  // namespace venic::ctl
