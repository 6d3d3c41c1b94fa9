// The EFA engine's SRD frames from another host (emulator/efa/srd_*), as
// the uplink hands them over: the parser never reads outside the frame and
// what it accepts encodes back to the same; a transport fed a stream of
// such frames (the input cut at 0xff 0xff) never crashes, places only
// messages within its bounds, and holds no more than its budget.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.h"
#include "srd_transport.h"

using venic::fuzz::require;
namespace srd = venic::efa::srd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size copy, so ASan sees any read past the end.
  const std::vector<uint8_t> frame(data, data + size);
  constexpr uint32_t kMaxMessage = 8192, kMaxFragment = 1000;
  if (auto p = srd::parse_srd(frame, kMaxMessage, kMaxFragment)) {
    require(p->payload.data() >= frame.data() && p->payload.data() + p->payload.size() <= frame.data() + frame.size(),
            "payload inside the frame");
    require(p->h.type == srd::SrdType::kAck || uint64_t(p->h.offset) + p->payload.size() <= p->h.total_len,
            "fragment inside its message");
    std::vector<uint8_t> out(srd::kEthBytes + srd::kHeaderBytes + p->payload.size());
    require(srd::write_srd(out, p->dst, p->src, p->h, p->payload) == out.size(), "encodes back");
    auto again = srd::parse_srd(out, kMaxMessage, kMaxFragment);
    require(again && again->h.psn == p->h.psn && again->h.total_len == p->h.total_len &&
                again->payload.size() == p->payload.size(),
            "decodes the same");
  }

  srd::SrdConfig cfg;
  cfg.frame_payload = kMaxFragment + srd::kHeaderBytes;
  cfg.max_reasm_per_flow = 4;
  cfg.max_reasm_bytes = 16 << 10;
  cfg.max_flows = 8;
  cfg.seed = 1;
  uint64_t placed = 0;
  srd::SrdTransport t(
      cfg, [](const uint8_t*, uint32_t) { return true; },
      [&](const srd::InMessage& m) {
        require(m.data.size() <= kMaxMessage, "a message within max_message");
        placed++;
        return m.qkey & 1 ? srd::Verdict::kRnr : srd::Verdict::kPlaced;
      });
  auto now = srd::SrdTransport::Clock::time_point{} + std::chrono::hours(1);
  size_t start = 0;
  for (size_t i = 0; i + 1 <= size; i++) {
    const bool cut = i + 1 < size && data[i] == 0xff && data[i + 1] == 0xff;
    if (!cut && i + 1 < size) continue;
    const size_t end = cut ? i : size;
    const std::vector<uint8_t> f(data + start, data + end);
    t.receive(f, now);
    now += std::chrono::milliseconds(7);
    t.poll(now);
    start = end + 2;
    i = end + 1;
  }
  require(t.inflight() == 0, "nothing sent, nothing in flight");
  return 0;
}
