// SPDX-License-Identifier: MIT
//
// fi_wait: wait sets (fi_poll(3)).  CQs and counters join one when opened
// with FI_WAIT_SET; fi_wait blocks until one of them is ready.  Progress is
// manual, so fi_wait makes it (polling, yielding the core now and then) as
// fi_cq_sread does; an FI_WAIT_FD set gives one fd for poll(2), which
// fi_trywait on the set arms as it does a CQ's own (Cq::trywait).
#include <sched.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "vefa.h"

namespace vefa {

WaitSet* wait_set_of(struct fid_wait* w) {
  return reinterpret_cast<WaitSet*>(w);
}

bool WaitSet::any_ready(bool consume) {
  std::lock_guard<std::mutex> g(lock);
  bool ready = false;
  for (Member& m : members) {
    if (m.fid->fclass == FI_CLASS_CQ) {
      Cq* cq = reinterpret_cast<Cq*>(m.fid);
      std::lock_guard<std::recursive_mutex> d(cq->dom->lock);
      cq->progress();
      ready |= cq->ready() || (consume ? cq->signaled.exchange(false) : cq->signaled.load());
    } else {
      Cntr* c = reinterpret_cast<Cntr*>(m.fid);
      std::lock_guard<std::recursive_mutex> d(c->dom->lock);
      c->progress();
      const uint64_t now = c->value + c->err;
      if (now != m.cntr_seen) {
        ready = true;
        if (consume) m.cntr_seen = now;
      }
    }
  }
  return ready;
}

void wait_join(WaitSet* ws, struct fid* member) {
  uint64_t seen = 0;
  if (member->fclass == FI_CLASS_CNTR) {
    Cntr* c = reinterpret_cast<Cntr*>(member);
    seen = c->value + c->err;
  }
  std::lock_guard<std::mutex> g(ws->lock);
  ws->members.push_back({member, seen});
}

void wait_leave(WaitSet* ws, struct fid* member) {
  std::lock_guard<std::mutex> g(ws->lock);
  auto it = std::find_if(ws->members.begin(), ws->members.end(),
                         [member](const WaitSet::Member& m) { return m.fid == member; });
  if (it != ws->members.end()) ws->members.erase(it);
}

// fi_trywait on the set: -FI_EAGAIN when a member is ready; otherwise its
// CQs arm the shared fd (a completion or fi_cq_signal fires it, the tick
// wakes the consumer to make progress, counters included).
int wait_trywait(WaitSet* ws) {
  if (ws->any_ready(false)) return -FI_EAGAIN;
  std::lock_guard<std::mutex> g(ws->lock);
  for (WaitSet::Member& m : ws->members) {
    if (m.fid->fclass != FI_CLASS_CQ) continue;
    Cq* cq = reinterpret_cast<Cq*>(m.fid);
    std::lock_guard<std::recursive_mutex> d(cq->dom->lock);
    if (cq->trywait()) return -FI_EAGAIN;
  }
  if (ws->fd >= 0) {
    // No CQ member arms it: the tick alone (Cq::trywait's, for counters).
    struct itimerspec t = {};
    t.it_value.tv_nsec = 200 * 1000;
    timerfd_settime(ws->fd, 0, &t, nullptr);
  }
  return 0;
}

static uint64_t now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

static int wait_wait(struct fid_wait* fw, int timeout) {
  WaitSet* ws = wait_set_of(fw);
  const uint64_t deadline = timeout < 0 ? UINT64_MAX : now_ms() + static_cast<uint64_t>(timeout);
  for (unsigned spins = 1;; ++spins) {
    if (ws->any_ready(true)) return 0;
    if (now_ms() >= deadline) return -FI_ETIMEDOUT;
    if (spins % 16 == 0) sched_yield();  // the data mover and the peer may share this core
  }
}

static int wait_close(struct fid* fid) {
  WaitSet* ws = reinterpret_cast<WaitSet*>(fid);
  {
    std::lock_guard<std::mutex> g(ws->lock);
    if (!ws->members.empty()) return -FI_EBUSY;
  }
  if (ws->fd >= 0) close(ws->fd);
  ws->fabric->refs--;
  delete ws;
  return 0;
}

static int wait_control(struct fid* fid, int command, void* arg) {
  WaitSet* ws = reinterpret_cast<WaitSet*>(fid);
  if (command != FI_GETWAIT) return -FI_ENOSYS;
  if (ws->fd < 0) return -FI_ENODATA;
  *static_cast<int*>(arg) = ws->fd;
  return 0;
}

static struct fi_ops g_wait_fi_ops = {
    sizeof(struct fi_ops), wait_close, no_bind, wait_control, no_ops_open, nullptr, nullptr,
};
static struct fi_ops_wait g_wait_ops = {sizeof(struct fi_ops_wait), wait_wait};

int wait_open(struct fid_fabric* fabric, struct fi_wait_attr* attr, struct fid_wait** out) {
  if (!attr || attr->flags) return -FI_EINVAL;
  if (attr->wait_obj != FI_WAIT_UNSPEC && attr->wait_obj != FI_WAIT_FD) return -FI_ENOSYS;
  auto ws = std::make_unique<WaitSet>();
  ws->fabric = reinterpret_cast<Fabric*>(fabric);
  ws->obj = attr->wait_obj;
  if (ws->obj == FI_WAIT_FD) {
    ws->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ws->fd < 0) return -FI_ENOMEM;
  }
  ws->wait.fid.fclass = FI_CLASS_WAIT;
  ws->wait.fid.ops = &g_wait_fi_ops;
  ws->wait.ops = &g_wait_ops;
  ws->fabric->refs++;
  *out = &ws.release()->wait;
  return 0;
}

}  // namespace vefa
