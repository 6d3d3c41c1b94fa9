// venic-traffic: drives a VF directly through drivers/ena (copy mode), for
// tests and by hand: send frames, receive and verify them, check echoes from a
// peer (e.g. testpmd macswap), ping or answer pings (ICMP echo) as an
// instance would, or scribble garbage into the VF's rings.
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "frame_pattern.h"
#include "icmp_echo.h"
#include "unique_fd.h"
#include "vena_dev.h"
#include "vena_queue.h"
#include "vf_config.h"

namespace {

using Clock = std::chrono::steady_clock;

int fail(const std::string& m) {
  std::fprintf(stderr, "venic-traffic: %s\n", m.c_str());
  return 1;
}

struct Vf {
  vena_dev* dev = nullptr;
  vena_txq tx{};
  vena_rxq rx{};
  venic::vf::MacAddr mac{};
  ~Vf() {
    if (dev) {
      vena_dev_admin(dev, VENIC_ADMIN_STOP, 0, 0, nullptr, 2000);
      vena_dev_detach(dev);
    }
  }
};

int open_vf(const std::string& socket, unsigned vf, Vf& v) {
  char err[256];
  if (int rc = vena_dev_attach(socket.c_str(), vf, &v.dev, err, sizeof(err)); rc < 0)
    return fail(std::string("attach VF ") + std::to_string(vf) + ": " + err);
  volatile venic_regs* r = vena_dev_regs(v.dev);
  for (int i = 0; i < 6; i++) v.mac[i] = r->mac[i];
  if (vena_txq_init(v.dev, 0, &v.tx) < 0 || vena_rxq_init(v.dev, 0, &v.rx) < 0) return fail("bad queue layout");
  vena_rxq_post_copy(&v.rx);
  if (int rc = vena_dev_admin(v.dev, VENIC_ADMIN_START, 1, 0, nullptr, 2000); rc < 0)
    return fail(std::string("start VF: ") + std::strerror(-rc));
  return 0;
}

bool send_one(Vf& v, const std::vector<uint8_t>& f, Clock::time_point deadline) {
  for (;;) {
    int rc = vena_txq_send_copy(&v.tx, f.data(), static_cast<uint32_t>(f.size()));
    if (rc == 0) return true;
    if (rc != -ENOSPC || Clock::now() > deadline) return false;
    vena_txq_flush(&v.tx);
    std::this_thread::yield();
  }
}

// Waits until the daemon has consumed everything we published.
void drain_tx(Vf& v, Clock::time_point deadline) {
  vena_txq_flush(&v.tx);
  while (vena_txq_space(&v.tx) != v.tx.size && Clock::now() < deadline) std::this_thread::yield();
}

// An IP frame's TTL / hop limit is ttl, and an IPv4 header checksum holds.
bool ip_ttl_is(const uint8_t* f, uint32_t len, int ttl) {
  if (len >= 54 && f[12] == 0x86 && f[13] == 0xdd) return f[21] == ttl;
  if (len < 34 || f[12] != 0x08 || f[13] != 0x00) return false;
  return f[22] == ttl && venic::tools::checksum_of(venic::tools::sum16(f + 14, 20)) == 0;
}

std::string mac_text(const uint8_t* m) {
  venic::vf::MacAddr a;
  std::memcpy(a.data(), m, 6);
  return venic::vf::format_mac(a);
}

// ARP request (IPv4 target) or neighbour solicitation (IPv6), then waits for
// the answer: prints {"target", "mac"}; exit 1 when none came.
int resolve_target(Vf& v, const std::string& target_s, uint32_t src_ip, const std::string& src_ip6_s,
                   Clock::time_point deadline) {
  const auto t4 = venic::vf::parse_ipv4(target_s);
  const auto t6 = t4 ? std::nullopt : venic::vf::parse_ipv6(target_s);
  const auto s6 = venic::vf::parse_ipv6(src_ip6_s);
  if (!t4 && !t6) return fail("--target: '" + target_s + "' is not an IPv4 or IPv6 address");
  if (t6 && !s6) return fail("--src-ip6: '" + src_ip6_s + "' is not an IPv6 address");
  std::vector<uint8_t> f;
  if (t4) {
    f.assign(60, 0);
    const venic::vf::MacAddr bcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    venic::tools::write_eth(f, bcast, v.mac, 0x0806);
    const uint8_t head[8] = {0, 1, 8, 0, 6, 4, 0, 1};  // Ethernet/IPv4, request
    std::memcpy(&f[14], head, 8);
    std::memcpy(&f[22], v.mac.data(), 6);
    for (int i = 0; i < 4; i++) {
      f[28 + i] = uint8_t(src_ip >> (24 - 8 * i));
      f[38 + i] = uint8_t(*t4 >> (24 - 8 * i));
    }
  } else {
    // To the target's solicited-node multicast group, with our link-layer address.
    f.assign(86, 0);
    const venic::vf::MacAddr group{0x33, 0x33, 0xff, (*t6)[13], (*t6)[14], (*t6)[15]};
    venic::tools::write_eth(f, group, v.mac, 0x86dd);
    uint8_t* ip = &f[14];
    ip[0] = 0x60;
    ip[5] = 32;
    ip[6] = 58;
    ip[7] = 255;
    std::memcpy(ip + 8, s6->data(), 16);
    const uint8_t sn[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, (*t6)[13], (*t6)[14], (*t6)[15]};
    std::memcpy(ip + 24, sn, 16);
    uint8_t* ns = ip + 40;
    ns[0] = 135;
    std::memcpy(ns + 8, t6->data(), 16);
    ns[24] = 1;  // source link-layer address
    ns[25] = 1;
    std::memcpy(ns + 26, v.mac.data(), 6);
    const uint16_t c =
        venic::tools::checksum_of(venic::tools::sum16(ns, 32, venic::tools::sum16(ip + 8, 32) + 32 + 58));
    ns[2] = uint8_t(c >> 8);
    ns[3] = uint8_t(c);
  }
  if (!send_one(v, f, deadline)) return fail("send stalled");
  vena_txq_flush(&v.tx);
  std::vector<uint8_t> buf(VENIC_FRAME_MAX);
  while (Clock::now() < deadline) {
    int n = vena_rxq_recv_copy(&v.rx, buf.data(), static_cast<uint32_t>(buf.size()));
    if (n <= 0) {
      std::this_thread::yield();
      continue;
    }
    const uint8_t* b = buf.data();
    if (t4 && n >= 42 && b[12] == 0x08 && b[13] == 0x06 && b[21] == 2 && std::memcmp(b + 28, &f[38], 4) == 0) {
      std::printf("{\"target\": \"%s\", \"mac\": \"%s\"}\n", target_s.c_str(), mac_text(b + 22).c_str());
      return 0;
    }
    if (t6 && n >= 86 && b[12] == 0x86 && b[13] == 0xdd && b[20] == 58 && b[54] == 136 &&
        std::memcmp(b + 62, t6->data(), 16) == 0 && b[78] == 2) {
      std::printf("{\"target\": \"%s\", \"mac\": \"%s\"}\n", target_s.c_str(), mac_text(b + 80).c_str());
      return 0;
    }
  }
  std::printf("{\"target\": \"%s\", \"mac\": null}\n", target_s.c_str());
  return 1;
}

// Answers echo requests to addresses for `seconds` (or until `count`
// answered); prints {"answered"}.
int answer_pings(Vf& v, const std::vector<std::string>& addresses, unsigned seconds, unsigned count) {
  std::vector<uint32_t> mine;
  for (const auto& a : addresses) {
    auto ip = venic::vf::parse_ipv4(a);
    if (!ip) return fail("--ip: '" + a + "' is not an IPv4 address");
    mine.push_back(*ip);
  }
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  std::vector<uint8_t> buf(VENIC_FRAME_MAX);
  unsigned answered = 0;
  while (Clock::now() < end && (count == 0 || answered < count)) {
    int n = vena_rxq_recv_copy(&v.rx, buf.data(), static_cast<uint32_t>(buf.size()));
    if (n <= 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    if (auto r = venic::tools::echo_reply_for(buf.data(), static_cast<uint32_t>(n), mine)) {
      if (send_one(v, *r, Clock::now() + std::chrono::seconds(1))) answered++;
      vena_txq_flush(&v.tx);
    }
  }
  drain_tx(v, Clock::now() + std::chrono::seconds(1));
  std::printf("{\"answered\": %u}\n", answered);
  return 0;
}

// Pings dst through `via`; prints {"sent", "received", "from", "frag_needed_mtu"}.
// Exit 0 when every request was answered.
int ping_peer(Vf& v, const venic::vf::MacAddr& via, uint32_t src, uint32_t dst, unsigned count, unsigned payload,
              bool df, double interval_ms, double timeout) {
  const auto id = static_cast<uint16_t>(getpid());
  std::vector<uint8_t> buf(VENIC_FRAME_MAX);
  std::vector<bool> seen(count, false);
  unsigned sent = 0, received = 0;
  uint32_t from = 0;
  int frag_mtu = -1;
  auto next = Clock::now();
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(timeout * 1000 + count * interval_ms));
  while (Clock::now() < deadline && received < count) {
    if (sent < count && Clock::now() >= next) {
      const auto f =
          venic::tools::make_echo_request(via, v.mac, src, dst, id, static_cast<uint16_t>(sent), payload, df);
      if (send_one(v, f, Clock::now() + std::chrono::seconds(1))) sent++;
      vena_txq_flush(&v.tx);
      next = Clock::now() + std::chrono::microseconds(static_cast<long>(interval_ms * 1000));
    }
    int n = vena_rxq_recv_copy(&v.rx, buf.data(), static_cast<uint32_t>(buf.size()));
    if (n <= 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      continue;
    }
    if (auto r = venic::tools::parse_echo_reply(buf.data(), static_cast<uint32_t>(n), v.mac)) {
      if (r->id == id && r->seq < count && !seen[r->seq]) {
        seen[r->seq] = true;
        received++;
        from = r->from;
      }
    } else if (auto mtu = venic::tools::parse_frag_needed(buf.data(), static_cast<uint32_t>(n), v.mac)) {
      frag_mtu = *mtu;
      if (sent == count) break;
    }
  }
  std::printf("{\"sent\": %u, \"received\": %u, \"from\": %s, \"frag_needed_mtu\": %s}\n", sent, received,
              from ? ("\"" + venic::vf::format_ipv4(from) + "\"").c_str() : "null",
              frag_mtu < 0 ? "null" : std::to_string(frag_mtu).c_str());
  return received == count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"venic-traffic - send, receive, verify or scribble on a venic VF (copy mode)"};
  const char* env_socket = std::getenv("VENIC_SOCKET");
  std::string socket = env_socket && *env_socket ? env_socket : "/run/venic/venicd.sock";
  unsigned vf = 0;
  app.add_option("--socket", socket, "venicd control socket (default $VENIC_SOCKET, else /run/venic/venicd.sock)")
      ->capture_default_str();
  app.add_option("--vf", vf, "VF to attach")->required();
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  venic-traffic --vf 1 recv --count 1000 --timeout 10 &\n"
      "  venic-traffic --vf 0 send --dst-mac 02:00:00:00:00:02 --count 1000 --size 1500\n"
      "  venic-traffic --vf 0 echo --dst-mac 02:00:00:00:00:02 --count 1000   # peer runs testpmd macswap\n"
      "  venic-traffic --vf 0 echo --dst-mac 02:00:00:00:00:02 --flows 4 --proto tcp --dst-port 5001 \\\n"
      "      --src-ip 10.0.1.10 --dst-ip 10.0.1.11   # peer runs testpmd 5tswap: replies to TCP 5001\n"
      "  venic-traffic --vf 0 resolve --target 10.0.1.1 --src-ip 10.0.1.10   # the VPC answers with the router's MAC\n"
      "  venic-traffic --vf 2 scribble --seconds 2\n");

  std::string dst_mac_s;
  unsigned count = 1000, size = 64, seconds = 2;
  double timeout = 10;
  uint32_t seed = 1;
  auto* send = app.add_subcommand("send", "send COUNT verifiable frames to DST-MAC");
  send->add_option("--dst-mac", dst_mac_s, "destination MAC")->required();
  send->add_option("--count", count)->capture_default_str();
  send->add_option("--timeout", timeout, "give up after this many seconds of a full ring")->capture_default_str();
  send->add_option("--size", size, "frame bytes (60-9019)")
      ->check(CLI::Range(60, VENIC_FRAME_MAX))
      ->capture_default_str();
  unsigned pps = 0, udp_flows = 0;
  std::string src_mac_s, src_ip_s = "10.0.1.10", dst_ip_s = "10.0.1.11";
  send->add_option("--src-mac", src_mac_s, "source MAC (default the VF's; another one is a spoof)");
  send->add_option("--src-ip", src_ip_s, "source IPv4 of --udp-flows frames")->capture_default_str();
  send->add_option("--dst-ip", dst_ip_s, "destination IPv4 of --udp-flows frames")->capture_default_str();
  std::string src_ip6_s, dst_ip6_s;
  send->add_option("--src-ip6", src_ip6_s, "with --dst-ip6: send IPv6/UDP --udp-flows frames from this address");
  send->add_option("--dst-ip6", dst_ip6_s, "destination of IPv6/UDP --udp-flows frames");
  std::string proto_s = "udp";
  unsigned dst_port = 5001, src_port = 10000;
  auto l4_options = [&](CLI::App* c) {
    c->add_option("--udp-flows,--flows", udp_flows,
                  "send IPv4 (or IPv6) frames of --proto from this many source ports, --src-port up "
                  "(0: raw frames of ethertype 0x88b5)")
        ->capture_default_str();
    c->add_option("--proto", proto_s, "the flows' protocol")
        ->check(CLI::IsMember({"udp", "tcp"}))
        ->capture_default_str();
    c->add_option("--dst-port", dst_port, "the flows' destination port")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    c->add_option("--src-port", src_port, "the first flow's source port")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
  };
  l4_options(send);
  send->add_option("--pps", pps, "pace to this many frames per second (0: as fast as possible)")->capture_default_str();
  unsigned ttl = 64;
  send->add_option("--ttl", ttl, "TTL / hop limit of --flows frames")->check(CLI::Range(0, 255))->capture_default_str();
  auto* recv = app.add_subcommand("recv", "receive COUNT frames and verify every byte");
  recv->add_option("--count", count)->capture_default_str();
  recv->add_option("--timeout", timeout, "seconds")->capture_default_str();
  double idle = 0;
  recv->add_option("--idle", idle, "stop after this many seconds without a frame, once one came (0: never)")
      ->capture_default_str();
  std::string expect_src_mac_s;
  int expect_ttl = -1;
  recv->add_option("--expect-src-mac", expect_src_mac_s, "frames from another source MAC count as bad");
  recv->add_option("--expect-ttl", expect_ttl,
                   "IP frames with another TTL / hop limit (or a bad IPv4 header checksum) count as bad")
      ->check(CLI::Range(0, 255));
  auto* resolve = app.add_subcommand(
      "resolve", "ask for TARGET's MAC (ARP, or IPv6 neighbour solicitation) and print the answer's MAC");
  std::string target_s;
  resolve->add_option("--target", target_s, "the IPv4 or IPv6 address to resolve")->required();
  resolve->add_option("--src-ip", src_ip_s, "our IPv4 (ARP sender address)")->capture_default_str();
  resolve->add_option("--src-ip6", src_ip6_s, "our IPv6 (default fe80::1, link-local)");
  resolve->add_option("--timeout", timeout, "seconds to wait for the answer")->capture_default_str();
  auto* echo = app.add_subcommand("echo", "send COUNT frames, expect each back with MACs swapped, verify");
  echo->add_option("--dst-mac", dst_mac_s, "the echoing peer's MAC")->required();
  echo->add_option("--count", count)->capture_default_str();
  echo->add_option("--size", size)->check(CLI::Range(60, VENIC_FRAME_MAX))->capture_default_str();
  echo->add_option("--timeout", timeout, "seconds")->capture_default_str();
  echo->add_option("--src-ip", src_ip_s, "source IPv4 of --flows frames")->capture_default_str();
  echo->add_option("--dst-ip", dst_ip_s, "destination IPv4 of --flows frames")->capture_default_str();
  l4_options(echo);
  std::string side = "tx";
  auto* truncate = app.add_subcommand(
      "truncate", "register memory with venicd, point descriptors into it, then truncate it (a hostile driver)");
  truncate->add_option("--side", side, "tx: send frames from it; rx: post receive buffers in it")
      ->check(CLI::IsMember({"tx", "rx"}))
      ->capture_default_str();
  truncate->add_option("--dst-mac", dst_mac_s, "destination of the tx frames")->capture_default_str();
  truncate->add_option("--seconds", seconds, "keep the VF attached this long afterwards")->capture_default_str();
  std::vector<std::string> my_ips;
  auto* answer = app.add_subcommand("answer-ping", "answer ICMP echo requests to the VF's addresses, as a host does");
  answer->add_option("--ip", my_ips, "an address of the VF (repeat for several)")->required();
  answer->add_option("--seconds", seconds, "answer for this long")->capture_default_str();
  answer->add_option("--count", count, "stop after answering this many (0: never)")->capture_default_str();
  std::string via_mac_s = "02:76:70:63:00:01";  // every VPC router's MAC (fastpath/snapshot.h)
  bool dont_fragment = false;
  double interval_ms = 100;
  unsigned payload = 56;
  auto* ping = app.add_subcommand("ping", "send ICMP echo requests to --dst-ip through the VPC router; count replies");
  ping->add_option("--src-ip", src_ip_s, "the VF's address")->required();
  ping->add_option("--dst-ip", dst_ip_s, "whom to ping")->required();
  ping->add_option("--count", count)->capture_default_str();
  ping->add_option("--size", payload, "ICMP payload bytes (as ping -s)")
      ->check(CLI::Range(0, 8972))
      ->capture_default_str();
  ping->add_flag("--dont-fragment,--df", dont_fragment, "set DF (expect 'fragmentation needed' past an MTU)");
  ping->add_option("--interval-ms", interval_ms, "between requests")->capture_default_str();
  ping->add_option("--timeout", timeout, "seconds to wait for the replies")->capture_default_str();
  ping->add_option("--via-mac", via_mac_s, "next hop's MAC (default the VPC router's)")->capture_default_str();
  auto* scribble = app.add_subcommand("scribble", "write random garbage into the VF's rings (a hostile driver)");
  scribble->add_option("--seconds", seconds)->capture_default_str();
  scribble->add_option("--seed", seed)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);

  venic::vf::MacAddr dst{};
  if (!dst_mac_s.empty()) {
    auto m = venic::vf::parse_mac(dst_mac_s);
    if (!m) return fail("invalid MAC address '" + dst_mac_s + "'");
    dst = *m;
  }
  Vf v;
  if (int rc = open_vf(socket, vf, v)) return rc;
  venic::vf::MacAddr src_mac = v.mac;
  if (!src_mac_s.empty()) {
    auto m = venic::vf::parse_mac(src_mac_s);
    if (!m) return fail("invalid MAC address '" + src_mac_s + "'");
    src_mac = *m;
  }
  std::optional<venic::vf::MacAddr> expect_src_mac;
  if (!expect_src_mac_s.empty()) {
    expect_src_mac = venic::vf::parse_mac(expect_src_mac_s);
    if (!expect_src_mac) return fail("invalid MAC address '" + expect_src_mac_s + "'");
  }
  auto src_ip = venic::vf::parse_ipv4(src_ip_s), dst_ip = venic::vf::parse_ipv4(dst_ip_s);
  if (!src_ip || !dst_ip) return fail("invalid --src-ip or --dst-ip");
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(timeout * 1000));
  if (resolve->parsed())
    return resolve_target(v, target_s, *src_ip, src_ip6_s.empty() ? "fe80::1" : src_ip6_s, deadline);
  if (answer->parsed()) return answer_pings(v, my_ips, seconds, count);
  if (ping->parsed()) {
    auto via = venic::vf::parse_mac(via_mac_s);
    if (!via) return fail("invalid --via-mac '" + via_mac_s + "'");
    return ping_peer(v, *via, *src_ip, *dst_ip, count, payload, dont_fragment, interval_ms, timeout);
  }
  std::optional<venic::vf::Ipv6Addr> src_ip6, dst_ip6;
  if (!src_ip6_s.empty() || !dst_ip6_s.empty()) {
    src_ip6 = venic::vf::parse_ipv6(src_ip6_s);
    dst_ip6 = venic::vf::parse_ipv6(dst_ip6_s);
    if (!src_ip6 || !dst_ip6) return fail("--src-ip6 and --dst-ip6 need two IPv6 addresses");
  }
  const uint8_t proto = proto_s == "tcp" ? 6 : 17;
  // Frame number s: raw, or of flow s % flows (source port src_port + flow).
  auto make = [&](uint32_t s, const venic::vf::MacAddr& from) {
    const auto sport = static_cast<uint16_t>(src_port + (udp_flows ? s % udp_flows : 0));
    const auto dport = static_cast<uint16_t>(dst_port);
    return !udp_flows ? venic::tools::make_frame(dst, from, s, size)
           : src_ip6  ? venic::tools::make_l4_6_frame(dst, from, s, size, proto, sport, dport, *src_ip6, *dst_ip6)
                      : venic::tools::make_l4_frame(dst, from, s, size, proto, sport, dport, *src_ip, *dst_ip);
  };

  if (send->parsed()) {
    auto start = Clock::now();
    for (unsigned s = 0; s < count; s++) {
      if (pps && s % 32 == 0) {
        vena_txq_flush(&v.tx);
        auto due = start + std::chrono::nanoseconds(uint64_t(s) * 1000000000ull / pps);
        while (Clock::now() < due) std::this_thread::yield();
      }
      auto frame = make(s, src_mac);
      if (udp_flows) venic::tools::set_ttl(frame, static_cast<uint8_t>(ttl));
      if (!send_one(v, frame, deadline)) return fail("send stalled after " + std::to_string(s) + " frames");
    }
    drain_tx(v, deadline);
    std::printf("{\"sent\": %u, \"size\": %u}\n", count, size);
    return 0;
  }
  if (recv->parsed() || echo->parsed()) {
    std::vector<uint8_t> buf(VENIC_FRAME_MAX);
    unsigned got = 0, bad = 0, sent = 0;
    // Keep in flight no more than half of what a receive ring holds (ours, or
    // the peer's at its default 1024 buffers), so the echoes never find it full.
    const unsigned segs = (size + v.rx.buf_size - 1) / v.rx.buf_size;
    const unsigned window = std::max(1u, std::min(256u, std::min(v.rx.size, 1024u) / (2 * segs)));
    auto last_frame = Clock::now();
    while (got + bad < count && Clock::now() < deadline) {
      if (idle > 0 && got + bad > 0 && Clock::now() - last_frame > std::chrono::duration<double>(idle)) break;
      if (echo->parsed()) {
        while (sent < count && sent - got - bad < window) {
          const auto f = make(sent, v.mac);
          if (vena_txq_send_copy(&v.tx, f.data(), static_cast<uint32_t>(f.size())) != 0) break;
          sent++;
        }
        vena_txq_flush(&v.tx);
      }
      int n = vena_rxq_recv_copy(&v.rx, buf.data(), static_cast<uint32_t>(buf.size()));
      if (n == 0) {
        std::this_thread::yield();
        continue;
      }
      // An echo comes back with the MACs swapped: it must now be for us.
      last_frame = Clock::now();
      bool ok = n > 0 && venic::tools::check_frame(buf.data(), static_cast<uint32_t>(n));
      if (ok && echo->parsed()) ok = std::memcmp(buf.data(), v.mac.data(), 6) == 0;
      if (ok && expect_src_mac) ok = std::memcmp(buf.data() + 6, expect_src_mac->data(), 6) == 0;
      if (ok && expect_ttl >= 0) ok = ip_ttl_is(buf.data(), static_cast<uint32_t>(n), expect_ttl);
      ok ? got++ : bad++;
    }
    std::printf("{\"received\": %u, \"bad\": %u, \"expected\": %u}\n", got, bad, count);
    return got == count && bad == 0 ? 0 : 1;
  }
  if (truncate->parsed()) {
    const uint64_t len = 1 << 20;
    venic::UniqueFd mfd(memfd_create("venic-truncate", MFD_CLOEXEC));
    if (!mfd.valid() || ftruncate(mfd.get(), len) < 0) return fail("memfd");
    auto* mem = static_cast<uint8_t*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd.get(), 0));
    if (mem == MAP_FAILED) return fail("mmap");
    vena_mem_region r{mfd.get(), 0, reinterpret_cast<uint64_t>(mem), len};
    uint16_t id;
    char err[256];
    if (vena_dev_register_memory(v.dev, &r, 1, &id, err, sizeof(err)) < 0) return fail(err);
    if (side == "rx") {
      // Our receive buffers now live in memory that is about to vanish.
      vena_dev_admin(v.dev, VENIC_ADMIN_STOP, 0, 0, nullptr, 2000);
      vena_rxq_init(v.dev, 0, &v.rx);
      for (uint32_t i = 0; i < v.rx.size; i++) {
        venic_desc& d = v.rx.desc[i];
        d = {uint64_t(i % 256) * 2048, 2048, id, 0};
      }
      v.rx.sq_prod = v.rx.size;
      vena_txq_init(v.dev, 0, &v.tx);
      if (ftruncate(mfd.get(), 0) < 0) return fail("ftruncate");
      vena_store_release(&v.rx.sq->prod, v.rx.sq_prod);
      vena_dev_admin(v.dev, VENIC_ADMIN_START, 1, 0, nullptr, 2000);
    } else {
      for (uint32_t i = 0; i < 64; i++) {
        auto f = venic::tools::make_frame(dst, v.mac, i, 512);
        std::memcpy(mem + i * 2048, f.data(), f.size());
        v.tx.desc[v.tx.prod & v.tx.mask] = {uint64_t(i) * 2048, 512, id, 0};
        v.tx.prod++;
      }
      if (ftruncate(mfd.get(), 0) < 0) return fail("ftruncate");
      vena_txq_flush(&v.tx);  // the daemon reads the frames only now
    }
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    std::printf("{\"truncated\": \"%s\"}\n", side.c_str());
    return 0;
  }
  // scribble: random descriptors and indices into our own rings.
  std::mt19937_64 rng(seed);
  auto end = Clock::now() + std::chrono::seconds(seconds);
  uint64_t writes = 0;
  while (Clock::now() < end) {
    for (int i = 0; i < 32; i++) {
      venic_desc& d = v.tx.desc[rng() & v.tx.mask];
      d.addr = rng() % (1ull << (rng() % 48));
      d.len = static_cast<uint32_t>(rng());
      d.mem_id = static_cast<uint16_t>(rng() % 4);
      d.flags = static_cast<uint16_t>(rng());
      venic_desc& r = v.rx.desc[rng() & v.rx.mask];
      r.addr = rng();
      r.len = static_cast<uint32_t>(rng());
      r.mem_id = static_cast<uint16_t>(rng());
      writes += 2;
    }
    // The register page too: its layout fields are the daemon's only
    // in the daemon's private copy, so rewriting them must change nothing.
    auto* regs = reinterpret_cast<volatile uint8_t*>(vena_dev_regs(v.dev));
    for (int i = 0; i < 8; i++) regs[rng() % sizeof(venic_regs)] = static_cast<uint8_t>(rng());
    uint32_t bump = (rng() % 8 == 0) ? static_cast<uint32_t>(rng()) : static_cast<uint32_t>(rng() % 64);
    v.tx.prod += bump;
    vena_txq_flush(&v.tx);
    __atomic_store_n(&v.rx.sq->prod, v.rx.sq_prod + static_cast<uint32_t>(rng() % 2048), __ATOMIC_RELEASE);
    // After a reset the daemon ignores us until we start again: do so.
    if (vena_dev_regs(v.dev)->active_qps == 0) vena_dev_admin(v.dev, VENIC_ADMIN_START, 1, 0, nullptr, 500);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::printf("{\"scribbled\": %llu}\n", static_cast<unsigned long long>(writes));
  return 0;
}
