// The EFA device emulation: processes' contexts on EFA VFs, their queue
// pairs, completion queues and memory registrations (the slow path, on the
// control thread), and the data mover (poll(), on one worker): SENDs from SQ
// slots into the target's RQ slots, RDMA reads and writes between registered
// regions, completions, the same-subnet policy and the bandwidth allowance.
//
// Memory: a registration is a memory object the daemon mapped (an fd the
// process passed) or an assisted range that only its owner's driver touches
// (venic_efa_abi.h); the daemon never reaches a process through its pid.
//
// Publication follows the fast path's rule: the control thread builds an
// immutable View and swaps it in; what the old one referenced is freed only
// after `synchronize` (every poller past a quiescent state).
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "allowance.h"
#include "unique_fd.h"
#include "device_poller.h"
#include "efa_link.h"
#include "efa_region.h"
#include "srd_transport.h"
#include "venic_efa_abi.h"
#include "vf_table.h"

namespace venic::efa {

// Per-VF counters (engine thread writes, control thread reads relaxed).
struct EfaVfCounters {
  uint64_t tx_msgs = 0, tx_bytes = 0, rx_msgs = 0, rx_bytes = 0;
  uint64_t rdma_write_bytes = 0, rdma_read_bytes = 0;
  uint64_t rnr_retries = 0, errors = 0, reordered = 0, bw_exceeded = 0, unreachable = 0;
  // Requests naming a QP number, qkey or rkey that matched nothing: sent by
  // this VF (bad_keys) and aimed at it (bad_keys_in).
  uint64_t bad_keys = 0, bad_keys_in = 0;
  uint64_t assists = 0;  // RDMA chunks on this VF's assisted registrations
};

// The daemon's test hooks: off by default.  With reorder on, about
// reorder_percent of SRD SENDs are held back up to delay_us and then
// delivered in random order.
struct EfaHooks {
  bool reorder = false;
  uint32_t reorder_percent = 50;
  uint32_t delay_us = 100;
};

class EfaEngine : public vf::DevicePoller {
 public:
  using Clock = std::chrono::steady_clock;
  // synchronize: returns once no poller uses a view published before the call.
  // defer (optional): runs a function once no poller can use what was
  // published before the call, without waiting (the dataplane's reclaim
  // queue); without it retirements wait in synchronize.
  explicit EfaEngine(std::function<void()> synchronize, std::function<void(std::function<void()>)> defer = nullptr);
  ~EfaEngine() override;

  // ---- control thread
  // The VF table changed: refreshes policy and closes contexts of VFs that
  // are gone or no longer EFA devices.
  void on_table(const vf::VfTable& table) override;
  // Serves efa.<method>; throws control::RequestError-compatible TableError.
  // start_time: the peer's at connect (process_start_time), 0: unchecked.
  // fds_in: descriptors that came with the request (a memory object for
  // reg_mr); taken when used.
  nlohmann::json call(const std::string& method, const nlohmann::json& params, uint64_t session, pid_t pid, int64_t uid,
                      std::vector<int>& fds_out, uint64_t start_time = 0, std::vector<UniqueFd>* fds_in = nullptr);
  // The control connection went away: its contexts are reclaimed.
  void close_session(uint64_t session);
  // Resolves an EC2 instance id to the VF of its EFA interface.
  void set_instance_resolver(std::function<std::optional<uint16_t>(const std::string&)> r) {
    resolve_instance_ = std::move(r);
  }
  // Heartbeats and the shared stats mirror (about every 100 ms).
  void tick() override;
  nlohmann::json vf_stats(uint16_t vf) const;
  size_t contexts() const { return ctxs_.size(); }
  static void gid_of(const vf::VfConfig& c, uint8_t (&gid)[VENIC_EFA_GID_SIZE]);
  static void gid_of(const vf::MacAddr& mac, uint8_t (&gid)[VENIC_EFA_GID_SIZE]);

  // ---- other hosts (docs/multi-host.md)
  // The way to EFA ENIs on other hosts (Network::remote): set once, before
  // the poller starts.  Without it, address handles name local VFs only.
  void set_link(EfaLink* link, srd::SrdConfig cfg = {});
  // One SRD frame from the uplink (its outer source already checked against
  // the owner of its inner source ENI); on the poller's thread.
  void receive(const uint8_t* frame, uint32_t len);
  // The transport's counters (srd::SrdStats), or null without a link.
  nlohmann::json srd_stats() const;

  // ---- the poller (one thread)
  // Moves what the SQs hold; returns work done (0: idle).
  uint32_t poll() override;

 private:
  // A memory object mapped into the daemon (munmapped with the last
  // registration map that refers to it, after the grace period).
  struct Mapping {
    uint8_t* base = nullptr;  // the registered range's first byte
    uint8_t* map = nullptr;
    uint64_t map_len = 0;
    Mapping() = default;
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping();
  };
  struct Mr {
    uint64_t va, len;
    uint32_t access;
    std::shared_ptr<const Mapping> obj;  // null: assisted (the owner's driver copies)
  };
  using MrMap = std::unordered_map<uint32_t, Mr>;  // by key (lkey == rkey)
  struct CqRt {
    uint32_t prod = 0;
  };
  struct QpRt {
    uint8_t type = 0;
    uint16_t qpn = 0;
    uint32_t qkey = 0;
    uint32_t send_cq = 0, recv_cq = 0;
    uint64_t generation = 0;                           // tells a held delivery's sender from a later QP in its place
    uint8_t rnr_retry = VENIC_EFA_RNR_RETRY_INFINITE;  // RNR retries of a SEND before RNR_RETRY_EXC
    // Poller-owned:
    uint32_t sq_cons = 0, rq_cons = 0;
    bool stalled = false;  // the head WQE waits (RNR, full CQ, allowance): counted once
    // The head WQE is an RDMA transfer in progress, a chunk per poll (so one
    // large transfer does not hold the poller): validated once, kept here.
    bool rdma_active = false;
    venic_efa_wqe rdma{};
    uint64_t rdma_done = 0;
    uint32_t held = 0;              // deliveries of this QP the engine holds (hook, or parked for RNR)
    Clock::time_point rnr_since{};  // the head SEND's first RNR, while it waits at the SQ head
    // The active transfer's chunk waiting on the target's driver (assisted
    // registration): its slot there, or -1.
    int assist_slot = -1;
    uint32_t assist_ctx = 0;
    uint32_t assist_len = 0;
    Clock::time_point assist_since{};
    uint32_t remote_inflight = 0;  // SENDs to other hosts not completed yet
  };
  // An assist slot of a context, as the poller sees it (poller-owned).
  struct AssistRt {
    uint32_t seq = 0;
    const QpRt* owner = nullptr;  // the initiator waiting on it, or null
  };
  struct Context {
    uint32_t id = 0;
    uint16_t vf = 0;
    uint64_t session = 0;
    pid_t pid = 0;
    int64_t uid = 0;
    std::unique_ptr<EfaRegion> region;
    uint64_t mapped_bytes = 0;  // memory objects its registrations map
    std::array<std::unique_ptr<CqRt>, VENIC_EFA_MAX_CQS> cq;
    std::array<std::unique_ptr<QpRt>, VENIC_EFA_MAX_QPS> qp;
    std::shared_ptr<const MrMap> mrs = std::make_shared<MrMap>();
    venic_efa_stats counters{};                             // private; mirrored into the region by tick()
    std::array<AssistRt, VENIC_EFA_ASSIST_SLOTS> assist{};  // poller-owned
  };
  struct CqView {
    venic_ring* ring = nullptr;
    venic_efa_cqe* cqe = nullptr;
    CqRt* rt = nullptr;
  };
  struct VfPolicy {
    bool efa = false;
    bool reachable_needs_group = false;  // an ENI: OS bypass needs its self-referencing group
    bool os_bypass = false;
    uint32_t subnet = 0;
    uint8_t prefix = 0;
    std::string vpc;
    vf::BucketProfile bw;
    vf::MacAddr mac{};
  };
  // An EFA ENI on another host, as an address handle names it
  // (VENIC_MAX_VFS + its index in View::remote).
  struct RemotePeer {
    bool live = false;
    vf::MacAddr mac{};
    std::string vpc, eni;
    uint32_t subnet = 0;
    uint8_t prefix = 0;
  };
  // Every peer the engine knows, built when the table changes and shared
  // by the views published until the next change.
  struct RemoteSet {
    std::vector<RemotePeer> peers;                  // by address handle - VENIC_MAX_VFS
    std::unordered_map<uint64_t, uint16_t> by_mac;  // -> address handle
  };
  struct QpView {
    Context* ctx = nullptr;
    QpRt* rt = nullptr;
    uint16_t index = 0;
    venic_ring* sq = nullptr;
    venic_efa_wqe* sqe = nullptr;
    uint8_t* sq_buf = nullptr;
    venic_ring* rq = nullptr;
    venic_efa_rwqe* rqe = nullptr;
    uint8_t* rq_buf = nullptr;
    uint8_t* stage = nullptr;  // kStageQpBytes: staged RDMA reads land here
    CqView scq, rcq;
    const MrMap* mrs = nullptr;
  };
  struct View {
    std::vector<QpView> qps;
    std::unordered_map<uint32_t, uint32_t> by_addr;  // vf << 16 | qpn -> qps index
    std::array<VfPolicy, VENIC_MAX_VFS> vf{};
    std::vector<std::shared_ptr<const MrMap>> keep;       // the MR maps qps point into
    bool timed = false;                                   // some VF has a bandwidth allowance: passes read the clock
    std::shared_ptr<const RemoteSet> remote;              // null without a link
    std::unordered_map<uint64_t, uint16_t> local_by_mac;  // an EFA VF's MAC -> VF
    // The live peer an address handle names, or null.
    const RemotePeer* peer(uint16_t ah) const {
      if (!remote || ah < VENIC_MAX_VFS || size_t(ah - VENIC_MAX_VFS) >= remote->peers.size()) return nullptr;
      const RemotePeer& r = remote->peers[ah - VENIC_MAX_VFS];
      return r.live ? &r : nullptr;
    }
    const QpView* find(uint16_t vf, uint16_t qpn) const {
      auto it = by_addr.find(uint32_t(vf) << 16 | qpn);
      return it == by_addr.end() ? nullptr : &qps[it->second];
    }
  };
  // A SEND the reorder hook holds back, or parked for a receive buffer
  // (payload copied out of the SQ slot).
  struct Held {
    Clock::time_point due;
    venic_efa_wqe wqe;
    uint16_t src_vf, src_qpn;
    uint64_t src_generation;
    std::vector<uint8_t> payload;
    uint8_t rnr_retry = VENIC_EFA_RNR_RETRY_INFINITE;  // its sender's
    Clock::time_point rnr_since{};                     // its first RNR ({}: none yet)
    bool gone = false;                                 // delivered or failed: removed at the pass's end
  };
  // One sender QP to one target QP: SENDs between them that wait for a
  // buffer keep their order (a later one never overtakes an earlier one that
  // may still fail RNR).
  struct Lane {
    uint64_t src_generation;
    uint32_t dst;  // vf << 16 | qpn
    bool expired;  // an earlier SEND ran out of RNR retries: the rest fail too
  };
  // kRnr: the target had no receive buffer (a kind of retry).
  enum class Outcome { kDone, kRetry, kRnr };

  Context& own_context(const nlohmann::json& p, uint64_t session);
  enum class Retire {
    kLater,       // nothing freed: the old view waits for a later grace period
    kAfterGrace,  // the old views and `dead` are freed after the grace period (deferred)
    kNow,         // return only once no poller holds what the old views referenced
  };
  void publish(Retire retire = Retire::kAfterGrace, std::shared_ptr<void> dead = nullptr);
  bool reachable(const View& v, uint16_t src, uint16_t dst) const;
  static bool reachable_remote(const View& v, uint16_t src, const RemotePeer& r);
  // A SEND (or RDMA, refused) to an address handle of another host.
  Outcome execute_remote(const View& v, const QpView& q, const venic_efa_wqe& w, const uint8_t* slot,
                         Clock::time_point now);
  // The transport hands over a whole message from another host.
  srd::Verdict deliver_remote(const srd::InMessage& m);
  // Posts the completions of SENDs to other hosts; returns how many.
  uint32_t complete_remote(const View& v);
  // Whether a newer view was published since v was loaded: a lookup that
  // failed in v is tried again with it (a registration or QP made just
  // before the work request was posted) instead of failing the request.
  bool stale(const View& v) const { return current_.load(std::memory_order_acquire) != &v; }

  Outcome execute(const View& v, const QpView& q, const venic_efa_wqe& w, const uint8_t* slot, Clock::time_point now);
  // count_rnr: a first attempt (a parked delivery's retries count once).
  Outcome deliver_send(const View& v, const QpView* src, uint16_t src_vf, uint16_t src_qpn, const QpView& dst,
                       const venic_efa_wqe& w, const uint8_t* payload, bool count_rnr = true);
  // Checks an RDMA work request and starts it; step_rdma moves its next chunk
  // and completes it after the last.
  Outcome start_rdma(const View& v, const QpView& q, const venic_efa_wqe& w, const uint8_t* slot,
                     Clock::time_point now);
  Outcome step_rdma(const View& v, const QpView& q, const uint8_t* slot, Clock::time_point now);
  // The initiator's side of the active transfer at offset off: its staging
  // area, the inline slot or its object-backed lkey; null when none fits.
  uint8_t* local_bytes(const QpView& q, const uint8_t* slot, uint64_t off) const;
  // Posts the next chunk of q's transfer to an assisted target, or consumes
  // the answer to the one posted.
  Outcome assist_step(const View& v, const QpView& q, const QpView& dst, uint64_t n, uint8_t* local,
                      Clock::time_point now);
  // n more bytes of q's active transfer are moved: progress and counters.
  void moved(const QpView& q, uint64_t n);
  bool assist_slot_free(const View& v, const Context& c, uint32_t i) const;
  uint32_t fresh_key(const Context& c) const;
  // kDone after completing the active transfer with `status`.
  Outcome end_rdma(const QpView& q, uint8_t status);
  uint32_t deliver_held(const View& v, Clock::time_point now);
  // Whether a SEND first refused for want of a buffer at `since` is out of retries.
  static bool rnr_expired(uint8_t retry, Clock::time_point since, Clock::time_point now);
  // Whether q holds a parked SEND for (vf, qpn): a new one waits behind it.
  bool lane_busy(const QpView& q, uint16_t vf, uint16_t qpn) const;
  static bool cq_has_room(const CqView& c, uint32_t n = 1);
  static void post_cqe(const CqView& c, const venic_efa_cqe& e);
  void complete_send(const QpView& q, const venic_efa_wqe& w, uint8_t status);
  nlohmann::json reg_mr(Context& c, const nlohmann::json& p, std::vector<UniqueFd>* fds_in);

  std::function<void()> synchronize_;
  std::function<void(std::function<void()>)> defer_;
  std::function<std::optional<uint16_t>(const std::string&)> resolve_instance_;
  // Control thread:
  std::map<uint32_t, std::unique_ptr<Context>> ctxs_;
  std::array<VfPolicy, VENIC_MAX_VFS> policy_{};
  std::array<std::optional<vf::VfConfig>, VENIC_MAX_VFS> vfs_{};
  uint32_t next_ctx_ = 1;
  uint64_t next_generation_ = 1;
  std::atomic<const View*> current_{nullptr};
  std::unique_ptr<const View> owned_;
  std::vector<std::unique_ptr<const View>> retired_;  // published over, not yet past a grace period
  // Shared with the poller:
  std::atomic<bool> hook_reorder_{false};
  std::atomic<uint32_t> hook_percent_{50}, hook_delay_us_{100};
  std::unique_ptr<std::array<EfaVfCounters, VENIC_MAX_VFS>> counters_ =
      std::make_unique<std::array<EfaVfCounters, VENIC_MAX_VFS>>();
  // Poller only:
  std::array<vf::TokenBucket, VENIC_MAX_VFS> bw_{};
  std::vector<Held> held_;
  std::vector<Lane> lanes_;       // deliver_held's per-pass lanes that wait (reused)
  size_t poll_start_ = 0;         // the QP a pass starts at rotates: no QP always first
  uint64_t rdma_budget_ = 0;      // RDMA bytes this pass may still move
  uint32_t assists_waiting_ = 0;  // chunks posted to owners' drivers, not yet answered
  std::minstd_rand rng_{0x5eed};  // the reorder hook's only (not a key)
  // Other hosts (set_link): control thread
  std::shared_ptr<const RemoteSet> remote_ = std::make_shared<const RemoteSet>();
  std::map<std::string, uint16_t> remote_slot_;  // ENI id -> index in remote_
  // and the poller:
  struct RemoteSend {
    uint16_t vf, qpn;
    uint64_t generation;
    venic_efa_wqe wqe;
  };
  EfaLink* link_ = nullptr;
  std::unique_ptr<srd::SrdTransport> srd_;
  std::unordered_map<uint64_t, RemoteSend> remote_sends_;  // by transport cookie
  std::vector<srd::Completion> remote_done_;               // waiting for CQ room
  uint64_t next_cookie_ = 1;
  const View* rx_view_ = nullptr;  // during receive()
};

}  // namespace venic::efa
