#include "gateway_service.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <vector>

namespace venic::gateways {

namespace {
constexpr int kPollMs = 200;
constexpr int kUplinkBurst = 64;  // packets read from the uplink per wake-up at most

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

GatewayService::GatewayService(Options o, Inject inject)
    : opt_(o), inject_(std::move(inject)), engine_(o.engine, stats_), queue_(o.queue_frames) {
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

GatewayService::~GatewayService() {
  stop();
  if (wake_ >= 0) ::close(wake_);
}

void GatewayService::start(int uplink_fd) {
  if (thread_.joinable()) return;
  uplink_ = uplink_fd;
  stop_ = false;
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this] { run(); });
}

void GatewayService::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  running_.store(false, std::memory_order_release);
}

bool GatewayService::offer(uint16_t vf, const char* gateway, const uint8_t* frame, uint32_t len) {
  stats_.offered.fetch_add(1, std::memory_order_relaxed);
  bool was_empty = false;
  if (!running_.load(std::memory_order_acquire) || !queue_.push(vf, gateway, frame, len, &was_empty)) {
    stats_.queue_full.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (was_empty) {
    const uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof(one));
  }
  return true;
}

void GatewayService::publish(std::shared_ptr<const GatewayDirectory> d) {
  std::lock_guard g(dir_mu_);
  dir_ = std::move(d);
  dir_serial_++;
}

void GatewayService::run() {
  std::vector<uint8_t> buf(GatewayQueue::kSlotBytes + 64);
  char gateway[GatewayQueue::kIdBytes];
  uint64_t seen = ~0ull;
  int64_t last_expire = now_s();
  auto uplink = [this](const uint8_t* ip, uint32_t len) {
    if (::write(uplink_, ip, len) != static_cast<ssize_t>(len)) stats_.uplink_errors.fetch_add(1);
  };
  while (!stop_) {
    pollfd p[2] = {{uplink_, POLLIN, 0}, {wake_, POLLIN, 0}};
    ::poll(p, 2, kPollMs);
    uint64_t n;
    (void)!::read(wake_, &n, sizeof(n));
    {
      std::lock_guard g(dir_mu_);
      if (dir_serial_ != seen && dir_) {
        engine_.set_directory(dir_);
        seen = dir_serial_;
      }
    }
    const int64_t now = now_s();
    uint16_t vf;
    uint32_t len, wire_len;
    while (queue_.pop(&vf, gateway, buf.data(), &len, &wire_len))
      engine_.from_instance(vf, gateway, buf.data(), len, now, uplink, inject_, wire_len);
    for (int i = 0; i < kUplinkBurst; i++) {
      // The packet lands after 14 bytes: its Ethernet header goes there.
      const ssize_t r = ::read(uplink_, buf.data() + 14, GatewayQueue::kSlotBytes - 14);
      if (r <= 0) break;
      engine_.from_uplink(buf.data(), static_cast<uint32_t>(r), now, inject_);
    }
    if (now != last_expire) {
      engine_.expire(now);
      last_expire = now;
    }
  }
}

nlohmann::json GatewayService::stats_json() const {
  auto v = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  return {{"offered", v(stats_.offered)},
          {"queue_full", v(stats_.queue_full)},
          {"translated_out", v(stats_.translated_out)},
          {"translated_in", v(stats_.translated_in)},
          {"no_public_ip", v(stats_.no_public_ip)},
          {"no_gateway", v(stats_.no_gateway)},
          {"frag_needed_sent", v(stats_.frag_needed_sent)},
          {"too_big_dropped", v(stats_.too_big_dropped)},
          {"nat_table_full", v(stats_.nat_table_full)},
          {"nat_entries", v(stats_.nat_entries)},
          {"untranslatable", v(stats_.untranslatable)},
          {"inbound_unknown", v(stats_.inbound_unknown)},
          {"malformed", v(stats_.malformed)},
          {"not_ipv4", v(stats_.not_ipv4)},
          {"uplink_errors", v(stats_.uplink_errors)},
          {"inject_refused", v(stats_.inject_refused)}};
}

}  // namespace venic::gateways
