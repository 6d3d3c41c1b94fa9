// Message framing over a SOCK_SEQPACKET unix socket, with SCM_RIGHTS fds.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "unique_fd.h"

namespace venic::control {

// Sends one message (and fds, if any). Returns 0 or a negative errno.
int send_message(int sock, std::string_view payload, std::span<const int> fds = {});

// Receives one message. Returns its length, 0 on orderly close, or a negative
// errno (-EMSGSIZE when it was larger than kMaxMessage; its fds are closed).
long recv_message(int sock, std::string& payload, std::vector<UniqueFd>& fds);

}  // namespace venic::control
