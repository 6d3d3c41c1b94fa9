// Persists the VF table so that venicd restores it at start.  Writes are
// atomic (temp file, fsync, rename, fsync of the directory); a file that does
// not parse is reported and never overwritten.
#pragma once

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
  std::vector<vf::VfConfig> load() const;
  // Throws StateError when the file cannot be written.
  void save(const std::vector<vf::VfConfig>& vfs) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace venic::state
