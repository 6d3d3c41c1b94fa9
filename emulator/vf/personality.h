// A VF's personality: which device it is to its driver, and that device's
// limits, which venicd enforces and publishes in the register page.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "venic_abi.h"

namespace venic::vf {

enum class Personality : uint8_t {
  kEna = VENIC_PERSONALITY_ENA,
  kEfa = VENIC_PERSONALITY_EFA,
  kIxgbevf = VENIC_PERSONALITY_IXGBEVF,  // the Intel 82599 VF
};

struct DeviceCaps {
  std::string_view name;     // as vf.create's type names it
  std::string_view product;  // what the device is, for people
  uint8_t max_queues;        // queue pairs
  uint16_t max_mtu;
  uint32_t link_speed_mbps;
  uint16_t reta_size;
  uint16_t rss_key_size;
  bool allowance_counters;  // ENA's *_allowance_exceeded counters
  uint64_t max_bw_mbps;     // the link, as a bandwidth allowance; 0: no cap
};

// ENA (and EFA, an ENA device with OS bypass): EC2's jumbo MTU, up to 100 Gbps.
// The 82599 VF: Linux's ixgbevf runs at most 2 RSS queue pairs on it, its
// RETA has 128 entries and its key 40 bytes (both shared with the PF on real
// hardware), its largest frame is 9728 bytes with CRC; a 10 Gbps link.
inline constexpr DeviceCaps kEnaCaps{"ena",  "Elastic Network Adapter", VENIC_MAX_QPS,      VENIC_MTU_MAX,
                                     100000, VENIC_RETA_SIZE,           VENIC_RSS_KEY_SIZE, true,
                                     0};
inline constexpr DeviceCaps kEfaCaps{"efa",  "Elastic Fabric Adapter", VENIC_MAX_QPS,      VENIC_MTU_MAX,
                                     100000, VENIC_RETA_SIZE,          VENIC_RSS_KEY_SIZE, true,
                                     0};
inline constexpr DeviceCaps kIxgbevfCaps{
    "ixgbevf", "Intel 82599 Virtual Function", 2, VENIC_IXGBEVF_MTU_MAX, 10000, 128, 40, false, 10000};
static_assert(kIxgbevfCaps.reta_size <= VENIC_RETA_SIZE && kIxgbevfCaps.rss_key_size <= VENIC_RSS_KEY_SIZE);
static_assert(kIxgbevfCaps.max_queues <= VENIC_MAX_QPS);

constexpr const DeviceCaps& caps_of(Personality p) {
  switch (p) {
    case Personality::kEfa:
      return kEfaCaps;
    case Personality::kIxgbevf:
      return kIxgbevfCaps;
    case Personality::kEna:
      break;
  }
  return kEnaCaps;
}

inline std::optional<Personality> personality_from_name(std::string_view name) {
  for (Personality p : {Personality::kEna, Personality::kEfa, Personality::kIxgbevf})
    if (caps_of(p).name == name) return p;
  return std::nullopt;
}

}  // namespace venic::vf
