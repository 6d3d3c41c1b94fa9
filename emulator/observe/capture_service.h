// Per-VF packet capture, the control thread's half: the capture.* control
// methods (docs/control-protocol.md), one CaptureTap per VF for the fast
// path, and the draining of running captures into their pcapng files.
//   capture.start {vf, direction: "in"|"out"|"both", count (0: no end)}
//     with one fd (the file venicctl opened, written by us, never a path we
//     open): {"capture": id}
//   capture.status {capture}: {"vf", "written", "lost", "done"}
//   capture.stop {capture}: the same, and the file is closed.
// A capture ends with its count, capture.stop, or its connection closing.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "capture_tap.h"
#include "owner.h"
#include "pcapng_writer.h"
#include "unique_fd.h"

namespace venic::vf {
class VfTable;
}

namespace venic::observe {

class CaptureService {
 public:
  static constexpr unsigned kMaxPerSession = 4;
  static constexpr uint64_t kMaxCount = 10'000'000;

  // defer(fn): runs fn after the workers' grace period (Dataplane::defer).
  CaptureService(const vf::VfTable& table, std::function<void(std::function<void()>)> defer)
      : table_(table), defer_(std::move(defer)) {}
  ~CaptureService();

  // The fast path's tap for a VF.
  CaptureTap& tap(uint16_t vf) { return taps_[vf]; }

  // capture.* methods; nullopt for any other method.  Throws vf::TableError.
  std::optional<nlohmann::json> call(const std::string& method, const nlohmann::json& params, const Caller& caller,
                                     uint64_t session, std::vector<UniqueFd>& fds_in);
  void session_closed(uint64_t session);
  // Control thread, every housekeeping round: moves captured frames to files.
  void tick();

 private:
  struct Capture {
    uint16_t vf;
    uint64_t session;
    uint64_t count;  // 0: no end
    std::unique_ptr<PcapngWriter> writer;
    bool done = false;
  };
  nlohmann::json status(uint64_t id, const Capture& c) const;
  void finish(Capture& c);
  Capture& owned(const nlohmann::json& params, uint64_t session);

  const vf::VfTable& table_;
  std::function<void(std::function<void()>)> defer_;
  std::array<CaptureTap, 256> taps_;
  std::map<uint64_t, Capture> captures_;
  uint64_t next_id_ = 1;
};

}  // namespace venic::observe
