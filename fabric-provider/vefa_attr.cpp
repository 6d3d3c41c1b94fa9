// SPDX-License-Identifier: MIT
//
// The capability tables: what vefa offers on each endpoint type, and how an
// application's hints narrow it.  Everything here is what the provider
// really does (see README for the protocol behind each claim).
#include <cstdlib>
#include <cstring>

#include "vefa.h"

namespace vefa {

static constexpr uint64_t kRdmTxCaps = FI_MSG | FI_TAGGED | FI_RMA | FI_ATOMIC | FI_SEND | FI_READ | FI_WRITE;
static constexpr uint64_t kRdmRxCaps = FI_MSG | FI_TAGGED | FI_RMA | FI_ATOMIC | FI_RECV | FI_REMOTE_READ |
                                       FI_REMOTE_WRITE | FI_DIRECTED_RECV | FI_SOURCE | FI_MULTI_RECV;
static constexpr uint64_t kCommCaps = FI_LOCAL_COMM | FI_REMOTE_COMM;
static constexpr uint64_t kDgramTxCaps = FI_MSG | FI_SEND;
static constexpr uint64_t kDgramRxCaps = FI_MSG | FI_RECV | FI_SOURCE;

// Every tag bit is the application's (libfabric's "generic" tag format:
// the high bit set tells Open MPI it may use all 64).
static constexpr uint64_t kTagFormat = 0xaaaaaaaaaaaaaaaaull;

uint64_t rdm_caps() {
  return kRdmTxCaps | kRdmRxCaps | kCommCaps;
}
uint64_t dgram_caps() {
  return kDgramTxCaps | kDgramRxCaps | kCommCaps;
}

size_t datatype_size(enum fi_datatype dt) {
  switch (dt) {
    case FI_INT8:
    case FI_UINT8:
      return 1;
    case FI_INT16:
    case FI_UINT16:
      return 2;
    case FI_INT32:
    case FI_UINT32:
    case FI_FLOAT:
      return 4;
    case FI_INT64:
    case FI_UINT64:
    case FI_DOUBLE:
      return 8;
    default:
      return 0;
  }
}

// Emulated atomics: integer types take every arithmetic/bitwise op, floating
// point types the ones that make sense for them.
int atomic_supported(enum fi_datatype dt, enum fi_op op, int kind) {
  if (!datatype_size(dt)) return 0;
  bool is_float = dt == FI_FLOAT || dt == FI_DOUBLE;
  switch (op) {
    case FI_MIN:
    case FI_MAX:
    case FI_SUM:
    case FI_PROD:
    case FI_ATOMIC_WRITE:
      return kind != 2;
    case FI_BOR:
    case FI_BAND:
    case FI_BXOR:
      return kind != 2 && !is_float;
    case FI_ATOMIC_READ:
      return kind == 1;
    case FI_CSWAP:
    case FI_CSWAP_NE:
    case FI_CSWAP_LE:
    case FI_CSWAP_LT:
    case FI_CSWAP_GE:
    case FI_CSWAP_GT:
      return kind == 2;
    case FI_MSWAP:
      return kind == 2 && !is_float;
    default:
      return 0;
  }
}

// One request packet carries the operands and compare values.
size_t atomic_max_count(uint32_t mtu, enum fi_datatype dt) {
  size_t sz = datatype_size(dt);
  if (!sz) return 0;
  return (mtu - sizeof(AtomicReqHdr)) / (2 * sz);
}

// The mr_mode vefa answers for the application's: -1 when the application
// does not allow what vefa needs (keys the provider picks, virtual
// addresses).  The answer names only bits the application offered
// (fi_getinfo(3)); FI_MR_ALLOCATED vefa does without (the daemon reaches
// whatever is at the address), FI_MR_LOCAL and the rest it never needs.
static int mr_mode_for(int hint, uint32_t version, enum fi_ep_type type) {
  bool efa_dgram = efa_named() && type == FI_EP_DGRAM;
  if (hint == FI_MR_UNSPEC)
    return version < FI_VERSION(1, 5) ? FI_MR_BASIC : static_cast<int>(kMrModeBits | (efa_dgram ? FI_MR_LOCAL : 0));
  if (hint == FI_MR_BASIC) return FI_MR_BASIC;           // = VIRT_ADDR | ALLOCATED | PROV_KEY
  if (hint & (FI_MR_BASIC | FI_MR_SCALABLE)) return -1;  // scalable, or the old names mixed with bits
  if (version < FI_VERSION(1, 5)) return -1;
  uint64_t need = FI_MR_VIRT_ADDR | FI_MR_PROV_KEY;
  uint64_t answer = kMrModeBits;
  // As efa: DGRAM requires local registrations, RDM takes them when offered.
  if (efa_named()) {
    if (efa_dgram) need |= FI_MR_LOCAL;
    answer |= FI_MR_LOCAL;
  }
  if (need & ~static_cast<uint64_t>(hint)) return -1;
  return static_cast<int>(static_cast<uint64_t>(hint) & answer);
}

static char* dup(const char* s) {
  return s ? strdup(s) : nullptr;
}

static fi_info* make_info(const DevInfo& dev, enum fi_ep_type type, uint32_t version) {
  fi_info* fi = fi_allocinfo();
  if (!fi) return nullptr;
  bool rdm = type == FI_EP_RDM;
  size_t max_msg = rdm ? dev.max_rdma_size : eager_max(dev.mtu);

  fi->caps = rdm ? rdm_caps() : dgram_caps();
  fi->mode = 0;
  fi->addr_format = FI_ADDR_EFA;

  fi->tx_attr->caps = (rdm ? kRdmTxCaps : kDgramTxCaps) | kCommCaps;
  fi->tx_attr->mode = 0;
  fi->tx_attr->op_flags = 0;
  fi->tx_attr->msg_order = rdm ? FI_ORDER_SAS : FI_ORDER_NONE;
  fi->tx_attr->comp_order = FI_ORDER_NONE;
  fi->tx_attr->inject_size = kInjectSize;
  fi->tx_attr->size = kTxDepth;
  fi->tx_attr->iov_limit = kIovLimit;
  fi->tx_attr->rma_iov_limit = rdm ? 1 : 0;

  fi->rx_attr->caps = (rdm ? kRdmRxCaps : kDgramRxCaps) | kCommCaps;
  fi->rx_attr->mode = 0;
  fi->rx_attr->op_flags = 0;
  fi->rx_attr->msg_order = rdm ? FI_ORDER_SAS : FI_ORDER_NONE;
  fi->rx_attr->comp_order = FI_ORDER_NONE;
  fi->rx_attr->total_buffered_recv = 0;
  fi->rx_attr->size = kRxDepth;
  fi->rx_attr->iov_limit = kIovLimit;

  fi->ep_attr->type = type;
  // Our own protocol, not efa's wire format; named FI_PROTO_EFA when vefa
  // stands in for efa (consumers check it to pick their EFA paths).
  fi->ep_attr->protocol = efa_named() ? FI_PROTO_EFA : FI_PROTO_UNSPEC;
  fi->ep_attr->protocol_version = kProtoVersion;
  fi->ep_attr->max_msg_size = max_msg;
  fi->ep_attr->msg_prefix_size = 0;
  fi->ep_attr->max_order_raw_size = 0;  // RMA is not ordered
  fi->ep_attr->max_order_war_size = 0;
  fi->ep_attr->max_order_waw_size = 0;
  fi->ep_attr->mem_tag_format = rdm ? kTagFormat : 0;
  fi->ep_attr->tx_ctx_cnt = 1;
  fi->ep_attr->rx_ctx_cnt = 1;

  fi->domain_attr->name = dup(domain_name(dev.name, type).c_str());
  fi->domain_attr->threading = FI_THREAD_SAFE;
  fi->domain_attr->control_progress = FI_PROGRESS_MANUAL;
  fi->domain_attr->data_progress = FI_PROGRESS_MANUAL;
  fi->domain_attr->resource_mgmt = FI_RM_ENABLED;
  fi->domain_attr->av_type = FI_AV_UNSPEC;
  // Pre-1.5 applications know only the basic/scalable enumeration.
  fi->domain_attr->mr_mode = mr_mode_for(FI_MR_UNSPEC, version, type);
  fi->domain_attr->mr_key_size = sizeof(uint32_t);
  fi->domain_attr->cq_data_size = rdm ? 4 : 0;  // RDMA write immediate is 32 bits
  fi->domain_attr->cq_cnt = 1024;               // CQs are software queues
  fi->domain_attr->ep_cnt = dev.max_qps;        // one device QP each
  fi->domain_attr->tx_ctx_cnt = dev.max_qps;
  fi->domain_attr->rx_ctx_cnt = dev.max_qps;
  fi->domain_attr->max_ep_tx_ctx = 1;
  fi->domain_attr->max_ep_rx_ctx = 1;
  fi->domain_attr->max_ep_stx_ctx = 0;
  fi->domain_attr->max_ep_srx_ctx = 0;
  fi->domain_attr->cntr_cnt = 1024;
  fi->domain_attr->mr_iov_limit = 1;
  fi->domain_attr->caps = kCommCaps;
  fi->domain_attr->mode = 0;
  fi->domain_attr->mr_cnt = dev.max_mr;

  fi->fabric_attr->name = dup(fabric_name());
  fi->fabric_attr->prov_name = nullptr;  // the core fills in the provider name
  fi->fabric_attr->prov_version = prov_version();
  fi->fabric_attr->api_version = FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION);
  return fi;
}

// Narrows tmpl by hints; false when the hints ask for more than we have.
static bool apply_hints(fi_info* fi, const fi_info* h, uint32_t version) {
  if (!h) return true;
  uint64_t ours = fi->caps;
  if (h->caps & ~ours) return false;
  if (h->ep_attr && h->ep_attr->type != FI_EP_UNSPEC && h->ep_attr->type != fi->ep_attr->type) return false;
  if (h->addr_format != FI_FORMAT_UNSPEC && h->addr_format != FI_ADDR_EFA) return false;
  if (h->fabric_attr) {
    if (h->fabric_attr->prov_name && strcasecmp(h->fabric_attr->prov_name, prov_name()) != 0) return false;
    if (h->fabric_attr->name && strcmp(h->fabric_attr->name, fabric_name()) != 0) return false;
  }
  if (h->domain_attr) {
    const fi_domain_attr* d = h->domain_attr;
    if (d->name && strcmp(d->name, fi->domain_attr->name) != 0) return false;
    if (d->control_progress == FI_PROGRESS_AUTO || d->data_progress == FI_PROGRESS_AUTO) return false;
    int mr_mode = mr_mode_for(d->mr_mode, version, fi->ep_attr->type);
    if (mr_mode < 0) return false;
    fi->domain_attr->mr_mode = mr_mode;
    // No shared transmit or receive contexts.
    if (d->max_ep_stx_ctx || d->max_ep_srx_ctx) return false;
    if (d->cq_data_size > fi->domain_attr->cq_data_size) return false;
    if (d->av_type != FI_AV_UNSPEC) {
      if (d->av_type != FI_AV_MAP && d->av_type != FI_AV_TABLE) return false;
      fi->domain_attr->av_type = d->av_type;
    }
    if (d->caps & ~(fi->domain_attr->caps | FI_LOCAL_COMM | FI_REMOTE_COMM)) return false;
    if (d->threading != FI_THREAD_UNSPEC) fi->domain_attr->threading = d->threading;
    if (d->resource_mgmt == FI_RM_DISABLED) fi->domain_attr->resource_mgmt = FI_RM_DISABLED;
  }
  if (h->ep_attr) {
    const fi_ep_attr* e = h->ep_attr;
    if (e->max_msg_size > fi->ep_attr->max_msg_size) return false;
    if (e->tx_ctx_cnt > 1 || e->rx_ctx_cnt > 1) return false;
    if (e->protocol != FI_PROTO_UNSPEC && e->protocol != fi->ep_attr->protocol) return false;
    if (e->mem_tag_format && fi->ep_attr->mem_tag_format) fi->ep_attr->mem_tag_format = e->mem_tag_format;
  }
  if (h->tx_attr) {
    const fi_tx_attr* t = h->tx_attr;
    if (t->msg_order & ~fi->tx_attr->msg_order) return false;
    if (t->comp_order & ~fi->tx_attr->comp_order) return false;
    if (t->inject_size > fi->tx_attr->inject_size) return false;
    if (t->iov_limit > fi->tx_attr->iov_limit || t->rma_iov_limit > fi->tx_attr->rma_iov_limit) return false;
    if (t->size > fi->tx_attr->size) return false;
    if (t->caps & ~fi->tx_attr->caps) return false;
    fi->tx_attr->op_flags = t->op_flags;
    if (t->caps) fi->tx_attr->caps = t->caps | kCommCaps;
  }
  if (h->rx_attr) {
    const fi_rx_attr* r = h->rx_attr;
    if (r->msg_order & ~fi->rx_attr->msg_order) return false;
    if (r->comp_order & ~fi->rx_attr->comp_order) return false;
    if (r->iov_limit > fi->rx_attr->iov_limit) return false;
    if (r->size > fi->rx_attr->size) return false;
    if (r->caps & ~fi->rx_attr->caps) return false;
    fi->rx_attr->op_flags = r->op_flags;
    if (r->caps) fi->rx_attr->caps = r->caps | kCommCaps;
  }
  // The application's mode bits we would use: none; we ask for nothing.
  if (h->caps) {
    // Report what was asked for (plus the secondary caps we always give).
    fi->caps = h->caps | (ours & (kCommCaps | FI_SOURCE));
    if (h->caps & (FI_MSG | FI_TAGGED | FI_RMA | FI_ATOMIC)) {
      uint64_t prim = h->caps & (FI_MSG | FI_TAGGED | FI_RMA | FI_ATOMIC);
      if (!h->tx_attr || !h->tx_attr->caps) fi->tx_attr->caps &= prim | ~(FI_MSG | FI_TAGGED | FI_RMA | FI_ATOMIC);
      if (!h->rx_attr || !h->rx_attr->caps) fi->rx_attr->caps &= prim | ~(FI_MSG | FI_TAGGED | FI_RMA | FI_ATOMIC);
    }
  }
  if (h->dest_addr) {
    if (h->dest_addrlen != sizeof(EpName)) return false;
    fi->dest_addr = malloc(h->dest_addrlen);
    if (!fi->dest_addr) return false;
    memcpy(fi->dest_addr, h->dest_addr, h->dest_addrlen);
    fi->dest_addrlen = h->dest_addrlen;
  }
  if (h->src_addr && h->src_addrlen != sizeof(EpName)) return false;
  return true;
}

// The info's source address: the hints' own, or (FI_SOURCE) this device's
// address with no QP yet (an endpoint's name is known once it is enabled).
static bool set_src_addr(fi_info* fi, const DevInfo& dev, uint64_t flags, const fi_info* h) {
  EpName name = {};
  if (h && h->src_addr) {
    memcpy(&name, h->src_addr, sizeof(name));  // length checked by apply_hints
  } else if (flags & FI_SOURCE) {
    memcpy(name.gid, dev.gid, sizeof(name.gid));
  } else {
    return true;
  }
  fi->src_addr = malloc(sizeof(name));
  if (!fi->src_addr) return false;
  memcpy(fi->src_addr, &name, sizeof(name));
  fi->src_addrlen = sizeof(name);
  return true;
}

int build_infos(const DevInfo& dev, uint32_t version, uint64_t flags, const fi_info* hints, fi_info** out) {
  fi_info* head = nullptr;
  fi_info** tail = &head;
  for (enum fi_ep_type type : {FI_EP_RDM, FI_EP_DGRAM}) {
    fi_info* fi = make_info(dev, type, version);
    if (!fi) {
      fi_freeinfo(head);
      return -FI_ENOMEM;
    }
    if (!apply_hints(fi, hints, version)) {
      fi_freeinfo(fi);
      continue;
    }
    if (!set_src_addr(fi, dev, flags, hints)) {
      fi_freeinfo(fi);
      fi_freeinfo(head);
      return -FI_ENOMEM;
    }
    *tail = fi;
    tail = &fi->next;
  }
  if (!head) return -FI_ENODATA;
  *out = head;
  return 0;
}

}  // namespace vefa
