// The exception path's address translation, both ways: a guest's frame to a
// service becomes an IP packet from its namespace address (address_map.h);
// a server's reply becomes an Ethernet frame from the router to the ENI,
// from the service address the guest used.  Checksums are updated
// incrementally.  Anything else -- another destination or port, a source
// that is not the ENI's, fragments, IPv6 extension headers -- is refused.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>

#include "address_map.h"
#include "directory.h"

namespace venic::services {

constexpr size_t kEthHeader = 14;

// The IP packet inside frame[0..len), rewritten in place for the namespace:
// {offset, length} of the packet in frame, or nullopt.
struct IpSpan {
  size_t offset = 0, len = 0;
};
std::optional<IpSpan> to_namespace(const Directory& dir, uint16_t vf, uint8_t* frame, size_t len);

// The reply packet pkt[0..len) (from the TUN) as a frame in out[0..cap):
// the VF it goes to and the frame's length, or nullopt.  hops(vf, port)
// gives the most IP hops an IMDS reply to that client port may travel (0:
// no cap).
struct GuestFrame {
  uint16_t vf = 0;
  size_t len = 0;
};
using HopCap = std::function<uint8_t(uint16_t vf, uint16_t client_port)>;
std::optional<GuestFrame> to_guest(const Directory& dir, const uint8_t* pkt, size_t len, uint8_t* out, size_t cap,
                                   const std::array<uint8_t, 6>& router_mac, const HopCap& hops);

}  // namespace venic::services
