// Dual-stack sockets for the namespace's servers, and the text of a peer's
// address (what address_map.h's vf_of_client reads).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace venic::services {

// A socket of type (SOCK_DGRAM or SOCK_STREAM, listening) bound to [::]:port
// taking IPv4 too; throws std::runtime_error.
int bind_dual_stack(int type, int port);
// The port a socket is bound to.
int bound_port(int fd);
std::string peer_text(const sockaddr_storage& ss);
// Waits up to ms for fd to be readable; false on timeout.
bool wait_readable(int fd, int ms);

}  // namespace venic::services
