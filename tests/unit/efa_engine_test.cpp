// The EFA device emulation driven directly: contexts, queue pairs, SENDs,
// RNR, RDMA, policy, the reorder hook and reclaiming a dead process's
// context.  The test is both "processes" and the poller.
#include "efa_engine.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
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

  Qp qp(Proc& p, const char* type = "srd") {
    Qp q;
    q.cq = call(p, "create_cq", json::object())["cq"];
    json r = call(p, "create_qp", {{"type", type}, {"send_cq", q.cq}, {"recv_cq", q.cq}});
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
  // `local` (registered at a with every access), to b's QP qb.
  venic_efa_wqe read_wqe(Proc& a, Proc& b, const Qp& qb, std::vector<uint8_t>& local, std::vector<uint8_t>& remote,
                         uint64_t wr_id) {
    json lm =
        call(a, "reg_mr", {{"va", reinterpret_cast<uint64_t>(local.data())}, {"len", local.size()}, {"access", 7}});
    json rm = call(b, "reg_mr",
                   {{"va", reinterpret_cast<uint64_t>(remote.data())},
                    {"len", remote.size()},
                    {"access", VENIC_EFA_ACCESS_REMOTE_READ}});
    venic_efa_wqe rd = send_to(b, qb, static_cast<uint32_t>(remote.size()), wr_id);
    rd.opcode = VENIC_EFA_OP_RDMA_READ;
    rd.lkey = lm["lkey"];
    rd.laddr = reinterpret_cast<uint64_t>(local.data());
    rd.rkey = rm["rkey"];
    rd.raddr = reinterpret_cast<uint64_t>(remote.data());
    return rd;
  }

  // Opens a context for process pid on VF 2 (as if it had connected on
  // `session`), registers [dst, dst + len) there for remote writes, and has
  // a's new QP RDMA-write src into it; returns the write's completion status.
  // between(): runs once the context is open, before the write.
  int write_into(
      Proc& a, pid_t pid, uint64_t session, const std::vector<uint8_t>& src, uint8_t* dst,
      const std::function<void()>& between = [] {}) {
    std::vector<int> fds;
    json r = engine_.call("open", {{"vf", 2}}, session, pid, 0, fds);
    Proc b;
    b.session = session;
    b.ctx = r["ctx"];
    b.vf = 2;
    Qp qa = qp(a);
    json cq = call(b, "create_cq", json::object());
    json bq = call(b, "create_qp", {{"type", "srd"}, {"send_cq", cq["cq"]}, {"recv_cq", cq["cq"]}});
    json lm = call(a, "reg_mr", {{"va", reinterpret_cast<uint64_t>(src.data())}, {"len", src.size()}, {"access", 0}});
    json rm =
        call(b, "reg_mr",
             {{"va", reinterpret_cast<uint64_t>(dst)}, {"len", src.size()}, {"access", VENIC_EFA_ACCESS_REMOTE_WRITE}});
    venic_efa_wqe wr{};
    wr.opcode = VENIC_EFA_OP_RDMA_WRITE;
    wr.dest_ah = 2;
    wr.dest_qpn = bq["qpn"];
    wr.qkey = bq["qkey"];
    wr.length = static_cast<uint32_t>(src.size());
    wr.lkey = lm["lkey"];
    wr.laddr = reinterpret_cast<uint64_t>(src.data());
    wr.rkey = rm["rkey"];
    wr.raddr = reinterpret_cast<uint64_t>(dst);
    between();
    post_send(a, qa, wr);
    engine_.poll();
    auto tx = poll_cq(a, qa);
    engine_.close_session(session);
    return tx.size() == 1 ? tx[0].status : -1;
  }

  NullPublisher pub_;
  vf::VfTable table_{pub_, nullptr};
  EfaEngine engine_{nullptr};
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
  std::vector<uint8_t> local(1 << 20), remote(1 << 20);
  for (size_t i = 0; i < remote.size(); i++) remote[i] = static_cast<uint8_t>(i * 7);
  venic_efa_wqe rd = read_wqe(a, b, qb, local, remote, 11);
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
  EXPECT_EQ(local, remote);
  EXPECT_EQ(tx[1].status, VENIC_EFA_WC_REMOTE_ACCESS);
  EXPECT_EQ(tx[2].status, VENIC_EFA_WC_REMOTE_ACCESS);
  EXPECT_EQ(engine_.vf_stats(1)["rdma_read_bytes"], remote.size());
}

TEST_F(EfaEngineTest, AStagedReadLandsInTheStagingAreaNotTheBuffer) {
  Proc& a = open(1);
  Proc& b = open(2);
  Qp qa = qp(a), qb = qp(b);
  ASSERT_GE(a.regs()->abi_minor, 1);
  const uint32_t area = a.regs()->stage_qp_bytes;
  ASSERT_GE(area, 1u << 20);
  std::vector<uint8_t> local(256 << 10, 0), remote(256 << 10);
  for (size_t i = 0; i < remote.size(); i++) remote[i] = static_cast<uint8_t>(i * 13 + 1);
  venic_efa_wqe rd = read_wqe(a, b, qb, local, remote, 21);
  rd.flags = VENIC_EFA_WQE_F_STAGED;
  rd.stage_off = 64 << 10;
  post_send(a, qa, rd);
  // Past the end of the area by one byte: malformed.
  venic_efa_wqe past = rd;
  past.wr_id = 22;
  past.stage_off = area - remote.size() + 1;
  post_send(a, qa, past);
  // The final buffer is still checked: a bad lkey fails as unstaged.
  venic_efa_wqe badkey = rd;
  badkey.wr_id = 23;
  badkey.lkey += 1000;
  post_send(a, qa, badkey);
  engine_.poll();
  auto tx = poll_cq(a, qa);
  ASSERT_EQ(tx.size(), 3u);
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_SUCCESS);
  EXPECT_EQ(tx[0].flags & VENIC_EFA_CQE_F_STAGED, VENIC_EFA_CQE_F_STAGED);
  EXPECT_EQ(tx[0].slot, 64u << 10);
  const uint8_t* stage = a.base + a.regs()->stage_off + uint64_t(qa.index) * area;
  EXPECT_EQ(std::memcmp(stage + (64 << 10), remote.data(), remote.size()), 0);
  EXPECT_EQ(local, std::vector<uint8_t>(local.size(), 0));  // the driver's copy, not the daemon's
  EXPECT_EQ(tx[1].status, VENIC_EFA_WC_BAD_WQE);
  EXPECT_EQ(tx[2].status, VENIC_EFA_WC_LOCAL_PROT);
  EXPECT_EQ(engine_.vf_stats(1)["rdma_read_bytes"], remote.size());
}

TEST_F(EfaEngineTest, ALargeWriteMovesAChunkPerPollAndOtherQueuesKeepGoing) {
  Proc& a = open(1);
  Proc& b = open(2);
  Qp big = qp(a), small = qp(a), qb = qp(b);
  std::vector<uint8_t> src(3u << 20), dst(3u << 20, 0);
  for (size_t i = 0; i < src.size(); i++) src[i] = static_cast<uint8_t>(i * 13 + 5);
  json lm = call(a, "reg_mr", {{"va", reinterpret_cast<uint64_t>(src.data())}, {"len", src.size()}, {"access", 0}});
  json rm = call(
      b, "reg_mr",
      {{"va", reinterpret_cast<uint64_t>(dst.data())}, {"len", dst.size()}, {"access", VENIC_EFA_ACCESS_REMOTE_WRITE}});
  venic_efa_wqe wr = send_to(b, qb, static_cast<uint32_t>(src.size()), 21);
  wr.opcode = VENIC_EFA_OP_RDMA_WRITE;
  wr.lkey = lm["lkey"];
  wr.laddr = reinterpret_cast<uint64_t>(src.data());
  wr.rkey = rm["rkey"];
  wr.raddr = reinterpret_cast<uint64_t>(dst.data());
  post_send(a, big, wr);
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
  EXPECT_EQ(dst, src);
  EXPECT_EQ(engine_.vf_stats(1)["rdma_write_bytes"], src.size());
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
  std::vector<uint8_t> src(1u << 20, 0x42), dst(1u << 20, 0);
  json lm = call(a, "reg_mr", {{"va", reinterpret_cast<uint64_t>(src.data())}, {"len", src.size()}, {"access", 0}});
  json rm = call(
      b, "reg_mr",
      {{"va", reinterpret_cast<uint64_t>(dst.data())}, {"len", dst.size()}, {"access", VENIC_EFA_ACCESS_REMOTE_WRITE}});
  venic_efa_wqe wr = send_to(b, qb, static_cast<uint32_t>(src.size()), 31);
  wr.opcode = VENIC_EFA_OP_RDMA_WRITE;
  wr.lkey = lm["lkey"];
  wr.laddr = reinterpret_cast<uint64_t>(src.data());
  wr.rkey = rm["rkey"];
  wr.raddr = reinterpret_cast<uint64_t>(dst.data());
  post_send(a, qa, wr);
  const auto start = std::chrono::steady_clock::now();
  std::vector<venic_efa_cqe> tx;
  while (tx.empty() && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    engine_.poll();
    tx = poll_cq(a, qa);
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(tx.size(), 1u) << "a transfer larger than the bucket never conformed";
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_SUCCESS);
  EXPECT_EQ(dst, src);
  // 1 MiB at 10 MB/s less the 100 kB burst: about 95 ms; far from instant.
  EXPECT_GT(ms, 50.0);
  EXPECT_GT(engine_.vf_stats(4)["bw_out_allowance_exceeded"], 0);
}

// A child process: its buffer (the same address as the parent's copy, after
// fork) waits for the test to write into it, then checks what it holds.
struct Child {
  pid_t pid = -1;
  int go = -1, ready = -1;
};

Child spawn_child(uint8_t* buf, size_t len, uint8_t expect, bool exec_after_ready) {
  int to_child[2], to_parent[2];
  EXPECT_EQ(::pipe(to_child), 0);
  EXPECT_EQ(::pipe(to_parent), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    char c = 'r';
    if (::write(to_parent[1], &c, 1) != 1) ::_exit(3);
    if (::read(to_child[0], &c, 1) != 1) ::_exit(3);
    if (exec_after_ready) {
      ::execl("/bin/sleep", "sleep", "5", static_cast<char*>(nullptr));
      ::_exit(4);
    }
    for (size_t i = 0; i < len; i++)
      if (buf[i] != expect) ::_exit(1);
    ::_exit(0);
  }
  ::close(to_child[0]);
  ::close(to_parent[1]);
  char c;
  EXPECT_EQ(::read(to_parent[0], &c, 1), 1);
  return {pid, to_child[1], to_parent[0]};
}

TEST_F(EfaEngineTest, RdmaReachesTheProcessThatOpenedTheContextAndNoOther) {
  Proc& a = open(1);
  std::vector<uint8_t> src(64 << 10, 0x5c), buf(64 << 10, 0x11);
  Child child = spawn_child(buf.data(), buf.size(), 0x5c, false);
  ASSERT_GT(child.pid, 0);
  EXPECT_EQ(write_into(a, child.pid, 77, src, buf.data()), VENIC_EFA_WC_SUCCESS);
  char c = 'g';
  EXPECT_EQ(::write(child.go, &c, 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child's buffer did not receive the write";
  EXPECT_EQ(buf[0], 0x11) << "the write landed in the parent, at the child's address";
  ::close(child.go), ::close(child.ready);
}

TEST_F(EfaEngineTest, AfterExecTheOldRegistrationsReachNothing) {
  Proc& a = open(1);
  std::vector<uint8_t> src(4096, 0x5c), buf(4096, 0x11);
  Child child = spawn_child(buf.data(), buf.size(), 0, true);
  ASSERT_GT(child.pid, 0);
  // The context is the child's as it was; then it execs /bin/sleep.
  auto exec_child = [&] {
    char c = 'g';
    EXPECT_EQ(::write(child.go, &c, 1), 1);
    char exe[256] = {};
    for (int i = 0; i < 200; i++) {
      ssize_t n = ::readlink(("/proc/" + std::to_string(child.pid) + "/exe").c_str(), exe, sizeof(exe) - 1);
      if (n > 0 && std::string(exe, n).find("sleep") != std::string::npos) break;
      ::usleep(10000);
    }
  };
  EXPECT_EQ(write_into(a, child.pid, 78, src, buf.data(), exec_child), VENIC_EFA_WC_REMOTE_ABORT)
      << "a write reached the program the process exec'd";
  ::kill(child.pid, SIGKILL);
  ::waitpid(child.pid, nullptr, 0);
  ::close(child.go), ::close(child.ready);
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
