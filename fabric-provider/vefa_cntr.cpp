// SPDX-License-Identifier: MIT
//
// fi_cntr: success and error counts of the operations of the endpoints bound
// to it.  Reads and waits drive progress.
#include <sched.h>
#include <time.h>

#include "vefa.h"

namespace vefa {

void Cntr::progress() {
  for (Ep* e : eps) e->progress();
}

static Cntr* cntr_of(struct fid_cntr* c) {
  return reinterpret_cast<Cntr*>(c);
}

static uint64_t cntr_read(struct fid_cntr* fc) {
  Cntr* c = cntr_of(fc);
  std::lock_guard<std::recursive_mutex> g(c->dom->lock);
  c->progress();
  return c->value;
}

static uint64_t cntr_readerr(struct fid_cntr* fc) {
  Cntr* c = cntr_of(fc);
  std::lock_guard<std::recursive_mutex> g(c->dom->lock);
  c->progress();
  return c->err;
}

static int cntr_add(struct fid_cntr* fc, uint64_t v) {
  Cntr* c = cntr_of(fc);
  std::lock_guard<std::recursive_mutex> g(c->dom->lock);
  c->value += v;
  return 0;
}

static int cntr_set(struct fid_cntr* fc, uint64_t v) {
  Cntr* c = cntr_of(fc);
  std::lock_guard<std::recursive_mutex> g(c->dom->lock);
  c->value = v;
  return 0;
}

static int cntr_adderr(struct fid_cntr* fc, uint64_t v) {
  Cntr* c = cntr_of(fc);
  std::lock_guard<std::recursive_mutex> g(c->dom->lock);
  c->err += v;
  return 0;
}

static int cntr_seterr(struct fid_cntr* fc, uint64_t v) {
  Cntr* c = cntr_of(fc);
  std::lock_guard<std::recursive_mutex> g(c->dom->lock);
  c->err = v;
  return 0;
}

static uint64_t now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

static int cntr_wait(struct fid_cntr* fc, uint64_t threshold, int timeout) {
  Cntr* c = cntr_of(fc);
  uint64_t deadline = timeout < 0 ? UINT64_MAX : now_ms() + static_cast<uint64_t>(timeout);
  uint64_t err0;
  {
    std::lock_guard<std::recursive_mutex> g(c->dom->lock);
    err0 = c->err;
  }
  for (unsigned spins = 1;; ++spins) {
    {
      std::lock_guard<std::recursive_mutex> g(c->dom->lock);
      c->progress();
      if (c->value >= threshold) return 0;
      // An error while waiting ends the wait, as the fi_cntr man page asks.
      if (c->err != err0) return -FI_EAVAIL;
    }
    if (now_ms() >= deadline) return -FI_ETIMEDOUT;
    if (spins % 64 == 0) sched_yield();
  }
}

static int cntr_close(struct fid* fid) {
  Cntr* c = reinterpret_cast<Cntr*>(fid);
  Domain* d = c->dom;
  {
    std::lock_guard<std::recursive_mutex> g(d->lock);
    if (c->refs) return -FI_EBUSY;
    d->refs--;
  }
  if (c->wset) wait_leave(c->wset, &c->cntr.fid);
  delete c;
  return 0;
}

static struct fi_ops g_cntr_fi_ops = {
    sizeof(struct fi_ops), cntr_close, no_bind, no_control, no_ops_open, nullptr, nullptr,
};
static struct fi_ops_cntr g_cntr_ops = {
    sizeof(struct fi_ops_cntr), cntr_read, cntr_readerr, cntr_add, cntr_set, cntr_wait, cntr_adderr, cntr_seterr,
};

int cntr_open(struct fid_domain* domain, struct fi_cntr_attr* attr, struct fid_cntr** out, void* context) {
  Domain* d = reinterpret_cast<Domain*>(domain);
  if (attr) {
    if (attr->events != FI_CNTR_EVENTS_COMP) return -FI_ENOSYS;
    if (attr->wait_obj != FI_WAIT_NONE && attr->wait_obj != FI_WAIT_UNSPEC && attr->wait_obj != FI_WAIT_YIELD &&
        attr->wait_obj != FI_WAIT_SET)
      return -FI_ENOSYS;
    if (attr->wait_obj == FI_WAIT_SET && !attr->wait_set) return -FI_EINVAL;
  }
  auto c = std::make_unique<Cntr>();
  c->dom = d;
  if (attr && attr->wait_obj == FI_WAIT_SET) {
    c->wset = wait_set_of(attr->wait_set);
    wait_join(c->wset, &c->cntr.fid);
  }
  c->cntr.fid.fclass = FI_CLASS_CNTR;
  c->cntr.fid.context = context;
  c->cntr.fid.ops = &g_cntr_fi_ops;
  c->cntr.ops = &g_cntr_ops;
  std::lock_guard<std::recursive_mutex> g(d->lock);
  d->refs++;
  *out = &c.release()->cntr;
  return 0;
}

}  // namespace vefa
