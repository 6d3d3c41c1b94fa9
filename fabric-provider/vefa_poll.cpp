// SPDX-License-Identifier: MIT
//
// fi_poll: a set of CQs and counters looked at together.  fi_poll drives
// their progress and names (by fid context) each CQ with entries ready and
// each counter whose value moved since the last fi_poll reported it.
#include <algorithm>

#include "vefa.h"

namespace vefa {

static PollSet* poll_of(struct fid_poll* p) {
  return reinterpret_cast<PollSet*>(p);
}

static int* refs_of(struct fid* f) {
  if (f->fclass == FI_CLASS_CQ) return &reinterpret_cast<Cq*>(f)->refs;
  if (f->fclass == FI_CLASS_CNTR) return &reinterpret_cast<Cntr*>(f)->refs;
  return nullptr;
}

static int poll_poll(struct fid_poll* fp, void** context, int count) {
  PollSet* ps = poll_of(fp);
  std::lock_guard<std::recursive_mutex> g(ps->dom->lock);
  int n = 0;
  for (PollSet::Member& m : ps->members) {
    if (n >= count) break;
    if (m.fid->fclass == FI_CLASS_CQ) {
      Cq* cq = reinterpret_cast<Cq*>(m.fid);
      cq->progress();
      if (!cq->comps.empty() || !cq->errs.empty()) context[n++] = m.fid->context;
    } else {
      Cntr* c = reinterpret_cast<Cntr*>(m.fid);
      c->progress();
      uint64_t seen = c->value + c->err;
      if (seen != m.cntr_seen) {
        m.cntr_seen = seen;
        context[n++] = m.fid->context;
      }
    }
  }
  return n;
}

static int poll_add(struct fid_poll* fp, struct fid* event_fid, uint64_t flags) {
  (void)flags;
  PollSet* ps = poll_of(fp);
  int* refs = refs_of(event_fid);
  if (!refs) return -FI_EINVAL;
  std::lock_guard<std::recursive_mutex> g(ps->dom->lock);
  uint64_t seen = 0;
  if (event_fid->fclass == FI_CLASS_CNTR) {
    Cntr* c = reinterpret_cast<Cntr*>(event_fid);
    if (c->dom != ps->dom) return -FI_EINVAL;
    seen = c->value + c->err;
  } else if (reinterpret_cast<Cq*>(event_fid)->dom != ps->dom) {
    return -FI_EINVAL;
  }
  ps->members.push_back({event_fid, seen});
  ++*refs;
  return 0;
}

static int poll_del(struct fid_poll* fp, struct fid* event_fid, uint64_t flags) {
  (void)flags;
  PollSet* ps = poll_of(fp);
  std::lock_guard<std::recursive_mutex> g(ps->dom->lock);
  auto it = std::find_if(ps->members.begin(), ps->members.end(),
                         [event_fid](const PollSet::Member& m) { return m.fid == event_fid; });
  if (it == ps->members.end()) return -FI_EINVAL;
  ps->members.erase(it);
  --*refs_of(event_fid);
  return 0;
}

static int poll_close(struct fid* fid) {
  PollSet* ps = reinterpret_cast<PollSet*>(fid);
  {
    std::lock_guard<std::recursive_mutex> g(ps->dom->lock);
    for (PollSet::Member& m : ps->members) --*refs_of(m.fid);
    ps->dom->refs--;
  }
  delete ps;
  return 0;
}

static struct fi_ops g_poll_fi_ops = {
    sizeof(struct fi_ops), poll_close, no_bind, no_control, no_ops_open, nullptr, nullptr,
};
static struct fi_ops_poll g_poll_ops = {sizeof(struct fi_ops_poll), poll_poll, poll_add, poll_del};

int poll_open(struct fid_domain* domain, struct fi_poll_attr* attr, struct fid_poll** out) {
  if (attr && attr->flags) return -FI_EINVAL;
  Domain* d = reinterpret_cast<Domain*>(domain);
  auto* ps = new (std::nothrow) PollSet;
  if (!ps) return -FI_ENOMEM;
  ps->dom = d;
  ps->poll.fid.fclass = FI_CLASS_POLL;
  ps->poll.fid.ops = &g_poll_fi_ops;
  ps->poll.ops = &g_poll_ops;
  std::lock_guard<std::recursive_mutex> g(d->lock);
  d->refs++;
  *out = &ps->poll;
  return 0;
}

}  // namespace vefa
