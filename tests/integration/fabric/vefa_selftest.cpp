// SPDX-License-Identifier: MIT
//
// vefa_selftest: exercises the provider through libfabric's public API with
// two endpoints of one process (one domain, one AV), against a running
// venicd: tagged messages of every protocol size (eager, medium, long) and
// their order, FI_PEEK/FI_CLAIM, fi_cancel, FI_MULTI_RECV, remote CQ data
// and FI_SOURCE, RMA read/write/writedata/inject, atomics, counters, the
// EQ, and a DGRAM endpoint.  Prints one line per check; exit status 0 when
// all pass.  Needs FI_PROVIDER_PATH and the VENIC_* variables (README).
#include <rdma/fabric.h>
#include <rdma/fi_atomic.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

static int failures = 0;
#define CHECK(cond, what)                                \
  do {                                                   \
    bool ok_ = (cond);                                   \
    std::printf("%s %s\n", ok_ ? "ok  " : "FAIL", what); \
    if (!ok_) ++failures;                                \
  } while (0)
#define TRY(call)                                                                                       \
  do {                                                                                                  \
    int rc_ = static_cast<int>(call);                                                                   \
    if (rc_) {                                                                                          \
      std::fprintf(stderr, "%s:%d: %s = %d (%s)\n", __FILE__, __LINE__, #call, rc_, fi_strerror(-rc_)); \
      std::exit(2);                                                                                     \
    }                                                                                                   \
  } while (0)

struct Side {
  fid_ep* ep = nullptr;
  fid_cq* cq = nullptr;
  fid_cntr* cntr = nullptr;
  fi_addr_t addr = FI_ADDR_UNSPEC;  // how the other side names it
};

static fi_info* g_info;
static fid_fabric* g_fabric;
static fid_domain* g_domain;
static fid_av* g_av;
static Side A, B;

static void fill(std::vector<uint8_t>& v, unsigned seed) {
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(seed * 131 + i * 7 + (i >> 9));
}

static void open_side(Side& s, fi_info* info) {
  TRY(fi_endpoint(g_domain, info, &s.ep, nullptr));
  fi_cq_attr ca = {};
  ca.format = FI_CQ_FORMAT_TAGGED;
  TRY(fi_cq_open(g_domain, &ca, &s.cq, nullptr));
  fi_cntr_attr na = {};
  na.events = FI_CNTR_EVENTS_COMP;
  TRY(fi_cntr_open(g_domain, &na, &s.cntr, nullptr));
  TRY(fi_ep_bind(s.ep, &g_av->fid, 0));
  TRY(fi_ep_bind(s.ep, &s.cq->fid, FI_TRANSMIT | FI_RECV));
  TRY(fi_ep_bind(s.ep, &s.cntr->fid, FI_SEND | FI_RECV | FI_READ | FI_WRITE));
  TRY(fi_enable(s.ep));
}

static void insert(Side& s) {
  char name[64];
  size_t len = sizeof(name);
  TRY(fi_getname(&s.ep->fid, name, &len));
  if (fi_av_insert(g_av, name, 1, &s.addr, 0, nullptr) != 1) std::exit(2);
}

// Polls both CQs until `want` completions arrived on `on` (others progress
// the peer); errors are returned in *err when given.
static int wait_comp(Side& on, fi_cq_tagged_entry* out, int want, fi_cq_err_entry* err = nullptr,
                     fi_addr_t* src = nullptr) {
  int got = 0;
  time_t t0 = time(nullptr);
  while (got < want) {
    fi_cq_tagged_entry tmp;
    Side& other = &on == &A ? B : A;
    ssize_t r = fi_cq_read(other.cq, &tmp, 0);  // progress only
    (void)r;
    r = src ? fi_cq_readfrom(on.cq, &out[got], 1, &src[got]) : fi_cq_read(on.cq, &out[got], 1);
    if (r == 1) {
      ++got;
      continue;
    }
    if (r == -FI_EAVAIL) {
      fi_cq_err_entry e = {};
      fi_cq_readerr(on.cq, &e, 0);
      if (err) {
        *err = e;
        return -1;
      }
      std::fprintf(stderr, "unexpected error completion: %s\n", fi_strerror(e.err));
      return -1;
    }
    if (time(nullptr) - t0 > 20) return -2;
  }
  return got;
}

// Progresses both endpoints for a while (lets in-flight messages land).
static void spin(int rounds) {
  fi_cq_tagged_entry t;
  for (int i = 0; i < rounds; ++i) {
    fi_cq_read(A.cq, &t, 0);
    fi_cq_read(B.cq, &t, 0);
  }
}

static void test_tagged_sizes() {
  // Eager, medium (up to 4 MiB) and long (RTS + RDMA read) around each bound.
  const size_t sizes[] = {0, 1, 4000, 8136, 8137, 30000, 65536, 65537, 1 << 20, 4 << 20, (4 << 20) + 1, 5 << 20};
  for (size_t n : sizes) {
    std::vector<uint8_t> tx(n), rx(n + 16, 0xee);
    fill(tx, static_cast<unsigned>(n));
    TRY(fi_trecv(B.ep, rx.data(), rx.size(), nullptr, A.addr, 0x77, 0, &rx));
    TRY(fi_tsend(A.ep, tx.data(), n, nullptr, B.addr, 0x77, &tx));
    fi_cq_tagged_entry c;
    bool ok = wait_comp(B, &c, 1) == 1 && c.len == n && c.tag == 0x77 && c.op_context == &rx &&
              (c.flags & (FI_TAGGED | FI_RECV)) == (FI_TAGGED | FI_RECV) &&
              (n == 0 || std::memcmp(rx.data(), tx.data(), n) == 0);
    ok = ok && wait_comp(A, &c, 1) == 1 && c.op_context == &tx && (c.flags & FI_SEND);
    char what[96];
    std::snprintf(what, sizeof(what), "tagged send/recv %zu bytes", n);
    CHECK(ok, what);
  }
}

// Many messages in flight at once must match in send order (FI_ORDER_SAS)
// even though SRD (and the daemon's reorder hook) delivers them unordered.
static void test_order_and_unexpected() {
  const int N = 64;
  std::vector<std::vector<uint8_t>> tx(N), rx(N);
  for (int i = 0; i < N; ++i) {
    // Every 16th is long (RTS), every 5th medium.
    size_t n = i % 16 == 0 ? (4 << 20) + 4096 : i % 5 == 0 ? 100000 : i % 3 == 0 ? 20000 : static_cast<size_t>(i * 37);
    tx[i].resize(n);
    fill(tx[i], 500 + i);
    rx[i].assign(n, 0);
  }
  // Send first: most arrive unexpected.
  for (int i = 0; i < N; ++i) TRY(fi_tsend(A.ep, tx[i].data(), tx[i].size(), nullptr, B.addr, 5, nullptr));
  spin(2000);
  for (int i = 0; i < N; ++i) TRY(fi_trecv(B.ep, rx[i].data(), rx[i].size(), nullptr, FI_ADDR_UNSPEC, 5, 0, &rx[i]));
  std::vector<fi_cq_tagged_entry> c(N);
  bool ok = wait_comp(B, c.data(), N) == N;
  for (int i = 0; ok && i < N; ++i) ok = rx[i] == tx[i];
  fi_cq_tagged_entry sc[N];
  ok = ok && wait_comp(A, sc, N) == N;
  CHECK(ok, "64 mixed-size messages, unexpected, matched in send order");
}

static void test_peek_claim_cancel() {
  std::vector<uint8_t> tx(3000), rx(3000);
  fill(tx, 9);
  TRY(fi_tsend(A.ep, tx.data(), tx.size(), nullptr, B.addr, 0xabc1, nullptr));
  fi_cq_tagged_entry c;
  wait_comp(A, &c, 1);
  spin(500);
  fi_context ctx = {};
  iovec iov = {rx.data(), rx.size()};
  fi_msg_tagged m = {};
  m.msg_iov = &iov;
  m.iov_count = 1;
  m.addr = FI_ADDR_UNSPEC;
  m.tag = 0xab00;
  m.ignore = 0xff;
  m.context = &ctx;
  TRY(fi_trecvmsg(B.ep, &m, FI_PEEK | FI_CLAIM));
  bool ok = wait_comp(B, &c, 1) == 1 && c.len == 3000 && c.tag == 0xabc1;
  CHECK(ok, "FI_PEEK|FI_CLAIM finds the unexpected message (ignore bits)");
  // Another receive for the same tag must not see the claimed message.
  fi_context ctx2 = {};
  m.context = &ctx2;
  TRY(fi_trecvmsg(B.ep, &m, FI_PEEK));
  fi_cq_err_entry e = {};
  ok = wait_comp(B, &c, 1, &e) == -1 && e.err == FI_ENOMSG;
  CHECK(ok, "a claimed message is hidden from other peeks (FI_ENOMSG)");
  m.context = &ctx;
  TRY(fi_trecvmsg(B.ep, &m, FI_CLAIM));
  ok = wait_comp(B, &c, 1) == 1 && c.op_context == &ctx && rx == tx;
  CHECK(ok, "FI_CLAIM receives the claimed message");

  std::vector<uint8_t> never(64);
  TRY(fi_trecv(B.ep, never.data(), never.size(), nullptr, FI_ADDR_UNSPEC, 0xdead, 0, &never));
  TRY(fi_cancel(&B.ep->fid, &never));
  ok = wait_comp(B, &c, 1, &e) == -1 && e.err == FI_ECANCELED && e.op_context == &never;
  CHECK(ok, "fi_cancel completes the receive with FI_ECANCELED");
  CHECK(fi_cancel(&B.ep->fid, &never) == -FI_ENOENT, "fi_cancel of nothing: -FI_ENOENT");
}

static void test_data_source_truncation() {
  uint64_t v = 42, got = 0;
  TRY(fi_tsenddata(A.ep, &v, sizeof(v), nullptr, 0xfeedbeef, B.addr, 1, nullptr));
  TRY(fi_trecv(B.ep, &got, sizeof(got), nullptr, FI_ADDR_UNSPEC, 1, 0, &got));
  fi_cq_tagged_entry c;
  fi_addr_t src = 0;
  bool ok = wait_comp(B, &c, 1, nullptr, &src) == 1 && (c.flags & FI_REMOTE_CQ_DATA) && c.data == 0xfeedbeef &&
            got == 42 && src == A.addr;
  wait_comp(A, &c, 1);
  CHECK(ok, "remote CQ data and FI_SOURCE (fi_cq_readfrom names the sender)");

  std::vector<uint8_t> tx(20000), rx(1000);
  fill(tx, 3);
  TRY(fi_tsend(A.ep, tx.data(), tx.size(), nullptr, B.addr, 2, nullptr));
  TRY(fi_trecv(B.ep, rx.data(), rx.size(), nullptr, FI_ADDR_UNSPEC, 2, 0, &rx));
  fi_cq_err_entry e = {};
  ok = wait_comp(B, &c, 1, &e) == -1 && e.err == FI_ETRUNC && e.len == 1000 && e.olen == 19000 &&
       std::memcmp(rx.data(), tx.data(), 1000) == 0;
  wait_comp(A, &c, 1);
  CHECK(ok, "truncation: FI_ETRUNC with len and olen");
}

static void test_multi_recv() {
  std::vector<uint8_t> pool(4096);
  size_t min = 1024;
  TRY(fi_setopt(&B.ep->fid, FI_OPT_ENDPOINT, FI_OPT_MIN_MULTI_RECV, &min, sizeof(min)));
  iovec iov = {pool.data(), pool.size()};
  fi_msg m = {};
  m.msg_iov = &iov;
  m.iov_count = 1;
  m.addr = FI_ADDR_UNSPEC;
  m.context = &pool;
  TRY(fi_recvmsg(B.ep, &m, FI_MULTI_RECV));
  std::vector<uint8_t> a(1000), b(1000), d(1500);
  fill(a, 1);
  fill(b, 2);
  fill(d, 3);
  TRY(fi_send(A.ep, a.data(), a.size(), nullptr, B.addr, nullptr));
  TRY(fi_send(A.ep, b.data(), b.size(), nullptr, B.addr, nullptr));
  TRY(fi_send(A.ep, d.data(), d.size(), nullptr, B.addr, nullptr));
  fi_cq_tagged_entry c[3];
  bool ok = wait_comp(B, c, 3) == 3;
  ok = ok && c[0].buf == pool.data() && c[1].buf == pool.data() + 1000 && c[2].buf == pool.data() + 2000;
  ok = ok && std::memcmp(pool.data(), a.data(), 1000) == 0 && std::memcmp(pool.data() + 2000, d.data(), 1500) == 0;
  ok = ok && !(c[0].flags & FI_MULTI_RECV) && (c[2].flags & FI_MULTI_RECV);
  wait_comp(A, c, 3);
  CHECK(ok, "FI_MULTI_RECV: three messages packed, buffer released on the last");
}

static void test_rma_atomic() {
  std::vector<uint8_t> target(3 << 20), local(3 << 20);
  fid_mr* mr = nullptr;
  TRY(fi_mr_reg(g_domain, target.data(), target.size(), FI_REMOTE_READ | FI_REMOTE_WRITE, 0, 0, 0, &mr, nullptr));
  uint64_t key = fi_mr_key(mr);
  uint64_t base = reinterpret_cast<uint64_t>(target.data());
  fill(local, 11);
  uint64_t w0 = 0, r0 = 0, c0 = 0;
  w0 = fi_cntr_read(A.cntr);
  TRY(fi_write(A.ep, local.data(), local.size(), nullptr, B.addr, base, key, &local));
  fi_cq_tagged_entry c;
  bool ok = wait_comp(A, &c, 1) == 1 && (c.flags & (FI_RMA | FI_WRITE)) == (FI_RMA | FI_WRITE) && target == local;
  CHECK(ok, "fi_write 3 MiB");
  CHECK(fi_cntr_read(A.cntr) >= w0 + 1, "write counted");
  std::vector<uint8_t> back(4096);
  TRY(fi_read(A.ep, back.data(), back.size(), nullptr, B.addr, base + 8192, key, &back));
  ok = wait_comp(A, &c, 1) == 1 && std::memcmp(back.data(), target.data() + 8192, 4096) == 0;
  CHECK(ok, "fi_read 4 KiB");
  uint32_t small = 0x5a5a5a5a;
  uint64_t before = fi_cntr_read(A.cntr);
  TRY(fi_inject_write(A.ep, &small, sizeof(small), B.addr, base, key));
  // No completion for an inject: its counter says when it is done.
  ok = fi_cntr_wait(A.cntr, before + 1, 5000) == 0 && fi_cntr_readerr(A.cntr) == 0 &&
       std::memcmp(target.data(), &small, 4) == 0;
  CHECK(ok, "fi_inject_write lands");
  uint64_t v = 0x0102030405060708ull;
  TRY(fi_writedata(A.ep, &v, sizeof(v), nullptr, 0x1234, B.addr, base + 64, key, &v));
  ok = wait_comp(B, &c, 1) == 1 && (c.flags & FI_REMOTE_CQ_DATA) && (c.flags & FI_REMOTE_WRITE) && c.data == 0x1234;
  ok = ok && std::memcmp(target.data() + 64, &v, 8) == 0;
  wait_comp(A, &c, 1);
  CHECK(ok, "fi_writedata: target completion with the data");
  (void)r0;
  (void)c0;

  auto* word = reinterpret_cast<uint64_t*>(target.data() + 4096);
  *word = 10;
  uint64_t opnd = 5, result = 0, cmp = 15;
  TRY(fi_atomic(A.ep, &opnd, 1, nullptr, B.addr, base + 4096, key, FI_UINT64, FI_SUM, &opnd));
  ok = wait_comp(A, &c, 1) == 1 && *word == 15 && (c.flags & FI_ATOMIC);
  CHECK(ok, "atomic SUM u64");
  opnd = 99;
  TRY(fi_compare_atomic(A.ep, &opnd, 1, nullptr, &cmp, nullptr, &result, nullptr, B.addr, base + 4096, key, FI_UINT64,
                        FI_CSWAP, &result));
  ok = wait_comp(A, &c, 1) == 1 && result == 15 && *word == 99;
  CHECK(ok, "atomic CSWAP u64 (hit)");
  TRY(fi_compare_atomic(A.ep, &opnd, 1, nullptr, &cmp, nullptr, &result, nullptr, B.addr, base + 4096, key, FI_UINT64,
                        FI_CSWAP, &result));
  ok = wait_comp(A, &c, 1) == 1 && result == 99 && *word == 99;
  CHECK(ok, "atomic CSWAP u64 (miss)");
  opnd = 7;
  TRY(fi_fetch_atomic(A.ep, &opnd, 1, nullptr, &result, nullptr, B.addr, base + 4096, key, FI_UINT64, FI_ATOMIC_WRITE,
                      &result));
  ok = wait_comp(A, &c, 1) == 1 && result == 99 && *word == 7;
  CHECK(ok, "atomic fetching WRITE u64");
  TRY(fi_atomic(A.ep, &opnd, 1, nullptr, B.addr, base + 4096, key + 1000, FI_UINT64, FI_SUM, &opnd));
  fi_cq_err_entry e = {};
  ok = wait_comp(A, &c, 1, &e) == -1 && e.err == FI_EACCES;
  CHECK(ok, "atomic with a bad key fails with FI_EACCES");
  size_t cnt = 0;
  CHECK(fi_atomicvalid(A.ep, FI_UINT64, FI_SUM, &cnt) == 0 && cnt > 0, "fi_atomicvalid u64 SUM");
  fi_close(&mr->fid);
}

// RMA on memory objects (a memfd: the device maps it, one copy) and the
// registration checks verbs makes (EFAULT: not mapped, or not writable).
static void test_rma_objects() {
  const size_t len = 2 << 20;
  int fd = memfd_create("selftest-mr", MFD_CLOEXEC);
  bool ok = fd >= 0 && ftruncate(fd, static_cast<off_t>(len)) == 0;
  auto* target = static_cast<uint8_t*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  CHECK(ok && target != MAP_FAILED, "memfd target mapped");
  fid_mr* mr = nullptr;
  TRY(fi_mr_reg(g_domain, target, len, FI_REMOTE_READ | FI_REMOTE_WRITE, 0, 0, 0, &mr, nullptr));
  const uint64_t key = fi_mr_key(mr), base = reinterpret_cast<uint64_t>(target);
  std::vector<uint8_t> local(len), back(len);
  fill(local, 23);
  fi_cq_tagged_entry c;
  TRY(fi_write(A.ep, local.data(), local.size(), nullptr, B.addr, base, key, &local));
  ok = wait_comp(A, &c, 1) == 1 && std::memcmp(target, local.data(), len) == 0;
  CHECK(ok, "fi_write 2 MiB into a memfd registration");
  TRY(fi_read(A.ep, back.data(), back.size(), nullptr, B.addr, base, key, &back));
  ok = wait_comp(A, &c, 1) == 1 && back == local;
  CHECK(ok, "fi_read 2 MiB from a memfd registration");
  fi_close(&mr->fid);
  munmap(target, len);
  close(fd);

  // Not mapped: a hole between two mappings.
  auto* hole =
      static_cast<uint8_t*>(mmap(nullptr, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  munmap(hole + 4096, 4096);
  fid_mr* bad = nullptr;
  CHECK(fi_mr_reg(g_domain, hole, 3 * 4096, FI_SEND, 0, 0, 0, &bad, nullptr) == -FI_EFAULT,
        "fi_mr_reg over an unmapped page fails with FI_EFAULT");
  munmap(hole, 4096);
  munmap(hole + 2 * 4096, 4096);
  // Read-only memory: fine to send from, never a remote write target.
  auto* ro = static_cast<uint8_t*>(mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  CHECK(fi_mr_reg(g_domain, ro, 4096, FI_REMOTE_WRITE, 0, 0, 0, &bad, nullptr) == -FI_EFAULT,
        "fi_mr_reg with FI_REMOTE_WRITE on read-only memory fails with FI_EFAULT");
  ok = fi_mr_reg(g_domain, ro, 4096, FI_SEND, 0, 0, 0, &bad, nullptr) == 0;
  CHECK(ok, "fi_mr_reg for FI_SEND on read-only memory works");
  if (ok) fi_close(&bad->fid);
  munmap(ro, 4096);
}

static void test_eq() {
  fid_eq* eq = nullptr;
  fi_eq_attr ea = {};
  TRY(fi_eq_open(g_fabric, &ea, &eq, nullptr));
  uint32_t ev = 0;
  fi_eq_entry ent = {};
  CHECK(fi_eq_read(eq, &ev, &ent, sizeof(ent), 0) == -FI_EAGAIN, "empty EQ: -FI_EAGAIN");
  ent.context = &ev;
  CHECK(fi_eq_write(eq, FI_NOTIFY, &ent, sizeof(ent), 0) == sizeof(ent), "fi_eq_write");
  fi_eq_entry out = {};
  CHECK(fi_eq_sread(eq, &ev, &out, sizeof(out), 100, 0) == sizeof(out) && ev == FI_NOTIFY && out.context == &ev,
        "fi_eq_sread returns the written event");
  fi_close(&eq->fid);
}

static void test_dgram() {
  fi_info* h = fi_allocinfo();
  h->ep_attr->type = FI_EP_DGRAM;
  h->caps = FI_MSG;
  h->fabric_attr->prov_name = strdup("vefa");
  fi_info* info = nullptr;
  if (fi_getinfo(FI_VERSION(1, 17), nullptr, nullptr, 0, h, &info)) {
    CHECK(false, "DGRAM getinfo");
    return;
  }
  fid_domain* dom;
  TRY(fi_domain(g_fabric, info, &dom, nullptr));
  fid_av* av;
  fi_av_attr aa = {};
  aa.type = FI_AV_TABLE;
  TRY(fi_av_open(dom, &aa, &av, nullptr));
  fid_ep *e1, *e2;
  fid_cq *q1, *q2;
  fi_cq_attr ca = {};
  ca.format = FI_CQ_FORMAT_MSG;
  TRY(fi_endpoint(dom, info, &e1, nullptr));
  TRY(fi_endpoint(dom, info, &e2, nullptr));
  TRY(fi_cq_open(dom, &ca, &q1, nullptr));
  TRY(fi_cq_open(dom, &ca, &q2, nullptr));
  for (auto [e, q] : {std::pair{e1, q1}, std::pair{e2, q2}}) {
    TRY(fi_ep_bind(e, &av->fid, 0));
    TRY(fi_ep_bind(e, &q->fid, FI_TRANSMIT | FI_RECV));
    TRY(fi_enable(e));
  }
  char name[64];
  size_t len = sizeof(name);
  fi_addr_t a2;
  TRY(fi_getname(&e2->fid, name, &len));
  fi_av_insert(av, name, 1, &a2, 0, nullptr);
  std::vector<uint8_t> tx(5000), rx(8192);
  fill(tx, 77);
  TRY(fi_recv(e2, rx.data(), rx.size(), nullptr, FI_ADDR_UNSPEC, &rx));
  TRY(fi_send(e1, tx.data(), tx.size(), nullptr, a2, &tx));
  fi_cq_msg_entry c;
  int got = 0;
  time_t t0 = time(nullptr);
  while (got < 1 && time(nullptr) - t0 < 10) {
    fi_cq_read(q1, &c, 1);
    if (fi_cq_read(q2, &c, 1) == 1) got = 1;
  }
  CHECK(got == 1 && c.len == 5000 && std::memcmp(rx.data(), tx.data(), 5000) == 0, "DGRAM 5000-byte datagram");
  CHECK(fi_send(e1, rx.data(), 9000, nullptr, a2, nullptr) == -FI_EMSGSIZE, "DGRAM larger than the MTU refused");
  fi_close(&e1->fid);
  fi_close(&e2->fid);
  fi_close(&q1->fid);
  fi_close(&q2->fid);
  fi_close(&av->fid);
  fi_close(&dom->fid);
  fi_freeinfo(info);
  fi_freeinfo(h);
}

int main() {
  fi_info* hints = fi_allocinfo();
  hints->ep_attr->type = FI_EP_RDM;
  hints->caps = FI_MSG | FI_TAGGED | FI_RMA | FI_ATOMIC | FI_DIRECTED_RECV | FI_SOURCE | FI_MULTI_RECV;
  hints->mode = FI_CONTEXT;
  hints->domain_attr->mr_mode = FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
  hints->fabric_attr->prov_name = strdup("vefa");
  TRY(fi_getinfo(FI_VERSION(1, 17), nullptr, nullptr, 0, hints, &g_info));
  TRY(fi_fabric(g_info->fabric_attr, &g_fabric, nullptr));
  TRY(fi_domain(g_fabric, g_info, &g_domain, nullptr));
  fi_av_attr aa = {};
  aa.type = FI_AV_MAP;
  TRY(fi_av_open(g_domain, &aa, &g_av, nullptr));
  open_side(A, g_info);
  open_side(B, g_info);
  insert(A);
  insert(B);

  test_tagged_sizes();
  test_order_and_unexpected();
  test_peek_claim_cancel();
  test_data_source_truncation();
  test_multi_recv();
  test_rma_atomic();
  test_rma_objects();
  test_eq();
  test_dgram();

  for (Side* s : {&A, &B}) fi_close(&s->ep->fid);
  for (Side* s : {&A, &B}) {
    fi_close(&s->cq->fid);
    fi_close(&s->cntr->fid);
  }
  fi_close(&g_av->fid);
  CHECK(fi_close(&g_domain->fid) == 0, "domain closes once its objects are gone");
  fi_close(&g_fabric->fid);
  fi_freeinfo(g_info);
  fi_freeinfo(hints);
  std::printf("vefa_selftest: %s (%d failures)\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
