// The fast path's L2-L4 parser on arbitrary frames, as the TX path calls it:
// on the private header copy (at most kHeaderCopy bytes) of a frame whose
// length may be larger than the copy.  Checks that every offset and pointer
// it reports stays inside the copy.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "packet_parser.h"

using venic::fastpath::kHeaderCopy;
using venic::fastpath::L3;
using venic::fastpath::L4;
using venic::fastpath::ParsedPacket;

namespace {

// Aborts (a crash libFuzzer records) when ok is false.
void require(bool ok) {
  if (!ok) std::abort();
}

bool inside(const uint8_t* p, size_t len, const std::vector<uint8_t>& buf) {
  return p >= buf.data() && p + len <= buf.data() + buf.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first two bytes say how much longer than the copy the frame claims
  // to be (the rest of a frame whose headers were copied out).
  if (size < 2) return 0;
  const uint32_t extra = uint32_t(data[0]) << 8 | data[1];
  data += 2;
  size -= 2;
  const size_t hdr_len = size < kHeaderCopy ? size : kHeaderCopy;
  // An exact-size heap copy: ASan sees any read past the header copy.
  std::vector<uint8_t> hdr(data, data + hdr_len);
  const uint32_t frame_len = static_cast<uint32_t>(size) + (size >= kHeaderCopy ? extra : 0);

  ParsedPacket pkt;
  if (!venic::fastpath::parse_packet(hdr, frame_len, pkt)) {
    require(hdr_len < 14);
    return 0;
  }
  require(inside(pkt.dst_mac, 6, hdr) && inside(pkt.src_mac, 6, hdr));
  (void)pkt.is_multicast();
  (void)pkt.is_broadcast();
  (void)pkt.ptype();
  if (pkt.l3 != L3::kNone) require(pkt.l3_off <= hdr_len);
  if (pkt.src_ip6) require(inside(pkt.src_ip6, 16, hdr));
  if (pkt.dst_ip6) require(inside(pkt.dst_ip6, 16, hdr));
  if (pkt.l4 != L4::kNone && !pkt.truncated) require(pkt.l4_off <= hdr_len);
  return 0;
}
