// SPDX-License-Identifier: MIT
//
// FI_ATOMIC, emulated as efa's RDM protocol does: the initiator sends the
// operands in an AtomicReq packet; the target's provider, during its
// progress and under its domain lock, checks the key and range against its
// registrations, applies the operation element by element (with the CPU's
// atomic compare-and-swap on aligned data, so the target's own atomic
// accesses see it whole), and answers with the old values.  The initiator
// completes on that answer, whatever the kind.
#include <cstring>
#include <type_traits>

#include "vefa.h"

namespace vefa {

// -------------------------------------------------------------- target --

template <class T>
static bool compute(enum fi_op op, T old, T opnd, T cmp, T* out) {
  switch (op) {
    case FI_MIN:
      *out = opnd < old ? opnd : old;
      return true;
    case FI_MAX:
      *out = opnd > old ? opnd : old;
      return true;
    case FI_SUM:
      *out = static_cast<T>(old + opnd);
      return true;
    case FI_PROD:
      *out = static_cast<T>(old * opnd);
      return true;
    case FI_ATOMIC_WRITE:
      *out = opnd;
      return true;
    case FI_ATOMIC_READ:
      return false;
    case FI_CSWAP:
      *out = opnd;
      return cmp == old;
    case FI_CSWAP_NE:
      *out = opnd;
      return cmp != old;
    case FI_CSWAP_LE:
      *out = opnd;
      return cmp <= old;
    case FI_CSWAP_LT:
      *out = opnd;
      return cmp < old;
    case FI_CSWAP_GE:
      *out = opnd;
      return cmp >= old;
    case FI_CSWAP_GT:
      *out = opnd;
      return cmp > old;
    default:
      break;
  }
  if constexpr (std::is_integral_v<T>) {
    switch (op) {
      case FI_BOR:
        *out = static_cast<T>(old | opnd);
        return true;
      case FI_BAND:
        *out = static_cast<T>(old & opnd);
        return true;
      case FI_BXOR:
        *out = static_cast<T>(old ^ opnd);
        return true;
      case FI_MSWAP:
        *out = static_cast<T>((opnd & cmp) | (old & ~cmp));
        return true;
      default:
        break;
    }
  }
  return false;
}

template <class T, class U>
static void apply_one(enum fi_op op, uint8_t* target, const uint8_t* opnd_p, const uint8_t* cmp_p, uint8_t* old_p) {
  static_assert(sizeof(T) == sizeof(U));
  T opnd{}, cmp{};
  if (opnd_p) memcpy(&opnd, opnd_p, sizeof(T));
  if (cmp_p) memcpy(&cmp, cmp_p, sizeof(T));
  if (reinterpret_cast<uintptr_t>(target) % sizeof(U) == 0) {
    U* up = reinterpret_cast<U*>(target);
    U oldbits = __atomic_load_n(up, __ATOMIC_ACQUIRE);
    for (;;) {
      T oldv, newv;
      memcpy(&oldv, &oldbits, sizeof(T));
      if (!compute<T>(op, oldv, opnd, cmp, &newv)) break;
      U newbits;
      memcpy(&newbits, &newv, sizeof(T));
      if (__atomic_compare_exchange_n(up, &oldbits, newbits, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) break;
    }
    memcpy(old_p, &oldbits, sizeof(T));
    return;
  }
  // Unaligned: serialized by our lock only.
  T oldv, newv;
  memcpy(&oldv, target, sizeof(T));
  memcpy(old_p, &oldv, sizeof(T));
  if (compute<T>(op, oldv, opnd, cmp, &newv)) memcpy(target, &newv, sizeof(T));
}

static void apply(enum fi_datatype dt, enum fi_op op, uint8_t* t, const uint8_t* o, const uint8_t* c, uint8_t* old) {
  switch (dt) {
    case FI_INT8:
      return apply_one<int8_t, uint8_t>(op, t, o, c, old);
    case FI_UINT8:
      return apply_one<uint8_t, uint8_t>(op, t, o, c, old);
    case FI_INT16:
      return apply_one<int16_t, uint16_t>(op, t, o, c, old);
    case FI_UINT16:
      return apply_one<uint16_t, uint16_t>(op, t, o, c, old);
    case FI_INT32:
      return apply_one<int32_t, uint32_t>(op, t, o, c, old);
    case FI_UINT32:
      return apply_one<uint32_t, uint32_t>(op, t, o, c, old);
    case FI_INT64:
      return apply_one<int64_t, uint64_t>(op, t, o, c, old);
    case FI_UINT64:
      return apply_one<uint64_t, uint64_t>(op, t, o, c, old);
    case FI_FLOAT:
      return apply_one<float, uint32_t>(op, t, o, c, old);
    case FI_DOUBLE:
      return apply_one<double, uint64_t>(op, t, o, c, old);
    default:
      return;
  }
}

void Ep::on_atomic_req(uint64_t key, uint16_t ah, uint16_t qpn, const uint8_t* pkt, size_t len) {
  (void)key;
  if (len < sizeof(AtomicReqHdr)) return;
  AtomicReqHdr h;
  memcpy(&h, pkt, sizeof(h));
  auto dt = static_cast<enum fi_datatype>(h.datatype);
  auto op = static_cast<enum fi_op>(h.op);
  size_t sz = datatype_size(dt);
  int kind = h.has_compare ? 2 : h.fetch ? 1 : 0;
  int status = 0;
  size_t bytes = sz * h.count;
  bool has_opnd = op != FI_ATOMIC_READ;
  size_t need = sizeof(h) + (has_opnd ? bytes : 0) + (h.has_compare ? bytes : 0);
  if (!sz || !atomic_supported(dt, op, kind) || h.count == 0 || need > len) status = -FI_EINVAL;
  std::vector<uint8_t> old(status ? 0 : bytes);
  if (!status) {
    // The target range must lie in one registration with the right access.
    auto it = dom->regs.find(static_cast<uint32_t>(h.key));
    uint64_t want = (op == FI_ATOMIC_READ ? 0 : FI_REMOTE_WRITE) | (h.fetch || h.has_compare ? FI_REMOTE_READ : 0);
    if (it == dom->regs.end() || h.addr < it->second.va || h.addr + bytes > it->second.va + it->second.len ||
        h.addr + bytes < h.addr || (it->second.access & want) != want)
      status = -FI_EACCES;
  }
  if (!status) {
    auto* target = reinterpret_cast<uint8_t*>(h.addr);
    const uint8_t* opnd = has_opnd ? pkt + sizeof(h) : nullptr;
    const uint8_t* cmp = h.has_compare ? pkt + sizeof(h) + (has_opnd ? bytes : 0) : nullptr;
    for (uint32_t i = 0; i < h.count; ++i)
      apply(dt, op, target + i * sz, opnd ? opnd + i * sz : nullptr, cmp ? cmp + i * sz : nullptr, old.data() + i * sz);
    count(cntr_rwrite, true);
  }
  AtomicRespHdr r = {};
  r.base = base(PktType::kAtomicResp, 0);
  r.req_id = h.req_id;
  r.status = status;
  r.bytes = static_cast<uint32_t>(h.fetch || h.has_compare ? old.size() : 0);
  std::vector<uint8_t> b(sizeof(r) + r.bytes);
  memcpy(b.data(), &r, sizeof(r));
  if (r.bytes) memcpy(b.data() + sizeof(r), old.data(), r.bytes);
  send_ctrl(ah, qpn, h.base.qkey, std::move(b));
}

// ----------------------------------------------------------- initiator --

void Ep::on_atomic_resp(const uint8_t* pkt, size_t len) {
  if (len < sizeof(AtomicRespHdr)) return;
  AtomicRespHdr h;
  memcpy(&h, pkt, sizeof(h));
  auto it = txs.find(h.req_id);
  if (it == txs.end() || it->second->kind != TxKind::kAtomic) return;
  TxEntry& t = *it->second;
  if (h.status) {
    t.err = -h.status;
  } else if (sizeof(h) + h.bytes <= len) {
    // Scatter the old values into the result buffers.
    const uint8_t* src = pkt + sizeof(h);
    size_t left = h.bytes;
    size_t sz = datatype_size(static_cast<enum fi_datatype>(t.tag));  // datatype kept in tag
    for (const struct fi_ioc& r : t.results) {
      size_t n = r.count * sz < left ? r.count * sz : left;
      memcpy(r.addr, src, n);
      src += n;
      left -= n;
    }
  }
  t.resp_done = true;
  tx_done_check(t);
}

ssize_t Ep::atomic_common(int kind, const struct fi_msg_atomic* msg, const struct fi_ioc* compare, size_t compare_count,
                          struct fi_ioc* result, size_t result_count, uint64_t flags, bool api_inject) {
  std::lock_guard<std::recursive_mutex> g(dom->lock);
  if (!enabled) return -FI_EOPBADSTATE;
  if (type != FI_EP_RDM) return -FI_ENOSYS;
  if (!msg || msg->rma_iov_count != 1 || !msg->rma_iov) return -FI_EINVAL;
  enum fi_datatype dt = msg->datatype;
  enum fi_op op = msg->op;
  if (!atomic_supported(dt, op, kind)) return -FI_EOPNOTSUPP;
  size_t sz = datatype_size(dt);
  size_t n = 0;
  for (size_t i = 0; i < msg->iov_count; ++i) n += msg->msg_iov[i].count;
  if (op == FI_ATOMIC_READ) {
    n = 0;
    for (size_t i = 0; i < result_count; ++i) n += result[i].count;
  }
  if (n == 0 || n != msg->rma_iov[0].count || n > atomic_max_count(mtu, dt)) return -FI_EINVAL;
  if (kind == 2) {
    size_t c = 0;
    for (size_t i = 0; i < compare_count; ++i) c += compare[i].count;
    if (c != n) return -FI_EINVAL;
  }
  if (kind >= 1) {
    size_t c = 0;
    for (size_t i = 0; i < result_count; ++i) c += result[i].count;
    if (c != n) return -FI_EINVAL;
  }
  const AvCore::Entry* e = nullptr;
  int rc = resolve(msg->addr, &e);
  if (rc) return rc;
  if (tx_full()) {
    progress();
    if (tx_full()) return -FI_EAGAIN;
  }
  TxEntry* t = new_tx();
  t->kind = TxKind::kAtomic;
  t->context = msg->context;
  t->comp_flags = FI_ATOMIC | (kind == 0 ? FI_WRITE : FI_READ);
  t->cntr_flag = kind == 0 ? FI_WRITE : FI_READ;
  t->want_comp = !api_inject && (!tx_selective || (flags & FI_COMPLETION));
  t->ah = e->ah;
  t->qpn = e->name.qpn;
  t->qkey = e->name.qkey;
  t->tag = dt;
  if (kind >= 1) t->results.assign(result, result + result_count);

  AtomicReqHdr h = {};
  h.base = base(PktType::kAtomicReq, 0);
  h.req_id = t->id;
  h.addr = msg->rma_iov[0].addr;
  h.key = msg->rma_iov[0].key;
  h.op = static_cast<uint8_t>(op);
  h.datatype = static_cast<uint8_t>(dt);
  h.fetch = kind >= 1;
  h.has_compare = kind == 2;
  h.count = static_cast<uint32_t>(n);
  bool has_opnd = op != FI_ATOMIC_READ;
  t->pkt.resize(sizeof(h) + (has_opnd ? n * sz : 0) + (kind == 2 ? n * sz : 0));
  memcpy(t->pkt.data(), &h, sizeof(h));
  uint8_t* p = t->pkt.data() + sizeof(h);
  if (has_opnd)
    for (size_t i = 0; i < msg->iov_count; ++i) {
      memcpy(p, msg->msg_iov[i].addr, msg->msg_iov[i].count * sz);
      p += msg->msg_iov[i].count * sz;
    }
  if (kind == 2)
    for (size_t i = 0; i < compare_count; ++i) {
      memcpy(p, compare[i].addr, compare[i].count * sz);
      p += compare[i].count * sz;
    }
  tx_queue.push_back(t->id);
  flush();
  return 0;
}

static struct fi_msg_atomic one(const struct fi_ioc* iov, void** desc, size_t count, fi_addr_t dest,
                                const struct fi_rma_ioc* rma, enum fi_datatype dt, enum fi_op op, void* ctx) {
  struct fi_msg_atomic m = {};
  m.msg_iov = iov;
  m.desc = desc;
  m.iov_count = count;
  m.addr = dest;
  m.rma_iov = rma;
  m.rma_iov_count = 1;
  m.datatype = dt;
  m.op = op;
  m.context = ctx;
  return m;
}

static size_t ioc_count(const struct fi_ioc* iov, size_t count) {
  size_t n = 0;
  for (size_t i = 0; i < count; ++i) n += iov[i].count;
  return n;
}

static ssize_t at_writev(struct fid_ep* fep, const struct fi_ioc* iov, void** desc, size_t count, fi_addr_t dest,
                         uint64_t addr, uint64_t key, enum fi_datatype dt, enum fi_op op, void* ctx) {
  Ep* e = ep_of(fep);
  struct fi_rma_ioc r = {addr, ioc_count(iov, count), key};
  struct fi_msg_atomic m = one(iov, desc, count, dest, &r, dt, op, ctx);
  return e->atomic_common(0, &m, nullptr, 0, nullptr, 0, e->tx_op_flags, false);
}

static ssize_t at_write(struct fid_ep* fep, const void* buf, size_t count, void* desc, fi_addr_t dest, uint64_t addr,
                        uint64_t key, enum fi_datatype dt, enum fi_op op, void* ctx) {
  struct fi_ioc iov = {const_cast<void*>(buf), count};
  return at_writev(fep, &iov, &desc, 1, dest, addr, key, dt, op, ctx);
}

static ssize_t at_writemsg(struct fid_ep* fep, const struct fi_msg_atomic* msg, uint64_t flags) {
  return ep_of(fep)->atomic_common(0, msg, nullptr, 0, nullptr, 0, flags, false);
}

static ssize_t at_inject(struct fid_ep* fep, const void* buf, size_t count, fi_addr_t dest, uint64_t addr, uint64_t key,
                         enum fi_datatype dt, enum fi_op op) {
  Ep* e = ep_of(fep);
  struct fi_ioc iov = {const_cast<void*>(buf), count};
  struct fi_rma_ioc r = {addr, count, key};
  struct fi_msg_atomic m = one(&iov, nullptr, 1, dest, &r, dt, op, nullptr);
  return e->atomic_common(0, &m, nullptr, 0, nullptr, 0, e->tx_op_flags, true);
}

static ssize_t at_readwritev(struct fid_ep* fep, const struct fi_ioc* iov, void** desc, size_t count,
                             struct fi_ioc* resultv, void** result_desc, size_t result_count, fi_addr_t dest,
                             uint64_t addr, uint64_t key, enum fi_datatype dt, enum fi_op op, void* ctx) {
  (void)result_desc;
  Ep* e = ep_of(fep);
  size_t n = op == FI_ATOMIC_READ ? ioc_count(resultv, result_count) : ioc_count(iov, count);
  struct fi_rma_ioc r = {addr, n, key};
  struct fi_msg_atomic m = one(iov, desc, count, dest, &r, dt, op, ctx);
  return e->atomic_common(1, &m, nullptr, 0, resultv, result_count, e->tx_op_flags, false);
}

static ssize_t at_readwrite(struct fid_ep* fep, const void* buf, size_t count, void* desc, void* result,
                            void* result_desc, fi_addr_t dest, uint64_t addr, uint64_t key, enum fi_datatype dt,
                            enum fi_op op, void* ctx) {
  struct fi_ioc iov = {const_cast<void*>(buf), count};
  struct fi_ioc res = {result, count};
  return at_readwritev(fep, &iov, &desc, buf ? 1 : 0, &res, &result_desc, 1, dest, addr, key, dt, op, ctx);
}

static ssize_t at_readwritemsg(struct fid_ep* fep, const struct fi_msg_atomic* msg, struct fi_ioc* resultv,
                               void** result_desc, size_t result_count, uint64_t flags) {
  (void)result_desc;
  return ep_of(fep)->atomic_common(1, msg, nullptr, 0, resultv, result_count, flags, false);
}

static ssize_t at_compwritev(struct fid_ep* fep, const struct fi_ioc* iov, void** desc, size_t count,
                             const struct fi_ioc* comparev, void** compare_desc, size_t compare_count,
                             struct fi_ioc* resultv, void** result_desc, size_t result_count, fi_addr_t dest,
                             uint64_t addr, uint64_t key, enum fi_datatype dt, enum fi_op op, void* ctx) {
  (void)compare_desc;
  (void)result_desc;
  Ep* e = ep_of(fep);
  struct fi_rma_ioc r = {addr, ioc_count(iov, count), key};
  struct fi_msg_atomic m = one(iov, desc, count, dest, &r, dt, op, ctx);
  return e->atomic_common(2, &m, comparev, compare_count, resultv, result_count, e->tx_op_flags, false);
}

static ssize_t at_compwrite(struct fid_ep* fep, const void* buf, size_t count, void* desc, const void* compare,
                            void* compare_desc, void* result, void* result_desc, fi_addr_t dest, uint64_t addr,
                            uint64_t key, enum fi_datatype dt, enum fi_op op, void* ctx) {
  struct fi_ioc iov = {const_cast<void*>(buf), count};
  struct fi_ioc cmp = {const_cast<void*>(compare), count};
  struct fi_ioc res = {result, count};
  return at_compwritev(fep, &iov, &desc, 1, &cmp, &compare_desc, 1, &res, &result_desc, 1, dest, addr, key, dt, op,
                       ctx);
}

static ssize_t at_compwritemsg(struct fid_ep* fep, const struct fi_msg_atomic* msg, const struct fi_ioc* comparev,
                               void** compare_desc, size_t compare_count, struct fi_ioc* resultv, void** result_desc,
                               size_t result_count, uint64_t flags) {
  (void)compare_desc;
  (void)result_desc;
  return ep_of(fep)->atomic_common(2, msg, comparev, compare_count, resultv, result_count, flags, false);
}

static int valid(struct fid_ep* fep, enum fi_datatype dt, enum fi_op op, size_t* count, int kind) {
  Ep* e = ep_of(fep);
  if (!atomic_supported(dt, op, kind)) return -FI_EOPNOTSUPP;
  if (count) *count = atomic_max_count(e->mtu, dt);
  return 0;
}

static int at_writevalid(struct fid_ep* fep, enum fi_datatype dt, enum fi_op op, size_t* count) {
  return valid(fep, dt, op, count, 0);
}
static int at_readwritevalid(struct fid_ep* fep, enum fi_datatype dt, enum fi_op op, size_t* count) {
  return valid(fep, dt, op, count, 1);
}
static int at_compwritevalid(struct fid_ep* fep, enum fi_datatype dt, enum fi_op op, size_t* count) {
  return valid(fep, dt, op, count, 2);
}

struct fi_ops_atomic g_atomic_ops = {
    sizeof(struct fi_ops_atomic),
    at_write,
    at_writev,
    at_writemsg,
    at_inject,
    at_readwrite,
    at_readwritev,
    at_readwritemsg,
    at_compwrite,
    at_compwritev,
    at_compwritemsg,
    at_writevalid,
    at_readwritevalid,
    at_compwritevalid,
};

int query_atomic(struct fid_domain* domain, enum fi_datatype dt, enum fi_op op, struct fi_atomic_attr* attr,
                 uint64_t flags) {
  Domain* d = reinterpret_cast<Domain*>(domain);
  int kind = (flags & FI_COMPARE_ATOMIC) ? 2 : (flags & FI_FETCH_ATOMIC) ? 1 : 0;
  if (!atomic_supported(dt, op, kind)) return -FI_EOPNOTSUPP;
  if (attr) {
    attr->size = datatype_size(dt);
    attr->count = atomic_max_count(d->dev.mtu, dt);
  }
  return 0;
}

}  // namespace vefa
