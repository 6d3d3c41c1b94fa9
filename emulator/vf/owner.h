// Ownership (docs/ownership.md): every VF and EC2 resource has an owner uid.
// Root and venicd's own uid manage everything; any other uid the control
// socket serves acts only on what it owns.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace venic {

// Who is asking: the peer's uid (SO_PEERCRED) and whether it manages all.
struct Caller {
  int64_t uid = 0;
  bool admin = true;
  bool may_manage(int64_t owner) const { return admin || owner == uid; }
};

// The caller a peer uid is: root and the daemon's own uid are admins.
inline Caller caller_for_uid(int64_t uid) {
  return {uid, uid == 0 || uid == static_cast<int64_t>(::geteuid())};
}

// EC2's OwnerId for a uid: a 12-digit account id (uid 1001 -> "000000001001").
inline std::string account_id(int64_t uid) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%012lld", static_cast<long long>(uid));
  return buf;
}

}  // namespace venic
