// SPDX-License-Identifier: MIT
//
// FI_RMA: fi_read/fi_write go straight to the device's RDMA read/write
// (the daemon copies between the two processes' registered regions).  Target
// addresses are virtual addresses (FI_MR_VIRT_ADDR), keys the device's rkeys
// (FI_MR_PROV_KEY).  fi_writedata uses RDMA write with immediate, which
// consumes a receive buffer at the target and completes there with the data.
#include <cstring>

#include "vefa.h"

namespace vefa {

ssize_t Ep::rma_common(bool read, const struct iovec* iov, void** desc, size_t count, fi_addr_t dest,
                       const struct fi_rma_iov* rma, size_t rma_count, uint64_t data, uint64_t flags, void* context,
                       bool api_inject) {
  std::lock_guard<std::recursive_mutex> g(dom->lock);
  if (!enabled) return -FI_EOPBADSTATE;
  if (type != FI_EP_RDM) return -FI_ENOSYS;
  if (count > kIovLimit || (count && !iov) || !rma || rma_count == 0) return -FI_EINVAL;
  uint64_t total = iov_len(iov, count);
  uint64_t rtotal = 0;
  for (size_t i = 0; i < rma_count; ++i) rtotal += rma[i].len;
  if (total != rtotal) return -FI_EINVAL;
  bool cq_data = !read && (flags & FI_REMOTE_CQ_DATA);
  bool inject = api_inject || (flags & FI_INJECT);
  if (inject && (read || total > kInjectSize || rma_count != 1)) return -FI_EINVAL;
  const AvCore::Entry* e = nullptr;
  int rc = resolve(dest, &e);
  if (rc) return rc;
  if (tx_full()) {
    progress();
    if (tx_full()) return -FI_EAGAIN;
  }
  TxEntry* t = new_tx();
  t->kind = read ? TxKind::kRead : TxKind::kWrite;
  t->context = context;
  t->comp_flags = FI_RMA | (read ? FI_READ : FI_WRITE);
  t->cntr_flag = read ? FI_READ : FI_WRITE;
  t->want_comp = !api_inject && (!tx_selective || (flags & FI_COMPLETION));
  t->ah = e->ah;
  t->qpn = e->name.qpn;
  t->qkey = e->name.qkey;

  venic_efa_wqe proto = {};
  proto.dest_ah = t->ah;
  proto.dest_qpn = t->qpn;
  proto.qkey = t->qkey;
  if (inject) {
    // The payload travels in the SQ slot: no registration, buffer free at once.
    t->inline_data.resize(total);
    copy_from_iov(std::vector<struct iovec>(iov, iov + count), 0, t->inline_data.data(), total);
    venic_efa_wqe w = proto;
    w.opcode = cq_data ? VENIC_EFA_OP_RDMA_WRITE_IMM : VENIC_EFA_OP_RDMA_WRITE;
    w.flags = VENIC_EFA_WQE_F_INLINE;
    w.length = static_cast<uint32_t>(total);
    w.imm = static_cast<uint32_t>(data);
    w.rkey = static_cast<uint32_t>(rma[0].key);
    w.raddr = rma[0].addr;
    t->wqes.push_back(w);
  } else {
    const uint64_t chunk_max = rdma_chunk(read);
    size_t ri = 0;
    uint64_t roff = 0;
    for (size_t li = 0; li < count && rc == 0; ++li) {
      uint8_t* base = static_cast<uint8_t*>(iov[li].iov_base);
      uint64_t llen = iov[li].iov_len;
      if (!llen) continue;
      uint32_t lkey = desc && desc[li] ? desc_lkey(desc[li]) : 0;
      if (!lkey) {
        // A read lands here (local write); a write only reads it (no rights).
        uint32_t access = read ? VENIC_EFA_ACCESS_LOCAL_WRITE : 0;
        rc = dom->cache_reg(base, llen, access, true, &lkey, nullptr);
        if (rc) break;
        t->held_regs.push_back(HeldReg{base, llen, access});
      }
      uint64_t loff = 0;
      while (loff < llen) {
        while (ri < rma_count && roff == rma[ri].len) {
          ++ri;
          roff = 0;
        }
        uint64_t n = llen - loff;
        if (rma[ri].len - roff < n) n = rma[ri].len - roff;
        if (chunk_max < n) n = chunk_max;
        venic_efa_wqe w = proto;
        w.opcode = read ? VENIC_EFA_OP_RDMA_READ : VENIC_EFA_OP_RDMA_WRITE;
        w.length = static_cast<uint32_t>(n);
        w.lkey = lkey;
        w.laddr = reinterpret_cast<uint64_t>(base + loff);
        w.rkey = static_cast<uint32_t>(rma[ri].key);
        w.raddr = rma[ri].addr + roff;
        t->wqes.push_back(w);
        loff += n;
        roff += n;
      }
    }
    if (rc == 0 && cq_data) {
      // The immediate rides on the last write; a zero-length write carries it alone.
      if (t->wqes.empty()) {
        venic_efa_wqe w = proto;
        w.rkey = static_cast<uint32_t>(rma[0].key);
        w.raddr = rma[0].addr;
        t->wqes.push_back(w);
      }
      t->wqes.back().opcode = VENIC_EFA_OP_RDMA_WRITE_IMM;
      t->wqes.back().imm = static_cast<uint32_t>(data);
    }
    if (rc == 0 && t->wqes.empty()) {
      // Nothing to move: complete at once.
      t->all_posted = true;
      tx_done_check(*t);
      return 0;
    }
  }
  if (rc) {
    for (auto& h : t->held_regs) dom->cache_release(h);
    txs.erase(t->id);
    return rc;
  }
  tx_queue.push_back(t->id);
  flush();
  return 0;
}

static ssize_t rma_read(struct fid_ep* fep, void* buf, size_t len, void* desc, fi_addr_t src, uint64_t addr,
                        uint64_t key, void* context) {
  Ep* e = ep_of(fep);
  struct iovec v = {buf, len};
  struct fi_rma_iov r = {addr, len, key};
  return e->rma_common(true, &v, &desc, 1, src, &r, 1, 0, e->tx_op_flags, context, false);
}

static ssize_t rma_readv(struct fid_ep* fep, const struct iovec* iov, void** desc, size_t count, fi_addr_t src,
                         uint64_t addr, uint64_t key, void* context) {
  Ep* e = ep_of(fep);
  struct fi_rma_iov r = {addr, iov_len(iov, count), key};
  return e->rma_common(true, iov, desc, count, src, &r, 1, 0, e->tx_op_flags, context, false);
}

static ssize_t rma_readmsg(struct fid_ep* fep, const struct fi_msg_rma* msg, uint64_t flags) {
  Ep* e = ep_of(fep);
  return e->rma_common(true, msg->msg_iov, msg->desc, msg->iov_count, msg->addr, msg->rma_iov, msg->rma_iov_count, 0,
                       flags, msg->context, false);
}

static ssize_t rma_write(struct fid_ep* fep, const void* buf, size_t len, void* desc, fi_addr_t dest, uint64_t addr,
                         uint64_t key, void* context) {
  Ep* e = ep_of(fep);
  struct iovec v = {const_cast<void*>(buf), len};
  struct fi_rma_iov r = {addr, len, key};
  return e->rma_common(false, &v, &desc, 1, dest, &r, 1, 0, e->tx_op_flags, context, false);
}

static ssize_t rma_writev(struct fid_ep* fep, const struct iovec* iov, void** desc, size_t count, fi_addr_t dest,
                          uint64_t addr, uint64_t key, void* context) {
  Ep* e = ep_of(fep);
  struct fi_rma_iov r = {addr, iov_len(iov, count), key};
  return e->rma_common(false, iov, desc, count, dest, &r, 1, 0, e->tx_op_flags, context, false);
}

static ssize_t rma_writemsg(struct fid_ep* fep, const struct fi_msg_rma* msg, uint64_t flags) {
  Ep* e = ep_of(fep);
  return e->rma_common(false, msg->msg_iov, msg->desc, msg->iov_count, msg->addr, msg->rma_iov, msg->rma_iov_count,
                       msg->data, flags, msg->context, false);
}

static ssize_t rma_inject(struct fid_ep* fep, const void* buf, size_t len, fi_addr_t dest, uint64_t addr,
                          uint64_t key) {
  Ep* e = ep_of(fep);
  struct iovec v = {const_cast<void*>(buf), len};
  struct fi_rma_iov r = {addr, len, key};
  return e->rma_common(false, &v, nullptr, 1, dest, &r, 1, 0, e->tx_op_flags, nullptr, true);
}

static ssize_t rma_writedata(struct fid_ep* fep, const void* buf, size_t len, void* desc, uint64_t data, fi_addr_t dest,
                             uint64_t addr, uint64_t key, void* context) {
  Ep* e = ep_of(fep);
  struct iovec v = {const_cast<void*>(buf), len};
  struct fi_rma_iov r = {addr, len, key};
  return e->rma_common(false, &v, &desc, 1, dest, &r, 1, data, e->tx_op_flags | FI_REMOTE_CQ_DATA, context, false);
}

static ssize_t rma_injectdata(struct fid_ep* fep, const void* buf, size_t len, uint64_t data, fi_addr_t dest,
                              uint64_t addr, uint64_t key) {
  Ep* e = ep_of(fep);
  struct iovec v = {const_cast<void*>(buf), len};
  struct fi_rma_iov r = {addr, len, key};
  return e->rma_common(false, &v, nullptr, 1, dest, &r, 1, data, e->tx_op_flags | FI_REMOTE_CQ_DATA, nullptr, true);
}

struct fi_ops_rma g_rma_ops = {
    sizeof(struct fi_ops_rma),
    rma_read,
    rma_readv,
    rma_readmsg,
    rma_write,
    rma_writev,
    rma_writemsg,
    rma_inject,
    rma_writedata,
    rma_injectdata,
};

}  // namespace vefa
