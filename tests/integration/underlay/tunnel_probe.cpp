// tunnel_probe: pings an address behind a Linux geneve/vxlan device through
// venic's tunnel codec (emulator/underlay), over a plain UDP socket: the
// kernel decapsulates our requests and encapsulates its replies, which we
// decode.  Prints {"sent", "received", "bad"}; exit 0 when every request
// was answered with the right VNI.  Used by underlay_kernel_interop.sh.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <vector>

#include "icmp_echo.h"
#include "tunnel_codec.h"
#include "vf_config.h"

using namespace venic;

int main(int argc, char** argv) {
  CLI::App app{"tunnel_probe - ping through a kernel geneve/vxlan peer with venic's tunnel codec"};
  std::string encap_s = "geneve", local_s, remote_s, src_mac_s = "02:00:00:00:77:01", dst_mac_s, src_ip_s, dst_ip_s;
  uint32_t vni = 0;
  unsigned count = 5;
  app.add_option("--encap", encap_s, "geneve or vxlan")->check(CLI::IsMember({"geneve", "vxlan"}));
  app.add_option("--vni", vni)->required();
  app.add_option("--local", local_s, "our underlay address (we bind the tunnel port on it)")->required();
  app.add_option("--remote", remote_s, "the kernel peer's underlay address")->required();
  app.add_option("--inner-src-mac", src_mac_s);
  app.add_option("--inner-dst-mac", dst_mac_s, "the kernel device's MAC")->required();
  app.add_option("--inner-src-ip", src_ip_s)->required();
  app.add_option("--inner-dst-ip", dst_ip_s)->required();
  app.add_option("--count", count);
  CLI11_PARSE(app, argc, argv);
  const auto encap = encap_s == "geneve" ? underlay::Encap::kGeneve : underlay::Encap::kVxlan;
  const auto src_mac = vf::parse_mac(src_mac_s), dst_mac = vf::parse_mac(dst_mac_s);
  const auto src_ip = vf::parse_ipv4(src_ip_s), dst_ip = vf::parse_ipv4(dst_ip_s);
  if (!src_mac || !dst_mac || !src_ip || !dst_ip) {
    std::fprintf(stderr, "tunnel_probe: bad MAC or IPv4 address\n");
    return 2;
  }
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in local{}, remote{};
  local.sin_family = remote.sin_family = AF_INET;
  local.sin_port = remote.sin_port = htons(underlay::tunnel_port(encap));
  if (inet_pton(AF_INET, local_s.c_str(), &local.sin_addr) != 1 ||
      inet_pton(AF_INET, remote_s.c_str(), &remote.sin_addr) != 1) {
    std::fprintf(stderr, "tunnel_probe: bad --local or --remote\n");
    return 2;
  }
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) < 0) {
    std::perror("tunnel_probe: bind");
    return 2;
  }
  unsigned sent = 0, received = 0, bad = 0;
  std::vector<bool> seen(count, false);
  std::vector<uint8_t> buf(65536);
  const auto id = static_cast<uint16_t>(getpid());
  for (unsigned s = 0; s < count; s++) {
    const auto inner =
        tools::make_echo_request(*dst_mac, *src_mac, *src_ip, *dst_ip, id, static_cast<uint16_t>(s), 56, false);
    std::vector<uint8_t> payload(underlay::kTunnelHeader + inner.size());
    underlay::write_tunnel_header(encap, vni, payload.data());
    std::copy(inner.begin(), inner.end(), payload.begin() + underlay::kTunnelHeader);
    if (sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) ==
        static_cast<ssize_t>(payload.size()))
      sent++;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (received < count && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) continue;
    const char* why = nullptr;
    auto t = underlay::parse_tunnel_payload(encap, std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)), &why);
    if (!t || t->vni != vni) {
      std::fprintf(stderr, "tunnel_probe: dropped: %s\n", t ? "wrong VNI" : why);
      bad++;
      continue;
    }
    auto r = tools::parse_echo_reply(t->inner.data(), static_cast<uint32_t>(t->inner.size()), *src_mac);
    if (!r) continue;  // (the kernel may also send ARP: not ours to judge)
    if (r->id == id && r->seq < count && r->from == *dst_ip && !seen[r->seq]) {
      seen[r->seq] = true;
      received++;
    }
  }
  std::printf("{\"sent\": %u, \"received\": %u, \"bad\": %u}\n", sent, received, bad);
  close(fd);
  return received == count && bad == 0 ? 0 : 1;
}
