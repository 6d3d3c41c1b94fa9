// Amazon DNS: the message codec (including hostile input: truncation,
// compression loops, oversized labels) and the answers for private names.
#include <gtest/gtest.h>

#include <random>

#include "dns_message.h"
#include "dns_resolver.h"
#include "services_world.h"

namespace venic::services {
namespace {

std::vector<uint8_t> query(const std::string& name, uint16_t type, uint16_t id = 0x1234) {
  std::vector<uint8_t> m = {
      static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  auto n = encode_dns_name(name);
  m.insert(m.end(), n->begin(), n->end());
  m.insert(m.end(), {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1});
  return m;
}

TEST(DnsMessage, ParsesAQuery) {
  auto q = parse_dns_query(query("IP-10-0-1-5.ec2.internal", dns::kTypeA));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->id, 0x1234);
  EXPECT_TRUE(q->recursion_desired);
  EXPECT_EQ(q->question.name, "ip-10-0-1-5.ec2.internal");
  EXPECT_EQ(q->question.type, dns::kTypeA);
  EXPECT_EQ(q->question.cls, dns::kClassIn);
}

TEST(DnsMessage, RefusesHostileInput) {
  const auto good = query("a.b", dns::kTypeA);
  // Every truncation.
  for (size_t n = 0; n < good.size(); n++) EXPECT_FALSE(parse_dns_query({good.data(), n})) << n;
  // A pointer to itself, and a pointer forwards.
  std::vector<uint8_t> loop(good.begin(), good.begin() + 12);
  loop.insert(loop.end(), {0xc0, 12, 0, 1, 0, 1});
  EXPECT_FALSE(parse_dns_query(loop));
  std::vector<uint8_t> fwd(good.begin(), good.begin() + 12);
  fwd.insert(fwd.end(), {0xc0, 14, 1, 'a', 0, 0, 1, 0, 1});
  EXPECT_FALSE(parse_dns_query(fwd));
  // Two labels pointing at each other through a jump back.
  std::vector<uint8_t> pingpong(good.begin(), good.begin() + 12);
  pingpong.insert(pingpong.end(), {1, 'a', 0xc0, 12, 0, 1, 0, 1});
  EXPECT_FALSE(parse_dns_query(pingpong));
  // A label over 63 (0x40 is a reserved label type), a name over 255.
  std::vector<uint8_t> big(good.begin(), good.begin() + 12);
  for (int i = 0; i < 5; i++) {
    big.push_back(63);
    big.insert(big.end(), 63, 'x');
  }
  big.insert(big.end(), {0, 0, 1, 0, 1});
  EXPECT_FALSE(parse_dns_query(big));
  EXPECT_FALSE(encode_dns_name(std::string(64, 'x')));
  EXPECT_FALSE(encode_dns_name("a..b"));
  // Responses and multi-question messages are not queries.
  auto resp = good;
  resp[2] |= 0x80;
  EXPECT_FALSE(parse_dns_query(resp));
  std::optional<uint16_t> id;
  auto two = good;
  two[5] = 2;
  EXPECT_FALSE(parse_dns_query(two, &id));
  EXPECT_EQ(id, 0x1234);  // answerable with FORMERR
}

TEST(DnsMessage, RandomInputNeverCrashes) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; i++) {
    std::vector<uint8_t> m(rng() % 64);
    for (auto& b : m) b = static_cast<uint8_t>(rng());
    if (m.size() > 5) m[4] = 0, m[5] = 1, m[6] = m[7] = m[8] = m[9] = 0, m[2] &= 0x7f;
    (void)parse_dns_query(m);
  }
}

struct Dns : ::testing::Test {
  testing::World w;
  std::shared_ptr<const Directory> d = w.dir();
  DnsAnswerSet ask(uint16_t vf, const std::string& name, uint16_t type) {
    return resolve_dns(*d, vf, {name, type, dns::kClassIn});
  }
};

TEST_F(Dns, PrivateNamesOfTheAskersVpc) {
  auto r = ask(w.vf_a, "ip-10-0-1-6.ec2.internal", dns::kTypeA);
  EXPECT_EQ(r.rcode, dns::kNoError);
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.answers[0].rdata, (std::vector<uint8_t>{10, 0, 1, 6}));
  // Its secondary address has a name too.
  EXPECT_EQ(ask(w.vf_b, "ip-10-0-1-50.ec2.internal", dns::kTypeA).answers.size(), 1u);
  // The name exists, with no AAAA: NOERROR, no data.
  r = ask(w.vf_a, "ip-10-0-1-6.ec2.internal", dns::kTypeAaaa);
  EXPECT_EQ(r.rcode, dns::kNoError);
  EXPECT_TRUE(r.answers.empty());
  // Reverse.
  r = ask(w.vf_a, "6.1.0.10.in-addr.arpa", dns::kTypePtr);
  EXPECT_EQ(r.rcode, dns::kNoError);
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.answers[0].rdata, *encode_dns_name("ip-10-0-1-6.ec2.internal"));
}

TEST_F(Dns, NxdomainOtherwise) {
  for (const char* n : {"example.com", "ip-10-0-1-99.ec2.internal", "ip-10-0-1-6.eu-west-1.compute.internal",
                        "ip-10-0-1-06.ec2.internal", "ip-10-0-1-6-7.ec2.internal", "99.1.0.10.in-addr.arpa", ""})
    EXPECT_EQ(ask(w.vf_a, n, dns::kTypeA).rcode, dns::kNxDomain) << n;
  // C's VPC overlaps A's: C sees only its own VPC's addresses, under its region.
  EXPECT_EQ(ask(w.vf_c, "ip-10-0-1-6.eu-west-1.compute.internal", dns::kTypeA).rcode, dns::kNxDomain);
  EXPECT_EQ(ask(w.vf_c, "ip-10-0-1-7.eu-west-1.compute.internal", dns::kTypeA).answers.size(), 1u);
  EXPECT_EQ(ask(250, "ip-10-0-1-6.ec2.internal", dns::kTypeA).rcode, dns::kRefused);  // no such VF
}

TEST_F(Dns, WholeExchange) {
  auto reply = answer_dns(*d, w.vf_a, query("ip-10-0-1-5.ec2.internal", dns::kTypeA, 0xbeef));
  ASSERT_GE(reply.size(), 12u);
  EXPECT_EQ(reply[0], 0xbe);
  EXPECT_EQ(reply[1], 0xef);
  EXPECT_EQ(reply[2] & 0x80, 0x80);  // a response
  EXPECT_EQ(reply[3] & 0x0f, dns::kNoError);
  EXPECT_EQ(reply[7], 1);  // one answer
  EXPECT_EQ(std::vector<uint8_t>(reply.end() - 4, reply.end()), (std::vector<uint8_t>{10, 0, 1, 5}));
  // Garbage with a whole header: FORMERR; less: nothing.
  std::vector<uint8_t> junk = {0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0};
  reply = answer_dns(*d, w.vf_a, junk);
  ASSERT_EQ(reply.size(), 12u);
  EXPECT_EQ(reply[3] & 0x0f, dns::kFormErr);
  EXPECT_TRUE(answer_dns(*d, w.vf_a, std::vector<uint8_t>{1, 2, 3}).empty());
}

}  // namespace
}  // namespace venic::services
