// SPDX-License-Identifier: MIT
//
// vefa_conform: the libfabric conformance rows vefa must honour, through the
// public API against a running venicd (two endpoints of one process):
// - fi_getinfo with FI_SOURCE (no hints, partial hints, node/service) gives
//   infos that carry src_addr/src_addrlen;
// - every mr_mode a consumer may pass is matched (and then fabric, domain,
//   endpoint and fi_mr_reg work) or refused with -FI_ENODATA, never another
//   error;
// - unsupported endpoint types and features (FI_EP_MSG, shared contexts,
//   capabilities vefa lacks) are refused at fi_getinfo with -FI_ENODATA from
//   both a server's (FI_SOURCE) and a client's (node) query;
// - waitable CQs: fi_cq_sread/fi_cq_sreadfrom, fi_cq_signal waking a waiter
//   from another thread, FI_WAIT_FD with fi_trywait and poll(2);
//   fi_cntr_wait; poll sets (fi_poll_open); wait sets (fi_wait_open);
// - tagged FI_PEEK, FI_CLAIM and FI_DISCARD.
// The provider is $VEFA_PROV (default "vefa").  Prints one line per check;
// exit status 0 when all pass.
#include <poll.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_ext.h>
#include <rdma/fi_tagged.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

static int failures = 0;
#define CHECK(cond, ...)                       \
  do {                                         \
    bool ok_ = (cond);                         \
    std::printf("%s ", ok_ ? "ok  " : "FAIL"); \
    std::printf(__VA_ARGS__);                  \
    std::printf("\n");                         \
    if (!ok_) ++failures;                      \
  } while (0)
#define TRY(call)                                                                                       \
  do {                                                                                                  \
    int rc_ = static_cast<int>(call);                                                                   \
    if (rc_) {                                                                                          \
      std::fprintf(stderr, "%s:%d: %s = %d (%s)\n", __FILE__, __LINE__, #call, rc_, fi_strerror(-rc_)); \
      std::exit(2);                                                                                     \
    }                                                                                                   \
  } while (0)

static const char* g_prov = "vefa";
static constexpr uint32_t kApi = FI_VERSION(1, 17);

static fi_info* base_hints(fi_ep_type type = FI_EP_RDM) {
  fi_info* h = fi_allocinfo();
  h->ep_attr->type = type;
  h->fabric_attr->prov_name = strdup(g_prov);
  return h;
}

using Clock = std::chrono::steady_clock;
static double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// ------------------------------------------------------------ fi_getinfo --

static void test_source_addr() {
  struct Case {
    const char* what;
    bool no_hints;
    const char* node;
    const char* service;
  } cases[] = {
      {"no hints", true, nullptr, nullptr},
      {"partial hints", false, nullptr, nullptr},
      {"service only", false, nullptr, "9228"},
      {"node and service", false, "127.0.0.1", "9228"},
  };
  for (const Case& c : cases) {
    fi_info* h = c.no_hints ? nullptr : base_hints();
    fi_info* info = nullptr;
    int rc = fi_getinfo(kApi, c.node, c.service, FI_SOURCE, h, &info);
    bool any = false, all = true;
    for (fi_info* i = info; rc == 0 && i; i = i->next) {
      if (strcmp(i->fabric_attr->prov_name, g_prov) != 0) continue;
      any = true;
      all = all && i->src_addr && i->src_addrlen > 0 && i->addr_format == FI_ADDR_EFA;
    }
    CHECK(rc == 0 && any && all, "FI_SOURCE (%s): every %s info carries src_addr/src_addrlen (rc %d)", c.what, g_prov,
          rc);
    fi_freeinfo(info);
    fi_freeinfo(h);
  }
}

// Opens fabric, domain, endpoint and registers memory with info: a match
// must be usable.
static bool usable(fi_info* info) {
  fid_fabric* fab = nullptr;
  fid_domain* dom = nullptr;
  fid_ep* ep = nullptr;
  fid_av* av = nullptr;
  fid_cq* cq = nullptr;
  fid_mr* mr = nullptr;
  static char buf[4096];
  bool ok = fi_fabric(info->fabric_attr, &fab, nullptr) == 0 && fi_domain(fab, info, &dom, nullptr) == 0 &&
            fi_endpoint(dom, info, &ep, nullptr) == 0;
  fi_av_attr aa = {};
  fi_cq_attr ca = {};
  ok = ok && fi_av_open(dom, &aa, &av, nullptr) == 0 && fi_cq_open(dom, &ca, &cq, nullptr) == 0 &&
       fi_ep_bind(ep, &av->fid, 0) == 0 && fi_ep_bind(ep, &cq->fid, FI_TRANSMIT | FI_RECV) == 0 && fi_enable(ep) == 0;
  uint64_t access = FI_SEND | FI_RECV | (info->ep_attr->type == FI_EP_RDM ? FI_REMOTE_READ | FI_REMOTE_WRITE : 0);
  ok = ok && fi_mr_reg(dom, buf, sizeof(buf), access, 0, 1, 0, &mr, nullptr) == 0;
  if (ok && (info->domain_attr->mr_mode & FI_MR_ENDPOINT)) ok = fi_mr_bind(mr, &ep->fid, 0) == 0;
  if (mr) fi_close(&mr->fid);
  if (ep) fi_close(&ep->fid);
  if (cq) fi_close(&cq->fid);
  if (av) fi_close(&av->fid);
  if (dom) fi_close(&dom->fid);
  if (fab) fi_close(&fab->fid);
  return ok;
}

static void test_mr_modes() {
  const int kBits[] = {FI_MR_LOCAL,    FI_MR_RAW,        FI_MR_VIRT_ADDR, FI_MR_ALLOCATED,
                       FI_MR_PROV_KEY, FI_MR_MMU_NOTIFY, FI_MR_RMA_EVENT, FI_MR_ENDPOINT};
  struct Mode {
    uint32_t version;
    int mode;
  };
  std::vector<Mode> modes = {{kApi, FI_MR_UNSPEC},
                             {kApi, FI_MR_BASIC},
                             {kApi, FI_MR_SCALABLE},
                             {FI_VERSION(1, 4), FI_MR_UNSPEC},
                             {FI_VERSION(1, 4), FI_MR_BASIC},
                             {FI_VERSION(1, 4), FI_MR_SCALABLE}};
  // Every combination of the 1.5+ bits.
  for (int m = 0; m < (1 << 8); ++m) {
    int mode = 0;
    for (int b = 0; b < 8; ++b)
      if (m & (1 << b)) mode |= kBits[b];
    if (mode) modes.push_back({kApi, mode});
  }
  int matched = 0, refused = 0, bad = 0;
  for (fi_ep_type type : {FI_EP_RDM, FI_EP_DGRAM}) {
    for (const Mode& md : modes) {
      fi_info* h = base_hints(type);
      h->caps = type == FI_EP_RDM ? FI_MSG | FI_RMA : FI_MSG;
      h->domain_attr->mr_mode = md.mode;
      fi_info* info = nullptr;
      int rc = fi_getinfo(md.version, nullptr, nullptr, 0, h, &info);
      if (rc == -FI_ENODATA) {
        ++refused;
      } else if (rc != 0) {
        ++bad;
        std::printf("     mr_mode %#x (api %u.%u, %s): fi_getinfo %d (%s)\n", md.mode, FI_MAJOR(md.version),
                    FI_MINOR(md.version), type == FI_EP_RDM ? "rdm" : "dgram", rc, fi_strerror(-rc));
      } else {
        int got = info->domain_attr->mr_mode;
        // What the provider requires must be among what the consumer allowed.
        bool sub = md.mode == FI_MR_UNSPEC || md.mode == FI_MR_BASIC || md.mode == FI_MR_SCALABLE
                       ? (got == md.mode || md.mode == FI_MR_UNSPEC)
                       : (got & ~md.mode) == 0;
        if (!sub || !usable(info)) {
          ++bad;
          std::printf("     mr_mode %#x (api %u.%u, %s): matched with %#x but %s\n", md.mode, FI_MAJOR(md.version),
                      FI_MINOR(md.version), type == FI_EP_RDM ? "rdm" : "dgram", got,
                      sub ? "not usable" : "requires bits not offered");
        } else {
          ++matched;
        }
      }
      fi_freeinfo(info);
      fi_freeinfo(h);
    }
  }
  CHECK(bad == 0 && matched > 0, "mr_mode: %d combinations matched and usable, %d refused with -FI_ENODATA, %d wrong",
        matched, refused, bad);
}

static void test_unsupported() {
  struct Case {
    const char* what;
    void (*set)(fi_info*);
  } cases[] = {
      {"FI_EP_MSG", [](fi_info* h) { h->ep_attr->type = FI_EP_MSG; }},
      {"FI_EP_SOCK_STREAM", [](fi_info* h) { h->ep_attr->type = FI_EP_SOCK_STREAM; }},
      {"shared tx context", [](fi_info* h) { h->ep_attr->tx_ctx_cnt = FI_SHARED_CONTEXT; }},
      {"shared rx context", [](fi_info* h) { h->ep_attr->rx_ctx_cnt = FI_SHARED_CONTEXT; }},
      {"max_ep_stx_ctx", [](fi_info* h) { h->domain_attr->max_ep_stx_ctx = 1; }},
      {"max_ep_srx_ctx", [](fi_info* h) { h->domain_attr->max_ep_srx_ctx = 1; }},
      {"scalable endpoint", [](fi_info* h) { h->ep_attr->tx_ctx_cnt = 4; }},
      {"FI_TRIGGER", [](fi_info* h) { h->caps = FI_MSG | FI_TRIGGER; }},
      {"FI_NAMED_RX_CTX", [](fi_info* h) { h->caps = FI_MSG | FI_NAMED_RX_CTX; }},
      {"FI_RMA_EVENT", [](fi_info* h) { h->caps = FI_RMA | FI_RMA_EVENT; }},
      {"FI_COLLECTIVE", [](fi_info* h) { h->caps = FI_MSG | FI_COLLECTIVE; }},
      {"FI_HMEM", [](fi_info* h) { h->caps = FI_MSG | FI_HMEM; }},
      {"FI_PROGRESS_AUTO", [](fi_info* h) { h->domain_attr->data_progress = FI_PROGRESS_AUTO; }},
      {"FI_SOCKADDR_IN", [](fi_info* h) { h->addr_format = FI_SOCKADDR_IN; }},
      {"huge cq_data_size", [](fi_info* h) { h->domain_attr->cq_data_size = 8; }},
  };
  for (const Case& c : cases) {
    fi_info* h = base_hints(FI_EP_RDM);
    c.set(h);
    fi_info* info = nullptr;
    // The server's query (its own side) and the client's (a node to reach).
    int server = fi_getinfo(kApi, nullptr, "9228", FI_SOURCE, h, &info);
    fi_freeinfo(info);
    info = nullptr;
    int client = fi_getinfo(kApi, "127.0.0.1", "9228", 0, h, &info);
    fi_freeinfo(info);
    info = nullptr;
    int plain = fi_getinfo(kApi, nullptr, nullptr, 0, h, &info);
    fi_freeinfo(info);
    CHECK(server == -FI_ENODATA && client == -FI_ENODATA && plain == -FI_ENODATA,
          "%s: refused at fi_getinfo with -FI_ENODATA on both sides (server %d, client %d, plain %d)", c.what, server,
          client, plain);
    fi_freeinfo(h);
  }
  // And what vefa does support, asked the same two ways, matches on both.
  fi_info* h = base_hints(FI_EP_RDM);
  h->caps = FI_TAGGED | FI_MSG;
  fi_info* info = nullptr;
  int server = fi_getinfo(kApi, nullptr, "9228", FI_SOURCE, h, &info);
  fi_freeinfo(info);
  info = nullptr;
  int plain = fi_getinfo(kApi, nullptr, nullptr, 0, h, &info);
  fi_freeinfo(info);
  CHECK(server == 0 && plain == 0, "FI_TAGGED|FI_MSG RDM: matched by the server's and a plain query (%d, %d)", server,
        plain);
  fi_freeinfo(h);
}

// ------------------------------------------------------------- the rest --

struct Side {
  fid_ep* ep = nullptr;
  fid_cq* cq = nullptr;
  fi_addr_t addr = FI_ADDR_UNSPEC;
};
static fi_info* g_info;
static fid_fabric* g_fabric;
static fid_domain* g_domain;
static fid_av* g_av;
static Side A, B;

static void open_side(Side& s, fi_wait_obj wait) {
  TRY(fi_endpoint(g_domain, g_info, &s.ep, nullptr));
  fi_cq_attr ca = {};
  ca.format = FI_CQ_FORMAT_TAGGED;
  ca.wait_obj = wait;
  TRY(fi_cq_open(g_domain, &ca, &s.cq, nullptr));
  TRY(fi_ep_bind(s.ep, &g_av->fid, 0));
  TRY(fi_ep_bind(s.ep, &s.cq->fid, FI_TRANSMIT | FI_RECV));
  TRY(fi_enable(s.ep));
}

static void insert(Side& s) {
  char name[64];
  size_t len = sizeof(name);
  TRY(fi_getname(&s.ep->fid, name, &len));
  if (fi_av_insert(g_av, name, 1, &s.addr, 0, nullptr) != 1) std::exit(2);
}

// Reads one completion from s (progressing the other side too), 10 s at most.
static int read_one(Side& s, fi_cq_tagged_entry* c, fi_cq_err_entry* err = nullptr) {
  Side& other = &s == &A ? B : A;
  auto t0 = Clock::now();
  while (ms_since(t0) < 10000) {
    fi_cq_tagged_entry tmp;
    fi_cq_read(other.cq, &tmp, 0);
    ssize_t r = fi_cq_read(s.cq, c, 1);
    if (r == 1) return 1;
    if (r == -FI_EAVAIL) {
      fi_cq_err_entry e = {};
      fi_cq_readerr(s.cq, &e, 0);
      if (err) *err = e;
      return -1;
    }
  }
  return 0;
}

// Progresses A's sends while B's CQ is left to the code under test.
static std::atomic<bool> g_pump{false};
static void pump_a() {
  fi_cq_tagged_entry tmp;
  while (g_pump) fi_cq_read(A.cq, &tmp, 1);
}

static void test_waitable_cq() {
  // A waiter in fi_cq_sread, woken by fi_cq_signal from another thread.
  fi_cq_tagged_entry c;
  std::atomic<ssize_t> rc{1};
  auto t0 = Clock::now();
  double waited = 0;
  std::thread waiter([&] {
    rc = fi_cq_sread(B.cq, &c, 1, nullptr, 20000);
    waited = ms_since(t0);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  int sig = fi_cq_signal(B.cq);
  waiter.join();
  CHECK(sig == 0 && rc == -FI_EAGAIN && waited < 5000,
        "fi_cq_signal wakes a thread in fi_cq_sread (rc %zd after %.0f ms)", rc.load(), waited);

  // A timeout is a timeout.
  t0 = Clock::now();
  ssize_t r = fi_cq_sread(B.cq, &c, 1, nullptr, 100);
  CHECK(r == -FI_EAGAIN && ms_since(t0) >= 90, "fi_cq_sread times out with -FI_EAGAIN (%zd)", r);

  // A completion wakes it: fi_cq_sreadfrom names the source.
  char rx[64] = {}, tx[64] = "sreadfrom";
  TRY(fi_trecv(B.ep, rx, sizeof(rx), nullptr, FI_ADDR_UNSPEC, 7, 0, rx));
  g_pump = true;
  std::thread pump(pump_a);
  TRY(fi_tsend(A.ep, tx, sizeof(tx), nullptr, B.addr, 7, tx));
  fi_addr_t src = FI_ADDR_NOTAVAIL;
  r = fi_cq_sreadfrom(B.cq, &c, 1, &src, nullptr, 10000);
  g_pump = false;
  pump.join();
  CHECK(r == 1 && c.op_context == rx && src == A.addr && strcmp(rx, tx) == 0,
        "fi_cq_sreadfrom returns the completion and its source (%zd)", r);
}

static void test_wait_fd() {
  // A CQ with a wait fd: fi_trywait, poll(2) on the fd, read.
  fid_cq* cq = nullptr;
  fi_cq_attr ca = {};
  ca.format = FI_CQ_FORMAT_TAGGED;
  ca.wait_obj = FI_WAIT_FD;
  int rc = fi_cq_open(g_domain, &ca, &cq, nullptr);
  CHECK(rc == 0, "fi_cq_open with FI_WAIT_FD (%d)", rc);
  if (rc) return;
  int fd = -1;
  rc = fi_control(&cq->fid, FI_GETWAIT, &fd);
  CHECK(rc == 0 && fd >= 0, "FI_GETWAIT gives the CQ's fd (%d, fd %d)", rc, fd);
  fid_ep* ep = nullptr;
  TRY(fi_endpoint(g_domain, g_info, &ep, nullptr));
  TRY(fi_ep_bind(ep, &g_av->fid, 0));
  TRY(fi_ep_bind(ep, &cq->fid, FI_TRANSMIT | FI_RECV));
  TRY(fi_enable(ep));
  char name[64];
  size_t len = sizeof(name);
  TRY(fi_getname(&ep->fid, name, &len));
  fi_addr_t addr;
  TRY(fi_av_insert(g_av, name, 1, &addr, 0, nullptr) == 1 ? 0 : -1);
  char rx[32] = {}, tx[32] = "wait fd";
  TRY(fi_trecv(ep, rx, sizeof(rx), nullptr, FI_ADDR_UNSPEC, 9, 0, rx));
  g_pump = true;
  std::thread pump(pump_a);
  TRY(fi_tsend(A.ep, tx, sizeof(tx), nullptr, addr, 9, tx));
  bool got = false;
  auto t0 = Clock::now();
  unsigned wakeups = 0;
  while (!got && ms_since(t0) < 10000) {
    fid* fids[1] = {&cq->fid};
    if (fi_trywait(g_fabric, fids, 1) == 0) {
      pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, 1000) > 0) ++wakeups;
    }
    fi_cq_tagged_entry c;
    if (fi_cq_read(cq, &c, 1) == 1) got = c.op_context == rx && strcmp(rx, tx) == 0;
  }
  g_pump = false;
  pump.join();
  CHECK(got, "a completion reaches a consumer that blocks in poll(2) on the wait fd (%u wakeups, %.0f ms)", wakeups,
        ms_since(t0));
  // fi_cq_signal makes the fd readable.
  fid* fids[1] = {&cq->fid};
  if (fi_trywait(g_fabric, fids, 1) == 0) {
    fi_cq_signal(cq);
    pollfd p = {fd, POLLIN, 0};
    CHECK(poll(&p, 1, 2000) == 1, "fi_cq_signal makes the wait fd readable");
  }
  fi_close(&ep->fid);
  CHECK(fi_close(&cq->fid) == 0, "the FI_WAIT_FD CQ closes");
}

static void test_cntr_wait() {
  fid_cntr* cntr = nullptr;
  fi_cntr_attr na = {};
  na.events = FI_CNTR_EVENTS_COMP;
  na.wait_obj = FI_WAIT_UNSPEC;
  TRY(fi_cntr_open(g_domain, &na, &cntr, nullptr));
  fid_ep* ep = nullptr;
  fid_cq* cq = nullptr;
  fi_cq_attr ca = {};
  TRY(fi_endpoint(g_domain, g_info, &ep, nullptr));
  TRY(fi_cq_open(g_domain, &ca, &cq, nullptr));
  TRY(fi_ep_bind(ep, &g_av->fid, 0));
  TRY(fi_ep_bind(ep, &cq->fid, FI_TRANSMIT | FI_RECV | FI_SELECTIVE_COMPLETION));
  TRY(fi_ep_bind(ep, &cntr->fid, FI_SEND));
  TRY(fi_enable(ep));
  auto t0 = Clock::now();
  int rc = fi_cntr_wait(cntr, 1, 100);
  CHECK(rc == -FI_ETIMEDOUT && ms_since(t0) >= 90, "fi_cntr_wait times out with -FI_ETIMEDOUT (%d)", rc);
  char rx[8][16], tx[16] = "cntr";
  for (auto& b : rx) TRY(fi_trecv(B.ep, b, sizeof(b), nullptr, FI_ADDR_UNSPEC, 11, 0, b));
  for (int i = 0; i < 8; ++i) TRY(fi_tsend(ep, tx, sizeof(tx), nullptr, B.addr, 11, nullptr));
  // B receives all 8 (its CQ is left empty for the next test).
  std::thread drain([&] {
    fi_cq_tagged_entry c;
    auto t0 = Clock::now();
    for (int got = 0; got < 8 && ms_since(t0) < 10000;) got += fi_cq_read(B.cq, &c, 1) == 1;
  });
  rc = fi_cntr_wait(cntr, 8, 10000);
  drain.join();
  CHECK(rc == 0 && fi_cntr_read(cntr) == 8, "fi_cntr_wait returns once the counter reaches 8 (%d, %lu)", rc,
        static_cast<unsigned long>(fi_cntr_read(cntr)));
  fi_close(&ep->fid);
  fi_close(&cq->fid);
  fi_close(&cntr->fid);
}

static void test_poll_set() {
  fid_poll* ps = nullptr;
  fi_poll_attr pa = {};
  int rc = fi_poll_open(g_domain, &pa, &ps);
  CHECK(rc == 0, "fi_poll_open (%d)", rc);
  if (rc) return;
  TRY(fi_poll_add(ps, &B.cq->fid, 0));
  void* ctxs[4];
  CHECK(fi_poll(ps, ctxs, 4) == 0, "an idle poll set reports nothing");
  char rx[16] = {}, tx[16] = "poll";
  TRY(fi_trecv(B.ep, rx, sizeof(rx), nullptr, FI_ADDR_UNSPEC, 13, 0, rx));
  TRY(fi_tsend(A.ep, tx, sizeof(tx), nullptr, B.addr, 13, nullptr));
  int n = 0;
  auto t0 = Clock::now();
  while (n == 0 && ms_since(t0) < 10000) {
    fi_cq_tagged_entry c;
    fi_cq_read(A.cq, &c, 1);
    n = fi_poll(ps, ctxs, 4);
  }
  CHECK(n == 1 && ctxs[0] == B.cq->fid.context, "fi_poll names the CQ with a completion (%d)", n);
  fi_cq_tagged_entry c;
  CHECK(read_one(B, &c) == 1 && c.op_context == rx, "and the completion is there to read");
  CHECK(fi_poll_del(ps, &B.cq->fid, 0) == 0, "fi_poll_del");
  CHECK(fi_close(&ps->fid) == 0, "the poll set closes");
}

// An endpoint on its own CQ (and optional send counter), both in wait set ws.
struct WaitMember {
  fid_ep* ep = nullptr;
  fid_cq* cq = nullptr;
  fid_cntr* cntr = nullptr;
  fi_addr_t addr = FI_ADDR_UNSPEC;
  void open(fid_wait* ws, bool with_cntr) {
    fi_cq_attr ca = {};
    ca.format = FI_CQ_FORMAT_TAGGED;
    ca.wait_obj = FI_WAIT_SET;
    ca.wait_set = ws;
    TRY(fi_cq_open(g_domain, &ca, &cq, nullptr));
    TRY(fi_endpoint(g_domain, g_info, &ep, nullptr));
    TRY(fi_ep_bind(ep, &g_av->fid, 0));
    TRY(fi_ep_bind(ep, &cq->fid, FI_TRANSMIT | FI_RECV | (with_cntr ? FI_SELECTIVE_COMPLETION : 0)));
    if (with_cntr) {
      fi_cntr_attr na = {};
      na.events = FI_CNTR_EVENTS_COMP;
      na.wait_obj = FI_WAIT_SET;
      na.wait_set = ws;
      TRY(fi_cntr_open(g_domain, &na, &cntr, nullptr));
      TRY(fi_ep_bind(ep, &cntr->fid, FI_SEND));
    }
    TRY(fi_enable(ep));
    char name[64];
    size_t len = sizeof(name);
    TRY(fi_getname(&ep->fid, name, &len));
    TRY(fi_av_insert(g_av, name, 1, &addr, 0, nullptr) == 1 ? 0 : -1);
  }
  void close() {
    fi_av_remove(g_av, &addr, 1, 0);
    fi_close(&ep->fid);
    fi_close(&cq->fid);
    if (cntr) fi_close(&cntr->fid);
  }
};

static void test_wait_set() {
  // FI_WAIT_UNSPEC: a CQ and a counter join; fi_wait times out, wakes on a
  // completion, on a counter's change and on fi_cq_signal.
  fid_wait* ws = nullptr;
  fi_wait_attr wa = {};
  wa.wait_obj = FI_WAIT_UNSPEC;
  int rc = fi_wait_open(g_fabric, &wa, &ws);
  CHECK(rc == 0, "fi_wait_open with FI_WAIT_UNSPEC (%d)", rc);
  if (rc) return;
  WaitMember m;
  m.open(ws, false);
  WaitMember s;
  s.open(ws, true);
  CHECK(fi_close(&ws->fid) == -FI_EBUSY, "a wait set with members does not close");
  auto t0 = Clock::now();
  rc = fi_wait(ws, 100);
  CHECK(rc == -FI_ETIMEDOUT && ms_since(t0) >= 90, "fi_wait times out with -FI_ETIMEDOUT (%d)", rc);
  char rx[32] = {}, tx[32] = "wait set";
  TRY(fi_trecv(m.ep, rx, sizeof(rx), nullptr, FI_ADDR_UNSPEC, 41, 0, rx));
  g_pump = true;
  std::thread pump(pump_a);
  TRY(fi_tsend(A.ep, tx, sizeof(tx), nullptr, m.addr, 41, tx));
  t0 = Clock::now();
  rc = fi_wait(ws, 10000);
  fi_cq_tagged_entry c = {};
  ssize_t got = fi_cq_read(m.cq, &c, 1);
  CHECK(rc == 0 && got == 1 && c.op_context == rx && strcmp(rx, tx) == 0,
        "fi_wait returns once a member CQ has a completion, and it is there to read (%d, %zd, %.0f ms)", rc, got,
        ms_since(t0));
  // A send counted by the member counter (B receives it).
  char brx[16] = {}, stx[16] = "counted";
  TRY(fi_trecv(B.ep, brx, sizeof(brx), nullptr, FI_ADDR_UNSPEC, 42, 0, brx));
  TRY(fi_tsend(s.ep, stx, sizeof(stx), nullptr, B.addr, 42, nullptr));
  t0 = Clock::now();
  rc = fi_wait(ws, 10000);
  CHECK(rc == 0 && fi_cntr_read(s.cntr) == 1, "fi_wait returns once a member counter moves (%d, %lu, %.0f ms)", rc,
        static_cast<unsigned long>(fi_cntr_read(s.cntr)), ms_since(t0));
  read_one(B, &c);
  g_pump = false;
  pump.join();
  // fi_cq_signal on a member ends another thread's fi_wait.
  std::atomic<int> wrc{1};
  std::thread waiter([&] { wrc = fi_wait(ws, 20000); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  t0 = Clock::now();
  fi_cq_signal(m.cq);
  waiter.join();
  CHECK(wrc == 0 && ms_since(t0) < 5000, "fi_cq_signal of a member wakes fi_wait (%d)", wrc.load());
  m.close();
  s.close();
  CHECK(fi_close(&ws->fid) == 0, "the wait set closes once its members are gone");

  // FI_WAIT_FD: one fd for the set; fi_trywait on the set, poll(2), read.
  wa.wait_obj = FI_WAIT_FD;
  rc = fi_wait_open(g_fabric, &wa, &ws);
  CHECK(rc == 0, "fi_wait_open with FI_WAIT_FD (%d)", rc);
  if (rc) return;
  int fd = -1;
  rc = fi_control(&ws->fid, FI_GETWAIT, &fd);
  CHECK(rc == 0 && fd >= 0, "FI_GETWAIT gives the wait set's fd (%d, fd %d)", rc, fd);
  m = WaitMember{};
  m.open(ws, false);
  memset(rx, 0, sizeof(rx));
  TRY(fi_trecv(m.ep, rx, sizeof(rx), nullptr, FI_ADDR_UNSPEC, 43, 0, rx));
  g_pump = true;
  std::thread pump2(pump_a);
  TRY(fi_tsend(A.ep, tx, sizeof(tx), nullptr, m.addr, 43, tx));
  bool ok = false;
  unsigned wakeups = 0;
  t0 = Clock::now();
  while (!ok && ms_since(t0) < 10000) {
    fid* fids[1] = {&ws->fid};
    if (fi_trywait(g_fabric, fids, 1) == 0) {
      pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, 1000) > 0) ++wakeups;
    }
    ok = fi_cq_read(m.cq, &c, 1) == 1 && c.op_context == rx;
  }
  g_pump = false;
  pump2.join();
  CHECK(ok, "a consumer blocked in poll(2) on the wait set's fd gets the completion (%u wakeups, %.0f ms)", wakeups,
        ms_since(t0));
  m.close();
  CHECK(fi_close(&ws->fid) == 0, "the FI_WAIT_FD wait set closes");
}

static void test_peek_claim_discard() {
  char tx[100];
  memset(tx, 0x5a, sizeof(tx));
  fi_cq_tagged_entry c;
  fi_cq_err_entry e = {};
  // A peek with nothing there: FI_ENOMSG.
  iovec iov = {nullptr, 0};
  fi_msg_tagged m = {};
  m.msg_iov = &iov;
  m.iov_count = 1;
  m.addr = FI_ADDR_UNSPEC;
  m.tag = 0x77;
  fi_context ctx[3] = {};
  m.context = &ctx[0];
  TRY(fi_trecvmsg(B.ep, &m, FI_PEEK));
  CHECK(read_one(B, &c, &e) == -1 && e.err == FI_ENOMSG, "FI_PEEK with no message: FI_ENOMSG");
  // Two unexpected messages.
  TRY(fi_tsend(A.ep, tx, sizeof(tx), nullptr, B.addr, 0x77, nullptr));
  TRY(fi_tsend(A.ep, tx, sizeof(tx), nullptr, B.addr, 0x77, nullptr));
  read_one(A, &c);
  read_one(A, &c);
  // FI_PEEK|FI_DISCARD drops the first without a buffer.
  bool found = false;
  auto t0 = Clock::now();
  while (!found && ms_since(t0) < 10000) {
    m.context = &ctx[0];
    TRY(fi_trecvmsg(B.ep, &m, FI_PEEK | FI_DISCARD));
    int r = read_one(B, &c, &e);
    found = r == 1 && c.op_context == &ctx[0] && c.len == sizeof(tx) && c.tag == 0x77;
  }
  CHECK(found, "FI_PEEK|FI_DISCARD finds and drops an unexpected message");
  // FI_PEEK|FI_CLAIM then FI_CLAIM|FI_DISCARD drops the second.
  bool ok = false;
  t0 = Clock::now();
  while (!ok && ms_since(t0) < 10000) {  // the second may still be on its way
    m.context = &ctx[1];
    TRY(fi_trecvmsg(B.ep, &m, FI_PEEK | FI_CLAIM));
    ok = read_one(B, &c, &e) == 1 && c.op_context == &ctx[1] && c.len == sizeof(tx);
  }
  if (ok) TRY(fi_trecvmsg(B.ep, &m, FI_CLAIM | FI_DISCARD));
  ok = ok && read_one(B, &c) == 1 && c.op_context == &ctx[1];
  CHECK(ok, "FI_PEEK|FI_CLAIM then FI_CLAIM|FI_DISCARD drops the claimed message");
  m.context = &ctx[2];
  TRY(fi_trecvmsg(B.ep, &m, FI_PEEK));
  CHECK(read_one(B, &c, &e) == -1 && e.err == FI_ENOMSG, "both are gone: FI_PEEK finds nothing");
}

// ------------------------------------------------------- bounded state --

// An endpoint of its own on a CQ of `cq_size`, in the shared AV.
struct Extra {
  fid_ep* ep = nullptr;
  fid_cq* cq = nullptr;
  fi_addr_t addr = FI_ADDR_UNSPEC;
  void open(size_t cq_size) {
    fi_cq_attr ca = {};
    ca.format = FI_CQ_FORMAT_TAGGED;
    ca.size = cq_size;
    TRY(fi_endpoint(g_domain, g_info, &ep, nullptr));
    TRY(fi_cq_open(g_domain, &ca, &cq, nullptr));
    TRY(fi_ep_bind(ep, &g_av->fid, 0));
    TRY(fi_ep_bind(ep, &cq->fid, FI_TRANSMIT | FI_RECV));
    TRY(fi_enable(ep));
    char name[64];
    size_t len = sizeof(name);
    TRY(fi_getname(&ep->fid, name, &len));
    TRY(fi_av_insert(g_av, name, 1, &addr, 0, nullptr) == 1 ? 0 : -1);
  }
};

static void test_cq_bound() {
  // A CQ of 4 entries: sends stop with -FI_EAGAIN once 4 completions wait
  // unread, and go on once they are read; none is lost.
  Extra x;
  x.open(4);
  static char rx[64][8];
  for (auto& b : rx) TRY(fi_trecv(B.ep, b, sizeof(b), nullptr, FI_ADDR_UNSPEC, 21, 0, b));
  char tx[8] = "bound";
  int posted = 0, eagain_at = -1, received = 0;
  auto t0 = Clock::now();
  while (posted < 64 && ms_since(t0) < 10000) {
    fi_cq_tagged_entry c;
    received += fi_cq_read(B.cq, &c, 1) == 1;  // the receiver keeps up
    fi_cq_read(x.cq, nullptr, 0);              // the sender progresses, reads nothing
    ssize_t r = fi_tsend(x.ep, tx, sizeof(tx), nullptr, B.addr, 21, nullptr);
    if (r == 0) {
      ++posted;
    } else if (r == -FI_EAGAIN) {
      if (eagain_at < 0) eagain_at = posted;
      if (posted >= 8) break;  // the CQ is full and nobody reads it: as it should be
    } else {
      break;
    }
  }
  CHECK(eagain_at >= 4 && eagain_at <= 4 + 64, "a 4-entry CQ left unread pushes back with -FI_EAGAIN (after %d sends)",
        eagain_at);
  int done = 0;
  t0 = Clock::now();
  while (done < posted && ms_since(t0) < 10000) {
    fi_cq_tagged_entry c[4];
    ssize_t rr = fi_cq_read(B.cq, c, 4);
    if (rr > 0) received += static_cast<int>(rr);
    ssize_t r = fi_cq_read(x.cq, c, 4);
    if (r > 0) done += static_cast<int>(r);
    if (done >= posted && posted < 64 && fi_tsend(x.ep, tx, sizeof(tx), nullptr, B.addr, 21, nullptr) == 0) ++posted;
  }
  CHECK(done == posted && posted == 64, "reading it lets every send through and complete (%d of %d)", done, posted);
  t0 = Clock::now();
  while (received < 64 && ms_since(t0) < 10000) {
    fi_cq_tagged_entry c;
    received += fi_cq_read(B.cq, &c, 1) == 1;
  }
  CHECK(received == 64, "and the receiver got all 64 (%d)", received);
  fi_close(&x.ep->fid);
  fi_close(&x.cq->fid);
}

static void test_flush_on_close() {
  // Work outstanding when an endpoint closes completes as flushed.
  Extra x;
  x.open(0);
  char never[16];
  TRY(fi_trecv(x.ep, never, sizeof(never), nullptr, FI_ADDR_UNSPEC, 0xf1, 0, never));
  // A long send (RTS) waits for a receive B never posts.
  std::vector<uint8_t> big(5 << 20, 0x3c);
  TRY(fi_tsend(x.ep, big.data(), big.size(), nullptr, B.addr, 0xf2, big.data()));
  fi_cq_tagged_entry c;
  for (int i = 0; i < 200; ++i) {
    fi_cq_read(x.cq, &c, 1);
    fi_cq_read(B.cq, &c, 1);
  }
  CHECK(fi_close(&x.ep->fid) == 0, "an endpoint with work outstanding closes");
  int flushed_rx = 0, flushed_tx = 0;
  for (int i = 0; i < 4; ++i) {
    if (fi_cq_read(x.cq, &c, 1) != -FI_EAVAIL) break;
    fi_cq_err_entry e = {};
    fi_cq_readerr(x.cq, &e, 0);
    if (e.err == FI_ECANCELED && e.op_context == never) ++flushed_rx;
    if (e.err == FI_ECANCELED && e.op_context == big.data()) ++flushed_tx;
  }
  CHECK(flushed_rx == 1 && flushed_tx == 1,
        "its pending receive and send complete with FI_ECANCELED (receive %d, send %d)", flushed_rx, flushed_tx);
  fi_close(&x.cq->fid);
  // B drops the RTS it was holding (its sender is gone): peek finds it or
  // not, but B keeps working.
  fi_av_remove(g_av, &x.addr, 1, 0);
}

static void test_av_remove() {
  // A removed peer is forgotten; inserted again it is reached again.
  Extra x;
  x.open(0);
  char rx[16] = {}, tx[16] = "again";
  TRY(fi_trecv(x.ep, rx, sizeof(rx), nullptr, FI_ADDR_UNSPEC, 31, 0, rx));
  TRY(fi_tsend(A.ep, tx, sizeof(tx), nullptr, x.addr, 31, nullptr));
  fi_cq_tagged_entry c;
  bool ok = false;
  auto t0 = Clock::now();
  while (!ok && ms_since(t0) < 10000) {
    fi_cq_read(A.cq, &c, 1);
    ok = fi_cq_read(x.cq, &c, 1) == 1;
  }
  for (int i = 0; i < 100; ++i) fi_cq_read(A.cq, &c, 1);
  char name[64];
  size_t len = sizeof(name);
  TRY(fi_getname(&x.ep->fid, name, &len));
  CHECK(ok && fi_av_remove(g_av, &x.addr, 1, 0) == 0, "fi_av_remove of a peer that was used");
  CHECK(fi_tsend(A.ep, tx, sizeof(tx), nullptr, x.addr, 31, nullptr) != 0, "a send to the removed address fails");
  fi_addr_t again;
  TRY(fi_av_insert(g_av, name, 1, &again, 0, nullptr) == 1 ? 0 : -1);
  memset(rx, 0, sizeof(rx));
  TRY(fi_trecv(x.ep, rx, sizeof(rx), nullptr, FI_ADDR_UNSPEC, 31, 0, rx));
  TRY(fi_tsend(A.ep, tx, sizeof(tx), nullptr, again, 31, nullptr));
  ok = false;
  t0 = Clock::now();
  while (!ok && ms_since(t0) < 10000) {
    fi_cq_read(A.cq, &c, 1);
    ok = fi_cq_read(x.cq, &c, 1) == 1 && strcmp(rx, tx) == 0;
  }
  for (int i = 0; i < 100; ++i) fi_cq_read(A.cq, &c, 1);
  CHECK(ok, "inserted again, it is reached again");
  fi_av_remove(g_av, &again, 1, 0);
  fi_close(&x.ep->fid);
  fi_close(&x.cq->fid);
}

// The RNR retry limit: an FI_RM_DISABLED endpoint with FI_OPT_EFA_RNR_RETRY
// fails a send whose receiver never gives the device a buffer with
// FI_ENORX, in bounded time; with resource management (the default) the
// same sends wait and all arrive once the receiver progresses.
struct RnrPair {
  fid_domain* dom = nullptr;
  fid_av* av = nullptr;
  fid_ep* tx = nullptr;
  fid_ep* rx = nullptr;
  fid_cq* txcq = nullptr;
  fid_cq* rxcq = nullptr;
  fi_addr_t rx_addr = FI_ADDR_UNSPEC;
  fi_info* info = nullptr;
  int setopt_rc = 0, late_rc = 0, bad_rc = 0;
  size_t got = 0;
  // rnr: FI_OPT_EFA_RNR_RETRY for the sender, or -1 to leave the default.
  void open(fi_resource_mgmt rm, long rnr) {
    fi_info* h = base_hints();
    h->caps = FI_MSG | FI_TAGGED;
    h->domain_attr->resource_mgmt = rm;
    TRY(fi_getinfo(kApi, nullptr, nullptr, 0, h, &info));
    fi_freeinfo(h);
    TRY(fi_domain(g_fabric, info, &dom, nullptr));
    fi_av_attr aa = {};
    TRY(fi_av_open(dom, &aa, &av, nullptr));
    fi_cq_attr ca = {};
    ca.format = FI_CQ_FORMAT_TAGGED;
    TRY(fi_cq_open(dom, &ca, &txcq, nullptr));
    TRY(fi_cq_open(dom, &ca, &rxcq, nullptr));
    for (fid_ep** ep : {&tx, &rx}) {
      TRY(fi_endpoint(dom, info, ep, nullptr));
      TRY(fi_ep_bind(*ep, &av->fid, 0));
      TRY(fi_ep_bind(*ep, &(ep == &tx ? txcq : rxcq)->fid, FI_TRANSMIT | FI_RECV));
    }
    if (rnr >= 0) {
      size_t v = 8;
      bad_rc = fi_setopt(&tx->fid, FI_OPT_ENDPOINT, FI_OPT_EFA_RNR_RETRY, &v, sizeof(v));
      v = static_cast<size_t>(rnr);
      setopt_rc = fi_setopt(&tx->fid, FI_OPT_ENDPOINT, FI_OPT_EFA_RNR_RETRY, &v, sizeof(v));
    }
    TRY(fi_enable(tx));
    TRY(fi_enable(rx));
    size_t v = 0, len = sizeof(v);
    if (fi_getopt(&tx->fid, FI_OPT_ENDPOINT, FI_OPT_EFA_RNR_RETRY, &v, &len) == 0) got = v;
    v = 1;
    late_rc = fi_setopt(&tx->fid, FI_OPT_ENDPOINT, FI_OPT_EFA_RNR_RETRY, &v, sizeof(v));
    char name[64];
    len = sizeof(name);
    TRY(fi_getname(&rx->fid, name, &len));
    if (fi_av_insert(av, name, 1, &rx_addr, 0, nullptr) != 1) std::exit(2);
  }
  void close() {
    fi_close(&tx->fid);
    fi_close(&rx->fid);
    fi_close(&txcq->fid);
    fi_close(&rxcq->fid);
    fi_close(&av->fid);
    fi_close(&dom->fid);
    fi_freeinfo(info);
  }
};

static void test_rnr_limit() {
  // The receiver never progresses: once the device has used the receive
  // buffers its endpoint posted, the device has none for the next send.
  constexpr int kSends = 600;
  static char tx[kSends][64];
  RnrPair x;
  x.open(FI_RM_DISABLED, 1);
  CHECK(x.info->domain_attr->resource_mgmt == FI_RM_DISABLED, "fi_getinfo keeps FI_RM_DISABLED");
  CHECK(x.setopt_rc == 0 && x.got == 1, "FI_OPT_EFA_RNR_RETRY is set before fi_enable (%d, reads back %zu)",
        x.setopt_rc, x.got);
  CHECK(x.bad_rc == -FI_EINVAL && x.late_rc == -FI_EINVAL,
        "FI_OPT_EFA_RNR_RETRY refuses 8 and any value after fi_enable (%d, %d)", x.bad_rc, x.late_rc);
  int posted = 0, ok = 0, enorx = 0, other = 0, prov_errno = 0;
  auto t0 = Clock::now();
  while (ok + enorx + other < kSends && ms_since(t0) < 20000) {
    if (posted < kSends) {
      snprintf(tx[posted], sizeof(tx[posted]), "rnr %d", posted);
      if (fi_tsend(x.tx, tx[posted], sizeof(tx[posted]), nullptr, x.rx_addr, 0x77, tx[posted]) == 0) ++posted;
    }
    fi_cq_tagged_entry c;
    ssize_t r = fi_cq_read(x.txcq, &c, 1);
    if (r == 1) ++ok;
    if (r == -FI_EAVAIL) {
      fi_cq_err_entry e = {};
      fi_cq_readerr(x.txcq, &e, 0);
      if (e.err == FI_ENORX) {
        ++enorx;
        prov_errno = e.prov_errno;
      } else {
        ++other;
      }
    }
  }
  CHECK(enorx > 0 && other == 0 && prov_errno != 0 && ok + enorx == kSends,
        "sends to a receiver with no buffer fail with FI_ENORX in bounded time (%d ok, %d FI_ENORX, prov_errno %d, "
        "%d other, %.0f ms)",
        ok, enorx, prov_errno, other, ms_since(t0));
  // The receiver catches up: it gets what arrived, in order, and a later
  // send reaches it (a new sequence).
  static char rx[kSends + 1][64];
  for (int i = 0; i <= kSends; ++i) TRY(fi_trecv(x.rx, rx[i], sizeof(rx[i]), nullptr, FI_ADDR_UNSPEC, 0x77, 0, rx[i]));
  char after[64] = "after";
  int sent_after = -1, in_order = 1, n = 0;
  bool got_after = false;
  t0 = Clock::now();
  while (!got_after && ms_since(t0) < 10000) {
    fi_cq_tagged_entry c;
    if (fi_cq_read(x.rxcq, &c, 1) == 1) {
      if (strcmp(static_cast<char*>(c.buf), "after") == 0) {
        got_after = true;
      } else {
        char want[64];
        snprintf(want, sizeof(want), "rnr %d", n++);
        in_order &= strcmp(static_cast<char*>(c.buf), want) == 0;
      }
    }
    if (sent_after < 0 && ms_since(t0) > 100)
      sent_after = static_cast<int>(fi_tsend(x.tx, after, sizeof(after), nullptr, x.rx_addr, 0x77, after));
    fi_cq_read(x.txcq, &c, 1);
  }
  CHECK(got_after && in_order && n == ok,
        "the receiver gets the %d that completed, in order, then a later send (%d in order: %d, after: %d)", ok, n,
        in_order, got_after);
  x.close();

  // Resource management on (the default): the same sends wait, then all arrive.
  RnrPair y;
  y.open(FI_RM_ENABLED, 1);
  posted = ok = other = 0;
  t0 = Clock::now();
  while (posted < kSends && ms_since(t0) < 5000) {
    snprintf(tx[posted], sizeof(tx[posted]), "rm %d", posted);
    if (fi_tsend(y.tx, tx[posted], sizeof(tx[posted]), nullptr, y.rx_addr, 0x78, tx[posted]) == 0) ++posted;
    fi_cq_tagged_entry c;
    ssize_t r = fi_cq_read(y.txcq, &c, 1);
    ok += r == 1;
    other += r == -FI_EAVAIL;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // beyond one RNR retry's wait
  for (int i = 0; i < kSends; ++i) TRY(fi_trecv(y.rx, rx[i], sizeof(rx[i]), nullptr, FI_ADDR_UNSPEC, 0x78, 0, rx[i]));
  int received = 0;
  t0 = Clock::now();
  while ((received < posted || ok + other < posted) && ms_since(t0) < 20000) {
    fi_cq_tagged_entry c;
    received += fi_cq_read(y.rxcq, &c, 1) == 1;
    ssize_t r = fi_cq_read(y.txcq, &c, 1);
    ok += r == 1;
    other += r == -FI_EAVAIL;
  }
  CHECK(posted == kSends && received == kSends && ok == kSends && other == 0,
        "with FI_RM_ENABLED they wait for the receiver instead: %d posted, %d received, %d ok, %d errors", posted,
        received, ok, other);
  y.close();
}

int main() {
  if (const char* p = std::getenv("VEFA_PROV")) g_prov = p;
  test_source_addr();
  test_mr_modes();
  test_unsupported();

  fi_info* h = base_hints();
  h->caps = FI_MSG | FI_TAGGED | FI_SOURCE;
  TRY(fi_getinfo(kApi, nullptr, nullptr, 0, h, &g_info));
  TRY(fi_fabric(g_info->fabric_attr, &g_fabric, nullptr));
  TRY(fi_domain(g_fabric, g_info, &g_domain, nullptr));
  fi_av_attr aa = {};
  TRY(fi_av_open(g_domain, &aa, &g_av, nullptr));
  open_side(A, FI_WAIT_NONE);
  open_side(B, FI_WAIT_UNSPEC);
  insert(A);
  insert(B);

  test_waitable_cq();
  test_wait_fd();
  test_cntr_wait();
  test_poll_set();
  test_wait_set();
  test_peek_claim_discard();
  test_cq_bound();
  test_flush_on_close();
  test_av_remove();
  test_rnr_limit();

  for (Side* s : {&A, &B}) fi_close(&s->ep->fid);
  for (Side* s : {&A, &B}) fi_close(&s->cq->fid);
  fi_close(&g_av->fid);
  CHECK(fi_close(&g_domain->fid) == 0, "the domain closes once its objects are gone");
  fi_close(&g_fabric->fid);
  fi_freeinfo(g_info);
  fi_freeinfo(h);
  std::printf("vefa_conform: %s (%d failures)\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
