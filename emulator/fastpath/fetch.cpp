#include "fetch.h"

#include <rte_atomic.h>

#include <algorithm>

namespace venic::fastpath {

void note_bad_desc(const PortView& p, uint32_t n) {
  if (p.rt->bad_desc.fetch_add(n, std::memory_order_relaxed) + n >= vf::kMddThreshold)
    p.rt->mdd_tripped.store(true, std::memory_order_release);
}

uint32_t fetch_descriptors(const PortView& port, uint32_t q, Burst& b) {
  const vf::TxqRuntime& tq = port.rt->txq[q];
  const QueueRings& rings = port.q[q];
  const uint32_t prod = __atomic_load_n(&rings.tx_sq->prod, __ATOMIC_ACQUIRE);
  const uint32_t avail = prod - tq.cons;
  b.ndesc = 0;
  if (avail == 0) return 0;
  if (avail > port.ring_size) {
    note_bad_desc(port, vf::kMddThreshold);  // an impossible index: reset the VF
    return 0;
  }
  const uint32_t n = std::min(avail, kBurstDescs);
  const uint32_t mask = port.ring_size - 1;
  for (uint32_t i = 0; i < n; i++) b.d[i] = rings.tx_desc[(tq.cons + i) & mask];
  rte_compiler_barrier();  // the copies are used from here on, never re-read
  b.ndesc = n;
  return n;
}

int invalid_reason(const PortView& port, const TxPacket& tx) {
  if (tx.bad) return VENIC_DROP_BAD_DESC;
  if (tx.total < 14) return VENIC_DROP_RUNT;
  if (tx.total > port.frame_max) return VENIC_DROP_OVERSIZE;
  return -1;
}

}  // namespace venic::fastpath
