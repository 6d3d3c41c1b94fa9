// Two EFA engines, two "hosts" in one process, joined by a test EfaLink that
// can lose and duplicate frames: a SEND to an EFA ENI of the other host is
// placed once, completes once, names its sender as the receiver's address
// handle for it; wrong keys, another subnet and RDMA fail cleanly.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "efa_engine.h"
#include "vf_table.h"

namespace venic::efa {
namespace {

using nlohmann::json;

class NullPublisher : public vf::Publisher {
 public:
  void publish(const vf::VfTable&) override {}
};

// Frames one engine sent, for the other: lost or duplicated at random.
struct TestLink : EfaLink {
  std::deque<std::vector<uint8_t>> q;
  std::mt19937 rng{42};
  double loss = 0, dup = 0;
  bool reorder = false;  // what one pump carries arrives shuffled
  bool send(const uint8_t* f, uint32_t n) override {
    std::uniform_real_distribution<double> u(0, 1);
    if (u(rng) < loss) return true;
    q.emplace_back(f, f + n);
    if (u(rng) < dup) q.emplace_back(f, f + n);
    return true;
  }
};

struct Proc {
  uint64_t session = 0;
  uint32_t ctx = 0;
  uint8_t* base = nullptr;
  size_t size = 0;
  std::string gid;
  const venic_efa_regs* regs() const { return reinterpret_cast<const venic_efa_regs*>(base); }
  venic_ring* ring(uint64_t off) const { return reinterpret_cast<venic_ring*>(base + off); }
  template <typename T>
  T* entries(uint64_t off) const {
    return reinterpret_cast<T*>(base + off + VENIC_RING_HDR_SIZE);
  }
};

struct Qp {
  uint32_t index = 0, cq = 0, qkey = 0;
  uint16_t qpn = 0;
};

// One host: its VF table (one EFA ENI, the other host's as remote) and engine.
struct Host {
  NullPublisher pub;
  vf::VfTable table{pub, nullptr};
  EfaEngine engine{[] {}};
  TestLink out;
  std::vector<std::unique_ptr<Proc>> procs;
  uint64_t next_session = 1;

  ~Host() {
    for (auto& p : procs) ::munmap(p->base, p->size);
  }
  void setup(uint8_t me, const char* ip, uint8_t peer, uint32_t peer_ip, uint32_t peer_subnet) {
    char mac[32];
    std::snprintf(mac, sizeof(mac), "02:00:00:00:00:%02x", me);
    table.create(vf::config_from_json({{"id", 1},
                                       {"type", "efa"},
                                       {"mac", mac},
                                       {"ip", ip},
                                       {"prefix", 24},
                                       {"vpc_id", "vpc-1"},
                                       {"eni_id", std::string("eni-") + std::to_string(me)}},
                                      true),
                 true);
    vf::Network n;
    vf::RemoteEni r;
    r.eni_id = "eni-" + std::to_string(peer);
    r.vpc_id = "vpc-1";
    r.host = "other";
    r.mac = {0x02, 0, 0, 0, 0, peer};
    r.ip = peer_ip;
    r.subnet_addr = peer_subnet;
    r.prefix = 24;
    r.efa = true;
    n.remote.push_back(r);
    table.set_network(n);
    srd::SrdConfig cfg;
    cfg.rto_min = std::chrono::microseconds(500);
    engine.set_link(&out, cfg);
    engine.on_table(table);
  }
  json call(Proc& p, const std::string& m, json params) {
    std::vector<int> fds;
    params["ctx"] = p.ctx;
    return engine.call(m, params, p.session, ::getpid(), 0, fds);
  }
  Proc& open() {
    auto p = std::make_unique<Proc>();
    p->session = next_session++;
    std::vector<int> fds;
    json r = engine.call("open", {{"vf", 1}}, p->session, ::getpid(), 0, fds);
    p->ctx = r["ctx"];
    p->size = r["region_size"];
    p->gid = r["gid"];
    p->base = static_cast<uint8_t*>(::mmap(nullptr, p->size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0));
    ::close(fds[0]);
    procs.push_back(std::move(p));
    return *procs.back();
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
  // False when the SQ is full.
  bool post_send(Proc& p, const Qp& q, const venic_efa_wqe& w, const void* data) {
    venic_ring* sq = p.ring(p.regs()->qp[q.index].sq_off);
    if (sq->prod - __atomic_load_n(&sq->cons, __ATOMIC_ACQUIRE) >= VENIC_EFA_SQ_DEPTH) return false;
    auto* e = p.entries<venic_efa_wqe>(p.regs()->qp[q.index].sq_off);
    const uint32_t idx = sq->prod & (VENIC_EFA_SQ_DEPTH - 1);
    if (data && w.length)
      std::memcpy(p.base + p.regs()->qp[q.index].sq_buf_off + uint64_t(idx) * VENIC_EFA_MTU, data, w.length);
    e[idx] = w;
    __atomic_store_n(&sq->prod, sq->prod + 1, __ATOMIC_RELEASE);
    return true;
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
};

std::vector<uint8_t> pattern(uint32_t id, uint32_t len) {
  std::vector<uint8_t> v(len);
  for (uint32_t i = 0; i < len; i++) v[i] = static_cast<uint8_t>(id * 13 + i * 5 + (i >> 9));
  return v;
}

class EfaRemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // 10.0.0.0/24 on both hosts, host order.
    a_.setup(0xa, "10.0.0.10", 0xb, 0x0a00000b, 0x0a000000);
    b_.setup(0xb, "10.0.0.11", 0xa, 0x0a00000a, 0x0a000000);
  }
  // Both pollers, and the link both ways.
  void pump(int rounds = 1) {
    for (int i = 0; i < rounds; i++) {
      a_.engine.poll();
      b_.engine.poll();
      for (TestLink* l : {&a_.out, &b_.out})
        if (l->reorder) std::shuffle(l->q.begin(), l->q.end(), l->rng);
      while (!a_.out.q.empty()) {
        auto f = std::move(a_.out.q.front());
        a_.out.q.pop_front();
        b_.engine.receive(f.data(), static_cast<uint32_t>(f.size()));
      }
      while (!b_.out.q.empty()) {
        auto f = std::move(b_.out.q.front());
        b_.out.q.pop_front();
        a_.engine.receive(f.data(), static_cast<uint32_t>(f.size()));
      }
    }
  }
  static venic_efa_wqe send_to(uint16_t ah, const Qp& q, uint32_t len, uint64_t wr_id) {
    venic_efa_wqe w{};
    w.wr_id = wr_id;
    w.opcode = VENIC_EFA_OP_SEND;
    w.dest_ah = ah;
    w.dest_qpn = q.qpn;
    w.qkey = q.qkey;
    w.length = len;
    return w;
  }

  Host a_, b_;
};

TEST_F(EfaRemoteTest, ASendCrossesHostsAndCompletesOnceOnBothSides) {
  Proc& pa = a_.open();
  Proc& pb = b_.open();
  Qp qa = a_.qp(pa), qb = b_.qp(pb);
  json ah = a_.call(pa, "create_ah", {{"gid", pb.gid}});
  EXPECT_GE(ah["ah"].get<int>(), VENIC_MAX_VFS);
  EXPECT_EQ(ah["remote"], true);
  const uint16_t back = b_.call(pb, "create_ah", {{"gid", pa.gid}})["ah"];
  b_.post_recv(pb, qb, 3, 0xb0b);
  const auto msg = pattern(1, VENIC_EFA_MTU);  // two frames of the default 8 KiB
  venic_efa_wqe w = send_to(ah["ah"], qb, VENIC_EFA_MTU, 0xa11);
  w.opcode = VENIC_EFA_OP_SEND_IMM;
  w.imm = 0x1234;
  ASSERT_TRUE(a_.post_send(pa, qa, w, msg.data()));
  pump(20);
  auto rx = b_.poll_cq(pb, qb);
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].opcode, VENIC_EFA_WC_RECV);
  EXPECT_EQ(rx[0].status, VENIC_EFA_WC_SUCCESS);
  EXPECT_EQ(rx[0].wr_id, 0xb0bu);
  EXPECT_EQ(rx[0].byte_len, VENIC_EFA_MTU);
  EXPECT_EQ(rx[0].imm, 0x1234u);
  EXPECT_EQ(rx[0].src_ah, back) << "the sender is named as the receiver's address handle for it";
  EXPECT_EQ(rx[0].src_qpn, qa.qpn);
  EXPECT_EQ(std::memcmp(b_.rq_slot(pb, qb, 3), msg.data(), msg.size()), 0);
  auto tx = a_.poll_cq(pa, qa);
  ASSERT_EQ(tx.size(), 1u);
  EXPECT_EQ(tx[0].opcode, VENIC_EFA_WC_SEND);
  EXPECT_EQ(tx[0].status, VENIC_EFA_WC_SUCCESS);
  EXPECT_EQ(tx[0].wr_id, 0xa11u);
  EXPECT_EQ(a_.engine.vf_stats(1)["tx_msgs"], 1);
  EXPECT_EQ(b_.engine.vf_stats(1)["rx_bytes"], VENIC_EFA_MTU);
  EXPECT_GE(a_.engine.srd_stats()["tx_packets"].get<int>(), 2);
}

TEST_F(EfaRemoteTest, EveryMessageOnceOverALossyLinkAndAReceiverShortOfBuffers) {
  Proc& pa = a_.open();
  Proc& pb = b_.open();
  Qp qa = a_.qp(pa), qb = b_.qp(pb);
  const uint16_t ah = a_.call(pa, "create_ah", {{"gid", pb.gid}})["ah"];
  a_.out.loss = b_.out.loss = 0.02;
  a_.out.dup = b_.out.dup = 0.01;
  a_.out.reorder = b_.out.reorder = true;
  constexpr uint32_t kMsgs = 600;
  std::mt19937 sizes(3);
  uint32_t sent = 0, posted = 0;
  std::map<uint64_t, int> tx_done, rx_done;
  uint64_t corrupt = 0, failed = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((tx_done.size() < kMsgs || rx_done.size() < kMsgs) && std::chrono::steady_clock::now() < deadline) {
    // Buffers trickle in (RNR), ids in the imm.
    const venic_ring* rq = pb.ring(pb.regs()->qp[qb.index].rq_off);
    for (int k = 0;
         k < 2 && posted < kMsgs && posted - __atomic_load_n(&rq->cons, __ATOMIC_ACQUIRE) < VENIC_EFA_RQ_DEPTH;
         k++, posted++)
      b_.post_recv(pb, qb, posted % VENIC_EFA_RQ_DEPTH, posted);
    for (int k = 0; k < 8 && sent < kMsgs; k++) {
      const uint32_t len = sizes() % (VENIC_EFA_MTU + 1);
      venic_efa_wqe w = send_to(ah, qb, len, sent);
      w.opcode = VENIC_EFA_OP_SEND_IMM;
      w.imm = sent;
      if (!a_.post_send(pa, qa, w, pattern(sent, len).data())) break;
      sent++;
    }
    pump();
    for (auto& c : a_.poll_cq(pa, qa)) {
      tx_done[c.wr_id]++;
      failed += c.status != VENIC_EFA_WC_SUCCESS;
    }
    for (auto& c : b_.poll_cq(pb, qb)) {
      rx_done[c.imm]++;
      if (std::memcmp(b_.rq_slot(pb, qb, c.slot), pattern(c.imm, c.byte_len).data(), c.byte_len) != 0) corrupt++;
    }
  }
  EXPECT_EQ(tx_done.size(), kMsgs);
  EXPECT_EQ(rx_done.size(), kMsgs);
  for (auto& [id, n] : tx_done) EXPECT_EQ(n, 1) << "send " << id;
  for (auto& [id, n] : rx_done) EXPECT_EQ(n, 1) << "message " << id;
  EXPECT_EQ(corrupt, 0u);
  EXPECT_EQ(failed, 0u);
  EXPECT_GT(a_.engine.srd_stats()["retransmits"].get<int>(), 0);
  EXPECT_GT(a_.engine.vf_stats(1)["rnr_retries"].get<int>(), 0);
}

TEST_F(EfaRemoteTest, WrongKeysRdmaAndAnotherSubnetFailCleanly) {
  Proc& pa = a_.open();
  Proc& pb = b_.open();
  Qp qa = a_.qp(pa), qb = b_.qp(pb);
  const uint16_t ah = a_.call(pa, "create_ah", {{"gid", pb.gid}})["ah"];
  b_.post_recv(pb, qb, 0, 1);
  venic_efa_wqe w = send_to(ah, qb, 64, 7);
  w.qkey ^= 1;
  const auto msg = pattern(7, 64);
  ASSERT_TRUE(a_.post_send(pa, qa, w, msg.data()));
  venic_efa_wqe rd = send_to(ah, qb, 64, 8);
  rd.opcode = VENIC_EFA_OP_RDMA_READ;
  ASSERT_TRUE(a_.post_send(pa, qa, rd, nullptr));
  venic_efa_wqe nowhere = send_to(VENIC_MAX_VFS + 77, qb, 64, 9);  // no such peer
  ASSERT_TRUE(a_.post_send(pa, qa, nowhere, msg.data()));
  pump(20);
  std::map<uint64_t, uint8_t> st;
  for (auto& c : a_.poll_cq(pa, qa)) st[c.wr_id] = c.status;
  EXPECT_EQ(st[7], VENIC_EFA_WC_UNREACHABLE);
  EXPECT_EQ(st[8], VENIC_EFA_WC_UNREACHABLE) << "RDMA across hosts is not carried";
  EXPECT_EQ(st[9], VENIC_EFA_WC_UNREACHABLE);
  EXPECT_TRUE(b_.poll_cq(pb, qb).empty());
  EXPECT_EQ(b_.engine.vf_stats(1)["bad_keys_in"], 1);

  // The other host's ENI moves to another subnet: no address handle.
  vf::Network n = *a_.table.network();
  n.remote[0].subnet_addr = 0x0a000100;
  a_.table.set_network(n);
  a_.engine.on_table(a_.table);
  EXPECT_THROW(a_.call(pa, "create_ah", {{"gid", pb.gid}}), vf::TableError);
}

TEST_F(EfaRemoteTest, HostileFramesNeverReachAQueue) {
  Proc& pb = b_.open();
  Qp qb = b_.qp(pb);
  b_.post_recv(pb, qb, 0, 1);
  std::mt19937 rng(9);
  for (int i = 0; i < 5000; i++) {
    std::vector<uint8_t> f(rng() % 9000);
    for (auto& x : f) x = static_cast<uint8_t>(rng());
    if (f.size() > 15) f[12] = 0x88, f[13] = 0xb5, f[14] = 1;
    b_.engine.receive(f.data(), static_cast<uint32_t>(f.size()));
  }
  pump(5);
  EXPECT_TRUE(b_.poll_cq(pb, qb).empty());
  EXPECT_GT(b_.engine.srd_stats()["bad_frames"].get<int>(), 4000);
}

TEST_F(EfaRemoteTest, AnAddressHandleStaysWithItsEniWhileOthersComeAndGo) {
  Proc& pa = a_.open();
  Proc& pb = b_.open();
  const uint16_t ah = a_.call(pa, "create_ah", {{"gid", pb.gid}})["ah"];
  vf::Network n = *a_.table.network();
  vf::RemoteEni other = n.remote[0];
  other.eni_id = "eni-c";
  other.mac[5] = 0xc;
  n.remote.insert(n.remote.begin(), other);  // listed first now
  a_.table.set_network(n);
  a_.engine.on_table(a_.table);
  EXPECT_EQ(a_.call(pa, "create_ah", {{"gid", pb.gid}})["ah"], ah);
  n.remote.pop_back();  // b's ENI leaves: its handle names nothing
  a_.table.set_network(n);
  a_.engine.on_table(a_.table);
  EXPECT_THROW(a_.call(pa, "create_ah", {{"gid", pb.gid}}), vf::TableError);
}

}  // namespace
}  // namespace venic::efa
