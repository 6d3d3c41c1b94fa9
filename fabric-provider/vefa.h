// SPDX-License-Identifier: MIT
//
// vefa provider internals: the libfabric objects (one .cpp file each, named
// after the object) and the endpoint's RDM protocol state.  The protocol
// building blocks with no libfabric dependency live in vefa_proto.h,
// vefa_reasm.h, vefa_reorder.h, vefa_tagmatch.h and vefa_avcore.h.
//
// Threading: FI_THREAD_SAFE with one recursive lock per domain; every entry
// point of a domain's objects (EP, CQ, counter, AV, MR) takes it.  Progress
// is manual: CQ and counter reads and the posting calls drive it.
#ifndef VEFA_H
#define VEFA_H

#include <rdma/fabric.h>
#include <rdma/fi_atomic.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>
#include <rdma/providers/fi_log.h>
#include <rdma/providers/fi_prov.h>
#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "vefa_avcore.h"
#include "vefa_idtable.h"
#include "vefa_dev.h"
#include "vefa_proto.h"
#include "vefa_reasm.h"
#include "vefa_reorder.h"
#include "vefa_stage.h"
#include "vefa_tagmatch.h"

namespace vefa {

extern struct fi_provider g_prov;

#define VEFA_WARN(subsys, ...) FI_WARN(&::vefa::g_prov, subsys, __VA_ARGS__)
#define VEFA_INFO(subsys, ...) FI_INFO(&::vefa::g_prov, subsys, __VA_ARGS__)

inline constexpr const char* kProvName = "vefa";
inline constexpr const char* kFabricName = "venic";
// Under VENIC_FI_NAME=efa the provider registers as "efa", with the names
// and attributes libfabric's efa provider reports (vefa_names.cpp); the
// choice is made once, when libfabric loads the provider.
void choose_name();
bool efa_named();
const char* prov_name();    // "vefa" or "efa"
const char* fabric_name();  // "venic" or "efa"
uint32_t prov_version();    // 1.0, or efa's (libfabric's version, 117.0)
// The domain name of an info: the device's, or EFA's "<device>-rdm" /
// "<device>-dgrm".
std::string domain_name(const std::string& dev, enum fi_ep_type type);
inline constexpr uint32_t kProvVersion = FI_VERSION(1, 0);
inline constexpr size_t kIovLimit = 4;
// Operations an endpoint accepts before -FI_EAGAIN (per direction); they are
// queued in software when the device's SQ is full.
inline constexpr size_t kTxDepth = 1024;
inline constexpr size_t kRxDepth = 1024;
inline constexpr size_t kDefaultMinMultiRecv = 64;
// A CQ's depth when fi_cq_open asks for none (size 0), and the most it may ask.
inline constexpr size_t kDefaultCqSize = kTxDepth + kRxDepth;
inline constexpr size_t kMaxCqSize = 1u << 20;
inline constexpr uint64_t kMrModeBits = FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
// Bytes of unexpected (eager, medium) messages an endpoint stages before it
// stops reposting RQ slots: senders then wait in the device's RNR retry
// until the application consumes what is staged.
inline constexpr size_t kStagedBudget = 64ull << 20;
// Packets a peer's reorder buffer holds at most; a packet that does not fit
// stays in its RQ slot (not reposted: back-pressure) and is retried.
inline constexpr size_t kReorderMaxPackets = 1024;
// RQ slots always left to the device for the packets that free the others.
inline constexpr size_t kParkReserve = 8;
// RDMA transfers are split into pieces of this size (they are staged unless
// the local buffer is a memory object), so that copying one piece overlaps
// the device moving the next.
inline constexpr uint64_t kStagedReadChunk = 256u << 10;
// progress() calls between two looks at the device's link status (and on
// every idle call).
inline constexpr unsigned kLinkCheckEvery = 64;
// FI_OPT_EFA_RNR_RETRY: efa's RDM default (3) and its "without limit" (7).
// Only an endpoint of an FI_RM_DISABLED domain gives the device a finite
// count and reports what runs out as FI_ENORX; with resource management
// the device retries without limit (as efa's RDM resends after RNR).
inline constexpr size_t kDefaultRnrRetry = 3;

// What getinfo learned about the device (cached once per process).
struct DevInfo {
  std::string name;
  uint32_t mtu = 0, max_qps = 0, max_cqs = 0, sq_depth = 0, rq_depth = 0, cq_depth = 0;
  uint32_t max_rdma_size = 0, max_mr = 0, device_caps = 0, link_speed_mbps = 0;
  uint8_t gid[kGidSize] = {};
};

// vefa_init.cpp
int probe_device(DevInfo* out);
// vefa_attr.cpp
int build_infos(const DevInfo& dev, uint32_t version, uint64_t flags, const struct fi_info* hints,
                struct fi_info** out);
uint64_t rdm_caps();
uint64_t dgram_caps();
size_t atomic_max_count(uint32_t mtu, enum fi_datatype dt);
int atomic_supported(enum fi_datatype dt, enum fi_op op, int kind);  // kind: 0 write, 1 fetch, 2 compare
size_t datatype_size(enum fi_datatype dt);

// fid ops that do nothing useful for an object.
int no_bind(struct fid*, struct fid*, uint64_t);
int no_control(struct fid*, int, void*);
int no_ops_open(struct fid*, const char*, uint64_t, void**, void*);

struct Ep;
struct Domain;
struct WaitSet;

struct Fabric {
  struct fid_fabric fab {};
  uint32_t api_version = 0;
  int refs = 0;
};
int fabric_open(struct fi_fabric_attr* attr, struct fid_fabric** fabric, void* context);
int eq_open(struct fid_fabric* fabric, struct fi_eq_attr* attr, struct fid_eq** eq, void* context);

struct MrCacheEntry {
  uint32_t lkey = 0, rkey = 0;
  int refs = 0;        // in-flight operations using it: never evicted then
  uint64_t stamp = 0;  // last use, for eviction
};

// Cache key: (address, length, VENIC_EFA_ACCESS_* rights).
using MrCacheKey = std::tuple<uint64_t, uint64_t, uint32_t>;

// A cache registration an operation holds.
struct HeldReg {
  const void* va;
  size_t len;
  uint32_t access;
};

struct Domain {
  struct fid_domain dom {};
  Fabric* fabric = nullptr;
  vefa_ctx* ctx = nullptr;
  std::recursive_mutex lock;
  DevInfo dev;
  enum fi_ep_type ep_type = FI_EP_RDM;
  uint64_t mr_mode = kMrModeBits;
  bool rm_disabled = false;  // domain_attr->resource_mgmt == FI_RM_DISABLED: RNR surfaces as FI_ENORX
  uint32_t api_version = 0;
  int refs = 0;

  // Every registration this domain holds with the device, by rkey: the
  // target side of an emulated atomic checks its address against these.
  struct Reg {
    uint64_t va, len;
    uint64_t access;  // FI_REMOTE_READ / FI_REMOTE_WRITE
  };
  std::unordered_map<uint32_t, Reg> regs;
  // The provider's own registrations of user buffers, keyed by (va, len,
  // access), each with only the rights its use needs: safe to keep, the
  // device pins nothing (see README).  Provider-owned buffers are never
  // cached (they are freed and their addresses reused).
  std::map<MrCacheKey, MrCacheEntry> mr_cache;
  uint64_t mr_stamp = 0;

  // Registers [va, va+len) with `access` for the provider's own use (or
  // finds it); takes a reference when hold is set (release with
  // cache_release).
  int cache_reg(const void* va, size_t len, uint32_t access, bool hold, uint32_t* lkey, uint32_t* rkey);
  void cache_release(const void* va, size_t len, uint32_t access);
  void cache_release(const HeldReg& h) { cache_release(h.va, h.len, h.access); }
};
int domain_open(struct fid_fabric* fabric, struct fi_info* info, struct fid_domain** dom, void* context);
int av_open(struct fid_domain* domain, struct fi_av_attr* attr, struct fid_av** av, void* context);
int cq_open(struct fid_domain* domain, struct fi_cq_attr* attr, struct fid_cq** cq, void* context);
int cntr_open(struct fid_domain* domain, struct fi_cntr_attr* attr, struct fid_cntr** cntr, void* context);
int ep_open(struct fid_domain* domain, struct fi_info* info, struct fid_ep** ep, void* context);
int query_atomic(struct fid_domain* domain, enum fi_datatype datatype, enum fi_op op, struct fi_atomic_attr* attr,
                 uint64_t flags);
extern struct fi_ops_mr g_mr_ops;

struct Mr {
  struct fid_mr mr {};
  Domain* dom = nullptr;
  uint32_t lkey = 0, rkey = 0;
  uint64_t va = 0, len = 0;
};
// The lkey of a user-supplied descriptor (fi_mr_desc), or 0.
inline uint32_t desc_lkey(void* desc) {
  return desc ? static_cast<Mr*>(desc)->lkey : 0;
}

struct Av {
  struct fid_av av {};
  Domain* dom = nullptr;
  enum fi_av_type type = FI_AV_TABLE;
  AvCore core;
  int refs = 0;
  std::vector<Ep*> eps;  // bound endpoints: fi_av_remove prunes their peers
};

// One completion, in the widest format; the CQ narrows it when read.
struct Comp {
  void* op_context;
  uint64_t flags;
  size_t len;
  void* buf;
  uint64_t data;
  uint64_t tag;
  fi_addr_t src;
};

struct Cq {
  struct fid_cq cq {};
  Domain* dom = nullptr;
  enum fi_cq_format format = FI_CQ_FORMAT_CONTEXT;
  std::deque<Comp> comps;
  std::deque<fi_cq_err_entry> errs;
  std::vector<Ep*> eps;  // progressed by reads
  int refs = 0;
  unsigned empty_reads = 0;  // in a row: an idle poller yields now and then
  // Waiting (vefa_cq.cpp): fi_cq_signal ends an fi_cq_sread; with
  // FI_WAIT_FD the wait fd is a timerfd that fi_trywait arms (progress is
  // manual: a blocked consumer is woken to make it) and that a completion
  // or fi_cq_signal fires at once.
  std::atomic<bool> signaled{false};
  int wait_fd = -1;       // its own, or its wait set's (FI_WAIT_SET of an FI_WAIT_FD set)
  bool fd_armed = false;  // fi_trywait armed it; the next completion fires it
  WaitSet* wset = nullptr;
  bool ready() const { return !comps.empty() || !errs.empty(); }

  void push(const Comp& c) {
    comps.push_back(c);
    if (fd_armed) wake_fd();
  }
  void push_err(const fi_cq_err_entry& e) {
    errs.push_back(e);
    if (fd_armed) wake_fd();
  }
  // Entries at most: posting stops (-FI_EAGAIN) and endpoints stop taking
  // device completions at this depth, so the queue exceeds it by at most
  // what one device poll yields (the device CQ holds the rest).
  size_t cap = kDefaultCqSize;
  bool full() const { return comps.size() + errs.size() >= cap; }
  void progress();
  void wake_fd();
  int trywait();  // fi_trywait for this CQ: 0, or -FI_EAGAIN when entries are ready
};

// fi_poll_open: the CQs and counters to look at together.
struct PollSet {
  struct fid_poll poll {};
  Domain* dom = nullptr;
  struct Member {
    struct fid* fid;
    uint64_t cntr_seen;  // counters: the value fi_poll last reported
  };
  std::vector<Member> members;
};
int poll_open(struct fid_domain* domain, struct fi_poll_attr* attr, struct fid_poll** poll);

struct Cntr {
  struct fid_cntr cntr {};
  Domain* dom = nullptr;
  uint64_t value = 0, err = 0;
  std::vector<Ep*> eps;
  int refs = 0;
  WaitSet* wset = nullptr;
  void progress();
};

// fi_wait_open (vefa_wait.cpp): CQs and counters opened with FI_WAIT_SET
// and this set.  fi_wait makes their progress (it is manual) until a CQ has
// entries or is signaled, or a counter moved since fi_wait last saw it.  An
// FI_WAIT_FD set has one timerfd its CQs share (Cq::trywait arms it).
struct WaitSet {
  struct fid_wait wait {};
  Fabric* fabric = nullptr;
  enum fi_wait_obj obj = FI_WAIT_UNSPEC;
  int fd = -1;
  std::mutex lock;  // members; taken before any member's domain lock
  struct Member {
    struct fid* fid;
    uint64_t cntr_seen;  // counters: value + err when fi_wait last looked
  };
  std::vector<Member> members;
  // A member is ready (consume: take a CQ's signal, note a counter's value).
  bool any_ready(bool consume);
};
int wait_open(struct fid_fabric* fabric, struct fi_wait_attr* attr, struct fid_wait** waitset);
WaitSet* wait_set_of(struct fid_wait* w);
void wait_join(WaitSet* ws, struct fid* member);
void wait_leave(WaitSet* ws, struct fid* member);
int wait_trywait(WaitSet* ws);

struct Eq {
  struct fid_eq eq {};
  Fabric* fabric = nullptr;
  std::mutex lock;
  std::condition_variable cv;
  struct Event {
    uint32_t event;
    std::vector<uint8_t> data;
    bool is_err;
    fi_eq_err_entry err;
  };
  std::deque<Event> events;
};

// ---------------------------------------------------------------- endpoint --

// wr_id of a device work request: the kind in the top bits, an id below.
enum class WrKind : uint64_t { kTx = 1, kCtrl = 2, kRxRead = 3, kRecv = 4 };
inline uint64_t make_wr(WrKind k, uint64_t id) {
  return (static_cast<uint64_t>(k) << 60) | (id & ((1ull << 60) - 1));
}
inline WrKind wr_kind(uint64_t wr) {
  return static_cast<WrKind>(wr >> 60);
}
inline uint64_t wr_id(uint64_t wr) {
  return wr & ((1ull << 60) - 1);
}

enum class TxKind { kMsg, kRead, kWrite, kAtomic };

struct TxEntry {
  uint64_t id = 0;
  TxKind kind = TxKind::kMsg;
  void* context = nullptr;
  uint64_t comp_flags = 0;  // flags of its completion (FI_SEND|FI_MSG, FI_RMA|FI_READ, ...)
  uint64_t cntr_flag = 0;   // FI_SEND, FI_READ or FI_WRITE: which counter counts it
  bool want_comp = true;
  uint16_t ah = 0, qpn = 0;
  uint32_t qkey = 0;
  // Messages.
  PktType proto = PktType::kEager;
  uint8_t pkt_flags = 0;
  uint32_t seq = 0;
  uint32_t conn = 0;  // the incarnation its packets name (Peer::tx_salt)
  uint64_t tag = 0, cq_data = 0;
  std::vector<struct iovec> iov;
  std::vector<uint8_t> owned;  // the data, when it had to be copied (inject, gather for RTS)
  uint64_t total = 0;
  uint64_t next_seg = 0;  // next segment to post
  bool eor_done = false;
  bool cache_held = false;
  const void* cache_va = nullptr;  // the RTS source buffer (user's: through the cache; owned: not)
  size_t cache_len = 0;
  bool own_reg = false;  // `owned` is registered outside the cache (own_lkey), deregistered at completion
  uint32_t own_lkey = 0;
  uint32_t rts_rkey = 0;
  // RMA and atomics: work requests built at post time, posted as the SQ allows.
  std::vector<venic_efa_wqe> wqes;
  std::vector<uint8_t> inline_data;  // inject write payload (one WQE)
  std::vector<HeldReg> held_regs;    // cache registrations of local RMA buffers
  size_t next_wqe = 0;
  std::vector<uint8_t> pkt;  // atomic request packet
  std::vector<struct fi_ioc> results;
  bool resp_done = false;
  // Common.
  uint32_t outstanding = 0;  // posted, not completed work requests
  bool all_posted = false;
  int err = 0;
  int prov_errno = 0;

  // Back to a fresh entry for reuse (IdTable), keeping the capacity of its
  // small lists (an inject copy too, up to kInjectSize).
  void reset() {
    auto i = std::move(iov);
    auto w = std::move(wqes);
    auto h = std::move(held_regs);
    auto o = std::move(owned);
    i.clear(), w.clear(), h.clear(), o.clear();
    if (o.capacity() > kInjectSize) std::vector<uint8_t>().swap(o);
    *this = TxEntry{};
    iov = std::move(i), wqes = std::move(w), held_regs = std::move(h), owned = std::move(o);
  }
};

struct RxEntry {
  uint64_t id = 0;
  bool tagged = false;
  // The receive (user side), once one is attached.
  bool posted = false;
  void* context = nullptr;
  uint64_t op_flags = 0;
  std::vector<struct iovec> iov;
  uint64_t cap = 0;
  bool want_comp = true;
  uint64_t parent = 0;  // multi-receive buffer this one was carved from
  // Multi-receive buffers only.
  uint64_t mr_used = 0;
  uint32_t mr_children = 0;
  bool mr_retired = false;
  // The message, once one is attached.
  bool has_msg = false;
  uint64_t peer = 0;  // peer key
  uint32_t seq = 0;
  uint64_t tag = 0, cq_data = 0;
  uint8_t pkt_flags = 0;
  uint64_t total = 0;
  PktType proto = PktType::kEager;
  bool staged = false;  // data goes to `stage` (it arrived before a receive)
  std::vector<uint8_t> stage;
  Reassembly reasm;
  bool data_done = false;
  bool discard = false;
  // Long messages: where to read from.
  uint64_t rts_va = 0, rts_tx_id = 0;
  uint32_t rts_rkey = 0, rts_qkey = 0;
  uint16_t rts_ah = 0, rts_qpn = 0;
  uint32_t reads_outstanding = 0;
  bool reads_started = false;
  std::vector<HeldReg> held_regs;
  bool peer_lost = false;  // its sender is gone: no EOR to send
  int err = 0;
  int prov_errno = 0;

  // Back to a fresh entry for reuse (IdTable), keeping its small lists'
  // capacity (staged data is released).
  void reset() {
    auto i = std::move(iov);
    auto h = std::move(held_regs);
    i.clear(), h.clear();
    *this = RxEntry{};
    iov = std::move(i), held_regs = std::move(h);
  }
};

struct Peer {
  uint16_t ah = 0, qpn = 0;
  uint32_t qkey = 0;
  // Message packets to this peer name our incarnation as conn_id ^ tx_salt,
  // a value new with every Peer: one forgotten (fi_av_remove) and made
  // again starts its sequence at 0 as a new incarnation the receiver
  // resets for, instead of colliding with the old sequence.
  uint32_t tx_salt = 0;
  uint32_t tx_seq = 0;
  uint32_t tx_conn = 0;  // the incarnation tx_seq counts for
  bool rx_conn_known = false;
  uint32_t rx_conn = 0;
  // The incarnation we gave up on (it failed or was replaced): its late
  // packets are dropped.
  bool dead_conn_known = false;
  uint32_t dead_conn = 0;
  uint64_t dead_drops = 0;
  ReorderBuffer<std::vector<uint8_t>> rx{1u << 16, 0, kReorderMaxPackets};
  std::unordered_map<uint32_t, uint64_t> active;  // seq -> RxEntry of a segmented message in flight
};

struct CtrlPkt {
  uint16_t ah, qpn;
  uint32_t qkey;
  std::vector<uint8_t> bytes;
};

struct Ep {
  struct fid_ep ep {};
  Domain* dom = nullptr;
  enum fi_ep_type type = FI_EP_RDM;
  uint64_t caps = 0;
  Av* av = nullptr;
  Cq* tx_cq = nullptr;
  Cq* rx_cq = nullptr;
  bool tx_selective = false, rx_selective = false;
  Cntr* cntr_send = nullptr;
  Cntr* cntr_recv = nullptr;
  Cntr* cntr_read = nullptr;
  Cntr* cntr_write = nullptr;
  Cntr* cntr_rread = nullptr;
  Cntr* cntr_rwrite = nullptr;
  uint64_t tx_op_flags = 0, rx_op_flags = 0;
  size_t min_multi_recv = kDefaultMinMultiRecv;
  bool enabled = false;
  size_t rnr_retry = kDefaultRnrRetry;                   // FI_OPT_EFA_RNR_RETRY
  uint8_t dev_rnr_retry = VENIC_EFA_RNR_RETRY_INFINITE;  // what the QP was created with

  // The device objects.
  uint32_t dev_cq = 0, qp = 0;
  bool have_cq = false, have_qp = false;
  uint16_t qpn = 0;
  uint32_t qkey = 0;
  uint32_t conn_id = 0;
  uint32_t mtu = 0;
  struct vefa_qp_view qv {};
  struct vefa_cq_view cv {};

  // Protocol state.
  uint32_t peers_made = 0;        // Peer::tx_salt
  IdTable<TxEntry> txs;           // ids index arrays: no allocation or hashing per operation
  std::deque<uint64_t> tx_queue;  // tx entries with work requests still to post
  IdTable<RxEntry> rxs;
  MatchQueues msg_q, tag_q;
  std::unordered_map<uint64_t, Peer> peers;
  std::deque<CtrlPkt> ctrl_queue;
  std::deque<venic_efa_wqe> read_queue;  // RDMA reads of long-message receives
  // Staged RDMA transfers in flight, by offset in the QP's staging area:
  // where a read's data goes when it completes (laddr 0: a write's source).
  struct StagedRead {
    uint64_t laddr;
    uint32_t len;
  };
  StageSpace stage;
  std::unordered_map<uint64_t, StagedRead> staged_reads;
  std::vector<uint32_t> repost;  // RQ slots waiting for RQ room (or for staged data to drain)
  size_t rx_posted = 0;          // user receives outstanding (for -FI_EAGAIN)
  size_t staged_bytes = 0;       // staged unexpected data (kStagedBudget)
  // Packets left in their RQ slot because the peer's reorder buffer had no
  // room: retried as it drains, reposted once taken.
  struct Parked {
    uint32_t slot;
    uint64_t key;
    size_t len;
  };
  std::deque<Parked> parked;
  unsigned progress_calls = 0;
  bool dev_down = false;  // the device went away: everything fails with FI_EIO

  // vefa_ep.cpp
  Peer& peer_for(uint64_t key);
  int resolve(fi_addr_t addr, const AvCore::Entry** out);
  Peer& tx_peer(const AvCore::Entry& e);
  fi_addr_t src_addr_of(uint64_t peer_key) const;
  void report_tx(TxEntry& t);
  void report_rx(RxEntry& r, size_t len, void* buf, uint64_t extra_flags);
  void report_rx_err(RxEntry& r, int err, int prov_errno, size_t len, size_t olen, uint64_t extra_flags = 0);
  void count(Cntr* c, bool ok);

  // (Re)creates the device QP with the RNR retry count the endpoint's
  // options ask for, its RQ slots all posted (before fi_enable only).
  int make_qp();
  // The RNR retry count the device QP should have (7: without limit).
  uint8_t wanted_rnr_retry() const;

  // vefa_progress.cpp
  void progress();
  void flush();
  bool post_wqe(venic_efa_wqe w, const void* payload, size_t len);
  void handle_cqe(const venic_efa_cqe& c);
  void land_staged(const venic_efa_cqe& c);
  // The largest piece an RDMA read or write is split into (kStagedReadChunk).
  uint64_t rdma_chunk(bool read) const;
  void handle_recv(const venic_efa_cqe& c);
  // False (only when may_park): the peer's reorder buffer is full, keep the
  // packet in its RQ slot and retry later.
  bool on_msg_pkt(uint64_t key, const uint8_t* pkt, size_t len, bool may_park);
  void retry_parked();
  void free_slot(uint32_t slot);
  void unstage(RxEntry& r);
  void release_tx_regs(TxEntry& t);
  void fail_peer(uint64_t key, int err, int prov_errno);
  void fail_peer_rx(uint64_t key, int err, int prov_errno);
  // A SEND of incarnation `conn` to peer `key` ran out of RNR retries: every
  // pending send of it fails with FI_ENORX and the next starts a new sequence.
  void fail_peer_rnr(uint64_t key, uint32_t conn, int prov_errno);
  void fail_all(int err);
  bool fail_rx(RxEntry& r, int err, int prov_errno, bool force);
  void handle_ordered(Peer& p, uint64_t key, const uint8_t* pkt, size_t len, bool first);
  void start_msg(Peer& p, uint64_t key, const MsgHdr& h, const uint8_t* pkt, size_t len);
  void deliver_seg(RxEntry& r, const MsgHdr& h, const uint8_t* payload, size_t len);
  void place(RxEntry& r, uint64_t off, const uint8_t* data, size_t len);
  void maybe_finish(RxEntry& r);
  void attach(RxEntry& msg, RxEntry& user);
  void start_reads(RxEntry& r);
  void finish_rx(RxEntry& r);
  void send_ctrl(uint16_t ah, uint16_t qpn, uint32_t qkey, std::vector<uint8_t> bytes);
  void tx_done_check(TxEntry& t);
  bool post_tx(TxEntry& t);
  void on_eor(const EorHdr& h);
  void on_atomic_req(uint64_t key, uint16_t ah, uint16_t qpn, const uint8_t* pkt, size_t len);
  void on_atomic_resp(const uint8_t* pkt, size_t len);
  void on_write_imm(const venic_efa_cqe& c);
  PktBase base(PktType t, uint8_t flags) const;

  // vefa_msg.cpp / vefa_tagged.cpp
  ssize_t send_common(const struct iovec* iov, size_t count, fi_addr_t dest, uint64_t tag, uint64_t data,
                      uint64_t flags, void* context, bool tagged, bool api_inject);
  ssize_t recv_common(const struct iovec* iov, size_t count, fi_addr_t src, uint64_t tag, uint64_t ignore,
                      uint64_t flags, void* context, bool tagged);
  ssize_t rma_common(bool read, const struct iovec* iov, void** desc, size_t count, fi_addr_t dest,
                     const struct fi_rma_iov* rma, size_t rma_count, uint64_t data, uint64_t flags, void* context,
                     bool api_inject);
  ssize_t atomic_common(int kind, const struct fi_msg_atomic* msg, const struct fi_ioc* compare, size_t compare_count,
                        struct fi_ioc* result, size_t result_count, uint64_t flags, bool api_inject);
  ssize_t peek_claim(const struct iovec* iov, size_t count, fi_addr_t src, uint64_t tag, uint64_t ignore,
                     uint64_t flags, void* context);
  RxEntry* carve(RxEntry& parent, uint64_t len);
  void retire_if_full(RxEntry& parent);
  void discard_msg(RxEntry& r);
  TxEntry* new_tx();
  RxEntry* new_rx();
  // Back-pressure: a post returns -FI_EAGAIN when its queue is at depth or
  // the CQ its completion goes to is full (the application must read it).
  bool tx_full() const { return txs.size() >= kTxDepth || (tx_cq && tx_cq->full()); }
  bool rx_full() const { return rx_posted >= kRxDepth || (rx_cq && rx_cq->full()); }
  // Drops what this endpoint keeps for peer `key` (fi_av_remove); pending
  // operations with it fail with FI_ECANCELED.
  void forget_peer(uint64_t key);
};

extern struct fi_ops_msg g_msg_ops;
extern struct fi_ops_tagged g_tagged_ops;
extern struct fi_ops_rma g_rma_ops;
extern struct fi_ops_atomic g_atomic_ops;

inline Ep* ep_of(struct fid_ep* e) {
  return reinterpret_cast<Ep*>(e);
}
inline Ep* ep_of(struct fid* f) {
  return reinterpret_cast<Ep*>(f);
}

// Device completion status -> FI error.
int status_to_fi(uint8_t status);
uint64_t iov_len(const struct iovec* iov, size_t count);
// Copies len bytes at byte offset off of the iovec array from/into src/dst;
// returns bytes copied (bounded by the iovecs' capacity).
size_t copy_to_iov(const std::vector<struct iovec>& iov, uint64_t off, const void* src, size_t len);
size_t copy_from_iov(const std::vector<struct iovec>& iov, uint64_t off, void* dst, size_t len);

}  // namespace vefa

#endif
