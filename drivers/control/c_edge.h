// What every driver needs at its C ABI edge: exceptions become a negative
// errno and a message, and the region the daemon sent is mapped.
#pragma once

#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>

#include "control_client.h"

namespace venic::control {

inline void set_err(char* err, size_t errlen, const std::string& msg) {
  if (err && errlen) std::snprintf(err, errlen, "%s", msg.c_str());
}

// The errno a driver returns for an error the daemon answered.
inline int errno_for(const ControlError& e) {
  const std::string& c = e.code();
  if (c == "not_found") return -ENODEV;
  if (c == "busy") return -EBUSY;
  if (c == "permission_denied") return -EPERM;
  if (c == "bad_address") return -EFAULT;  // as ibv_reg_mr: unmapped, or no write access to the pages
  if (c == "access_denied") return -EACCES;
  if (c == "invalid_params" || c == "invalid_request") return -EINVAL;
  if (c == "limit") return -ENOSPC;
  if (c == "unreachable") return -EHOSTUNREACH;
  if (c == "unavailable") return -EAGAIN;  // the shared model (etcd) is out of reach: try again
  if (c == "transport") return -ECONNREFUSED;
  return -EIO;
}

// Runs body at the C ABI edge: no exception crosses it.
template <typename Body>
int guarded(char* err, size_t errlen, Body&& body) {
  try {
    return body();
  } catch (const ControlError& e) {
    set_err(err, errlen, e.what());
    return errno_for(e);
  } catch (const std::exception& e) {
    set_err(err, errlen, e.what());
    return -EIO;
  }
}

// Maps the one region fd of a reply (what: "VF region", ...) read-write;
// returns 0 with base and size set, or a negative errno with a message.
inline int map_region(std::span<const UniqueFd> fds, const char* what, uint8_t*& base, uint64_t& size, char* err,
                      size_t errlen) {
  if (fds.size() != 1) {
    set_err(err, errlen, std::string("venicd sent no ") + what);
    return -EPROTO;
  }
  struct stat st {};
  if (::fstat(fds[0].get(), &st) < 0 || st.st_size <= 0) {
    set_err(err, errlen, std::string(what) + " fd is unusable");
    return -EPROTO;
  }
  size = static_cast<uint64_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0].get(), 0);
  if (p == MAP_FAILED) {
    int e = errno;
    set_err(err, errlen, std::string("mmap ") + what + ": " + std::strerror(e));
    return -e;
  }
  base = static_cast<uint8_t*>(p);
  return 0;
}

}  // namespace venic::control
