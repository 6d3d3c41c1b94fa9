// How the EFA engine reaches EFA devices on other hosts (docs/multi-host.md):
// SRD packets travel as Ethernet frames of EtherType kSrdEtherType between
// the two ENIs' MACs, tunnelled by the uplink like any frame of the VPC.
// The uplink checks that a frame's outer source is the host of its inner
// source ENI before the engine sees it.  Both sides run on the first
// worker, which polls the engine and the uplink.
#pragma once

#include <cstdint>

namespace venic::efa {

inline constexpr uint16_t kSrdEtherType = 0x88b5;  // IEEE local experimental

class EfaLink {
 public:
  virtual ~EfaLink() = default;
  // One whole Ethernet frame (dst = the remote ENI's MAC, src = the local
  // ENI's, EtherType kSrdEtherType) for the ENI's host.  False when it
  // cannot be sent now (full, or no such host): the sender retransmits.
  virtual bool send(const uint8_t* frame, uint32_t len) = 0;
};

}  // namespace venic::efa
