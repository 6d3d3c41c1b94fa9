// The EFA engine's work-request validation: arbitrary SQ entries from a
// hostile process A against a peer B (same subnet), driven through the
// engine's public API as venicd drives it (efa.* calls, poll()).  B has a
// memory object and an assisted (private) registration; its "driver"
// serves assists.  Invariants: nothing crashes or touches memory outside
// what was registered (ASan), every assist asks for a range inside B's
// registration with the access B granted, and the SQ never runs backwards.
//
// Input: one hint byte per WQE, then the WQE's 64 bytes.  Hint bits make
// some fields valid (B's QP and qkey, a real rkey/lkey, an address inside
// the registration) so the fuzzer reaches the transfer paths, not only the
// key checks.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "efa_engine.h"
#include "fuzz_check.h"
#include "vf_table.h"

using nlohmann::json;
using venic::fuzz::require;

namespace {

class NullPublisher : public venic::vf::Publisher {
 public:
  void publish(const venic::vf::VfTable&) override {}
};

constexpr size_t kMem = 64 << 10;
constexpr uint32_t kPolls = 64;

struct Side {
  uint64_t session = 0;
  uint32_t ctx = 0;
  uint8_t* base = nullptr;
  size_t size = 0;
  uint32_t qp = 0, cq = 0, qkey = 0;
  uint16_t qpn = 0;
  const venic_efa_regs* regs() const { return reinterpret_cast<const venic_efa_regs*>(base); }
};

struct Mem {
  int fd = -1;
  uint8_t* p = nullptr;
  Mem() {
    fd = ::memfd_create("efa-fuzz", MFD_CLOEXEC);
    require(fd >= 0 && ::ftruncate(fd, kMem) == 0, "memfd");
    p = static_cast<uint8_t*>(::mmap(nullptr, kMem, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    require(p != MAP_FAILED, "mmap");
  }
  ~Mem() {
    ::munmap(p, kMem);
    ::close(fd);
  }
};

struct World {
  NullPublisher pub;
  venic::vf::VfTable table{pub, nullptr};
  venic::efa::EfaEngine engine{nullptr};
  Side a, b;
  Mem a_obj, b_obj;
  std::vector<uint8_t> a_priv = std::vector<uint8_t>(kMem), b_priv = std::vector<uint8_t>(kMem);
  uint32_t a_keys[2] = {}, b_keys[2] = {};

  World() {
    for (int id : {1, 2}) {
      char mac[32];
      std::snprintf(mac, sizeof(mac), "02:00:00:00:00:%02x", id);
      table.create(venic::vf::config_from_json(
                       {{"id", id}, {"type", "efa"}, {"mac", mac}, {"ip", "10.0.0." + std::to_string(id)}}, true),
                   true);
    }
    engine.on_table(table);
    open(a, 1, 1);
    open(b, 2, 2);
    a_keys[0] = reg(a, &a_obj, a_obj.p, 7);
    a_keys[1] = reg(a, nullptr, a_priv.data(), 7);
    b_keys[0] = reg(b, &b_obj, b_obj.p, VENIC_EFA_ACCESS_REMOTE_READ | VENIC_EFA_ACCESS_REMOTE_WRITE);
    b_keys[1] = reg(b, nullptr, b_priv.data(), VENIC_EFA_ACCESS_REMOTE_READ);  // no remote write
  }
  ~World() {
    engine.close_session(a.session);
    engine.close_session(b.session);
    for (Side* s : {&a, &b}) ::munmap(s->base, s->size);
  }
  json call(Side& s, const char* m, json p) {
    std::vector<int> fds;
    p["ctx"] = s.ctx;
    return engine.call(m, p, s.session, ::getpid(), 0, fds);
  }
  void open(Side& s, uint16_t vf, uint64_t session) {
    std::vector<int> fds;
    json r = engine.call("open", {{"vf", vf}}, session, ::getpid(), 0, fds);
    require(fds.size() == 1, "open: one region fd");
    s.session = session;
    s.ctx = r["ctx"];
    s.size = r["region_size"];
    s.base = static_cast<uint8_t*>(::mmap(nullptr, s.size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0));
    ::close(fds[0]);
    s.cq = call(s, "create_cq", json::object())["cq"];
    json q = call(s, "create_qp", {{"type", "srd"}, {"send_cq", s.cq}, {"recv_cq", s.cq}});
    s.qp = q["qp"], s.qpn = q["qpn"], s.qkey = q["qkey"];
  }
  uint32_t reg(Side& s, Mem* obj, uint8_t* va, uint32_t access) {
    std::vector<int> out;
    std::vector<venic::UniqueFd> in;
    json p = {{"ctx", s.ctx}, {"va", reinterpret_cast<uint64_t>(va)}, {"len", kMem}, {"access", access}};
    if (obj) in.emplace_back(::dup(obj->fd)), p["offset"] = 0;
    return engine.call("reg_mr", p, s.session, ::getpid(), 0, out, 0, &in)["rkey"];
  }
  venic_ring* ring(Side& s, uint64_t off) { return reinterpret_cast<venic_ring*>(s.base + off); }

  // B's driver: serves assists on its private registration (remote read only).
  void serve_b() {
    auto* slots = reinterpret_cast<venic_efa_assist*>(b.base + b.regs()->assist_off);
    for (uint32_t i = 0; i < b.regs()->assist_slots; i++) {
      venic_efa_assist* h = &slots[i];
      const uint32_t seq = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
      if (seq == h->done) continue;
      const uint64_t lo = reinterpret_cast<uint64_t>(b_priv.data());
      require(h->rkey == b_keys[1], "assist names a registration that is not assisted");
      require(h->op == VENIC_EFA_ASSIST_READ, "assist writes a registration without remote write");
      require(h->len <= VENIC_EFA_ASSIST_BYTES && h->addr >= lo && h->addr - lo + h->len <= kMem,
              "assist outside the registration");
      std::memcpy(b.base + b.regs()->assist_buf_off + uint64_t(i) * b.regs()->assist_bytes,
                  b_priv.data() + (h->addr - lo), h->len);
      h->status = VENIC_EFA_WC_SUCCESS;
      __atomic_store_n(&h->done, seq, __ATOMIC_RELEASE);
    }
  }
  void drain(Side& s) {
    venic_ring* cq = ring(s, s.regs()->cq_off[s.cq]);
    __atomic_store_n(&cq->cons, __atomic_load_n(&cq->prod, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
  }
  void post_recvs(Side& s, uint32_t n) {
    venic_ring* rq = ring(s, s.regs()->qp[s.qp].rq_off);
    auto* e = reinterpret_cast<venic_efa_rwqe*>(s.base + s.regs()->qp[s.qp].rq_off + VENIC_RING_HDR_SIZE);
    for (uint32_t i = 0; i < n && rq->prod - __atomic_load_n(&rq->cons, __ATOMIC_ACQUIRE) < VENIC_EFA_RQ_DEPTH; i++) {
      e[rq->prod & (VENIC_EFA_RQ_DEPTH - 1)] = {i, i % VENIC_EFA_RQ_DEPTH, 0};
      __atomic_store_n(&rq->prod, rq->prod + 1, __ATOMIC_RELEASE);
    }
  }
};

// An address inside [base, base + kMem) when the hint says so.
uint64_t inside(uint64_t raw, const uint8_t* base) {
  return reinterpret_cast<uint64_t>(base) + raw % kMem;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kEntry = 1 + sizeof(venic_efa_wqe);
  if (size < kEntry) return 0;
  World w;
  Side& a = w.a;
  venic_ring* sq = w.ring(a, a.regs()->qp[a.qp].sq_off);
  auto* sqe = reinterpret_cast<venic_efa_wqe*>(a.base + a.regs()->qp[a.qp].sq_off + VENIC_RING_HDR_SIZE);
  uint8_t* slots = a.base + a.regs()->qp[a.qp].sq_buf_off;
  w.post_recvs(w.b, 16);
  for (size_t off = 0; off + kEntry <= size && sq->prod - sq->cons < VENIC_EFA_SQ_DEPTH; off += kEntry) {
    const uint8_t hint = data[off];
    venic_efa_wqe e;
    std::memcpy(&e, data + off + 1, sizeof(e));
    if (hint & 1) e.dest_ah = 2, e.dest_qpn = w.b.qpn, e.qkey = w.b.qkey;
    if (hint & 2) {
      const bool obj = hint & 4;
      e.rkey = w.b_keys[obj ? 0 : 1];
      e.raddr = inside(e.raddr, obj ? w.b_obj.p : w.b_priv.data());
    }
    if (hint & 8) {
      const bool obj = hint & 16;
      e.lkey = w.a_keys[obj ? 0 : 1];
      e.laddr = inside(e.laddr, obj ? w.a_obj.p : w.a_priv.data());
    }
    if (hint & 32) e.length %= kMem + 1;
    if (hint & 64) e.stage_off %= a.regs()->stage_qp_bytes;
    const uint32_t idx = sq->prod & (VENIC_EFA_SQ_DEPTH - 1);
    std::memset(slots + uint64_t(idx) * VENIC_EFA_MTU, hint, 64);
    sqe[idx] = e;
    __atomic_store_n(&sq->prod, sq->prod + 1, __ATOMIC_RELEASE);
  }
  uint32_t last_cons = __atomic_load_n(&sq->cons, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < kPolls; i++) {
    w.engine.poll();
    w.serve_b();
    w.drain(w.a);
    w.drain(w.b);
    w.post_recvs(w.b, 4);
    const uint32_t cons = __atomic_load_n(&sq->cons, __ATOMIC_ACQUIRE);
    require(cons - last_cons <= VENIC_EFA_SQ_DEPTH && sq->prod - cons <= VENIC_EFA_SQ_DEPTH,
            "the SQ consumer ran backwards or past the producer");
    last_cons = cons;
  }
  return 0;
}
