// Amazon DNS's answers from the directory: the private names of the
// asker's VPC (ip-10-0-1-5.ec2.internal and its reverse), NXDOMAIN for
// everything else (venic has no internet to recurse to).
#pragma once

#include <cstdint>
#include <vector>

#include "directory.h"
#include "dns_message.h"

namespace venic::services {

struct DnsAnswerSet {
  uint8_t rcode = dns::kNxDomain;
  std::vector<DnsRecord> answers;
};

// The answer to q asked by vf.
DnsAnswerSet resolve_dns(const Directory& dir, uint16_t vf, const DnsQuestion& q);

// The whole exchange: a reply to the query in msg (empty: send nothing).
std::vector<uint8_t> answer_dns(const Directory& dir, uint16_t vf, std::span<const uint8_t> msg);

}  // namespace venic::services
