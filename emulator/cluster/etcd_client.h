// A client of etcd's v3 API through its JSON gateway (etcd 3.4+, Debian's
// etcd-server): the store several venicd hosts share for the EC2 model
// (issue 21).  Keys and values are bytes; every change is a transaction on
// revisions, so concurrent hosts never both win the same key.  Blocking
// calls with a timeout; safe from one thread at a time (one per watcher).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace venic::cluster {

// etcd unreachable, or an answer that is not etcd's: the change did not
// happen as far as the caller can know (callers retry or fail cleanly).
struct EtcdError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct KeyValue {
  std::string key, value;
  int64_t create_revision = 0, mod_revision = 0, version = 0;
};

// One condition of a transaction on a key's revision.
struct Compare {
  std::string key;
  // The key's mod_revision must equal this; 0: the key must not exist.
  int64_t mod_revision = 0;
};

struct Op {
  enum class Kind : uint8_t { kPut, kDelete } kind = Kind::kPut;
  std::string key, value;
};

struct WatchEvent {
  enum class Kind : uint8_t { kPut, kDelete } kind = Kind::kPut;
  KeyValue kv;
};

class EtcdClient {
 public:
  // endpoints: "http://HOST:PORT", tried in order until one answers.
  explicit EtcdClient(std::vector<std::string> endpoints,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  ~EtcdClient();

  // Returns the store's revision after the write.
  int64_t put(const std::string& key, const std::string& value);
  std::optional<KeyValue> get(const std::string& key);
  // Every key under prefix, in key order; *revision: the store's revision they are from.
  std::vector<KeyValue> list(const std::string& prefix, int64_t* revision = nullptr);
  // All compares hold → all ops happen, atomically; false (nothing done) otherwise.
  // *revision (when given): the store's revision after it (a put's mod_revision).
  bool commit(const std::vector<Compare>& compares, const std::vector<Op>& ops, int64_t* revision = nullptr);
  // Creates key only if nobody has it: the way hosts claim an address or an id.
  bool create(const std::string& key, const std::string& value) {
    return commit({{key, 0}}, {{Op::Kind::kPut, key, value}});
  }

  // Calls on_event for each change under prefix after from_revision (0: from
  // now), until it returns false or `stop` returns true (polled about every
  // 200 ms).  Throws EtcdError when the stream breaks: the caller re-lists
  // and watches again from the revision it has.
  void watch(const std::string& prefix, int64_t from_revision, const std::function<bool(const WatchEvent&)>& on_event,
             const std::function<bool()>& stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The end of the range "every key under prefix" (prefix with its last byte + 1).
std::string prefix_end(const std::string& prefix);

}  // namespace venic::cluster
