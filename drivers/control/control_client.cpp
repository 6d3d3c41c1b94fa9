#include "control_client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "protocol.h"
#include "seqpacket.h"

namespace venic::control {

Client Client::connect(const std::string& socket_path) {
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof(addr.sun_path))
    throw ControlError("transport", "socket path too long: " + socket_path);
  UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s.valid()) throw ControlError("transport", std::string("socket: ") + std::strerror(errno));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  // A daemon that stops answering must not hang a driver's probe forever.
  timeval tv{kReplyTimeoutSeconds, 0};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    int e = errno;
    throw ControlError("transport", "cannot reach venicd at " + socket_path + ": " + std::strerror(e) +
                                        (e == ENOENT || e == ECONNREFUSED ? " (is venicd running?)" : ""));
  }
  return Client(std::move(s));
}

Reply Client::call(const std::string& method, const nlohmann::json& params, std::span<const int> fds) {
  long id = next_id_++;
  nlohmann::json req = {{"id", id}, {"method", method}, {"params", params}};
  int sent = send_message(sock_.get(), req.dump(), fds);
  // A daemon that refuses us answers and hangs up before reading: its
  // answer is still queued, so read it before reporting the send failure.
  std::string payload;
  Reply reply;
  long n = recv_message(sock_.get(), payload, reply.fds);
  // Hanging up with our request unread resets our end; the reset is reported
  // first, and the answer queued before it is still there to read.
  if (n == -ECONNRESET) n = recv_message(sock_.get(), payload, reply.fds);
  if (sent < 0 && n <= 0) throw ControlError("transport", std::string("send to venicd: ") + std::strerror(-sent));
  if (n == 0) throw ControlError("transport", "venicd closed the connection");
  if (n == -EAGAIN || n == -EWOULDBLOCK)
    throw ControlError::timeout("venicd did not answer within " + std::to_string(kReplyTimeoutSeconds) + " s");
  if (n < 0)
    throw ControlError("transport", std::string("receive from venicd: ") + std::strerror(static_cast<int>(-n)));
  nlohmann::json rep = nlohmann::json::parse(payload, nullptr, false);
  if (rep.is_discarded() || !rep.is_object()) throw ControlError("transport", "venicd sent malformed JSON");
  if (rep.contains("error")) {
    const auto& e = rep["error"];
    auto text = [&](const char* key, const std::string& fallback) {
      return e.is_object() && e.contains(key) && e[key].is_string() ? e[key].get<std::string>() : fallback;
    };
    throw ControlError(text("code", std::string(err::kInternal)), text("message", "unknown error"),
                       text("aws_code", ""));
  }
  if (sent < 0 || rep.value("id", -1L) != id) throw ControlError("transport", "reply id does not match the request");
  reply.result = rep.value("result", nlohmann::json::object());
  return reply;
}

}  // namespace venic::control
