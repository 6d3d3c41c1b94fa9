// What a frame another host tunnelled may do here (docs/multi-host.md): the
// VNI names the VPC; the outer source must be the host of the ENI that
// sent it (the ENI owning the inner source address, or the inner source MAC
// for EFA's SRD frames), so no host speaks for another's ENIs; the
// destination must be a polled ENI of this host.  ARP requests are answered
// here, as the VPC answers its local ENIs'.  Stateless, for the first
// worker; the receiver's checks come after, in deliver_from_underlay.
#pragma once

#include <cstdint>

#include "snapshot.h"
#include "vpc_router.h"

namespace venic::fastpath {

// Why the uplink dropped an arrival (its counters, by name).
enum class UnderlayDrop : uint8_t {
  kUnknownVni,     // no VPC has this VNI
  kSpoofed,        // the outer source is not the host of the inner source
  kNoDestination,  // no polled ENI of this host has the inner destination
  kNotCarried,     // a frame the VPC does not carry (multicast, VLANs, unknown EtherType)
  kCount
};
const char* underlay_drop_name(UnderlayDrop d);

struct UnderlayArrival {
  enum class Kind : uint8_t {
    kDeliver,  // to `dst`, sent by `from` (nullptr: an address no ENI has, forwarded by a NAT instance)
    kAnswer,   // `answer` holds answer_len bytes for the sender's host (an ARP reply)
    kSrd,      // an EFA SRD frame for `dst` from `from` (efa_link.h)
    kDrop,     // counted as `drop`
  };
  Kind kind = Kind::kDrop;
  UnderlayDrop drop = UnderlayDrop::kNotCarried;
  const PortView* dst = nullptr;
  const PortView* from = nullptr;
  uint32_t answer_len = 0;
};

inline constexpr uint16_t kSrdEtherType = 0x88b5;  // efa_link.h's

// outer_src: the underlay sender, host order; inner: the tunnelled frame.
UnderlayArrival underlay_arrival(const Snapshot& snap, uint32_t vni, uint32_t outer_src, const uint8_t* inner,
                                 uint32_t len, uint8_t (&answer)[kAnswerMax]);

}  // namespace venic::fastpath
