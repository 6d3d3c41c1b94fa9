// The control-socket protocol shared by venicd, venicctl and the drivers.
// Transport: AF_UNIX SOCK_SEQPACKET; one message is one JSON object.
// Request {"id":N,"method":"vf.create","params":{...}}; reply
// {"id":N,"result":{...}} or {"id":N,"error":{"code":"...","message":"..."}}.
// File descriptors (a VF region, registered DMA memory) travel with a message
// as SCM_RIGHTS.  docs/control-protocol.md lists the methods.
#pragma once

#include <cstddef>
#include <string_view>

namespace venic::control {

inline constexpr std::string_view kDefaultSocket = "/run/venic/venicd.sock";
inline constexpr std::size_t kMaxMessage = 256 * 1024;
inline constexpr std::size_t kMaxFdsPerMessage = 64;
// A client gives up on the daemon after this.  Generous: on a machine with
// fewer cores than busy threads a reconfiguration waits for the workers'
// grace period, which has been seen to take seconds.
inline constexpr long kReplyTimeoutSeconds = 30;

// Error codes carried in reply.error.code.
namespace err {
inline constexpr std::string_view kParse = "parse_error";
inline constexpr std::string_view kInvalidRequest = "invalid_request";
inline constexpr std::string_view kUnknownMethod = "unknown_method";
inline constexpr std::string_view kInvalidParams = "invalid_params";
inline constexpr std::string_view kNotFound = "not_found";
inline constexpr std::string_view kExists = "exists";
inline constexpr std::string_view kLimit = "limit";
inline constexpr std::string_view kPermission = "permission_denied";
inline constexpr std::string_view kBusy = "busy";
inline constexpr std::string_view kInternal = "internal";
inline constexpr std::string_view kUnreachable = "unreachable";  // EFA: policy keeps the peer out of reach
inline constexpr std::string_view kUnavailable = "unavailable";  // --etcd: the shared model is out of reach; retry
}  // namespace err

}  // namespace venic::control
