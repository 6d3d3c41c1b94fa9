// Turns the command-line options of each venicctl command into the control
// request to send (method + params), validating every value with args.h so
// that mistakes are reported before connecting.  No I/O here.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace venic::ctl {

// A bad command line; venicctl reports it and exits with status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Request {
  std::string method;
  nlohmann::json params = nlohmann::json::object();
  // The action takes EC2's ClientToken: when params hold none, the sender
  // adds a fresh one (and keeps it for a retry).
  bool idempotent = false;
};

// Traffic allowances shared by vf create and vf set, as typed.  bw sets both
// directions and may not be combined with bw_in or bw_out.
struct LimitOptions {
  std::optional<std::string> bw;        // --bw-mbps
  std::optional<std::string> bw_in;     // --bw-in-mbps
  std::optional<std::string> bw_out;    // --bw-out-mbps
  std::optional<std::string> pps;       // --pps
  std::optional<std::string> flow;      // --flow-mbps
  std::optional<std::string> burst_ms;  // --burst-ms
};

// Options as typed; numbers stay text so that args.h words the errors.
struct VfCreateOptions {
  std::string type;
  std::string mac;
  std::string ip;
  std::optional<std::string> prefix;
  std::optional<std::string> mtu;
  std::optional<std::string> queues;
  std::optional<std::string> id;
  bool trusted = false;
  std::optional<std::string> src_dst_check;  // on|off
  std::vector<std::string> secondary_ips;
  std::vector<std::string> ipv6;
  LimitOptions limits;
  std::optional<std::string> frontend;    // shm|vhost-user
  std::optional<std::string> vhost_path;  // with vhost-user
  std::optional<std::string> vhost_mode;  // server|client
  std::optional<std::string> owner_uid;   // root gives a VF to another uid
};

struct VfSetOptions {
  std::string vf;
  std::optional<std::string> mtu;
  std::optional<std::string> trusted;
  std::optional<std::string> link;
  std::optional<std::string> src_dst_check;               // on|off
  std::optional<std::vector<std::string>> secondary_ips;  // replaces the list
  std::optional<std::vector<std::string>> ipv6;           // replaces the list
  LimitOptions limits;
};

struct StatsOptions {
  std::optional<std::string> vf;
  bool reset = false;
};

// Each throws UsageError with args.h's message on a bad value.
Request build_vf_create(const VfCreateOptions& options);
Request build_vf_set(const VfSetOptions& options);
Request build_vf_show(const std::string& vf);
Request build_vf_delete(const std::string& vf);
Request build_vf_list();
Request build_stats(const StatsOptions& options);
Request build_daemon_info();

}  // namespace venic::ctl
