#include "flow_log_record.h"

#include <arpa/inet.h>

namespace venic::observe {

std::string flow_addr(uint8_t family, const uint8_t* addr) {
  char buf[INET6_ADDRSTRLEN] = "-";
  ::inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf, sizeof(buf));
  return buf;
}

std::string flow_log_line(const FlowLogLine& r) {
  const FlowLogKey& k = r.key;
  return "2 " + r.account_id + " " + r.eni + " " + flow_addr(k.family, k.src) + " " + flow_addr(k.family, k.dst) + " " +
         std::to_string(k.sport) + " " + std::to_string(k.dport) + " " + std::to_string(k.proto) + " " +
         std::to_string(r.packets) + " " + std::to_string(r.bytes) + " " + std::to_string(r.start) + " " +
         std::to_string(r.end) + " " + (r.accepted ? "ACCEPT" : "REJECT") + " OK";
}

std::string flow_log_status_line(const std::string& account_id, const std::string& eni, int64_t start, int64_t end,
                                 const char* status) {
  return "2 " + account_id + " " + eni + " - - - - - - - " + std::to_string(start) + " " + std::to_string(end) + " - " +
         status;
}

}  // namespace venic::observe
