// The underlay's decapsulation on arbitrary frames, as a host reads them off
// its uplink (another host, or anyone on the underlay, wrote them): never
// reads outside the frame, and the inner frame it gives is inside the outer
// one and at least an Ethernet header long.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "tunnel_codec.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size copy, so ASan sees any read past the end.
  const std::vector<uint8_t> frame(data, data + size);
  for (auto e : {venic::underlay::Encap::kGeneve, venic::underlay::Encap::kVxlan}) {
    const char* why = nullptr;
    auto d = venic::underlay::decapsulate(e, frame, &why);
    if (!d) {
      require(why != nullptr);
      continue;
    }
    require(d->inner.data() >= frame.data() && d->inner.data() + d->inner.size() <= frame.data() + frame.size());
    require(d->inner.size() >= 14);
    require(d->vni <= venic::underlay::kMaxVni);
    // What we would send back must decode to the same.
    std::vector<uint8_t> out(d->inner.size() + venic::underlay::kOverhead);
    venic::underlay::Underlay u;
    u.src_ip = d->outer_dst;
    u.dst_ip = d->outer_src;
    const size_t n = venic::underlay::encapsulate(e, u, d->vni, d->inner, out);
    if (n == 0) continue;  // (an inner frame too large to wrap again)
    auto again = venic::underlay::decapsulate(e, std::span<const uint8_t>(out.data(), n));
    require(again && again->vni == d->vni && again->inner.size() == d->inner.size());
  }
  return 0;
}
