// What the fuzz targets share: a failed invariant is a crash that libFuzzer
// records (with the input that caused it), and a message that says which.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace venic::fuzz {

inline void require(bool ok, const char* what, const std::string& detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant failed: %s %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace venic::fuzz
