// The EFA engine's reliable transport to EFA ENIs on other hosts, as the
// SRD idea has it: messages cut into frames (srd_frame.h), one sequence
// number space per (local ENI, remote ENI) flow, an ACK per DATA packet,
// retransmission on timeout a bounded number of times, duplicates dropped
// by the receiver, messages placed in any order but each exactly once.
// Ordering is the provider's business, as on one host.
//
// Everything a remote can make the receiver hold is bounded: flows,
// partly received messages per flow and their bytes in total.  A frame
// that does not parse is counted and dropped.  What the receiver cannot
// take now (no room to reassemble) it drops without an ACK: the sender
// sends it again.
//
// One thread drives it (the engine's poller): send(), receive(), poll().
// No DPDK: the link and the target are callbacks, so tests run two
// endpoints over an in-memory lossy link.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "srd_frame.h"

namespace venic::efa::srd {

struct SrdConfig {
  // Bytes after the Ethernet header one underlay frame may carry.
  uint32_t frame_payload = 8192;
  uint32_t max_message = 8192;  // VENIC_EFA_MTU: a SEND's largest payload
  // A packet's first timeout is the measured round trip (srtt + 4 rttvar),
  // at least rto_min; it doubles per retry up to rto_max.
  std::chrono::microseconds rto_min{2000}, rto_max{200000};
  uint32_t max_retries = 16;                       // losses of one packet before its message fails
  std::chrono::microseconds rnr_backoff{1000};     // retry of a packet the target had no buffer for
  uint32_t window = 256;                           // unacknowledged packets per flow (< kRxWindow)
  uint32_t max_inflight = 4096;                    // messages in flight, every flow
  uint32_t max_flows = 4096;                       // sender and receiver flow states each
  uint32_t max_reasm_per_flow = 64;                // partly received messages per flow
  uint64_t max_reasm_bytes = 32ull << 20;          // their buffers, every flow
  std::chrono::milliseconds reasm_timeout{30000};  // an unfinished message's buffer is freed (longer than
                                                   // a sender's whole retry)
  std::chrono::seconds flow_idle{120};             // an idle receive flow's state is forgotten
  uint32_t seed = 0;                               // 0: random flow incarnations
  uint32_t max_fragment() const { return frame_payload - static_cast<uint32_t>(kHeaderBytes); }
};

// Counters (the poller writes, others read relaxed).
struct SrdStats {
  uint64_t tx_packets = 0, rx_packets = 0, acks_tx = 0, acks_rx = 0;
  uint64_t retransmits = 0, duplicates = 0, rnr_naks = 0, rejects = 0, retry_exhausted = 0;
  uint64_t bad_frames = 0;     // did not parse
  uint64_t stray_acks = 0;     // an ACK for nothing we sent (old, or another incarnation)
  uint64_t out_of_window = 0;  // a DATA psn outside the receive window
  uint64_t reasm_full = 0;     // dropped: no room to reassemble (the sender resends)
  uint64_t reasm_expired = 0;  // unfinished messages forgotten
  uint64_t flows_full = 0;     // dropped or refused: too many flows
  uint64_t link_busy = 0;      // the link refused a frame (resent on timeout)
  uint64_t unknown_peers = 0;  // DATA between ENIs the filter does not know: refused before any state
};

// A message to send.
struct OutMessage {
  Mac src{}, dst{};
  uint16_t src_qpn = 0, dst_qpn = 0;
  uint32_t qkey = 0;
  bool has_imm = false, ud = false;
  uint32_t imm = 0;
  std::span<const uint8_t> data;
  uint64_t cookie = 0;    // given back with its completion
  uint8_t rnr_retry = 7;  // as the QP's (7: without limit)
};

// A message received whole, for the target to place.
struct InMessage {
  Mac src{}, dst{};
  uint16_t src_qpn = 0, dst_qpn = 0;
  uint32_t qkey = 0;
  bool has_imm = false, ud = false;
  uint32_t imm = 0;
  std::span<const uint8_t> data;
};

// What the target did with a message.
enum class Verdict { kPlaced, kRnr, kReject };

// A sent message's end: exactly one per accepted send().
struct Completion {
  uint64_t cookie = 0;
  uint8_t status = 0;  // VENIC_EFA_WC_*: SUCCESS, UNREACHABLE (rejected or out of retries), RNR_RETRY_EXC
  bool rnr = false;    // the target once had no buffer for it
};

enum class SendResult { kQueued, kBusy, kTooLong };

class SrdTransport {
 public:
  using Clock = std::chrono::steady_clock;
  // tx: sends one frame (false: not now; resent on timeout).
  // deliver: places a whole message; called once per message it accepts.
  SrdTransport(SrdConfig cfg, std::function<bool(const uint8_t*, uint32_t)> tx,
               std::function<Verdict(const InMessage&)> deliver);
  ~SrdTransport();
  // Which (local, remote) ENI pairs may hold receive state: DATA for any
  // other pair is refused (REJECT) before a flow or a buffer is made for it.
  void set_filter(std::function<bool(const Mac& local, const Mac& remote)> f) { filter_ = std::move(f); }

  // Queues a message and sends its frames.  kBusy: the flow's window or the
  // in-flight budget is full, try later; kTooLong: never fits.
  SendResult send(const OutMessage& m, Clock::time_point now);
  // One frame from the link.
  void receive(std::span<const uint8_t> frame, Clock::time_point now);
  // Retransmits what timed out, fails what ran out of retries, forgets what
  // expired.  Cheap when nothing is due.
  void poll(Clock::time_point now);
  // Completions since the last take (the caller owns them).
  std::vector<Completion>& completions() { return done_; }
  // Messages sent and not yet completed.
  size_t inflight() const;
  // Nothing in flight, to hand over or to reassemble: poll() has nothing to do.
  bool idle() const;
  const SrdStats& stats() const { return stats_; }
  const SrdConfig& config() const { return cfg_; }

 private:
  struct Impl;  // the flows (srd_transport.cpp)
  std::unique_ptr<Impl> impl_;
  SrdConfig cfg_;
  SrdStats stats_;
  std::vector<Completion> done_;
  std::function<bool(const Mac&, const Mac&)> filter_;
};

}  // namespace venic::efa::srd
