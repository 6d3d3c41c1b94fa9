// The instance metadata service's HTTP side (cpp-httplib): IMDSv1 GETs,
// IMDSv2's PUT /latest/api/token and the token rules, the instance's
// metadata options.  Who asks is told by the client address (the service
// port gives every VF its own address in the namespace).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "directory.h"
#include "imds_tokens.h"

namespace httplib {
class Server;
}

namespace venic::services {

class ImdsServer {
 public:
  // The VF behind a client address, or nullopt (nobody: no answer).
  using WhoAsks = std::function<std::optional<uint16_t>(const std::string& remote_ip)>;
  // Caps the IP TTL of what goes back to vf's client port (IMDSv2's hop limit).
  using LimitHops = std::function<void(uint16_t vf, int remote_port, int hops)>;

  ImdsServer(const DirectoryBoard& dir, ImdsTokens& tokens, WhoAsks who, LimitHops hops);
  ~ImdsServer();

  // Binds host:port on the calling thread (hence in its network namespace);
  // port 0 picks one.  Returns the port, or -1.
  int bind(const std::string& host, int port);
  // Serves on a thread of its own until stop().
  void start();
  void stop();

  // One request, without HTTP (what the handlers do).
  struct Reply {
    int status = 404;
    std::string body, content_type = "text/plain";
    std::map<std::string, std::string> headers;
  };
  using Headers = std::multimap<std::string, std::string, std::less<>>;
  Reply handle(const std::string& method, const std::string& path,
               const std::function<std::string(const char*)>& header, bool has_forwarded_for,
               const std::string& remote_ip, int remote_port);

 private:
  const DirectoryBoard& dir_;
  ImdsTokens& tokens_;
  WhoAsks who_;
  LimitHops hops_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
};

}  // namespace venic::services
