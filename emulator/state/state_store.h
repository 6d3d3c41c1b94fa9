// Persists the VF table so that venicd restores it at start.  Writes are
// atomic (temp file, fsync, rename, fsync of the directory); a file that does
// not parse is reported and never overwritten.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "vf_config.h"

namespace venic::state {

struct StateError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class StateStore {
 public:
  explicit StateStore(std::string path) : path_(std::move(path)) {}

  // The saved VFs; empty when the file does not exist.  Throws StateError for
  // a corrupt, truncated or unreadable file.
  // extra receives the file's "ec2" section (null when it has none).
  std::vector<vf::VfConfig> load(nlohmann::json* ec2 = nullptr) const;
  // Throws StateError when the file cannot be written.
  void save(const std::vector<vf::VfConfig>& vfs) const;
  // The "ec2" section (the EC2 model) that every later save writes beside
  // the VFs.
  void set_ec2(nlohmann::json section) { ec2_ = std::move(section); }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  nlohmann::json ec2_;
};

}  // namespace venic::state
