// The instance types venic knows, with EC2's published network figures.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace venic::model {

struct InstanceType {
  std::string_view name;
  uint32_t max_enis;                  // MaximumNetworkInterfaces
  uint32_t ipv4_per_eni;              // Ipv4AddressesPerInterface (the primary included)
  uint32_t ipv6_per_eni;              // Ipv6AddressesPerInterface
  double baseline_gbps;               // BaselineBandwidthInGbps
  double peak_gbps;                   // PeakBandwidthInGbps
  std::string_view performance;       // NetworkPerformance
  bool efa;                           // EfaSupported
  uint64_t pps;                       // venic's PPS allowance: EC2 publishes none
  uint32_t conntrack;                 // venic's conntrack allowance (tracked flows): EC2 publishes none
  uint32_t network_cards;             // MaximumNetworkCards: max_enis, baseline and peak are split evenly among them
  uint32_t max_efa;                   // EfaInfo.MaximumEfaInterfaces (0 without EFA)
  std::string_view card_performance;  // each card's NetworkPerformance
  // NetworkInfo.EnaSupport: "unsupported" on the older types whose enhanced
  // networking is the Intel 82599 VF (SriovNetSupport "simple"): their VFs
  // get the ixgbevf personality.
  std::string_view ena_support = "required";
  uint32_t vcpus = 0;  // VCpuInfo.DefaultVCpus (0: not given)

  uint32_t enis_per_card() const { return max_enis / network_cards; }
  double card_baseline_gbps() const { return baseline_gbps / network_cards; }
  double card_peak_gbps() const { return peak_gbps / network_cards; }
  bool uses_ixgbevf() const { return ena_support == "unsupported"; }
};

std::span<const InstanceType> instance_types();
// nullptr when venic does not know the type.
const InstanceType* find_instance_type(std::string_view name);

// Whether EC2 launches the type into a cluster placement group: not the
// burstable families (T2, T3, T3a, T4g...), Mac instances nor the oldest
// generations (M1-M3, C1), which it refuses with InvalidParameterCombination.
bool supports_cluster_placement(const InstanceType& t);

}  // namespace venic::model
