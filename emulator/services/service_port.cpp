#include "service_port.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "address_map.h"
#include "dns_server.h"
#include "imds_server.h"
#include "imds_tokens.h"
#include "ntp_server.h"
#include "packet_rewrite.h"
#include "service_netns.h"

namespace venic::services {

namespace {
constexpr size_t kMaxHopEntries = 4096;  // IMDS clients with a capped TTL remembered at most
constexpr int kPollMs = 200;
}  // namespace

// What lives in the namespace; built on the service thread, inside it.
struct ServicePort::Running {
  ServiceNetns ns;
  ImdsTokens tokens;
  ImdsServer imds;
  DnsServer dns;
  NtpServer ntp;
  explicit Running(ServicePort& p)
      : imds(
            p.dir_, tokens, [](const std::string& ip) { return vf_of_client(ip); },
            [&p](uint16_t vf, int port, int hops) { p.limit_hops(vf, port, hops); }),
        dns(p.dir_) {
    if (imds.bind("::", addr::kImdsPort) < 0) throw std::runtime_error("instance services: IMDS cannot bind port 80");
  }
};

ServicePort::ServicePort(Options o) : opt_(o), queue_(o.queue_frames) {
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

ServicePort::~ServicePort() {
  stop();
  if (wake_ >= 0) ::close(wake_);
}

std::string ServicePort::start() {
  if (thread_.joinable()) return "";
  if (wake_ < 0) return "instance services: no eventfd";
  std::promise<std::string> started;
  auto result = started.get_future();
  stop_ = false;
  thread_ = std::thread([this, &started] { run(&started); });
  std::string why = result.get();
  if (!why.empty()) thread_.join();
  return why;
}

void ServicePort::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

int ServicePort::netns_fd() const {
  return running_ && r_ ? r_->ns.netns_fd() : -1;
}

void ServicePort::set_inject(Inject f) {
  std::lock_guard g(inject_mu_);
  inject_ = std::move(f);
}

bool ServicePort::offer(uint16_t vf, const uint8_t* frame, uint32_t len) {
  stats_.offered.fetch_add(1, std::memory_order_relaxed);
  bool was_empty = false;
  if (!running_.load(std::memory_order_acquire) || !queue_.push(vf, frame, len, &was_empty)) {
    stats_.dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // A syscall only when the service thread may sleep: the link-local
  // allowance (1024 PPS per ENI) bounds how often.
  if (was_empty) {
    const uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof(one));
  }
  return true;
}

void ServicePort::limit_hops(uint16_t vf, int port, int hops) {
  std::lock_guard g(hops_mu_);
  if (hops_.size() >= kMaxHopEntries) hops_.clear();
  hops_[static_cast<uint32_t>(vf) << 16 | static_cast<uint16_t>(port)] = static_cast<uint8_t>(hops);
}

uint8_t ServicePort::hop_cap(uint16_t vf, uint16_t port) {
  std::lock_guard g(hops_mu_);
  auto it = hops_.find(static_cast<uint32_t>(vf) << 16 | port);
  return it == hops_.end() ? 0 : it->second;
}

void ServicePort::run(std::promise<std::string>* started) {
  try {
    r_ = std::make_unique<Running>(*this);
  } catch (const std::exception& e) {
    started->set_value(e.what());
    return;
  }
  r_->imds.start();
  r_->dns.start();
  r_->ntp.start();
  running_.store(true, std::memory_order_release);
  started->set_value("");
  std::vector<uint8_t> buf(FrameQueue::kSlotBytes + kEthHeader), out(FrameQueue::kSlotBytes + kEthHeader);
  while (!stop_) {
    pollfd p[2] = {{r_->ns.tun_fd(), POLLIN, 0}, {wake_, POLLIN, 0}};
    ::poll(p, 2, kPollMs);
    uint64_t n;
    (void)!::read(wake_, &n, sizeof(n));
    from_queue(buf.data());
    from_tun(buf.data(), out.data());
  }
  running_.store(false, std::memory_order_release);
  r_->imds.stop();
  r_->dns.stop();
  r_->ntp.stop();
  r_.reset();
}

void ServicePort::from_queue(uint8_t* buf) {
  uint16_t vf;
  uint32_t len;
  while (queue_.pop(&vf, buf, &len)) {
    auto dir = dir_.get();
    auto ip = to_namespace(*dir, vf, buf, len);
    if (!ip) {
      stats_.refused.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (::write(r_->ns.tun_fd(), buf + ip->offset, ip->len) == static_cast<ssize_t>(ip->len))
      stats_.to_services.fetch_add(1, std::memory_order_relaxed);
  }
}

void ServicePort::from_tun(uint8_t* buf, uint8_t* out) {
  for (;;) {
    const ssize_t n = ::read(r_->ns.tun_fd(), buf, FrameQueue::kSlotBytes);
    if (n <= 0) return;
    auto dir = dir_.get();
    auto f = to_guest(*dir, buf, static_cast<size_t>(n), out, FrameQueue::kSlotBytes + kEthHeader, opt_.router_mac,
                      [this](uint16_t vf, uint16_t port) { return hop_cap(vf, port); });
    if (!f) continue;  // the kernel's own chatter (router solicitations, ICMP)
    stats_.replies.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard g(inject_mu_);
    if (!inject_ || !inject_(f->vf, out, static_cast<uint32_t>(f->len)))
      stats_.inject_refused.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace venic::services
