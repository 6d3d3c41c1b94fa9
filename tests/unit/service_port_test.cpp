// The exception path without the fast path: packet rewriting both ways
// (addresses, checksums, the IMDS hop cap), and the whole ServicePort in its
// private network namespace, fed crafted frames (DNS, NTP) and checked by the
// frames it injects back; IMDS over HTTP from inside the namespace.  The
// namespace tests skip without CAP_SYS_ADMIN/CAP_NET_ADMIN.
#include "service_port.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "address_map.h"
#include "inet_checksum.h"
#include "dns_message.h"
#include "ntp_packet.h"
#include "packet_rewrite.h"
#include "service_netns.h"
#include "services_world.h"

namespace venic::services {
namespace {

constexpr std::array<uint8_t, 6> kRouter = {0x02, 0x76, 0x70, 0x63, 0x00, 0x01};

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

// The pseudo-header sum of an IPv4 packet's L4 part.
uint16_t l4_sum4(const uint8_t* ip) {
  const size_t ihl = (ip[0] & 0xf) * 4u, total = get16(ip + 2);
  uint8_t ph[12];
  std::memcpy(ph, ip + 12, 8);
  ph[8] = 0;
  ph[9] = ip[9];
  put16(ph + 10, static_cast<uint16_t>(total - ihl));
  return ones_sum(ip + ihl, total - ihl, ones_sum(ph, 12));
}

bool checksums_ok4(const uint8_t* ip) {
  const size_t ihl = (ip[0] & 0xf) * 4u;
  return ones_sum(ip, ihl) == 0xffff && l4_sum4(ip) == 0xffff;
}

// An Ethernet/IPv4 frame from src:sport to dst:dport carrying payload.
std::vector<uint8_t> frame4(const EniView& e, uint32_t src, uint32_t dst, uint8_t proto, uint16_t sport, uint16_t dport,
                            const std::vector<uint8_t>& payload) {
  const size_t l4 = proto == IPPROTO_TCP ? 20 : 8;
  std::vector<uint8_t> f(14 + 20 + l4 + payload.size(), 0);
  std::memcpy(f.data(), kRouter.data(), 6);
  std::memcpy(f.data() + 6, e.mac.data(), 6);
  put16(&f[12], 0x0800);
  uint8_t* ip = &f[14];
  ip[0] = 0x45;
  put16(ip + 2, static_cast<uint16_t>(20 + l4 + payload.size()));
  ip[8] = 64;
  ip[9] = proto;
  for (int i = 0; i < 4; i++)
    ip[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i)), ip[16 + i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
  put16(ip + 10, static_cast<uint16_t>(~ones_sum(ip, 20)));
  uint8_t* p = ip + 20;
  put16(p, sport);
  put16(p + 2, dport);
  if (proto == IPPROTO_UDP) {
    put16(p + 4, static_cast<uint16_t>(8 + payload.size()));
  } else {
    p[12] = 5 << 4;
    p[13] = 0x18;  // PSH ACK
  }
  std::memcpy(p + l4, payload.data(), payload.size());
  const int at = proto == IPPROTO_TCP ? 16 : 6;
  put16(p + at, static_cast<uint16_t>(~l4_sum4(ip)));
  return f;
}

std::vector<uint8_t> dns_query(const std::string& name) {
  std::vector<uint8_t> m = {0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  auto n = encode_dns_name(name);
  m.insert(m.end(), n->begin(), n->end());
  m.insert(m.end(), {0, dns::kTypeA, 0, 1});
  return m;
}

struct Rewrite : ::testing::Test {
  testing::World w;
  std::shared_ptr<const Directory> d = w.dir();
  const EniView& a = d->find(w.vf_a)->eni;
};

TEST_F(Rewrite, GuestToNamespace) {
  auto f = frame4(a, 0x0a000132 /* 10.0.1.50, secondary */, 0x0a000002 /* VPC+2 */, IPPROTO_UDP, 40000, 53,
                  dns_query("x.y"));
  auto s = to_namespace(*d, w.vf_a, f.data(), f.size());
  ASSERT_TRUE(s);
  const uint8_t* ip = f.data() + s->offset;
  EXPECT_EQ(get32(ip + 12), client4({w.vf_a, 1, true}));
  EXPECT_EQ(get32(ip + 16), addr::kDns4);
  EXPECT_TRUE(checksums_ok4(ip));
  // Not the ENI's address, not a service, a fragment, another VF's view.
  auto bad_src = frame4(a, 0x0a000106, addr::kDns4, IPPROTO_UDP, 1, 53, {});
  EXPECT_FALSE(to_namespace(*d, w.vf_a, bad_src.data(), bad_src.size()));
  auto bad_port = frame4(a, 0x0a000105, addr::kImds4, IPPROTO_UDP, 1, 80, {});
  EXPECT_FALSE(to_namespace(*d, w.vf_a, bad_port.data(), bad_port.size()));
  auto other = frame4(a, 0x0a000105, 0x0a000003, IPPROTO_UDP, 1, 53, {});
  EXPECT_FALSE(to_namespace(*d, w.vf_a, other.data(), other.size()));
  auto frag = frame4(a, 0x0a000105, addr::kTime4, IPPROTO_UDP, 1, 123, std::vector<uint8_t>(48));
  frag[14 + 6] = 0x20;  // MF
  EXPECT_FALSE(to_namespace(*d, w.vf_a, frag.data(), frag.size()));
  auto imds = frame4(a, 0x0a000105, addr::kImds4, IPPROTO_TCP, 1, 80, {});
  EXPECT_FALSE(to_namespace(*d, w.vf_b, imds.data(), imds.size()));  // B does not own 10.0.1.5
  EXPECT_TRUE(to_namespace(*d, w.vf_a, imds.data(), imds.size()));
  // Truncated frames.
  for (size_t n = 0; n < 14 + 20 + 8; n++) {
    auto t = frame4(a, 0x0a000105, addr::kTime4, IPPROTO_UDP, 1, 123, {});
    EXPECT_FALSE(to_namespace(*d, w.vf_a, t.data(), n)) << n;
  }
}

TEST_F(Rewrite, NamespaceToGuestWithTheHopCap) {
  // A reply from IMDS to A's namespace address, TTL 64.
  auto f = frame4(a, addr::kImds4, client4({w.vf_a, 0, false}), IPPROTO_TCP, 80, 33000, {'o', 'k'});
  std::vector<uint8_t> out(4096);
  auto g = to_guest(*d, f.data() + 14, f.size() - 14, out.data(), out.size(), kRouter,
                    [](uint16_t, uint16_t port) { return static_cast<uint8_t>(port == 33000 ? 1 : 0); });
  ASSERT_TRUE(g);
  EXPECT_EQ(g->vf, w.vf_a);
  EXPECT_EQ(0, std::memcmp(out.data(), a.mac.data(), 6));
  EXPECT_EQ(0, std::memcmp(out.data() + 6, kRouter.data(), 6));
  const uint8_t* ip = out.data() + 14;
  EXPECT_EQ(get32(ip + 12), addr::kImds4);
  EXPECT_EQ(get32(ip + 16), 0x0a000105u);
  EXPECT_EQ(ip[8], 1);  // the hop limit
  EXPECT_TRUE(checksums_ok4(ip));
  // DNS asked at VPC+2 answers from VPC+2, to the secondary it came from.
  auto dnsr = frame4(a, addr::kDns4, client4({w.vf_a, 1, true}), IPPROTO_UDP, 53, 40000, {1, 2, 3});
  g = to_guest(*d, dnsr.data() + 14, dnsr.size() - 14, out.data(), out.size(), kRouter, {});
  ASSERT_TRUE(g);
  EXPECT_EQ(get32(ip + 12), 0x0a000002u);
  EXPECT_EQ(get32(ip + 16), 0x0a000132u);
  EXPECT_EQ(ip[8], 64);
  EXPECT_TRUE(checksums_ok4(ip));
  // To no client (the TUN's own address), to an index the ENI lacks.
  auto stray = frame4(a, addr::kDns4, addr::kTun4, IPPROTO_UDP, 53, 1, {});
  EXPECT_FALSE(to_guest(*d, stray.data() + 14, stray.size() - 14, out.data(), out.size(), kRouter, {}));
  auto beyond = frame4(a, addr::kDns4, client4({w.vf_a, 9, false}), IPPROTO_UDP, 53, 1, {});
  EXPECT_FALSE(to_guest(*d, beyond.data() + 14, beyond.size() - 14, out.data(), out.size(), kRouter, {}));
}

TEST(AddressMap, RoundTrips) {
  for (uint16_t vf : {0, 1, 77, 255})
    for (uint8_t i : {0, 1, 63})
      for (bool v : {false, true}) {
        ClientTag t{vf, i, v};
        EXPECT_EQ(parse_client4(client4(t)), t);
        if (!v) {
          EXPECT_EQ(parse_client6(client6(t)), t);
        }
      }
  EXPECT_FALSE(parse_client4(addr::kTun4));
  EXPECT_EQ(vf_of_client("::ffff:" + std::string(inet_ntoa(in_addr{htonl(client4({9, 0, false}))}))), 9);
  EXPECT_FALSE(vf_of_client("127.0.0.1"));
}

// The whole port, in its namespace.
struct Port : ::testing::Test {
  testing::World w;
  ServicePort port{{kRouter, 64}};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> got;

  void SetUp() override {
    port.publish(w.dir());
    port.set_inject([this](uint16_t vf, const uint8_t* f, uint32_t len) {
      std::lock_guard g(mu);
      got.emplace_back(vf, std::vector<uint8_t>(f, f + len));
      cv.notify_all();
      return true;
    });
    const std::string why = port.start();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  // The next injected frame, waiting up to 5 s.
  std::optional<std::pair<uint16_t, std::vector<uint8_t>>> next(std::chrono::seconds wait = std::chrono::seconds(5)) {
    std::unique_lock g(mu);
    if (!cv.wait_for(g, wait, [&] { return !got.empty(); })) return std::nullopt;
    auto f = got.front();
    got.erase(got.begin());
    return f;
  }
  const EniView& eni(uint16_t vf) { return port.directory().get()->find(vf)->eni; }
};

TEST_F(Port, DnsAtVpcBasePlusTwo) {
  auto f = frame4(eni(w.vf_a), 0x0a000105, 0x0a000002, IPPROTO_UDP, 40000, 53, dns_query("ip-10-0-1-6.ec2.internal"));
  ASSERT_TRUE(port.offer(w.vf_a, f.data(), static_cast<uint32_t>(f.size())));
  auto r = next();
  ASSERT_TRUE(r) << "no reply; refused " << port.stats().refused << " to_services " << port.stats().to_services;
  EXPECT_EQ(r->first, w.vf_a);
  const uint8_t* ip = r->second.data() + 14;
  EXPECT_EQ(0, std::memcmp(r->second.data(), eni(w.vf_a).mac.data(), 6));
  EXPECT_EQ(get32(ip + 12), 0x0a000002u);
  EXPECT_EQ(get32(ip + 16), 0x0a000105u);
  EXPECT_EQ(get16(ip + 20 + 2), 40000);
  EXPECT_TRUE(checksums_ok4(ip));
  const uint8_t* dnsm = ip + 28;
  EXPECT_EQ(dnsm[3] & 0xf, dns::kNoError);
  EXPECT_EQ(std::vector<uint8_t>(r->second.end() - 4, r->second.end()), (std::vector<uint8_t>{10, 0, 1, 6}));
}

TEST_F(Port, DnsAndNtpAtLinkLocal) {
  auto q = frame4(eni(w.vf_c), 0x0a000107, addr::kDns4, IPPROTO_UDP, 5353, 53, dns_query("ip-10-0-1-6.ec2.internal"));
  ASSERT_TRUE(port.offer(w.vf_c, q.data(), static_cast<uint32_t>(q.size())));
  auto r = next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, w.vf_c);
  EXPECT_EQ(get32(r->second.data() + 14 + 12), addr::kDns4);
  EXPECT_EQ(r->second[14 + 28 + 3] & 0xf, dns::kNxDomain);  // A's VPC is not C's
  std::vector<uint8_t> ntp(48, 0);
  ntp[0] = 4 << 3 | 3;
  auto t = frame4(eni(w.vf_a), 0x0a000105, addr::kTime4, IPPROTO_UDP, 123, 123, ntp);
  ASSERT_TRUE(port.offer(w.vf_a, t.data(), static_cast<uint32_t>(t.size())));
  r = next();
  ASSERT_TRUE(r);
  const uint8_t* ip = r->second.data() + 14;
  EXPECT_EQ(get32(ip + 12), addr::kTime4);
  EXPECT_TRUE(checksums_ok4(ip));
  EXPECT_EQ(ip[28] & 7, 4);  // server mode
  EXPECT_EQ(ip[29], kNtpStratum);
}

// An Ethernet/IPv6/UDP frame from src to dst:dport.
std::vector<uint8_t> frame6(const EniView& e, const Ip6& src, const Ip6& dst, uint16_t sport, uint16_t dport,
                            const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> f(14 + 40 + 8 + payload.size(), 0);
  std::memcpy(f.data(), kRouter.data(), 6);
  std::memcpy(f.data() + 6, e.mac.data(), 6);
  put16(&f[12], 0x86dd);
  uint8_t* ip = &f[14];
  ip[0] = 0x60;
  put16(ip + 4, static_cast<uint16_t>(8 + payload.size()));
  ip[6] = IPPROTO_UDP;
  ip[7] = 64;
  std::memcpy(ip + 8, src.data(), 16);
  std::memcpy(ip + 24, dst.data(), 16);
  uint8_t* u = ip + 40;
  put16(u, sport);
  put16(u + 2, dport);
  put16(u + 4, static_cast<uint16_t>(8 + payload.size()));
  std::memcpy(u + 8, payload.data(), payload.size());
  put16(u + 6, static_cast<uint16_t>(
                   ~ones_sum(u, 8 + payload.size(), ones_sum(ip + 8, 32) + 8 + payload.size() + IPPROTO_UDP)));
  return f;
}

TEST_F(Port, NtpOverIpv6) {
  auto vpc =
      w.call("CreateVpc", {{"CidrBlock", "10.9.0.0/16"}, {"Ipv6CidrBlock", "2600:1f18:aa:b00::/56"}})["Vpc"]["VpcId"];
  auto sn =
      w.call("CreateSubnet",
             {{"VpcId", vpc}, {"CidrBlock", "10.9.1.0/24"}, {"AvailabilityZone", "us-east-1a"}})["Subnet"]["SubnetId"];
  auto in = w.call("RunInstances", {{"InstanceType", "m5.large"}, {"SubnetId", sn}})["Instances"][0];
  const uint16_t vf = in["NetworkInterfaces"][0]["VenicVfId"];
  w.call("AssignIpv6Addresses",
         {{"NetworkInterfaceId", in["NetworkInterfaces"][0]["NetworkInterfaceId"]}, {"Ipv6AddressCount", 1}});
  port.publish(w.dir());
  const EniView& e = eni(vf);
  ASSERT_EQ(e.ipv6.size(), 1u);
  std::vector<uint8_t> ntp(48, 0);
  ntp[0] = 4 << 3 | 3;
  auto f = frame6(e, e.ipv6[0], addr::kTime6, 40123, 123, ntp);
  // The namespace's IPv6 may take a moment after start: ask again, as an NTP
  // client would.
  std::optional<std::pair<uint16_t, std::vector<uint8_t>>> r;
  for (int i = 0; i < 10 && !r; i++) {
    ASSERT_TRUE(port.offer(vf, f.data(), static_cast<uint32_t>(f.size())));
    r = next(std::chrono::seconds(1));
  }
  if (!r) GTEST_SKIP() << "no IPv6 in this kernel";
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, vf);
  const uint8_t* ip = r->second.data() + 14;
  EXPECT_EQ(0, std::memcmp(ip + 8, addr::kTime6.data(), 16));
  EXPECT_EQ(0, std::memcmp(ip + 24, e.ipv6[0].data(), 16));
  const uint8_t* u = ip + 40;
  EXPECT_EQ(get16(u + 2), 40123);
  EXPECT_EQ(ones_sum(u, get16(ip + 4), ones_sum(ip + 8, 32) + get16(ip + 4) + IPPROTO_UDP), 0xffff);  // checksum
  EXPECT_EQ(u[8] & 7, 4);
}

TEST_F(Port, RefusesWhatIsNoService) {
  auto f = frame4(eni(w.vf_a), 0x0a000105, addr::kImds4, IPPROTO_UDP, 1, 80, {1});
  ASSERT_TRUE(port.offer(w.vf_a, f.data(), static_cast<uint32_t>(f.size())));
  std::vector<uint8_t> huge(FrameQueue::kSlotBytes + 1);
  EXPECT_FALSE(port.offer(w.vf_a, huge.data(), static_cast<uint32_t>(huge.size())));
  for (int i = 0; i < 50 && port.stats().refused == 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(port.stats().refused, 1u);
  EXPECT_EQ(port.stats().dropped, 1u);
}

// One HTTP exchange from client address src (added to lo) to IMDS, inside
// the namespace, on a thread of its own (setns changes only that thread).
std::string http_in_netns(int ns, uint32_t src, const std::string& request) {
  std::string out;
  std::thread t([&] {
    if (::setns(ns, CLONE_NEWNET) != 0 || !add_loopback_ipv4(src, 100 + (src & 0xff))) return;
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(src);
    sockaddr_in b{};
    b.sin_family = AF_INET;
    b.sin_port = htons(80);
    b.sin_addr.s_addr = htonl(addr::kImds4);
    timeval tv{5, 0};
    ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
        ::connect(s, reinterpret_cast<sockaddr*>(&b), sizeof(b)) == 0 &&
        ::send(s, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(s, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
    }
    ::close(s);
  });
  t.join();
  return out;
}

std::string body(const std::string& http) {
  auto at = http.find("\r\n\r\n");
  return at == std::string::npos ? "" : http.substr(at + 4);
}

TEST_F(Port, ImdsInsideTheNamespace) {
  w.call("ModifyInstanceMetadataOptions", {{"InstanceId", w.a}, {"HttpTokens", "required"}});
  port.publish(w.dir());
  const uint32_t me = client4({w.vf_a, 0, false});
  const std::string get = "GET /latest/meta-data/instance-id HTTP/1.0\r\n";
  EXPECT_NE(http_in_netns(port.netns_fd(), me, get + "\r\n").find(" 401 "), std::string::npos);
  const std::string tok = body(http_in_netns(
      port.netns_fd(), me, "PUT /latest/api/token HTTP/1.0\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n"));
  ASSERT_FALSE(tok.empty());
  const std::string r = http_in_netns(port.netns_fd(), me, get + "X-aws-ec2-metadata-token: " + tok + "\r\n\r\n");
  EXPECT_NE(r.find(" 200 "), std::string::npos) << r;
  EXPECT_EQ(body(r), w.a);
  // B's address with A's token.
  const std::string rb = http_in_netns(port.netns_fd(), client4({w.vf_b, 0, false}),
                                       get + "X-aws-ec2-metadata-token: " + tok + "\r\n\r\n");
  EXPECT_NE(rb.find(" 401 "), std::string::npos) << rb;
}

}  // namespace
}  // namespace venic::services
