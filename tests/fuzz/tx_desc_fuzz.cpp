// Descriptor validation: a TX ring of arbitrary descriptors against a VF's
// memory (its copy-mode buffer area and up to three registered DMA
// regions), consumed burst by burst as the worker does (desc_check.h).
// Every buffer of a packet that passes must lie inside the memory its
// mem_id names, and is read whole (ASan sees any byte outside it); a packet
// is at most VENIC_MAX_SEGS descriptors; the ring always makes progress.
//
// Input: [buf_lo/64] [buf_len/64] [DMA regions] [len/32 of each, 3 bytes]
// then 16-byte descriptors (venic_desc, the driver's bytes as they are).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "desc_check.h"
#include "fuzz_check.h"

using venic::fastpath::DescMemory;
using venic::fastpath::OwnedTxPacket;
using venic::fuzz::require;

namespace {

constexpr uint32_t kRegionBytes = 16384;
constexpr uint32_t kBurst = 64;  // worker.h's kBurstDescs
constexpr size_t kHeader = 6;

// Where buf lies: 0 the buffer area, k DMA region k; -1 nowhere allowed.
int owner(const uint8_t* p, uint32_t len, const DescMemory& m) {
  if (p >= m.base + m.buf_lo && p + len <= m.base + m.buf_hi) return 0;
  for (uint32_t k = 0; k < m.n_dma; k++)
    if (p >= m.dma[k].base && p + len <= m.dma[k].base + m.dma[k].len) return static_cast<int>(k + 1);
  return -1;
}

volatile uint8_t sink;

void read_all(const uint8_t* p, uint32_t len) {
  uint8_t x = 0;
  for (uint32_t i = 0; i < len; i++) x ^= p[i];
  sink = x;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader) return 0;
  // Exact-size heap blocks: ASan flags a read one byte past any of them.
  std::vector<uint8_t> region(kRegionBytes, 0x5a);
  const uint64_t buf_lo = std::min<uint64_t>(data[0] * 64u, kRegionBytes);
  const uint64_t buf_hi = std::min<uint64_t>(buf_lo + data[1] * 64u, kRegionBytes);
  const uint32_t n_dma = data[2] % 4;
  std::vector<std::vector<uint8_t>> dma_mem;
  std::vector<venic::vf::DmaRegion> dma;
  for (uint32_t k = 0; k < n_dma; k++) {
    dma_mem.emplace_back((data[3 + k] + 1u) * 32u, 0xa5);
    dma.push_back({dma_mem.back().data(), dma_mem.back().size(), 0x7f0000000000ull + k * 0x100000000ull});
  }
  const DescMemory mem{region.data(), buf_lo, buf_hi, dma.data(), n_dma};

  std::vector<venic_desc> ring((size - kHeader) / sizeof(venic_desc));
  if (!ring.empty()) std::memcpy(ring.data(), data + kHeader, ring.size() * sizeof(venic_desc));

  // Each descriptor alone: what translate accepts lies inside what mem_id names.
  for (const venic_desc& d : ring) {
    const uint8_t* p = venic::fastpath::translate(mem, d);
    if (!p) continue;
    const int where = owner(p, d.len, mem);
    require(where == d.mem_id, "a buffer lies in the memory its mem_id names");
    read_all(p, d.len);
  }

  // The ring, burst by burst.
  uint32_t cons = 0;
  while (cons < ring.size()) {
    const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(ring.size()) - cons, kBurst);
    const venic_desc* d = ring.data() + cons;
    uint32_t i = 0;
    while (i < n) {
      OwnedTxPacket tx;
      if (!venic::fastpath::gather_tx_packet(mem, d, n, i, tx)) break;
      require(tx.end >= i && tx.end < n && tx.nseg == tx.end - i + 1, "the packet lies in the burst");
      require(tx.nseg <= VENIC_MAX_SEGS, "a packet is at most VENIC_MAX_SEGS descriptors");
      if (!tx.bad) {
        uint32_t total = 0;
        for (uint32_t s = 0; s < tx.nseg; s++) {
          const venic_desc& x = d[i + s];
          require(((x.flags & VENIC_DESC_F_MORE) != 0) == (s + 1 < tx.nseg), "MORE on all but the last");
          require(tx.segs[s].len == x.len && owner(tx.segs[s].ptr, x.len, mem) == x.mem_id,
                  "a segment lies in the memory its mem_id names");
          read_all(tx.segs[s].ptr, tx.segs[s].len);
          total += x.len;
        }
        require(total == tx.total, "the packet's length is its segments'");
      }
      i = tx.end + 1;
    }
    // A burst that holds no whole packet: the worker waits for the driver;
    // a full burst must make progress (a packet is never longer than it).
    if (i == 0) {
      require(n < kBurst, "a full burst holds a packet");
      break;
    }
    cons += i;
  }
  return 0;
}
