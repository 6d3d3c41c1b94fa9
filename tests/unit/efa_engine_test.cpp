// The EFA device emulation driven directly: contexts, queue pairs, SENDs,
// RNR, RDMA on memory objects and assisted registrations, keys, policy, the
// reorder hook and reclaiming a dead process's context.  The test is both
// "processes" (and their drivers) and the poller.
#include "efa_engine.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "vf_table.h"

namespace venic::efa {
namespace {

using nlohmann::json;

class NullPublisher : public vf::Publisher {
 public:
  void publish(const vf::VfTable&) override {}
};

// One process's view of its context: the mapped region and its rings.
struct Proc {
  uint64_t session = 0;
  uint32_t ctx = 0;
  uint8_t* base = nullptr;
  size_t size = 0;
  std::string gid;
  uint16_t vf = 0;

  const venic_efa_regs* regs() const { return reinterpret_cast<const venic_efa_regs*>(base); }
  venic_ring* ring(uint64_t off) const { return reinterpret_cast<venic_ring*>(base + off); }
  template <typename T>
  T* entries(uint64_t off) const {
    return reinterpret_cast<T*>(base + off + VENIC_RING_HDR_SIZE);
  }
};

// A memfd-backed buffer: memory a driver registers as a memory object.
struct Obj {
  int fd = -1;
  uint8_t* p = nullptr;
  size_t len = 0;
  explicit Obj(size_t n, uint8_t fill = 0) : len(n) {
    fd = ::memfd_create("efa-test-mr", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(n)), 0);
    p = static_cast<uint8_t*>(::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    EXPECT_NE(p, MAP_FAILED);
    std::memset(p, fill, n);
  }
  Obj(const Obj&) = delete;
  Obj& operator=(const Obj&) = delete;
  ~Obj() {
    if (p) ::munmap(p, len);
    ::close(fd);
  }
  std::vector<uint8_t> bytes() const { return {p, p + len}; }
  uint64_t va() const { return reinterpret_cast<uint64_t>(p); }
};

struct Qp {
  uint32_t index = 0;
  uint16_t qpn = 0;
  uint32_t qkey = 0;
  uint32_t cq = 0;
};

class EfaEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    add_vf(1, "10.0.0.1");
    add_vf(2, "10.0.0.2");
    add_vf(3, "10.0.1.3");  // another subnet
    engine_.on_table(table_);
  }
  void TearDown() override {
    for (auto& p : procs_)
      if (p->base) ::munmap(p->base, p->size);
  }

  void add_vf(uint16_t id, const char* ip) {
    char mac[32];
    std::snprintf(mac, sizeof(mac), "02:00:00:00:00:%02x", id);
    table_.create(vf::config_from_json({{"id", id}, {"type", "efa"}, {"mac", mac}, {"ip", ip}, {"prefix", 24}}, true),
                  true);
  }

  json call(Proc& p, const std::string& m, json params) {
    std::vector<int> fds;
    params["ctx"] = p.ctx;
    return engine_.call(m, params, p.session, ::getpid(), 0, fds);
  }

  // Registers a memory object: the fd goes with the request, as the driver
  // sends it (SCM_RIGHTS).
  json reg_fd(Proc& p, int fd, uint64_t va, uint64_t len, uint32_t access, uint64_t offset = 0) {
    std::vector<int> out;
    std::vector<UniqueFd> in;
    in.emplace_back(::dup(fd));
    return engine_.call("reg_mr", {{"ctx", p.ctx}, {"va", va}, {"len", len}, {"access", access}, {"offset", offset}},
                        p.session, ::getpid(), 0, out, 0, &in);
  }
  json reg(Proc& p, const Obj& o, uint32_t access) { return reg_fd(p, o.fd, o.va(), o.len, access); }
  // Registers private memory: assisted (no fd).
  json reg_private(Proc& p, const void* va, size_t len, uint32_t access) {
    return call(p, "reg_mr", {{"va", reinterpret_cast<uint64_t>(va)}, {"len", len}, {"access", access}});
  }

  venic_efa_assist* assist(Proc& p, uint32_t i) {
    return reinterpret_cast<venic_efa_assist*>(p.base + p.regs()->assist_off) + i;
  }
  uint8_t* assist_data(Proc& p, uint32_t i) {
    return p.base + p.regs()->assist_buf_off + uint64_t(i) * p.regs()->assist_bytes;
  }
  // Plays p's driver for its assist slots: mem is its private memory at
  // mem_va; answers `status` (SUCCESS copies); returns how many it served.
  int serve_assists(Proc& p, uint8_t* mem, uint64_t mem_va, size_t mem_len, uint8_t status = VENIC_EFA_WC_SUCCESS) {
    int served = 0;
    for (uint32_t i = 0; i < p.regs()->assist_slots; i++) {
      venic_efa_assist* h = assist(p, i);
      const uint32_t seq = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
      if (seq == h->done) continue;
      EXPECT_GE(h->addr, mem_va);
      EXPECT_LE(h->addr - mem_va + h->len, mem_len);
      if (status == VENIC_EFA_WC_SUCCESS) {
        uint8_t* at = mem + (h->addr - mem_va);
        if (h->op == VENIC_EFA_ASSIST_READ)
          std::memcpy(assist_data(p, i), at, h->len);
        else
          std::memcpy(at, assist_data(p, i), h->len);
      }
      h->status = status;
      __atomic_store_n(&h->done, seq, __ATOMIC_RELEASE);
      served++;
    }
    return served;
  }

  Proc& open(uint16_t vf) {
    auto p = std::make_unique<Proc>();
    p->session = next_session_++;
    std::vector<int> fds;
    json r = engine_.call("open", {{"vf", vf}}, p->session, ::getpid(), 0, fds);
    EXPECT_EQ(fds.size(), 1u);
    p->ctx = r["ctx"];
    p->size = r["region_size"];
    p->gid = r["gid"];
    p->vf = vf;
    p->base = static_cast<uint8_t*>(::mmap(nullptr, p->size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0));
    EXPECT_NE(p->base, MAP_FAILED);
    EXPECT_EQ(p->regs()->magic, VENIC_EFA_MAGIC);
    procs_.push_back(std::move(p));
    return *procs_.back();
  }

  Qp qp(Proc& p, const char* type = "srd", int rnr_retry = -1) {
    Qp q;
    q.cq = call(p, "create_cq", json::object())["cq"];
    json params = {{"type", type}, {"send_cq", q.cq}, {"recv_cq", q.cq}};
    if (rnr_retry >= 0) params["rnr_retry"] = rnr_retry;
    json r = call(p, "create_qp", params);
    q.index = r["qp"];
    q.qpn = r["qpn"];
    q.qkey = r["qkey"];
    return q;
  }

  void post_recv(Proc& p, const Qp& q, uint32_t slot, uint64_t wr_id) {
    venic_ring* rq = p.ring(p.regs()->qp[q.index].rq_off);
    auto* e = p.entries<venic_efa_rwqe>(p.regs()->qp[q.index].rq_off);
    e[rq->prod & (VENIC_EFA_RQ_DEPTH - 1)] = {wr_id, slot, 0};
    __atomic_store_n(&rq->prod, rq->prod + 1, __ATOMIC_RELEASE);
  }

  void post_send(Proc& p, const Qp& q, venic_efa_wqe w, const void* data = nullptr) {
    venic_ring* sq = p.ring(p.regs()->qp[q.index].sq_off);
    auto* e = p.entries<venic_efa_wqe>(p.regs()->qp[q.index].sq_off);
    const uint32_t idx = sq->prod & (VENIC_EFA_SQ_DEPTH - 1);
    if (data) std::memcpy(p.base + p.regs()->qp[q.index].sq_buf_off + uint64_t(idx) * VENIC_EFA_MTU, data, w.length);
    e[idx] = w;
    __atomic_store_n(&sq->prod, sq->prod + 1, __ATOMIC_RELEASE);
  }

  std::vector<venic_efa_cqe> poll_cq(Proc& p, const Qp& q) {
    venic_ring* cq = p.ring(p.regs()->cq_off[q.cq]);
    auto* e = p.entries<venic_efa_cqe>(p.regs()->cq_off[q.cq]);
    std::vector<venic_efa_cqe> out;
    while (cq->cons != __atomic_load_n(&cq->prod, __ATOMIC_ACQUIRE)) {
      out.push_back(e[cq->cons & (VENIC_EFA_CQ_DEPTH - 1)]);
      __atomic_store_n(&cq->cons, cq->cons + 1, __ATOMIC_RELEASE);
    }
    return out;
  }

  const uint8_t* rq_slot(Proc& p, const Qp& q, uint32_t slot) {
    return p.base + p.regs()->qp[q.index].rq_buf_off + uint64_t(slot) * VENIC_EFA_MTU;
  }

  static venic_efa_wqe send_to(const Proc& dst, const Qp& q, uint32_t len, uint64_t wr_id) {
    venic_efa_wqe w{};
    w.wr_id = wr_id;
    w.opcode = VENIC_EFA_OP_SEND;
    w.dest_ah = dst.vf;
    w.dest_qpn = q.qpn;
    w.qkey = q.qkey;
    w.length = len;
    return w;
  }

  // An RDMA read by a from `remote` (registered at b for remote reads) into
  // `local` (registered at a with every access; private memory when
  // local_obj is null), to b's QP qb.
  venic_efa_wqe read_wqe(Proc& a, Proc& b, const Qp& qb, uint8_t* local, Obj* local_obj, Obj& remote, uint64_t wr_id) {
    json lm = local_obj ? reg(a, *local_obj, 7) : reg_private(a, local, remote.len, 7);
    json rm = reg(b, remote, VENIC_EFA_ACCESS_REMOTE_READ);
    venic_efa_wqe rd = send_to(b, qb, static_cast<uint32_t>(remote.len), wr_id);
    rd.opcode = VENIC_EFA_OP_RDMA_READ;
    rd.lkey = lm["lkey"];
    rd.laddr = reinterpret_cast<uint64_t>(local);
    rd.rkey = rm["rkey"];
    rd.raddr = remote.va();
    return rd;
  }

  static venic_efa_wqe write_wqe(const Proc& b, const Qp& qb, const json& lm, uint64_t laddr, const json& rm,
                                 uint64_t raddr, uint32_t len, uint64_t wr_id) {
    venic_efa_wqe wr = send_to(b, qb, len, wr_id);
    wr.opcode = VENIC_EFA_OP_RDMA_WRITE;
    wr.lkey = lm["lkey"];
    wr.laddr = laddr;
    wr.rkey = rm["rkey"];
    wr.raddr = raddr;
    return wr;
  }

  NullPublisher pub_;
  vf::VfTable table_{pub_, nullptr};
  // The grace period: none while the test thread is the poller; a test
  // that polls from another thread sets it.
  std::function<void()> sync_;
  EfaEngine engine_{[this] {
    if (sync_) sync_();
  }};
  std::vector<std::unique_ptr<Proc>> procs_;
  uint64_t next_session_ = 1;
};

TEST_F(EfaEngineTest, SendLandsInThePostedBufferAndBothSidesComplete) {
  Proc& a = open(1);
  Proc& b = open(2);
  Qp qa = qp(a), qb = qp(b);
  EXPECT_EQ(call(a, "create_ah", {{"gid", b.gid}})["ah"], 2);
  post_recv(b, qb, 7, 0xb0b);
  const char msg[] = "over the emulated SRD";
  post_send(a, qa, send_to(b, qb, sizeof(msg), 0xa11), msg);
  EXPECT_GT(engine_.poll(), 0u);

  auto rx = poll_cq(b, qb);
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].opcode, VENIC_EFA_WC_RECV);
  EXPECT_EQ(rx[0].status, VENIC_EFA_WC_SUCCESS);
  EXPECT_EQ(rx[0].wr_id, 0xb0bu);
  EXPECT_EQ(rx[0].slot, 7u);
  EXPECT_EQ(rx[0].byte_len, sizeof(msg));
  EXPECT_EQ(rx[0].src_ah, 1);
  EXPECT_EQ(rx[0].src_qpn, qa.qpn);
  EXPECT_EQ(std::memcmp(rq_slot(b, qb, 7), msg, sizeof(msg)), 0);
  auto tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].opcode, VENIC_EFA_WC_SEND);
  EXPECT_EQ(tx[0].wr_id, 0xa11u);
  EXPECT_EQ(engine_.vf_stats(1)["tx_msgs"], 1);
  EXPECT_EQ(engine_.vf_stats(2)["rx_bytes"], sizeof(msg));
}

TEST_F(EfaEngineTest, SrdWaitsForAReceiveBufferUdDropsWithout) {
  Proc& a = open(1);
  Proc& b = open(2);
  Proc& c = open(2);
  Qp qa = qp(a), qb = qp(b), qc = qp(c);
  post_send(a, qa, send_to(b, qb, 64, 1));
  // The same QP's next SEND, to a receiver with a buffer, does not wait.
  post_recv(c, qc, 0, 5);
  post_send(a, qa, send_to(c, qc, 64, 2));
  for (int i = 0; i < 10; i++) engine_.poll();
  EXPECT_EQ(poll_cq(c, qc).size(), 1u) << "one receiver without buffers held up another";
  auto tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 1u) << "SRD must not complete before delivery";
  EXPECT_EQ(tx[0].wr_id, 2u);
  EXPECT_EQ(engine_.vf_stats(1)["rnr_retries"], 1);
  post_recv(b, qb, 0, 9);
  engine_.poll();
  EXPECT_EQ(poll_cq(b, qb).size(), 1u);
  tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].wr_id, 1u);

  Qp ua = qp(a, "ud"), ub = qp(b, "ud");
  post_send(a, ua, send_to(b, ub, 64, 2));
  engine_.poll();
  tx = poll_cq(a, ua);
  ASSERT_EQ(tx.size(), 1u);  // a datagram completes, delivered or not
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_SUCCESS);
  EXPECT_TRUE(poll_cq(b, ub).empty());
}

TEST_F(EfaEngineTest, AnRnrRetryLimitFailsTheSendAndThoseBehindItNeverOvertaking) {
  Proc& a = open(1);
  Proc& b = open(2);
  Proc& c = open(2);
  Qp qa = qp(a, "srd", 1), qb = qp(b), qc = qp(c);
  EXPECT_THROW(qp(a, "srd", 8), vf::TableError);
  // Three SENDs to b, which has no buffer; one to c, which has.
  for (uint64_t id = 1; id <= 3; id++) post_send(a, qa, send_to(b, qb, 64, id));
  post_recv(c, qc, 0, 50);
  post_send(a, qa, send_to(c, qc, 64, 4));
  engine_.poll();
  // One buffer appears at b before the limit: it goes to the first SEND,
  // never to a later one.
  post_recv(b, qb, 0, 60);
  engine_.poll();
  auto rx = poll_cq(b, qb);
  ASSERT_EQ(rx.size(), 1u);
  auto tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 2u);
  EXPECT_EQ(tx[0].wr_id, 4u) << "a target with buffers waits for none";
  EXPECT_EQ(tx[1].wr_id, 1u) << "the oldest waiting SEND takes the buffer";
  // No more buffers: after rnr_retry (1) timeouts the rest fail, in order.
  const auto start = std::chrono::steady_clock::now();
  while (tx.size() < 4 && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    engine_.poll();
    for (auto& e : poll_cq(a, qa)) tx.push_back(e);
  }
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(tx.size(), 4u) << "an RNR limit must end the wait";
  EXPECT_EQ(tx[2].wr_id, 2u);
  EXPECT_EQ(tx[3].wr_id, 3u);
  EXPECT_EQ(tx[2].status, VENIC_EFA_WC_RNR_RETRY_EXC);
  EXPECT_EQ(tx[3].status, VENIC_EFA_WC_RNR_RETRY_EXC);
  EXPECT_GE(waited, std::chrono::milliseconds(VENIC_EFA_RNR_TIMEOUT_MS / 2));
  // A control packet (RNR_UNLIMITED) still waits; rnr_retry 0 fails at once.
  venic_efa_wqe ctrl = send_to(b, qb, 64, 7);
  ctrl.flags = VENIC_EFA_WQE_F_RNR_UNLIMITED;
  post_send(a, qa, ctrl);
  Qp q0 = qp(a, "srd", 0);
  post_send(a, q0, send_to(b, qb, 64, 8));
  for (int i = 0; i < 3; i++) engine_.poll();
  auto t0 = poll_cq(a, q0);
  ASSERT_EQ(t0.size(), 1u);
  EXPECT_EQ(t0[0].status, VENIC_EFA_WC_RNR_RETRY_EXC);
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * VENIC_EFA_RNR_TIMEOUT_MS));
  engine_.poll();
  EXPECT_TRUE(poll_cq(a, qa).empty()) << "an unlimited SEND gave up";
  post_recv(b, qb, 1, 61);
  engine_.poll();
  tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_SUCCESS);
}

TEST_F(EfaEngineTest, OtherSubnetsAreUnreachable) {
  Proc& a = open(1);
  Proc& c = open(3);
  Qp qa = qp(a), qc = qp(c);
  try {
    call(a, "create_ah", {{"gid", c.gid}});
    FAIL() << "an AH into another subnet was created";
  } catch (const vf::TableError& e) {
    EXPECT_EQ(e.code, "unreachable");
  }
  post_recv(c, qc, 0, 1);
  post_send(a, qa, send_to(c, qc, 16, 5));
  engine_.poll();
  auto tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_UNREACHABLE);
  EXPECT_TRUE(poll_cq(c, qc).empty());
}

TEST_F(EfaEngineTest, MalformedWorkRequestsFailAloneAndTheQueueGoesOn) {
  Proc& a = open(1);
  Proc& b = open(2);
  Qp qa = qp(a), qb = qp(b);
  post_recv(b, qb, 0, 1);
  venic_efa_wqe big = send_to(b, qb, VENIC_EFA_MTU + 1, 1);
  post_send(a, qa, big);
  venic_efa_wqe bad = send_to(b, qb, 8, 2);
  bad.opcode = 99;
  post_send(a, qa, bad);
  post_send(a, qa, send_to(b, qb, 8, 3), "12345678");
  engine_.poll();
  auto tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 3u);
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_BAD_WQE);
  EXPECT_EQ(tx[1].status, VENIC_EFA_WC_BAD_WQE);
  EXPECT_EQ(tx[2].status, VENIC_EFA_WC_SUCCESS);
  EXPECT_EQ(poll_cq(b, qb).size(), 1u);
}

TEST_F(EfaEngineTest, RdmaReadAndWriteMoveRegisteredMemoryAndCheckKeys) {
  Proc& a = open(1);
  Proc& b = open(2);
  Qp qa = qp(a), qb = qp(b);
  Obj local(1 << 20), remote(1 << 20);
  for (size_t i = 0; i < remote.len; i++) remote.p[i] = static_cast<uint8_t>(i * 7);
  venic_efa_wqe rd = read_wqe(a, b, qb, local.p, &local, remote, 11);
  post_send(a, qa, rd);
  // Writing needs REMOTE_WRITE, which b did not grant.
  venic_efa_wqe wr = rd;
  wr.opcode = VENIC_EFA_OP_RDMA_WRITE;
  wr.wr_id = 12;
  post_send(a, qa, wr);
  // Out of bounds by one byte.
  venic_efa_wqe oob = rd;
  oob.wr_id = 13;
  oob.raddr += 1;
  post_send(a, qa, oob);
  engine_.poll();
  auto tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 3u);
  EXPECT_EQ(tx[0].opcode, VENIC_EFA_WC_RDMA_READ);
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_SUCCESS);
  EXPECT_EQ(local.bytes(), remote.bytes());
  EXPECT_EQ(tx[1].status, VENIC_EFA_WC_REMOTE_ACCESS);
  EXPECT_EQ(tx[2].status, VENIC_EFA_WC_REMOTE_ACCESS);
  EXPECT_EQ(engine_.vf_stats(1)["rdma_read_bytes"], remote.len);
}

// The poller uses the view it loaded when its pass began.  A driver that
// registers and posts at once (ob1's btl ofi does, before its RDMA) must not
// find its new key unknown to a pass that was already running.
TEST_F(EfaEngineTest, AKeyRegisteredJustBeforeThePostIsFoundByAPassAlreadyRunning) {
  Proc& a = open(1);
  Proc& b = open(2);
  Qp qa = qp(a), qw = qp(a), qb = qp(b);
  Obj src(8 << 20, 1), sink(8 << 20), remote(4096, 0x5a);
  json wl = reg(a, src, 0), wr = reg(b, sink, VENIC_EFA_ACCESS_REMOTE_WRITE);
  json rm = reg(b, remote, VENIC_EFA_ACCESS_REMOTE_READ);
  std::atomic<bool> run{true};
  std::atomic<uint64_t> passes{0};
  sync_ = [&] {
    const uint64_t p = passes.load();
    while (run && passes.load() < p + 2) std::this_thread::yield();
  };
  std::thread poller([&] {
    while (run) engine_.poll(), passes++;
  });
  std::vector<std::unique_ptr<Obj>> locals;
  int failed = 0, lost = 0, writes = 0;
  for (int i = 0; i < 200; i++) {
    // A large write keeps every pass long (a chunk per pass).
    if (writes == 0) post_send(a, qw, write_wqe(b, qb, wl, src.va(), wr, sink.va(), uint32_t(src.len), 1000)), writes++;
    for (auto& e : poll_cq(a, qw)) writes -= e.wr_id == 1000;
    locals.push_back(std::make_unique<Obj>(4096));
    json lm = reg(a, *locals.back(), 7);
    venic_efa_wqe rd = send_to(b, qb, 4096, uint64_t(i));
    rd.opcode = VENIC_EFA_OP_RDMA_READ;
    rd.lkey = lm["lkey"];
    rd.laddr = locals.back()->va();
    rd.rkey = rm["rkey"];
    rd.raddr = remote.va();
    post_send(a, qa, rd);
    std::vector<venic_efa_cqe> tx;
    const auto t0 = std::chrono::steady_clock::now();
    while (tx.empty() && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2)) tx = poll_cq(a, qa);
    if (tx.empty())
      lost++;
    else
      failed += tx[0].status != VENIC_EFA_WC_SUCCESS;
  }
  run = false;
  poller.join();
  sync_ = nullptr;
  EXPECT_EQ(failed, 0) << "reads with a key registered just before failed";
  EXPECT_EQ(lost, 0);
}

TEST_F(EfaEngineTest, AStagedReadLandsInTheStagingAreaNotTheBuffer) {
  Proc& a = open(1);
  Proc& b = open(2);
  Qp qa = qp(a), qb = qp(b);
  const uint32_t area = a.regs()->stage_qp_bytes;
  ASSERT_GE(area, 1u << 20);
  std::vector<uint8_t> local(256 << 10, 0);
  Obj remote(256 << 10);
  for (size_t i = 0; i < remote.len; i++) remote.p[i] = static_cast<uint8_t>(i * 13 + 1);
  venic_efa_wqe rd = read_wqe(a, b, qb, local.data(), nullptr, remote, 21);
  // Unstaged into private memory: the daemon never writes a process.
  venic_efa_wqe unstaged = rd;
  unstaged.wr_id = 20;
  post_send(a, qa, unstaged);
  rd.flags = VENIC_EFA_WQE_F_STAGED;
  rd.stage_off = 64 << 10;
  post_send(a, qa, rd);
  // Past the end of the area by one byte: malformed.
  venic_efa_wqe past = rd;
  past.wr_id = 22;
  past.stage_off = area - remote.len + 1;
  post_send(a, qa, past);
  // The final buffer is still checked: a bad lkey fails as unstaged.
  venic_efa_wqe badkey = rd;
  badkey.wr_id = 23;
  badkey.lkey += 1000;
  post_send(a, qa, badkey);
  engine_.poll();
  auto tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 4u);
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_LOCAL_PROT);
  EXPECT_EQ(tx[1].status, VENIC_EFA_WC_SUCCESS);
  EXPECT_EQ(tx[1].flags & VENIC_EFA_CQE_F_STAGED, VENIC_EFA_CQE_F_STAGED);
  EXPECT_EQ(tx[1].slot, 64u << 10);
  const uint8_t* stage = a.base + a.regs()->stage_off + uint64_t(qa.index) * area;
  EXPECT_EQ(std::memcmp(stage + (64 << 10), remote.p, remote.len), 0);
  EXPECT_EQ(local, std::vector<uint8_t>(local.size(), 0));  // the driver's copy, not the daemon's
  EXPECT_EQ(tx[2].status, VENIC_EFA_WC_BAD_WQE);
  EXPECT_EQ(tx[3].status, VENIC_EFA_WC_LOCAL_PROT);
  EXPECT_EQ(engine_.vf_stats(1)["rdma_read_bytes"], remote.len);
}

TEST_F(EfaEngineTest, ALargeWriteMovesAChunkPerPollAndOtherQueuesKeepGoing) {
  Proc& a = open(1);
  Proc& b = open(2);
  Qp big = qp(a), small = qp(a), qb = qp(b);
  Obj src(3u << 20), dst(3u << 20);
  for (size_t i = 0; i < src.len; i++) src.p[i] = static_cast<uint8_t>(i * 13 + 5);
  json lm = reg(a, src, 0);
  json rm = reg(b, dst, VENIC_EFA_ACCESS_REMOTE_WRITE);
  post_send(a, big, write_wqe(b, qb, lm, src.va(), rm, dst.va(), static_cast<uint32_t>(src.len), 21));
  post_recv(b, qb, 0, 1);
  post_send(a, small, send_to(b, qb, 4, 22), "ping");
  engine_.poll();
  EXPECT_TRUE(poll_cq(a, big).empty()) << "3 MiB moved in one poll";
  EXPECT_EQ(poll_cq(b, qb).size(), 1u) << "another queue pair waited for the transfer";
  for (int i = 0; i < 4; i++) engine_.poll();
  auto tx = poll_cq(a, big);
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_SUCCESS);
  EXPECT_EQ(tx[0].opcode, VENIC_EFA_WC_RDMA_WRITE);
  EXPECT_EQ(dst.bytes(), src.bytes());
  EXPECT_EQ(engine_.vf_stats(1)["rdma_write_bytes"], src.len);
}

TEST_F(EfaEngineTest, TheBandwidthAllowanceShapesRdmaLargerThanItsBucket) {
  // 80 Mbit/s: a bucket of 100 kB, ten times smaller than the transfer.
  table_.create(vf::config_from_json({{"id", 4},
                                      {"type", "efa"},
                                      {"mac", "02:00:00:00:00:04"},
                                      {"ip", "10.0.0.4"},
                                      {"prefix", 24},
                                      {"bw_out_mbps", 80u}},
                                     true),
                true);
  engine_.on_table(table_);
  Proc& a = open(4);
  Proc& b = open(2);
  Qp qa = qp(a), qb = qp(b);
  Obj src(1u << 20, 0x42), dst(1u << 20);
  json lm = reg(a, src, 0);
  json rm = reg(b, dst, VENIC_EFA_ACCESS_REMOTE_WRITE);
  post_send(a, qa, write_wqe(b, qb, lm, src.va(), rm, dst.va(), static_cast<uint32_t>(src.len), 31));
  const auto start = std::chrono::steady_clock::now();
  std::vector<venic_efa_cqe> tx;
  while (tx.empty() && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    engine_.poll();
    tx = poll_cq(a, qa);
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(tx.size(), 1u) << "a transfer larger than the bucket never conformed";
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_SUCCESS);
  EXPECT_EQ(dst.bytes(), src.bytes());
  // 1 MiB at 10 MB/s less the 100 kB burst: about 95 ms; far from instant.
  EXPECT_GT(ms, 50.0);
  EXPECT_GT(engine_.vf_stats(4)["bw_out_allowance_exceeded"], 0);
}

// The attack of issue 14: register a page for remote write, munmap it, map a
// read-only file there.  A real device still reaches the pinned pages; so
// does venicd (the memory object), never the file mapped at that address.
TEST_F(EfaEngineTest, AnObjectRegistrationOutlivesTheOwnersMappingsAsPinnedPagesDo) {
  Proc& a = open(1);
  Proc& b = open(2);
  Qp qa = qp(a), qb = qp(b);
  char path[] = "/var/tmp/efa-ro-XXXXXX";
  const int file = ::mkstemp(path);
  ASSERT_GE(file, 0);
  std::vector<uint8_t> original(4096, 'F');
  ASSERT_EQ(::write(file, original.data(), original.size()), 4096);
  Obj dst(4096, 0x11), src(4096, 0x5c);
  json rm = reg(b, dst, VENIC_EFA_ACCESS_REMOTE_WRITE);
  json lm = reg(a, src, 0);
  // b's "process" replaces the registered page with a read-only file mapping.
  const int ro = ::open(path, O_RDONLY | O_CLOEXEC);
  ASSERT_GE(ro, 0);
  ASSERT_EQ(::mmap(dst.p, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, ro, 0), dst.p);
  post_send(a, qa, write_wqe(b, qb, lm, src.va(), rm, dst.va(), 4096, 41));
  engine_.poll();
  auto tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_SUCCESS);
  std::vector<uint8_t> got(4096);
  ASSERT_EQ(::pread(ro, got.data(), got.size(), 0), 4096);
  EXPECT_EQ(got, original) << "the write reached the read-only file mapped at the registered address";
  ASSERT_EQ(::pread(dst.fd, got.data(), got.size(), 0), 4096);
  EXPECT_EQ(got, std::vector<uint8_t>(4096, 0x5c)) << "the registered object did not receive the write";
  ::close(ro);
  ::unlink(path);
}

TEST_F(EfaEngineTest, WriteAccessNeedsAWritableObjectAndTheRangeInsideIt) {
  Proc& a = open(1);
  Obj o(8192);
  // The same memfd opened read-only: readable by peers, never writable.
  const int ro = ::open(("/proc/self/fd/" + std::to_string(o.fd)).c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(ro, 0);
  EXPECT_NO_THROW(reg_fd(a, ro, o.va(), o.len, VENIC_EFA_ACCESS_REMOTE_READ));
  try {
    reg_fd(a, ro, o.va(), o.len, VENIC_EFA_ACCESS_REMOTE_WRITE);
    ADD_FAILURE() << "remote write granted on a read-only memory object";
  } catch (const vf::TableError& e) {
    EXPECT_EQ(e.code, "access_denied");
  }
  ::close(ro);
  // A memfd sealed against writes.
  Obj sealed(4096);
  ASSERT_EQ(::munmap(sealed.p, sealed.len), 0);
  sealed.p = nullptr;
  ASSERT_EQ(::fcntl(sealed.fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
  EXPECT_THROW(reg_fd(a, sealed.fd, 0x10000, 4096, VENIC_EFA_ACCESS_REMOTE_WRITE), vf::TableError);
  // Past the object's end, and a file that is not shared memory.
  try {
    reg_fd(a, o.fd, o.va(), o.len, VENIC_EFA_ACCESS_REMOTE_READ, 4096);
    ADD_FAILURE() << "a range past the object's end was registered";
  } catch (const vf::TableError& e) {
    EXPECT_EQ(e.code, "bad_address");
  }
  const int disk = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  EXPECT_THROW(reg_fd(a, disk, 0x10000, 4096, VENIC_EFA_ACCESS_REMOTE_READ), vf::TableError);
  ::close(disk);
}

TEST_F(EfaEngineTest, AssistedRegistrationsMoveOnlyWhenTheirOwnerServesThem) {
  Proc& a = open(1);
  Proc& b = open(2);
  Qp qa = qp(a), qb = qp(b);
  // b's private memory: the daemon never touches it; b's driver does.
  std::vector<uint8_t> mem(600 << 10);
  for (size_t i = 0; i < mem.size(); i++) mem[i] = static_cast<uint8_t>(i * 3 + 1);
  const uint64_t mem_va = reinterpret_cast<uint64_t>(mem.data());
  json rm = reg_private(b, mem.data(), mem.size(), VENIC_EFA_ACCESS_REMOTE_READ | VENIC_EFA_ACCESS_REMOTE_WRITE);
  std::vector<uint8_t> local(mem.size(), 0);
  json lm = reg_private(a, local.data(), local.size(), 7);
  venic_efa_wqe rd = send_to(b, qb, static_cast<uint32_t>(mem.size()), 51);
  rd.opcode = VENIC_EFA_OP_RDMA_READ;
  rd.flags = VENIC_EFA_WQE_F_STAGED;
  rd.lkey = lm["lkey"];
  rd.laddr = reinterpret_cast<uint64_t>(local.data());
  rd.rkey = rm["rkey"];
  rd.raddr = mem_va;
  post_send(a, qa, rd);
  const uint8_t* stage = a.base + a.regs()->stage_off + uint64_t(qa.index) * a.regs()->stage_qp_bytes;
  for (int i = 0; i < 5; i++) engine_.poll();
  {
    auto early = poll_cq(a, qa);
    EXPECT_TRUE(early.empty()) << "the read completed without its owner's driver: status "
                               << (early.empty() ? -1 : early[0].status);
  }
  EXPECT_EQ(std::vector<uint8_t>(stage, stage + mem.size()), std::vector<uint8_t>(mem.size(), 0));
  // The owner serves chunk by chunk (256 KiB each): three rounds for 600 KiB.
  std::vector<venic_efa_cqe> tx;
  for (int round = 0; round < 20 && tx.empty(); round++) {
    serve_assists(b, mem.data(), mem_va, mem.size());
    engine_.poll();
    tx = poll_cq(a, qa);
  }
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_SUCCESS);
  EXPECT_EQ(std::memcmp(stage, mem.data(), mem.size()), 0);
  EXPECT_GE(engine_.vf_stats(2)["assists"], 3);
  // A write: the data waits in b's assist slot until b copies it home.
  Obj src(64 << 10, 0xab);
  json sm = reg(a, src, 0);
  post_send(a, qa, write_wqe(b, qb, sm, src.va(), rm, mem_va + 4096, 64 << 10, 52));
  engine_.poll();
  EXPECT_EQ(mem[4096], static_cast<uint8_t>(4096 * 3 + 1));
  EXPECT_EQ(serve_assists(b, mem.data(), mem_va, mem.size()), 1);
  engine_.poll();
  tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_SUCCESS);
  EXPECT_EQ(std::vector<uint8_t>(mem.begin() + 4096, mem.begin() + 4096 + (64 << 10)),
            std::vector<uint8_t>(64 << 10, 0xab));
  // The owner's driver refuses (its page is gone, say): nothing lands.
  rd.wr_id = 53;
  rd.length = 4096;
  rd.stage_off = 1 << 20;
  post_send(a, qa, rd);
  engine_.poll();
  EXPECT_EQ(serve_assists(b, mem.data(), mem_va, mem.size(), VENIC_EFA_WC_REMOTE_ACCESS), 1);
  engine_.poll();
  tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_REMOTE_ACCESS);
  EXPECT_EQ(std::vector<uint8_t>(stage + (1 << 20), stage + (1 << 20) + 4096), std::vector<uint8_t>(4096, 0));
}

// The key scan of issue 14: a peer that was told nothing probes QP numbers,
// qkeys and rkeys.  Every probe fails alike, nothing is read, and the probes
// are counted on both VFs.
TEST_F(EfaEngineTest, KeysAreRandomAndAProbeCannotTellAGuessFromAHit) {
  Proc& a = open(1);
  Proc& b = open(2);
  Qp qa = qp(a), qb = qp(b), qb2 = qp(b);
  Obj secret(4096, 0x77);
  json rm = reg(b, secret, VENIC_EFA_ACCESS_REMOTE_READ);
  json rm2 = reg(b, secret, VENIC_EFA_ACCESS_REMOTE_READ);
  EXPECT_NE(rm["rkey"], rm2["rkey"]);
  EXPECT_NE(uint32_t(rm2["rkey"]), uint32_t(rm["rkey"]) + 1) << "rkeys are a counter";
  EXPECT_NE(qb.qkey, qb2.qkey);
  std::vector<uint8_t> local(4096, 0);
  json lm = reg_private(a, local.data(), local.size(), 7);
  std::mt19937 rng(12345);
  const int kProbes = 10000;
  int successes = 0, other = 0, done = 0;
  for (int sent = 0; sent < kProbes;) {
    for (int k = 0; k < 200 && sent < kProbes; k++, sent++) {
      venic_efa_wqe w{};
      w.wr_id = static_cast<uint64_t>(sent);
      w.opcode = VENIC_EFA_OP_RDMA_READ;
      w.flags = VENIC_EFA_WQE_F_STAGED;
      w.dest_ah = b.vf;
      // A third of the probes know the QP, a third the QP and its qkey.
      w.dest_qpn = sent % 3 ? qb.qpn : static_cast<uint16_t>(rng());
      w.qkey = sent % 3 == 2 ? qb.qkey : static_cast<uint32_t>(rng());
      w.rkey = static_cast<uint32_t>(rng());
      w.raddr = secret.va();
      w.length = 4096;
      w.lkey = lm["lkey"];
      w.laddr = reinterpret_cast<uint64_t>(local.data());
      post_send(a, qa, w);
    }
    engine_.poll();
    for (int i = 0; i < 10; i++) engine_.poll();
    for (const auto& c : poll_cq(a, qa)) {
      done++;
      if (c.status == VENIC_EFA_WC_SUCCESS) successes++;
      if (c.status != VENIC_EFA_WC_REMOTE_ACCESS && c.status != VENIC_EFA_WC_SUCCESS) other++;
    }
  }
  EXPECT_EQ(done, kProbes);
  EXPECT_EQ(successes, 0);
  EXPECT_EQ(other, 0) << "some probes failed differently: a guess can be told from a hit";
  const uint8_t* stage = a.base + a.regs()->stage_off + uint64_t(qa.index) * a.regs()->stage_qp_bytes;
  EXPECT_EQ(std::memchr(stage, 0x77, 4096), nullptr);
  EXPECT_EQ(engine_.vf_stats(1)["bad_keys"], kProbes);
  EXPECT_EQ(engine_.vf_stats(2)["bad_keys_in"], kProbes);
}

TEST_F(EfaEngineTest, EveryDaemonRunDrawsItsOwnKeys) {
  Proc& a = open(1);
  Qp q1 = qp(a);
  EfaEngine other{nullptr};
  other.on_table(table_);
  std::vector<int> fds;
  json r = other.call("open", {{"vf", 1}}, 1, ::getpid(), 0, fds);
  json cq = other.call("create_cq", {{"ctx", r["ctx"]}}, 1, ::getpid(), 0, fds);
  json q2 = other.call("create_qp", {{"ctx", r["ctx"]}, {"type", "srd"}, {"send_cq", cq["cq"]}, {"recv_cq", cq["cq"]}},
                       1, ::getpid(), 0, fds);
  for (int fd : fds) ::close(fd);
  EXPECT_NE(q1.qkey, uint32_t(q2["qkey"])) << "the first QP of two daemon runs got the same qkey";
}

TEST_F(EfaEngineTest, HostileRingIndicesHurtOnlyTheirOwner) {
  Proc& a = open(1);
  Proc& b = open(2);
  Proc& c = open(2);
  Qp qa = qp(a), qb = qp(b), qc = qp(c);
  // b claims to have produced more SQ entries than its ring holds.
  venic_ring* bsq = b.ring(b.regs()->qp[qb.index].sq_off);
  __atomic_store_n(&bsq->prod, 100000u, __ATOMIC_RELEASE);
  // ... and posts a receive buffer outside its slots, then a good one.
  post_recv(b, qb, VENIC_EFA_RQ_DEPTH + 5, 1);
  post_recv(b, qb, 3, 2);
  post_send(a, qa, send_to(b, qb, 8, 10), "01234567");
  engine_.poll();
  auto rx = poll_cq(b, qb);
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].slot, 3u) << "the out-of-range buffer was used";
  EXPECT_EQ(rx[0].wr_id, 2u);
  // c's CQ consumer index runs ahead of what the daemon produced: c's CQ is
  // treated as full (nothing overwritten), and a's send waits (RNR-like)
  // without disturbing anyone else.
  venic_ring* ccq = c.ring(c.regs()->cq_off[qc.cq]);
  __atomic_store_n(&ccq->cons, 5000u, __ATOMIC_RELEASE);
  post_recv(c, qc, 0, 1);
  Qp qa2 = qp(a);
  post_send(a, qa2, send_to(c, qc, 8, 11), "abcdefgh");
  post_recv(b, qb, 4, 3);
  post_send(a, qa, send_to(b, qb, 8, 12), "ABCDEFGH");
  for (int i = 0; i < 5; i++) engine_.poll();
  EXPECT_TRUE(poll_cq(a, qa2).empty());
  EXPECT_EQ(poll_cq(b, qb).size(), 1u) << "b's traffic stopped because of c";
  EXPECT_EQ(poll_cq(a, qa).size(), 2u);
}

TEST_F(EfaEngineTest, ReorderHookDeliversEverythingButNotInOrder) {
  Proc& a = open(1);
  Proc& b = open(2);
  Qp qa = qp(a), qb = qp(b);
  std::vector<int> fds;
  engine_.call("hooks", {{"reorder", true}, {"reorder_percent", 100}, {"delay_us", 0}}, 99, ::getpid(), 0, fds);
  constexpr uint32_t kMsgs = 64;
  for (uint32_t i = 0; i < kMsgs; i++) post_recv(b, qb, i, i);
  for (uint32_t i = 0; i < kMsgs; i++) post_send(a, qa, send_to(b, qb, 4, i), &i);
  for (int i = 0; i < 20; i++) engine_.poll();
  auto rx = poll_cq(b, qb);
  ASSERT_EQ(rx.size(), kMsgs);
  std::vector<uint32_t> order;
  for (auto& e : rx) {
    uint32_t v;
    std::memcpy(&v, rq_slot(b, qb, e.slot), 4);
    order.push_back(v);
  }
  EXPECT_FALSE(std::is_sorted(order.begin(), order.end()));
  std::sort(order.begin(), order.end());
  for (uint32_t i = 0; i < kMsgs; i++) EXPECT_EQ(order[i], i);
  EXPECT_EQ(poll_cq(a, qa).size(), kMsgs);
  EXPECT_EQ(engine_.vf_stats(1)["reordered"], kMsgs);
}

TEST_F(EfaEngineTest, ADeadProcessIsReclaimedAndItsPeersSeeItGone) {
  Proc& a = open(1);
  Proc& b = open(2);
  Qp qa = qp(a), qb = qp(b);
  EXPECT_EQ(engine_.contexts(), 2u);
  engine_.close_session(b.session);
  EXPECT_EQ(engine_.contexts(), 1u);
  post_send(a, qa, send_to(b, qb, 8, 1));
  engine_.poll();
  auto tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_UNREACHABLE);
  // A second process on the same device gets a new QP number.
  Proc& b2 = open(2);
  Qp qb2 = qp(b2);
  EXPECT_NE(qb2.qpn, qb.qpn);
}

TEST_F(EfaEngineTest, AContextAnswersOnlyItsOwnConnection) {
  Proc& a = open(1);
  std::vector<int> fds;
  try {
    engine_.call("create_cq", {{"ctx", a.ctx}}, a.session + 100, ::getpid(), 0, fds);
    FAIL() << "another connection used the context";
  } catch (const vf::TableError& e) {
    EXPECT_EQ(e.code, "permission_denied");
  }
  try {
    engine_.call("open", {{"vf", 200}}, 5, ::getpid(), 0, fds);
    FAIL();
  } catch (const vf::TableError& e) {
    EXPECT_EQ(e.code, "not_found");
  }
}

}  // namespace
}  // namespace venic::efa
