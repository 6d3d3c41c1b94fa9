#include "dns_message.h"

#include <cctype>

namespace venic::services {

namespace {

constexpr size_t kHeader = 12;
constexpr size_t kMaxName = 255;

uint16_t be16(std::span<const uint8_t> m, size_t at) {
  return static_cast<uint16_t>(m[at] << 8 | m[at + 1]);
}

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// Reads the name at *pos; *pos moves past it (past the first pointer when
// compressed).  Each pointer must point strictly before where the previous
// stretch of labels began, so the jumps go ever backwards and the walk ends.
std::optional<std::string> read_name(std::span<const uint8_t> m, size_t* pos) {
  std::string name;
  size_t at = *pos, wire = 0, limit = *pos;
  bool jumped = false;
  for (;;) {
    if (at >= m.size()) return std::nullopt;
    const uint8_t len = m[at];
    if ((len & 0xc0) == 0xc0) {
      if (at + 1 >= m.size()) return std::nullopt;
      const size_t target = static_cast<size_t>((len & 0x3f) << 8 | m[at + 1]);
      if (target >= limit) return std::nullopt;  // a loop, or a name not yet read
      if (!jumped) *pos = at + 2;
      jumped = true;
      at = limit = target;
      continue;
    }
    if (len & 0xc0) return std::nullopt;  // the reserved label types
    if (len == 0) {
      if (!jumped) *pos = at + 1;
      return name;
    }
    if (at + 1 + len > m.size()) return std::nullopt;
    wire += 1 + len;
    if (wire + 1 > kMaxName) return std::nullopt;
    if (!name.empty()) name += '.';
    for (size_t i = 0; i < len; i++) {
      if (m[at + 1 + i] == '.') return std::nullopt;  // no host name has one inside a label
      name += static_cast<char>(std::tolower(m[at + 1 + i]));
    }
    at += 1 + len;
  }
}

}  // namespace

std::optional<DnsQuery> parse_dns_query(std::span<const uint8_t> m, std::optional<uint16_t>* id_out) {
  if (m.size() < kHeader || m.size() > dns::kMaxMessage) return std::nullopt;
  DnsQuery q;
  q.id = be16(m, 0);
  const uint16_t flags = be16(m, 2);
  if (flags & 0x8000) return std::nullopt;  // a response, not a query: never answered (no reflection loops)
  if (id_out) *id_out = q.id;
  q.opcode = static_cast<uint8_t>((flags >> 11) & 0xf);
  q.recursion_desired = flags & 0x0100;
  // One question; answers and authorities have no place in a query (an
  // EDNS OPT in the additional section is ignored).
  if (be16(m, 4) != 1 || be16(m, 6) != 0 || be16(m, 8) != 0) return std::nullopt;
  size_t pos = kHeader;
  auto name = read_name(m, &pos);
  if (!name || pos + 4 > m.size()) return std::nullopt;
  q.question.name = *name;
  q.question.type = be16(m, pos);
  q.question.cls = be16(m, pos + 2);
  return q;
}

std::optional<std::vector<uint8_t>> encode_dns_name(const std::string& name) {
  std::vector<uint8_t> out;
  size_t i = 0;
  while (i < name.size()) {
    size_t j = name.find('.', i);
    if (j == std::string::npos) j = name.size();
    const size_t len = j - i;
    if (len == 0 || len > 63) return std::nullopt;
    out.push_back(static_cast<uint8_t>(len));
    out.insert(out.end(), name.begin() + static_cast<long>(i), name.begin() + static_cast<long>(j));
    i = j + 1;
  }
  out.push_back(0);
  if (out.size() > kMaxName) return std::nullopt;
  return out;
}

std::vector<uint8_t> build_dns_response(const DnsQuery& q, uint8_t rcode, const std::vector<DnsRecord>& answers) {
  auto qname = encode_dns_name(q.question.name);
  if (!qname) return build_dns_error(q.id, dns::kFormErr);
  std::vector<uint8_t> out;
  put16(out, q.id);
  // QR, the query's opcode and RD; RA: Amazon DNS is a recursive resolver.
  put16(out,
        static_cast<uint16_t>(0x8000 | q.opcode << 11 | (q.recursion_desired ? 0x0100 : 0) | 0x0080 | (rcode & 0xf)));
  put16(out, 1);
  put16(out, static_cast<uint16_t>(answers.size()));
  put16(out, 0);
  put16(out, 0);
  out.insert(out.end(), qname->begin(), qname->end());
  put16(out, q.question.type);
  put16(out, q.question.cls);
  for (const auto& a : answers) {
    put16(out, 0xc000 | kHeader);  // the question's name
    put16(out, a.type);
    put16(out, dns::kClassIn);
    put16(out, static_cast<uint16_t>(a.ttl >> 16));
    put16(out, static_cast<uint16_t>(a.ttl));
    put16(out, static_cast<uint16_t>(a.rdata.size()));
    out.insert(out.end(), a.rdata.begin(), a.rdata.end());
  }
  return out;
}

std::vector<uint8_t> build_dns_error(uint16_t id, uint8_t rcode) {
  std::vector<uint8_t> out;
  put16(out, id);
  put16(out, static_cast<uint16_t>(0x8000 | 0x0080 | (rcode & 0xf)));
  for (int i = 0; i < 4; i++) put16(out, 0);
  return out;
}

}  // namespace venic::services
