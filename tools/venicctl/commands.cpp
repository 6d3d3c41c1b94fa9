#include "commands.h"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

#include "control_client.h"
#include "format.h"
#include "protocol.h"
#include "top.h"
#include "seqpacket.h"

namespace venic::ctl {
namespace {

using nlohmann::json;

volatile std::sig_atomic_t g_interrupted = 0;

void on_interrupt(int) {
  // The first Ctrl-C ends the watch loop cleanly; a second one means the
  // daemon is not answering, so leave without waiting for it.
  if (g_interrupted) _exit(130);
  g_interrupted = 1;
}

// Routes SIGINT to on_interrupt while alive and restores the previous
// disposition afterwards.  No SA_RESTART, so a sleep wakes up on Ctrl-C.
class InterruptCatcher {
 public:
  InterruptCatcher() {
    g_interrupted = 0;
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    installed_ = ::sigaction(SIGINT, &action, &previous_) == 0;
  }
  ~InterruptCatcher() {
    if (installed_) ::sigaction(SIGINT, &previous_, nullptr);
  }
  InterruptCatcher(const InterruptCatcher&) = delete;
  InterruptCatcher& operator=(const InterruptCatcher&) = delete;

  bool interrupted() const { return g_interrupted != 0; }

 private:
  struct sigaction previous_ {};
  bool installed_ = false;
};

// Sleeps until `deadline` on the monotonic clock (the one steady_clock uses on
// Linux); returns false if SIGINT came first.
bool sleep_until(std::chrono::steady_clock::time_point deadline, const InterruptCatcher& interrupt) {
  const auto since_epoch = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch());
  timespec wake{};
  wake.tv_sec = static_cast<time_t>(since_epoch.count() / 1'000'000'000);
  wake.tv_nsec = static_cast<long>(since_epoch.count() % 1'000'000'000);
  while (!interrupt.interrupted()) {
    const int rc = ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, nullptr);
    if (rc != EINTR) return !interrupt.interrupted();
  }
  return false;
}

std::string local_timestamp() {
  const time_t now = ::time(nullptr);
  tm local{};
  ::localtime_r(&now, &local);
  std::array<char, 32> buffer{};
  std::strftime(buffer.data(), buffer.size(), "%Y-%m-%d %H:%M:%S", &local);
  return buffer.data();
}

std::string interval_text(double seconds) {
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%g", seconds);
  return std::string(buffer.data()) + "s";
}

// One screen, drawn over the last in place: cursor home, each line erased to
// its end, the rest of the screen erased (no blank flash, fine in tmux).
void draw_in_place(std::ostream& out, const std::string& text) {
  std::string screen = "\033[H";
  for (char c : text) {
    if (c == '\n') screen += "\033[K";
    screen += c;
  }
  out << screen << "\033[J";
}

const json& vfs_of(const json& result) {
  static const json kNone = json::array();
  if (!result.is_object()) return kNone;
  auto it = result.find("vfs");
  return it == result.end() ? kNone : *it;
}

}  // namespace

std::string format_daemon_error(const DaemonError& error) {
  constexpr std::string_view kEc2 = "ec2.";
  if (error.method().rfind(kEc2, 0) != 0) return std::string("venicctl: ") + error.what();
  const std::string& code = error.aws_code().empty() ? error.code() : error.aws_code();
  return "An error occurred (" + code + ") when calling the " + error.method().substr(kEc2.size()) +
         " operation: " + error.what();
}

std::string format_aws_result(const json& result) {
  if (result.is_object() && result.empty()) return "";
  return result.dump(4, ' ', false, json::error_handler_t::replace) + "\n";
}

namespace {
// EC2's ClientToken: at most 64 characters; 128 random bits.
std::string fresh_client_token() {
  std::random_device random;
  char buf[48];
  std::snprintf(buf, sizeof(buf), "venicctl-%08x%08x%08x%08x", random(), random(), random(), random());
  return buf;
}
}  // namespace

void run_aws_request(const std::string& socket_path, const Request& request, std::ostream& out) {
  json params = request.params;
  // A create that timed out may have happened: retried once with the same
  // ClientToken, it answers what the first did instead of creating twice.
  const bool retry = request.idempotent;
  if (retry && !params.contains("ClientToken")) params["ClientToken"] = fresh_client_token();
  json result;
  for (int attempt = 0;; attempt++) {
    try {
      auto client = control::Client::connect(socket_path);
      result = client.call(request.method, params).result;
      break;
    } catch (const control::ControlError& e) {
      if (retry && e.timed_out() && attempt == 0) continue;
      if (e.code() == "transport") throw;
      throw DaemonError(request.method, e.code(), e.aws_code(), e.what());  // printed as the AWS CLI does
    }
  }
  out << format_aws_result(result);
  out.flush();
}

void run_request(const std::string& socket_path, const Request& request, const OutputOptions& output,
                 const ResultFormatter& format, std::ostream& out) {
  auto client = control::Client::connect(socket_path);
  const control::Reply reply = client.call(request.method, request.params);
  if (output.json)
    out << reply.result.dump(2) << "\n";
  else
    out << format(reply.result);
  out.flush();
}

void watch_stats(const std::string& socket_path, const Request& request, const OutputOptions& output,
                 const WatchOptions& watch, std::ostream& out) {
  using Clock = std::chrono::steady_clock;
  const InterruptCatcher interrupt;
  auto client = control::Client::connect(socket_path);
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(watch.interval_seconds));

  // A first sample only to measure from, so the first table already has
  // rates (taken after a short wait, at most 250 ms).
  std::optional<json> previous_vfs;
  Clock::time_point previous_at;
  if (!output.json) {
    previous_vfs = vfs_of(client.call(request.method, request.params).result);
    previous_at = Clock::now();
    const auto prime = std::min<Clock::duration>(interval, std::chrono::milliseconds(250));
    if (!sleep_until(previous_at + prime, interrupt)) return;
  }
  Clock::time_point next_sample = Clock::now();
  bool first = true;
  while (!interrupt.interrupted()) {
    const control::Reply reply = client.call(request.method, request.params);
    const Clock::time_point sampled_at = Clock::now();
    if (interrupt.interrupted()) break;

    if (output.json) {
      out << reply.result.dump(2) << "\n";
    } else {
      const json& vfs = vfs_of(reply.result);
      RatesByVf rates;
      if (previous_vfs)
        rates =
            compute_packet_rates(*previous_vfs, vfs, std::chrono::duration<double>(sampled_at - previous_at).count());
      const std::string text = local_timestamp() + "  every " + interval_text(watch.interval_seconds) +
                               ", Ctrl-C to stop\n" + format_stats_table(vfs, rates);
      if (watch.clear_screen)
        draw_in_place(out, text);
      else
        out << (first ? "" : "\n") << text;
      first = false;
      previous_vfs = vfs;
      previous_at = sampled_at;
    }
    out.flush();

    // A fixed schedule keeps the samples evenly spaced; after a stall
    // (slow daemon, suspended terminal) restart it rather than bursting.
    next_sample += interval;
    if (next_sample < Clock::now()) next_sample = Clock::now() + interval;
    if (!sleep_until(next_sample, interrupt)) break;
  }
}

void watch_top(const std::string& socket_path, const WatchOptions& watch, unsigned count, std::ostream& out) {
  using Clock = std::chrono::steady_clock;
  const InterruptCatcher interrupt;
  auto client = control::Client::connect(socket_path);
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(watch.interval_seconds));
  auto sample = [&] {
    TopSample s{client.call("stats", json::object()).result, client.call("vf.list", json::object()).result};
    return s;
  };
  TopSample before = sample();
  Clock::time_point before_at = Clock::now();
  // The first screen after a short wait (at most 250 ms), already with rates.
  Clock::time_point next = before_at + std::min<Clock::duration>(interval, std::chrono::milliseconds(250));
  if (watch.clear_screen) out << "\033[2J";
  for (unsigned drawn = 0; count == 0 || drawn < count; drawn++) {
    if (!sleep_until(next, interrupt)) break;
    TopSample now = sample();
    const Clock::time_point now_at = Clock::now();
    const std::string text = "venicctl top  " + local_timestamp() + "  every " + interval_text(watch.interval_seconds) +
                             ", Ctrl-C to stop\n\n" +
                             format_top(before, now, std::chrono::duration<double>(now_at - before_at).count());
    if (watch.clear_screen)
      draw_in_place(out, text);
    else
      out << (drawn ? "\n" : "") << text;
    out.flush();
    before = std::move(now);
    before_at = now_at;
    next += interval;
    if (next < Clock::now()) next = Clock::now() + interval;
  }
}

void run_capture(const std::string& socket_path, const CaptureOptions& c, std::ostream& err) {
  char* end = nullptr;
  const long vf = std::strtol(c.vf.c_str(), &end, 10);
  if (c.vf.empty() || *end || vf < 0 || vf > 255) throw UsageError("invalid VF " + c.vf + " (expected 0-255)");
  const bool to_stdout = c.path == "-";
  const int fd =
      to_stdout ? ::dup(STDOUT_FILENO) : ::open(c.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw UsageError("cannot write " + c.path + ": " + std::strerror(errno));
  const InterruptCatcher interrupt;
  auto client = control::Client::connect(socket_path);
  json params = {{"vf", vf}, {"direction", c.direction}, {"count", c.count}};
  const int fds[] = {fd};
  json started;
  try {
    started = client.call("capture.start", params, fds).result;
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);  // venicd holds its own copy
  const json id = started.value("capture", json(0));
  err << "capturing VF " << vf << " (" << c.direction << ") to " << (to_stdout ? "stdout" : c.path)
      << (c.count ? ", " + std::to_string(c.count) + " packets" : std::string(", Ctrl-C to stop")) << "\n";
  json st;
  using Clock = std::chrono::steady_clock;
  auto next = Clock::now();
  for (;;) {
    st = client.call("capture.status", {{"capture", id}}).result;
    if (st.value("done", false)) break;
    next += std::chrono::milliseconds(100);
    if (!sleep_until(next, interrupt)) break;
  }
  st = client.call("capture.stop", {{"capture", id}}).result;
  err << st.value("written", 0) << " packets written";
  if (st.value("lost", 0) > 0) err << ", " << st.value("lost", 0) << " lost (capture ring full)";
  err << "\n";
}

}  // namespace venic::ctl
