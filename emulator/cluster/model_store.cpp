#include "model_store.h"

#include <sstream>

namespace venic::cluster {

ModelStore::ModelStore(std::vector<std::string> endpoints, std::chrono::milliseconds timeout)
    : endpoints_(endpoints), client_(std::move(endpoints), timeout) {}

ModelDocument ModelStore::read() {
  auto kv = client_.get(kModelKey);
  if (!kv) return {};
  return {kv->value, kv->mod_revision};
}

int64_t ModelStore::write(const std::string& text, int64_t revision) {
  int64_t after = 0;
  if (!client_.commit({{kModelKey, revision}}, {{Op::Kind::kPut, kModelKey, text}}, &after)) return 0;
  return after;
}

std::vector<std::string> parse_endpoints(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string e;
  while (std::getline(in, e, ',')) {
    if (e.empty()) continue;
    out.push_back(e.find("://") == std::string::npos ? "http://" + e : e);
  }
  return out;
}

}  // namespace venic::cluster
