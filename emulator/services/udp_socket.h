// Dual-stack sockets for the namespace's servers, and the text of a peer's
// address (what address_map.h's vf_of_client reads).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "address_map.h"

namespace venic::services {

// A socket of type (SOCK_DGRAM or SOCK_STREAM, listening) bound to [::]:port
// taking IPv4 too; throws std::runtime_error.
int bind_dual_stack(int type, int port);
// A UDP socket bound to one address: its replies leave from that address
// (a wildcard socket's would leave from the route's, the TUN's own).
// bind_udp4 throws std::runtime_error; bind_udp6 returns -1 (IPv6 may be off).
int bind_udp4(uint32_t addr, int port);
int bind_udp6(const Ip6& addr, int port);
// The first of fds readable within ms, or -1.
int wait_any(const std::vector<int>& fds, int ms);
// The port a socket is bound to.
int bound_port(int fd);
std::string peer_text(const sockaddr_storage& ss);
// Waits up to ms for fd to be readable; false on timeout.
bool wait_readable(int fd, int ms);

}  // namespace venic::services
