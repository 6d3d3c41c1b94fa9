// The EC2 API's access keys: which secret signs for which owner uid
// (docs/ownership.md).  Read once at start from --ec2-access-keys FILE, which
// holds either JSON
//   [{"AccessKeyId": "AKIA...", "SecretAccessKey": "...", "Uid": 1001}, ...]
// or one key a line:  ACCESS_KEY_ID SECRET_ACCESS_KEY UID  (# starts a comment).
// The file holds secrets: it must be a regular file, owned by root or
// venicd's uid, that no group or other may read or write (0600 or 0400).
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace venic::ec2api {

struct AccessKey {
  std::string secret;
  int64_t uid = 0;
};

class AccessKeys {
 public:
  // Throws std::runtime_error naming the file and what is wrong with it.
  static AccessKeys load(const std::string& path);
  // The keys in text (either format); throws std::runtime_error.
  static AccessKeys parse(const std::string& text);

  const AccessKey* find(const std::string& id) const;
  size_t size() const { return keys_.size(); }
  void add(const std::string& id, AccessKey key);

 private:
  std::map<std::string, AccessKey> keys_;
};

}  // namespace venic::ec2api
