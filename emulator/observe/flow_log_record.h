// One VPC Flow Logs record in EC2's default format (version 2):
//   version account-id interface-id srcaddr dstaddr srcport dstport protocol
//   packets bytes start end action log-status
// e.g. "2 000000001000 eni-0a1b 10.0.1.10 10.0.1.11 49152 80 6 10 840
//       1733350000 1733350059 ACCEPT OK"; a window without traffic, or with
// flows the table could not hold: "2 000000001000 eni-0a1b - - - - - - -
// 1733350000 1733350060 - NODATA" (or SKIPDATA).
#pragma once

#include <cstdint>
#include <string>

#include "flow_log_table.h"

namespace venic::observe {

struct FlowLogLine {
  std::string account_id, eni;
  FlowLogKey key;
  uint64_t packets = 0, bytes = 0;
  int64_t start = 0, end = 0;  // Unix seconds
  bool accepted = true;
};

std::string flow_log_line(const FlowLogLine& r);
// status: "NODATA" or "SKIPDATA".
std::string flow_log_status_line(const std::string& account_id, const std::string& eni, int64_t start, int64_t end,
                                 const char* status);
// An address of k as text (IPv4 dotted, IPv6 RFC 5952).
std::string flow_addr(uint8_t family, const uint8_t* addr);

}  // namespace venic::observe
