// SPDX-License-Identifier: MIT
//
// fi_eq: RDM and DGRAM endpoints raise no connection events, so an EQ only
// carries what the application writes into it (fi_eq_write) — fabtests and
// MPI open one regardless.
#include <chrono>
#include <cstring>

#include "vefa.h"

namespace vefa {

static Eq* eq_of(struct fid_eq* e) {
  return reinterpret_cast<Eq*>(e);
}

// Pops the head event into (event, buf, len); the caller holds the lock.
static ssize_t pop(Eq* eq, uint32_t* event, void* buf, size_t len, uint64_t flags) {
  if (eq->events.empty()) return -FI_EAGAIN;
  Eq::Event& ev = eq->events.front();
  if (ev.is_err) return -FI_EAVAIL;
  if (len < ev.data.size()) return -FI_ETOOSMALL;
  if (event) *event = ev.event;
  ssize_t n = static_cast<ssize_t>(ev.data.size());
  if (buf && n) memcpy(buf, ev.data.data(), ev.data.size());
  if (!(flags & FI_PEEK)) eq->events.pop_front();
  return n;
}

static ssize_t eq_read(struct fid_eq* feq, uint32_t* event, void* buf, size_t len, uint64_t flags) {
  Eq* eq = eq_of(feq);
  std::lock_guard<std::mutex> g(eq->lock);
  return pop(eq, event, buf, len, flags);
}

static ssize_t eq_readerr(struct fid_eq* feq, struct fi_eq_err_entry* buf, uint64_t flags) {
  Eq* eq = eq_of(feq);
  std::lock_guard<std::mutex> g(eq->lock);
  if (eq->events.empty() || !eq->events.front().is_err) return -FI_EAGAIN;
  *buf = eq->events.front().err;
  if (!(flags & FI_PEEK)) eq->events.pop_front();
  return sizeof(*buf);
}

static ssize_t eq_write(struct fid_eq* feq, uint32_t event, const void* buf, size_t len, uint64_t flags) {
  (void)flags;
  Eq* eq = eq_of(feq);
  Eq::Event ev{};
  ev.event = event;
  ev.data.assign(static_cast<const uint8_t*>(buf), static_cast<const uint8_t*>(buf) + len);
  {
    std::lock_guard<std::mutex> g(eq->lock);
    eq->events.push_back(std::move(ev));
  }
  eq->cv.notify_all();
  return static_cast<ssize_t>(len);
}

static ssize_t eq_sread(struct fid_eq* feq, uint32_t* event, void* buf, size_t len, int timeout, uint64_t flags) {
  Eq* eq = eq_of(feq);
  std::unique_lock<std::mutex> g(eq->lock);
  auto ready = [eq] { return !eq->events.empty(); };
  if (timeout < 0)
    eq->cv.wait(g, ready);
  else if (!eq->cv.wait_for(g, std::chrono::milliseconds(timeout), ready))
    return -FI_EAGAIN;
  return pop(eq, event, buf, len, flags);
}

static const char* eq_strerror(struct fid_eq*, int prov_errno, const void*, char* buf, size_t len) {
  const char* s = fi_strerror(prov_errno);
  if (buf && len) {
    strncpy(buf, s, len - 1);
    buf[len - 1] = '\0';
    return buf;
  }
  return s;
}

static int eq_close(struct fid* fid) {
  delete reinterpret_cast<Eq*>(fid);
  return 0;
}

static int eq_control(struct fid*, int command, void*) {
  return command == FI_GETWAIT ? -FI_ENODATA : -FI_ENOSYS;
}

static struct fi_ops g_eq_fi_ops = {
    sizeof(struct fi_ops), eq_close, no_bind, eq_control, no_ops_open, nullptr, nullptr,
};
static struct fi_ops_eq g_eq_ops = {
    sizeof(struct fi_ops_eq), eq_read, eq_readerr, eq_write, eq_sread, eq_strerror,
};

int eq_open(struct fid_fabric* fabric, struct fi_eq_attr* attr, struct fid_eq** out, void* context) {
  if (attr && attr->wait_obj != FI_WAIT_NONE && attr->wait_obj != FI_WAIT_UNSPEC) return -FI_ENOSYS;
  auto* eq = new (std::nothrow) Eq;
  if (!eq) return -FI_ENOMEM;
  eq->fabric = reinterpret_cast<Fabric*>(fabric);
  eq->eq.fid.fclass = FI_CLASS_EQ;
  eq->eq.fid.context = context;
  eq->eq.fid.ops = &g_eq_fi_ops;
  eq->eq.ops = &g_eq_ops;
  *out = &eq->eq;
  return 0;
}

}  // namespace vefa
