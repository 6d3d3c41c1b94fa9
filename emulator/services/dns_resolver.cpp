#include "dns_resolver.h"

#include <charconv>

namespace venic::services {

namespace {

constexpr uint32_t kTtl = 60;

// n decimal, 0-255, no leading zeros; advances s past it.
std::optional<uint32_t> octet(std::string_view& s) {
  uint32_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  const size_t len = static_cast<size_t>(r.ptr - s.data());
  if (r.ec != std::errc() || v > 255 || len == 0 || (len > 1 && s[0] == '0')) return std::nullopt;
  s.remove_prefix(len);
  return v;
}

// The address in "ip-a-b-c-d.<suffix>", or nullopt.
std::optional<uint32_t> forward_name(std::string_view n, const std::string& suffix) {
  if (n.size() <= suffix.size() + 1 || n.substr(n.size() - suffix.size()) != suffix ||
      n[n.size() - suffix.size() - 1] != '.')
    return std::nullopt;
  n.remove_suffix(suffix.size() + 1);
  if (n.substr(0, 3) != "ip-") return std::nullopt;
  n.remove_prefix(3);
  uint32_t ip = 0;
  for (int i = 0; i < 4; i++) {
    if (i > 0) {
      if (n.empty() || n[0] != '-') return std::nullopt;
      n.remove_prefix(1);
    }
    auto o = octet(n);
    if (!o) return std::nullopt;
    ip = ip << 8 | *o;
  }
  return n.empty() ? std::optional(ip) : std::nullopt;
}

// The address in "d.c.b.a.in-addr.arpa", or nullopt.
std::optional<uint32_t> reverse_name(std::string_view n) {
  constexpr std::string_view kArpa = ".in-addr.arpa";
  if (n.size() <= kArpa.size() || n.substr(n.size() - kArpa.size()) != kArpa) return std::nullopt;
  n.remove_suffix(kArpa.size());
  uint32_t ip = 0;
  for (int i = 0; i < 4; i++) {
    if (i > 0) {
      if (n.empty() || n[0] != '.') return std::nullopt;
      n.remove_prefix(1);
    }
    auto o = octet(n);
    if (!o) return std::nullopt;
    ip |= *o << (8 * i);
  }
  return n.empty() ? std::optional(ip) : std::nullopt;
}

}  // namespace

DnsAnswerSet resolve_dns(const Directory& dir, uint16_t vf, const DnsQuestion& q) {
  DnsAnswerSet out;
  const Directory::Entry* e = dir.find(vf);
  if (!e) {
    out.rcode = dns::kRefused;
    return out;
  }
  if (q.cls != dns::kClassIn) {
    out.rcode = dns::kRefused;
    return out;
  }
  // The asker's region names its private domain; a detached ENI knows none
  // but us-east-1's.
  const std::string suffix = e->instance ? e->instance->private_dns_suffix : private_dns_suffix("us-east-1");
  if (auto ip = forward_name(q.name, suffix); ip && dir.vpc_has(e->eni.vpc_id, *ip)) {
    out.rcode = dns::kNoError;  // the name exists; other types get no data
    if (q.type == dns::kTypeA)
      out.answers.push_back({dns::kTypeA,
                             kTtl,
                             {static_cast<uint8_t>(*ip >> 24), static_cast<uint8_t>(*ip >> 16),
                              static_cast<uint8_t>(*ip >> 8), static_cast<uint8_t>(*ip)}});
    return out;
  }
  if (auto ip = reverse_name(q.name); ip && dir.vpc_has(e->eni.vpc_id, *ip)) {
    out.rcode = dns::kNoError;
    if (q.type == dns::kTypePtr)
      if (auto wire = encode_dns_name(private_dns_name(*ip, suffix)))
        out.answers.push_back({dns::kTypePtr, kTtl, *wire});
    return out;
  }
  return out;
}

std::vector<uint8_t> answer_dns(const Directory& dir, uint16_t vf, std::span<const uint8_t> msg) {
  std::optional<uint16_t> id;
  auto q = parse_dns_query(msg, &id);
  if (!q) return id ? build_dns_error(*id, dns::kFormErr) : std::vector<uint8_t>{};
  if (q->opcode != 0) return build_dns_response(*q, dns::kNotImp, {});
  DnsAnswerSet a = resolve_dns(dir, vf, q->question);
  return build_dns_response(*q, a.rcode, a.answers);
}

}  // namespace venic::services
