// The internet and NAT gateways (emulator/gateways): 1:1 and many-to-one
// address translation with every checksum verified by summing from scratch,
// ICMP "fragmentation needed" at the internet's MTU, the NAT table's port
// allocation, reuse, timeouts and bounds, and the hostile-tenant rules
// (malformed frames, per-ENI NAT caps, a bounded queue).
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <memory>
#include <vector>

#include "gateway_engine.h"
#include "gateway_queue.h"
#include "gateway_service.h"
#include "icmp_answers.h"
#include "ip_rewrite.h"
#include "nat_table.h"

namespace venic::gateways {
namespace {

constexpr uint32_t ip4(int a, int b, int c, int d) {
  return uint32_t(a) << 24 | uint32_t(b) << 16 | uint32_t(c) << 8 | uint32_t(d);
}
const uint32_t kPriv = ip4(10, 0, 1, 4), kPriv2 = ip4(10, 0, 1, 5), kEip = ip4(203, 0, 113, 7),
               kNatIp = ip4(203, 0, 113, 9), kHost = ip4(198, 51, 100, 1);
const std::array<uint8_t, 6> kMac = {0x0e, 1, 2, 3, 4, 5}, kMac2 = {0x0e, 1, 2, 3, 4, 6},
                             kRouter = {0x02, 0x76, 0x70, 0x63, 0x00, 0x01};

uint32_t sum16(const uint8_t* p, size_t n, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) s += uint32_t(p[i]) << 8 | p[i + 1];
  if (n & 1) s += uint32_t(p[n - 1]) << 8;
  return s;
}
uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}
void put16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, uint16_t(v >> 16));
  put16(p + 2, uint16_t(v));
}
uint32_t get32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
uint16_t get16(const uint8_t* p) {
  return uint16_t(p[0] << 8 | p[1]);
}

// Every checksum of the IP packet at ip is right, summed from scratch.
::testing::AssertionResult checksums_ok(const uint8_t* ip) {
  const uint32_t ihl = (ip[0] & 0xf) * 4u, total = get16(ip + 2);
  if (fold(sum16(ip, ihl)) != 0xffff) return ::testing::AssertionFailure() << "IPv4 header checksum";
  const uint8_t* l4 = ip + ihl;
  const uint32_t l4len = total - ihl;
  const uint8_t proto = ip[9];
  if (proto == kIcmp) {
    if (fold(sum16(l4, l4len)) != 0xffff) return ::testing::AssertionFailure() << "ICMP checksum";
    return ::testing::AssertionSuccess();
  }
  if (proto == kUdp && get16(l4 + 6) == 0) return ::testing::AssertionSuccess();
  uint32_t s = sum16(ip + 12, 8) + proto + l4len;
  if (fold(sum16(l4, l4len, s)) != 0xffff) return ::testing::AssertionFailure() << "L4 checksum";
  return ::testing::AssertionSuccess();
}

// An Ethernet frame from mac to the router holding an IPv4 packet with
// right checksums: TCP/UDP with ports, ICMP echo with id = sport.
std::vector<uint8_t> frame(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                           uint32_t payload = 32, bool df = true, bool udp_no_csum = false) {
  const uint32_t l4h = proto == kTcp ? 20 : 8;
  const uint32_t total = 20 + l4h + payload;
  std::vector<uint8_t> f(14 + total, 0);
  std::memcpy(f.data(), kRouter.data(), 6);
  std::memcpy(f.data() + 6, kMac.data(), 6);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  put16(ip + 2, uint16_t(total));
  put16(ip + 4, 0x1234);
  if (df) ip[6] = 0x40;
  ip[8] = 64;
  ip[9] = proto;
  put32(ip + 12, src);
  put32(ip + 16, dst);
  put16(ip + 10, uint16_t(~fold(sum16(ip, 20))));
  uint8_t* l4 = ip + 20;
  for (uint32_t i = 0; i < payload; i++) l4[l4h + i] = uint8_t(i * 7 + 1);
  if (proto == kIcmp) {
    l4[0] = 8;
    put16(l4 + 4, sport);
    put16(l4 + 6, 1);
    put16(l4 + 2, uint16_t(~fold(sum16(l4, l4h + payload))));
    return f;
  }
  put16(l4, sport);
  put16(l4 + 2, dport);
  if (proto == kTcp) {
    l4[12] = 5 << 4;
    l4[13] = 0x02;
  } else {
    put16(l4 + 4, uint16_t(8 + payload));
  }
  if (proto == kUdp && udp_no_csum) return f;
  const uint32_t s = sum16(ip + 12, 8) + proto + l4h + payload;
  const uint16_t c = uint16_t(~fold(sum16(l4, l4h + payload, s)));
  put16(l4 + (proto == kTcp ? 16 : 6), proto == kUdp && c == 0 ? 0xffff : c);
  return f;
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = std::make_shared<GatewayDirectory>();
    d->vfs[1] = {"vpc-a", kMac};
    d->vfs[2] = {"vpc-a", kMac2};
    d->vfs[3] = {"vpc-b", kMac};
    d->by_public[kEip] = {1, kPriv, kMac, "vpc-a"};
    d->public_of[{1, kPriv}] = kEip;
    d->igw_vpc["igw-a"] = "vpc-a";
    d->nats["nat-a"] = {kNatIp, "vpc-a"};
    dir_ = d;
    engine_.set_directory(d);
  }
  // Sends f from vf through gateway at time now.
  void send(uint16_t vf, const char* gw, std::vector<uint8_t> f, int64_t now = 100, uint32_t wire_len = 0) {
    engine_.from_instance(
        vf, gw, f.data(), uint32_t(f.size()), now,
        [this](const uint8_t* ip, uint32_t len) { out_.emplace_back(ip, ip + len); },
        [this](uint16_t vf, const uint8_t* fr, uint32_t len) {
          to_vf_.push_back(vf);
          in_.emplace_back(fr, fr + len);
          return true;
        },
        wire_len);
  }
  // An IP packet from the internet.
  void receive(std::vector<uint8_t> ip_packet, int64_t now = 100) {
    std::vector<uint8_t> buf(14 + ip_packet.size() + 16);
    std::memcpy(buf.data() + 14, ip_packet.data(), ip_packet.size());
    engine_.from_uplink(buf.data(), uint32_t(ip_packet.size()), now,
                        [this](uint16_t vf, const uint8_t* fr, uint32_t len) {
                          to_vf_.push_back(vf);
                          in_.emplace_back(fr, fr + len);
                          return true;
                        });
  }
  static std::vector<uint8_t> ip_of(const std::vector<uint8_t>& f) { return {f.begin() + 14, f.end()}; }
  // What the internet host answers to an IP packet: addresses and ports swapped.
  static std::vector<uint8_t> answer(const std::vector<uint8_t>& ip) {
    const uint8_t proto = ip[9];
    const uint8_t* l4 = ip.data() + 20;
    uint16_t sport = get16(l4), dport = get16(l4 + 2);
    if (proto == kIcmp) sport = dport = get16(l4 + 4);
    auto f = frame(proto, get32(ip.data() + 16), get32(ip.data() + 12), dport, sport);
    if (proto == kIcmp) {
      uint8_t* icmp = f.data() + 14 + 20;
      icmp[0] = 0;  // echo reply
      put16(icmp + 2, 0);
      put16(icmp + 2, uint16_t(~fold(sum16(icmp, uint32_t(f.size()) - 34))));
    }
    return ip_of(f);
  }

  GatewayStats stats_;
  GatewayEngine engine_{{kRouter, NatTable::Options{}}, stats_};
  std::shared_ptr<GatewayDirectory> dir_;
  std::vector<std::vector<uint8_t>> out_, in_;
  std::vector<uint16_t> to_vf_;
};

TEST_F(EngineTest, InternetGatewayTranslatesOneToOneBothWays) {
  for (uint8_t proto : {kTcp, kUdp, kIcmp}) {
    out_.clear();
    in_.clear();
    send(1, "igw-a", frame(proto, kPriv, kHost, 40000, 80));
    ASSERT_EQ(out_.size(), 1u) << int(proto);
    EXPECT_EQ(get32(out_[0].data() + 12), kEip);
    EXPECT_EQ(get32(out_[0].data() + 16), kHost);
    EXPECT_TRUE(checksums_ok(out_[0].data())) << int(proto);
    // The host answers the public address: the instance gets its private one.
    receive(answer(out_[0]));
    ASSERT_EQ(in_.size(), 1u);
    EXPECT_EQ(to_vf_.back(), 1);
    EXPECT_EQ(std::vector<uint8_t>(in_[0].begin(), in_[0].begin() + 6), std::vector<uint8_t>(kMac.begin(), kMac.end()));
    EXPECT_EQ(std::vector<uint8_t>(in_[0].begin() + 6, in_[0].begin() + 12),
              std::vector<uint8_t>(kRouter.begin(), kRouter.end()));
    EXPECT_EQ(get32(in_[0].data() + 14 + 16), kPriv);
    EXPECT_TRUE(checksums_ok(in_[0].data() + 14)) << int(proto);
  }
  EXPECT_EQ(stats_.translated_out, 3u);
  EXPECT_EQ(stats_.translated_in, 3u);
}

TEST_F(EngineTest, UdpWithoutChecksumStaysWithout) {
  send(1, "igw-a", frame(kUdp, kPriv, kHost, 5000, 53, 32, true, true));
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(get16(out_[0].data() + 20 + 6), 0);
  EXPECT_TRUE(checksums_ok(out_[0].data()));
}

TEST_F(EngineTest, NoPublicAddressIsDroppedAndCounted) {
  send(2, "igw-a", frame(kTcp, kPriv2, kHost, 40000, 80));
  // Another ENI claiming the first's address has none either: the key is (VF, address).
  send(2, "igw-a", frame(kTcp, kPriv, kHost, 40000, 80));
  EXPECT_TRUE(out_.empty());
  EXPECT_EQ(stats_.no_public_ip, 2u);
  // A gateway of another VPC, or none at all.
  send(3, "igw-a", frame(kTcp, kPriv, kHost, 40000, 80));
  send(1, "igw-zzz", frame(kTcp, kPriv, kHost, 40000, 80));
  EXPECT_EQ(stats_.no_gateway, 2u);
}

TEST_F(EngineTest, TooBigWithDfGetsFragmentationNeeded) {
  auto big = frame(kTcp, kPriv, kHost, 40000, 443, 2000);
  send(1, "igw-a", big);
  EXPECT_TRUE(out_.empty());
  ASSERT_EQ(in_.size(), 1u);
  const uint8_t* ip = in_[0].data() + 14;
  EXPECT_EQ(ip[9], kIcmp);
  EXPECT_EQ(get32(ip + 12), kHost);
  EXPECT_EQ(get32(ip + 16), kPriv);
  const uint8_t* icmp = ip + 20;
  EXPECT_EQ(icmp[0], 3);
  EXPECT_EQ(icmp[1], 4);
  EXPECT_EQ(get16(icmp + 6), 1500);
  // It quotes the header and the first 8 bytes (the ports).
  EXPECT_EQ(std::memcmp(icmp + 8, big.data() + 14, 28), 0);
  EXPECT_TRUE(checksums_ok(ip));
  EXPECT_EQ(stats_.frag_needed_sent, 1u);
  // Without DF: dropped (venic does not fragment).
  send(1, "igw-a", frame(kTcp, kPriv, kHost, 40000, 443, 2000, false));
  EXPECT_EQ(stats_.too_big_dropped, 1u);
  EXPECT_EQ(in_.size(), 1u);
  // Exactly 1500 passes.
  send(1, "igw-a", frame(kTcp, kPriv, kHost, 40000, 443, 1500 - 40));
  EXPECT_EQ(out_.size(), 1u);
  // A jumbo frame of which only the headers were kept (the queue's slots).
  auto jumbo = frame(kUdp, kPriv, kHost, 5000, 53, 8000);
  send(1, "nat-a", std::vector<uint8_t>(jumbo.begin(), jumbo.begin() + 2048), 100, uint32_t(jumbo.size()));
  EXPECT_EQ(stats_.frag_needed_sent, 2u);
  EXPECT_EQ(get16(in_.back().data() + 14 + 20 + 6), 1500);
}

TEST_F(EngineTest, MalformedFramesAreDroppedAndCounted) {
  auto f = frame(kTcp, kPriv, kHost, 40000, 80);
  auto bad_csum = f;
  bad_csum[14 + 10] ^= 0xff;
  send(1, "igw-a", bad_csum);
  auto short_len = f;
  put16(short_len.data() + 14 + 2, 4000);  // says more than there is
  send(1, "igw-a", short_len);
  send(1, "igw-a", std::vector<uint8_t>(f.begin(), f.begin() + 20));
  auto arp = f;
  arp[12] = 0x08, arp[13] = 0x06;
  send(1, "igw-a", arp);
  auto bad_tcp = f;
  bad_tcp[14 + 20 + 12] = 0xf0;  // data offset past the packet
  send(1, "igw-a", bad_tcp);
  EXPECT_TRUE(out_.empty());
  EXPECT_EQ(stats_.malformed, 5u);
  receive({0x45, 0, 0});
  EXPECT_EQ(stats_.malformed, 6u);
}

TEST_F(EngineTest, InboundToUnknownAddressesIsDropped) {
  receive(ip_of(frame(kTcp, kHost, ip4(203, 0, 113, 200), 80, 40000)));
  // The NAT's address without a flow.
  receive(ip_of(frame(kTcp, kHost, kNatIp, 80, 1024)));
  EXPECT_TRUE(in_.empty());
  EXPECT_EQ(stats_.inbound_unknown, 2u);
}

TEST_F(EngineTest, NatGatewaySharesItsAddressWithPorts) {
  send(1, "nat-a", frame(kTcp, kPriv, kHost, 40000, 80));
  send(2, "nat-a", frame(kTcp, kPriv2, kHost, 40000, 80));
  send(1, "nat-a", frame(kIcmp, kPriv, kHost, 77, 0));
  ASSERT_EQ(out_.size(), 3u);
  for (auto& p : out_) {
    EXPECT_EQ(get32(p.data() + 12), kNatIp);
    EXPECT_TRUE(checksums_ok(p.data()));
  }
  const uint16_t p1 = get16(out_[0].data() + 20), p2 = get16(out_[1].data() + 20);
  EXPECT_NE(p1, p2);
  // The same flow keeps its port.
  send(1, "nat-a", frame(kTcp, kPriv, kHost, 40000, 80));
  EXPECT_EQ(get16(out_[3].data() + 20), p1);
  // Replies go back to each sender, translated.
  receive(answer(out_[1]));
  receive(answer(out_[0]));
  receive(answer(out_[2]));
  ASSERT_EQ(in_.size(), 3u);
  EXPECT_EQ(to_vf_[0], 2);
  EXPECT_EQ(get32(in_[0].data() + 14 + 16), kPriv2);
  EXPECT_EQ(get16(in_[0].data() + 14 + 20 + 2), 40000);
  EXPECT_EQ(to_vf_[1], 1);
  EXPECT_EQ(get32(in_[1].data() + 14 + 16), kPriv);
  EXPECT_EQ(to_vf_[2], 1);
  EXPECT_EQ(get16(in_[2].data() + 14 + 20 + 4), 77);  // the ICMP id back
  for (auto& f : in_) EXPECT_TRUE(checksums_ok(f.data() + 14));
  EXPECT_EQ(std::vector<uint8_t>(in_[0].begin(), in_[0].begin() + 6), std::vector<uint8_t>(kMac2.begin(), kMac2.end()));
  // A NAT gateway needs its VPC's internet gateway.
  dir_->igw_vpc.clear();
  send(1, "nat-a", frame(kTcp, kPriv, kHost, 40001, 80));
  EXPECT_EQ(stats_.no_gateway, 1u);
}

TEST_F(EngineTest, NatTranslatesIcmpErrorsAboutItsFlows) {
  send(1, "nat-a", frame(kUdp, kPriv, kHost, 33434, 53));
  ASSERT_EQ(out_.size(), 1u);
  // The host says "port unreachable", quoting what it got.
  std::vector<uint8_t> err(20 + 8 + 28);
  err[0] = 0x45;
  put16(err.data() + 2, uint16_t(err.size()));
  err[8] = 64;
  err[9] = kIcmp;
  put32(err.data() + 12, kHost);
  put32(err.data() + 16, kNatIp);
  put16(err.data() + 10, uint16_t(~fold(sum16(err.data(), 20))));
  err[20] = 3;
  err[21] = 3;
  std::memcpy(err.data() + 28, out_[0].data(), 28);
  put16(err.data() + 22, uint16_t(~fold(sum16(err.data() + 20, 36))));
  receive(err);
  ASSERT_EQ(in_.size(), 1u);
  const uint8_t* ip = in_[0].data() + 14;
  EXPECT_EQ(get32(ip + 16), kPriv);
  EXPECT_EQ(get32(ip + 28 + 12), kPriv);        // the quote's source
  EXPECT_EQ(get16(ip + 28 + 20), 33434);        // and its port
  EXPECT_EQ(fold(sum16(ip + 28, 20)), 0xffff);  // the quote's header checksum
  EXPECT_TRUE(checksums_ok(ip));
}

TEST(NatTable, PortsAreReusedAfterTimeoutsAndTheTableIsBounded) {
  NatTable::Options o;
  o.max_entries = 8;
  o.per_source_max = 5;
  o.port_lo = 1000;
  o.port_hi = 1009;
  NatTable t(o);
  uint16_t port;
  // One ENI takes at most 5 flows.
  for (uint16_t i = 0; i < 5; i++)
    ASSERT_EQ(t.outbound(kTcp, 1, kPriv, uint16_t(40000 + i), kHost, 80, 0, &port), NatTable::Verdict::kOk);
  EXPECT_EQ(t.outbound(kTcp, 1, kPriv, 41000, kHost, 80, 0, &port), NatTable::Verdict::kSourceFull);
  // Another still gets in, up to the table's bound.
  for (uint16_t i = 0; i < 3; i++)
    ASSERT_EQ(t.outbound(kUdp, 2, kPriv2, uint16_t(40000 + i), kHost, 53, 10, &port), NatTable::Verdict::kOk);
  EXPECT_EQ(t.outbound(kUdp, 3, kPriv2 + 1, 1, kHost, 53, 10, &port), NatTable::Verdict::kTableFull);
  EXPECT_EQ(t.size(), 8u);
  // TCP flows idle 350 s go; UDP ones sent at 10 stay until 360.
  EXPECT_EQ(t.expire(349), 0u);
  EXPECT_EQ(t.expire(350), 5u);
  EXPECT_EQ(t.of_source(1), 0u);
  EXPECT_FALSE(t.inbound(kTcp, kHost, 80, 1000, 350));
  ASSERT_EQ(t.outbound(kTcp, 1, kPriv, 50000, kHost, 80, 351, &port), NatTable::Verdict::kOk);
  EXPECT_GE(port, 1000);
  EXPECT_LE(port, 1009);
  auto back = t.inbound(kTcp, kHost, 80, port, 352);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->vf, 1);
  EXPECT_EQ(back->ip, kPriv);
  EXPECT_EQ(back->port, 50000);
  // A reply from another remote does not match.
  EXPECT_FALSE(t.inbound(kTcp, kHost + 1, 80, port, 352));
}

TEST(NatTable, SamePortForDifferentDestinationsRunsOutPerDestination) {
  NatTable::Options o;
  o.port_lo = 2000;
  o.port_hi = 2001;
  NatTable t(o);
  uint16_t port;
  EXPECT_EQ(t.outbound(kTcp, 1, kPriv, 1, kHost, 80, 0, &port), NatTable::Verdict::kOk);
  EXPECT_EQ(t.outbound(kTcp, 1, kPriv, 2, kHost, 80, 0, &port), NatTable::Verdict::kOk);
  EXPECT_EQ(t.outbound(kTcp, 1, kPriv, 3, kHost, 80, 0, &port), NatTable::Verdict::kNoPort);
  EXPECT_EQ(t.outbound(kTcp, 1, kPriv, 3, kHost, 443, 0, &port), NatTable::Verdict::kOk);
}

TEST(GatewayQueue, OneVfTakesAQuarterAtMost) {
  GatewayQueue q(8);
  std::vector<uint8_t> f(64, 1);
  bool was_empty;
  EXPECT_TRUE(q.push(1, "igw-a", f.data(), 64, &was_empty));
  EXPECT_TRUE(q.push(1, "igw-a", f.data(), 64, &was_empty));
  EXPECT_FALSE(q.push(1, "igw-a", f.data(), 64, &was_empty));
  EXPECT_TRUE(q.push(2, "igw-a", f.data(), 64, &was_empty));
  uint16_t vf;
  char gw[GatewayQueue::kIdBytes];
  std::vector<uint8_t> out(GatewayQueue::kSlotBytes);
  uint32_t len, wire;
  ASSERT_TRUE(q.pop(&vf, gw, out.data(), &len, &wire));
  EXPECT_EQ(vf, 1);
  EXPECT_TRUE(q.push(1, "igw-a", f.data(), 64, &was_empty));
}

TEST(GatewayQueue, BoundedAndKeepsTheHeadersOfJumboFrames) {
  GatewayQueue q(2);
  std::vector<uint8_t> f(9000, 0xab);
  bool was_empty;
  EXPECT_TRUE(q.push(1, "igw-0123456789abcdef0", f.data(), 9000, &was_empty));
  EXPECT_TRUE(was_empty);
  EXPECT_TRUE(q.push(2, "nat-0123456789abcdef0", f.data(), 100, &was_empty));
  EXPECT_FALSE(q.push(3, "nat-0123456789abcdef0", f.data(), 100, &was_empty));
  EXPECT_FALSE(q.push(3, "a-gateway-id-far-too-long-to-be-one", f.data(), 100, &was_empty));
  uint16_t vf;
  char gw[GatewayQueue::kIdBytes];
  std::vector<uint8_t> out(GatewayQueue::kSlotBytes);
  uint32_t len, wire;
  ASSERT_TRUE(q.pop(&vf, gw, out.data(), &len, &wire));
  EXPECT_EQ(vf, 1);
  EXPECT_STREQ(gw, "igw-0123456789abcdef0");
  EXPECT_EQ(len, GatewayQueue::kSlotBytes);
  EXPECT_EQ(wire, 9000u);
  ASSERT_TRUE(q.pop(&vf, gw, out.data(), &len, &wire));
  EXPECT_EQ(len, 100u);
  EXPECT_FALSE(q.pop(&vf, gw, out.data(), &len, &wire));
}

// The gateway thread end to end, a datagram socket pair standing in for the TUN.
TEST(GatewayService, OfferTranslateUplinkAndBack) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  std::mutex mu;
  std::vector<std::vector<uint8_t>> injected;
  GatewayService svc({{kRouter, NatTable::Options{}}, 4}, [&](uint16_t vf, const uint8_t* f, uint32_t len) {
    std::lock_guard g(mu);
    injected.emplace_back(f, f + len);
    return vf == 1;
  });
  auto d = std::make_shared<GatewayDirectory>();
  d->vfs[1] = {"vpc-a", kMac};
  d->by_public[kEip] = {1, kPriv, kMac, "vpc-a"};
  d->public_of[{1, kPriv}] = kEip;
  d->igw_vpc["igw-a"] = "vpc-a";
  svc.publish(d);
  auto f = frame(kUdp, kPriv, kHost, 5000, 53);
  EXPECT_FALSE(svc.offer(1, "igw-a", f.data(), uint32_t(f.size())));  // not started: refused
  svc.start(sv[0]);
  auto wait_for = [](auto pred) {
    for (int i = 0; i < 500 && !pred(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return pred();
  };
  // The directory reaches the thread with its next wake-up: offer until a packet comes out.
  std::vector<uint8_t> got(4096);
  ssize_t n = -1;
  ASSERT_TRUE(wait_for([&] {
    svc.offer(1, "igw-a", f.data(), uint32_t(f.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    n = ::read(sv[1], got.data(), got.size());
    return n > 0;
  }));
  ASSERT_EQ(size_t(n), f.size() - 14);
  EXPECT_EQ(get32(got.data() + 12), kEip);
  EXPECT_TRUE(checksums_ok(got.data()));
  // The internet answers.
  auto reply = frame(kUdp, kHost, kEip, 53, 5000);
  ASSERT_EQ(::write(sv[1], reply.data() + 14, reply.size() - 14), ssize_t(reply.size() - 14));
  ASSERT_TRUE(wait_for([&] {
    std::lock_guard g(mu);
    return !injected.empty();
  }));
  {
    std::lock_guard g(mu);
    EXPECT_EQ(get32(injected[0].data() + 14 + 16), kPriv);
    EXPECT_TRUE(checksums_ok(injected[0].data() + 14));
  }
  EXPECT_GE(svc.stats().translated_in.load(), 1u);
  EXPECT_EQ(svc.stats_json()["malformed"], 0);
  svc.stop();
  ::close(sv[0]);
  ::close(sv[1]);
}

}  // namespace
}  // namespace venic::gateways
