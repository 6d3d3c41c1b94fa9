// DNS messages (RFC 1035), as much as Amazon DNS's answers need: a query's
// header and single question in, a response with A/PTR answers out.  Every
// read is bounded: truncated input, labels over 63, names over 255 bytes and
// compression pointers that do not point strictly backwards are refused.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace venic::services {

namespace dns {
constexpr uint16_t kTypeA = 1, kTypePtr = 12, kTypeAaaa = 28, kClassIn = 1;
constexpr uint8_t kNoError = 0, kFormErr = 1, kServFail = 2, kNxDomain = 3, kNotImp = 4, kRefused = 5;
constexpr size_t kMaxMessage = 4096;  // what we read; queries are far smaller
}  // namespace dns

struct DnsQuestion {
  std::string name;  // lower case, dotted, no trailing dot ("" is the root)
  uint16_t type = 0, cls = 0;
};

struct DnsQuery {
  uint16_t id = 0;
  bool recursion_desired = false;
  uint8_t opcode = 0;
  DnsQuestion question;
};

struct DnsRecord {
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::vector<uint8_t> rdata;
};

// The query in msg; nullopt when it is no well-formed standard query with
// exactly one question.  *id_out gets the id whenever the header was whole
// (for a FORMERR reply).
std::optional<DnsQuery> parse_dns_query(std::span<const uint8_t> msg, std::optional<uint16_t>* id_out = nullptr);

// A name's wire form; nullopt when a label is empty or over 63, or the name over 255.
std::optional<std::vector<uint8_t>> encode_dns_name(const std::string& name);

// The response to q: its question echoed, then answers (all for q's name).
std::vector<uint8_t> build_dns_response(const DnsQuery& q, uint8_t rcode, const std::vector<DnsRecord>& answers);
// A header-only error response (FORMERR for a query we could not read).
std::vector<uint8_t> build_dns_error(uint16_t id, uint8_t rcode);

}  // namespace venic::services
