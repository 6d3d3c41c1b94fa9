// SPDX-License-Identifier: MIT
//
// fi_cq: a software queue of completions the bound endpoints produce while
// they progress.  Reads drive progress (FI_PROGRESS_MANUAL).  Errors queue
// separately: fi_cq_read answers -FI_EAVAIL while one is pending.
#include <sched.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "vefa.h"

namespace vefa {

void Cq::progress() {
  for (Ep* e : eps) e->progress();
}

// How long a consumer blocked on the wait fd sleeps before it is woken to
// make progress (vefa's progress is manual: nothing else moves the device's
// completions into this CQ while every thread sleeps).
constexpr long kWaitTickNs = 200 * 1000;

static void arm(int fd, long ns) {
  struct itimerspec t = {};
  t.it_value.tv_nsec = ns;
  timerfd_settime(fd, 0, &t, nullptr);
}

void Cq::wake_fd() {
  fd_armed = false;
  arm(wait_fd, 1);
}

int Cq::trywait() {
  progress();
  if (!comps.empty() || !errs.empty()) return -FI_EAGAIN;
  if (wait_fd >= 0) {
    uint64_t expirations;
    while (read(wait_fd, &expirations, sizeof(expirations)) > 0) {
    }
    arm(wait_fd, kWaitTickNs);
    fd_armed = true;
  }
  return 0;
}

static Cq* cq_of(struct fid_cq* c) {
  return reinterpret_cast<Cq*>(c);
}

static size_t entry_size(enum fi_cq_format f) {
  switch (f) {
    case FI_CQ_FORMAT_MSG:
      return sizeof(struct fi_cq_msg_entry);
    case FI_CQ_FORMAT_DATA:
      return sizeof(struct fi_cq_data_entry);
    case FI_CQ_FORMAT_TAGGED:
      return sizeof(struct fi_cq_tagged_entry);
    default:
      return sizeof(struct fi_cq_entry);
  }
}

static void write_entry(enum fi_cq_format f, void* dst, const Comp& c) {
  switch (f) {
    case FI_CQ_FORMAT_MSG: {
      auto* e = static_cast<fi_cq_msg_entry*>(dst);
      e->op_context = c.op_context;
      e->flags = c.flags;
      e->len = c.len;
      break;
    }
    case FI_CQ_FORMAT_DATA: {
      auto* e = static_cast<fi_cq_data_entry*>(dst);
      e->op_context = c.op_context;
      e->flags = c.flags;
      e->len = c.len;
      e->buf = c.buf;
      e->data = c.data;
      break;
    }
    case FI_CQ_FORMAT_TAGGED: {
      auto* e = static_cast<fi_cq_tagged_entry*>(dst);
      e->op_context = c.op_context;
      e->flags = c.flags;
      e->len = c.len;
      e->buf = c.buf;
      e->data = c.data;
      e->tag = c.tag;
      break;
    }
    default:
      static_cast<fi_cq_entry*>(dst)->op_context = c.op_context;
  }
}

static ssize_t take(Cq* cq, void* buf, size_t count, fi_addr_t* src) {
  if (!cq->errs.empty()) return -FI_EAVAIL;
  if (cq->comps.empty()) return -FI_EAGAIN;
  size_t sz = entry_size(cq->format), n = 0;
  auto* out = static_cast<uint8_t*>(buf);
  while (n < count && !cq->comps.empty()) {
    const Comp& c = cq->comps.front();
    write_entry(cq->format, out + n * sz, c);
    if (src) src[n] = c.src;
    cq->comps.pop_front();
    ++n;
  }
  return static_cast<ssize_t>(n);
}

// Consecutive empty reads before a poller gives up its core once.  The data
// mover is venicd's worker, often on the same few cores as the ranks: an
// application that spins on fi_cq_read must let it (and its peer) run.
constexpr unsigned kYieldEvery = 4;

static ssize_t cq_readfrom(struct fid_cq* fcq, void* buf, size_t count, fi_addr_t* src) {
  Cq* cq = cq_of(fcq);
  ssize_t rc;
  {
    std::lock_guard<std::recursive_mutex> g(cq->dom->lock);
    cq->progress();
    rc = take(cq, buf, count, src);
    if (rc != -FI_EAGAIN) {
      cq->empty_reads = 0;
      return rc;
    }
    if (++cq->empty_reads % kYieldEvery != 0) return rc;
  }
  sched_yield();
  return rc;
}

static ssize_t cq_read(struct fid_cq* fcq, void* buf, size_t count) {
  return cq_readfrom(fcq, buf, count, nullptr);
}

static ssize_t cq_readerr(struct fid_cq* fcq, struct fi_cq_err_entry* buf, uint64_t flags) {
  (void)flags;
  Cq* cq = cq_of(fcq);
  std::lock_guard<std::recursive_mutex> g(cq->dom->lock);
  if (cq->errs.empty()) return -FI_EAGAIN;
  fi_cq_err_entry e = cq->errs.front();
  cq->errs.pop_front();
  // err_data_size exists from API 1.5 on; older callers' struct ends before it.
  if (cq->dom->api_version >= FI_VERSION(1, 5)) {
    e.err_data = nullptr;
    e.err_data_size = 0;
    *buf = e;
  } else {
    memcpy(buf, &e, offsetof(fi_cq_err_entry, err_data_size));
  }
  return 1;
}

static uint64_t now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t cq_sreadfrom(struct fid_cq* fcq, void* buf, size_t count, fi_addr_t* src, const void* cond,
                            int timeout) {
  (void)cond;
  Cq* cq = cq_of(fcq);
  uint64_t deadline = timeout < 0 ? UINT64_MAX : now_ms() + static_cast<uint64_t>(timeout);
  unsigned spins = 0;
  for (;;) {
    ssize_t rc = cq_readfrom(fcq, buf, count, src);
    if (rc != -FI_EAGAIN) return rc;
    // fi_cq_signal: the waiter returns as if it timed out.
    if (cq->signaled.exchange(false)) return -FI_EAGAIN;
    if (now_ms() >= deadline) return -FI_EAGAIN;
    // Progress is ours to make: poll, yielding the core now and then (the
    // peer may be on the same machine).
    if (++spins % 64 == 0) sched_yield();
  }
}

static ssize_t cq_sread(struct fid_cq* fcq, void* buf, size_t count, const void* cond, int timeout) {
  return cq_sreadfrom(fcq, buf, count, nullptr, cond, timeout);
}

static int cq_signal(struct fid_cq* fcq) {
  Cq* cq = cq_of(fcq);
  cq->signaled = true;
  if (cq->wait_fd >= 0) arm(cq->wait_fd, 1);
  return 0;
}

static const char* cq_strerror(struct fid_cq*, int prov_errno, const void*, char* buf, size_t len) {
  static const char* const kNames[] = {
      "success",
      "malformed work request",
      "destination unreachable",
      "remote access error",
      "local protection error",
      "receive too long",
      "flushed",
      "remote abort",
      "receiver not ready (RNR retries exhausted)",
  };
  constexpr int kKnown = sizeof(kNames) / sizeof(kNames[0]);
  const char* s = prov_errno >= 0 && prov_errno < kKnown ? kNames[prov_errno] : "unknown device status";
  if (buf && len) {
    strncpy(buf, s, len - 1);
    buf[len - 1] = '\0';
    return buf;
  }
  return s;
}

static int cq_close(struct fid* fid) {
  Cq* cq = reinterpret_cast<Cq*>(fid);
  Domain* d = cq->dom;
  {
    std::lock_guard<std::recursive_mutex> g(d->lock);
    if (cq->refs) return -FI_EBUSY;
    d->refs--;
  }
  if (cq->wset)
    wait_leave(cq->wset, &cq->cq.fid);  // its wait_fd is the set's
  else if (cq->wait_fd >= 0)
    close(cq->wait_fd);
  delete cq;
  return 0;
}

static int cq_control(struct fid* fid, int command, void* arg) {
  Cq* cq = reinterpret_cast<Cq*>(fid);
  if (command != FI_GETWAIT) return -FI_ENOSYS;
  if (cq->wait_fd < 0) return -FI_ENODATA;
  *static_cast<int*>(arg) = cq->wait_fd;
  return 0;
}

static struct fi_ops g_cq_fi_ops = {
    sizeof(struct fi_ops), cq_close, no_bind, cq_control, no_ops_open, nullptr, nullptr,
};
static struct fi_ops_cq g_cq_ops = {
    sizeof(struct fi_ops_cq), cq_read, cq_readfrom, cq_readerr, cq_sread, cq_sreadfrom, cq_signal, cq_strerror,
};

int cq_open(struct fid_domain* domain, struct fi_cq_attr* attr, struct fid_cq** out, void* context) {
  Domain* d = reinterpret_cast<Domain*>(domain);
  if (!attr) return -FI_EINVAL;
  // fi_cq_sread polls (progress is ours to make); FI_WAIT_FD gives a
  // timerfd (Cq::trywait); FI_WAIT_SET joins a wait set (vefa_wait.cpp).
  // No mutex/condition pairs.
  switch (attr->wait_obj) {
    case FI_WAIT_NONE:
    case FI_WAIT_UNSPEC:
    case FI_WAIT_YIELD:
    case FI_WAIT_FD:
      break;
    case FI_WAIT_SET:
      if (!attr->wait_set) return -FI_EINVAL;
      break;
    default:
      return -FI_ENOSYS;
  }
  if (attr->flags & FI_AFFINITY) return -FI_ENOSYS;
  if (attr->size > kMaxCqSize) return -FI_EINVAL;
  auto cq = std::make_unique<Cq>();
  cq->dom = d;
  if (attr->size) cq->cap = attr->size;
  switch (attr->format) {
    case FI_CQ_FORMAT_UNSPEC:
      cq->format = FI_CQ_FORMAT_CONTEXT;
      break;
    case FI_CQ_FORMAT_CONTEXT:
    case FI_CQ_FORMAT_MSG:
    case FI_CQ_FORMAT_DATA:
    case FI_CQ_FORMAT_TAGGED:
      cq->format = attr->format;
      break;
    default:
      return -FI_ENOSYS;
  }
  if (attr->wait_obj == FI_WAIT_FD) {
    cq->wait_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (cq->wait_fd < 0) return -FI_ENOMEM;
  }
  if (attr->wait_obj == FI_WAIT_SET) {
    cq->wset = wait_set_of(attr->wait_set);
    cq->wait_fd = cq->wset->fd;  // -1 for an FI_WAIT_UNSPEC set
    wait_join(cq->wset, &cq->cq.fid);
  }
  cq->cq.fid.fclass = FI_CLASS_CQ;
  cq->cq.fid.context = context;
  cq->cq.fid.ops = &g_cq_fi_ops;
  cq->cq.ops = &g_cq_ops;
  std::lock_guard<std::recursive_mutex> g(d->lock);
  d->refs++;
  *out = &cq.release()->cq;
  return 0;
}

}  // namespace vefa
