// Amazon DNS's query parser and answers on arbitrary messages, as a tenant's
// guest sends them: never reads outside the message, never loops, and a reply
// (when there is one) is a well-formed response with the query's id.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dns_message.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace venic::services;
  std::optional<uint16_t> id;
  auto q = parse_dns_query(std::span<const uint8_t>(data, size), &id);
  if (!q) return 0;
  require(id && *id == q->id);
  require(q->question.name.size() <= 255);
  const auto reply = build_dns_response(*q, dns::kNxDomain, {});
  require(reply.size() >= 12 && reply[0] == (q->id >> 8) && reply[1] == (q->id & 0xff) && (reply[2] & 0x80));
  // What we answer parses back as the same question (once QR is cleared).
  auto echo = reply;
  echo[2] &= 0x7f;
  echo[6] = echo[7] = 0;
  auto again = parse_dns_query(echo);
  require(again && again->question.name == q->question.name && again->question.type == q->question.type);
  return 0;
}
