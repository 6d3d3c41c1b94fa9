// Descriptor validation: which memory a VF's descriptor may name, and how a
// burst of TX descriptors makes packets.  Works on the worker's private
// copies of the descriptors (never the ring itself).  DPDK-free, so the
// descriptor fuzzer (tests/fuzz) links it alone.
#pragma once

#include <cstdint>

#include "dma_table.h"
#include "venic_abi.h"

namespace venic::fastpath {

// One buffer may be larger than a frame (an RX buffer sized for 9 KiB and
// headroom) but never larger than an mbuf can describe.
inline constexpr uint32_t kMaxBufferLen = 65535;

// The memory a VF's descriptors may name: its region's copy-mode buffer
// area [buf_lo, buf_hi) from base (mem_id 0), and the memory it registered
// (mem_id k is dma[k - 1]).
struct DescMemory {
  uint8_t* base = nullptr;
  uint64_t buf_lo = 0, buf_hi = 0;
  const vf::DmaRegion* dma = nullptr;
  uint32_t n_dma = 0;
};

// d's buffer in daemon memory, or nullptr when any part of it is outside m.
// Inline: the worker calls it for every descriptor, both ways.
inline const uint8_t* translate(const DescMemory& m, const venic_desc& d) {
  if (d.len == 0 || d.len > kMaxBufferLen) return nullptr;
  if (d.mem_id == VENIC_MEM_REGION_BUFS) {
    if (d.addr < m.buf_lo || d.addr >= m.buf_hi || d.len > m.buf_hi - d.addr) return nullptr;
    return m.base + d.addr;
  }
  if (d.mem_id > m.n_dma) return nullptr;
  const vf::DmaRegion& r = m.dma[d.mem_id - 1];
  if (d.addr >= r.len || d.len > r.len - d.addr) return nullptr;
  return r.base + d.addr;
}

struct Segment {
  const uint8_t* ptr;
  uint32_t len;
};

// One packet of a TX burst: descriptors [first, end] of the copies.
struct TxPacket {
  uint32_t end = 0;   // its last descriptor
  uint32_t nseg = 0;  // end - first + 1
  uint32_t total = 0;
  bool bad = false;       // a buffer outside the VF's memory, or more than VENIC_MAX_SEGS descriptors
  bool zero_copy = true;  // every buffer is registered memory (none in the copy-mode area)
  // Its segments, one per descriptor, valid when !bad: storage the caller
  // provides with room for every descriptor from the first (a burst keeps
  // one Segment per descriptor it copied, so packets cost no more).
  Segment* segs = nullptr;
};

// A TxPacket with storage of its own for VENIC_MAX_SEGS segments.
struct OwnedTxPacket : TxPacket {
  OwnedTxPacket() { segs = storage; }
  OwnedTxPacket(const OwnedTxPacket&) = delete;
  OwnedTxPacket& operator=(const OwnedTxPacket&) = delete;
  Segment storage[VENIC_MAX_SEGS];
};

// The packet that starts at d[first] of the n copies; false when its last
// descriptor is not among them yet (the driver is still publishing it).
// Writes out.segs[0 .. out.nseg).
bool gather_tx_packet(const DescMemory& m, const venic_desc* d, uint32_t n, uint32_t first, TxPacket& out);

}  // namespace venic::fastpath
