// The EC2 model of several venic hosts as ONE document in etcd
// (docs/multi-host.md): every change is a compare-and-swap on the
// document's revision, so two hosts never both commit from the same model
// (and never hand out the same address, VF id or VNI).  Control thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "etcd_client.h"

namespace venic::cluster {

inline constexpr const char* kModelKey = "/venic/v1/model";

struct ModelDocument {
  std::string text;      // the model's JSON (Ec2Model::to_json); "" when none yet
  int64_t revision = 0;  // its mod_revision; 0: no document yet
};

class ModelStore {
 public:
  // etcd refuses a request over 1.5 MiB (--max-request-bytes): a bigger
  // model is refused before it is sent.
  static constexpr size_t kMaxDocument = 1400 * 1024;

  explicit ModelStore(std::vector<std::string> endpoints,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

  // Throws EtcdError.
  ModelDocument read();
  // Writes text if the document is still at revision (0: there is none yet).
  // Returns the new revision, or 0 when another host's write came first.
  // Throws EtcdError (unreachable: whether it happened is unknown).
  int64_t write(const std::string& text, int64_t revision);

  const std::vector<std::string>& endpoints() const { return endpoints_; }

 private:
  std::vector<std::string> endpoints_;
  EtcdClient client_;
};

// Splits "http://a:2379,http://b:2379" (a bare HOST:PORT gets http://).
std::vector<std::string> parse_endpoints(const std::string& list);

}  // namespace venic::cluster
