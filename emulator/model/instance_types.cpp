#include "instance_types.h"

#include <algorithm>
#include <array>

namespace venic::model {

namespace {

// EC2's figures (docs: "Amazon EC2 instance type specifications", network
// specifications).  The PPS and conntrack columns are venic's: about 1 Mpps
// per 7 Gbps of baseline, at least 100 kpps; tracked flows by size, kept
// within what a daemon can hold for many instances (about 100 bytes a flow).
// Then the network cards (p4d.24xlarge: 4 of 15 ENIs and 100 Gbps each),
// EfaInfo.MaximumEfaInterfaces and each card's NetworkPerformance.
// The previous generation's SR-IOV types last (EnaSupport unsupported: the
// Intel 82599 VF, 10 Gbps at most): EC2 publishes only "Moderate", "High"
// and "10 Gigabit" for them; the baseline figures are venic's (0.5, 1 and 2
// Gbps, and 10 for "10 Gigabit", peak = baseline: no burst credits).
constexpr InstanceType sriov(std::string_view name, uint32_t vcpus, uint32_t enis, uint32_t ipv4,
                             std::string_view performance, double gbps, uint32_t conntrack) {
  const uint64_t pps = gbps >= 10 ? 1400000 : 100000;
  return {name, enis,      ipv4, ipv4, gbps,        gbps,          performance, false,
          pps,  conntrack, 1,    0,    performance, "unsupported", vcpus};
}

constexpr std::array<InstanceType, 29> kTypes = {{
    {"t3.nano", 2, 2, 2, 0.032, 5, "Up to 5 Gigabit", false, 100000, 2048, 1, 0, "Up to 5 Gigabit"},
    {"t3.micro", 2, 2, 2, 0.064, 5, "Up to 5 Gigabit", false, 100000, 4096, 1, 0, "Up to 5 Gigabit"},
    {"t3.large", 3, 12, 12, 0.512, 5, "Up to 5 Gigabit", false, 100000, 16384, 1, 0, "Up to 5 Gigabit"},
    {"m5.large", 3, 10, 10, 0.75, 10, "Up to 10 Gigabit", false, 120000, 16384, 1, 0, "Up to 10 Gigabit"},
    {"m5.xlarge", 4, 15, 15, 1.25, 10, "Up to 10 Gigabit", false, 200000, 32768, 1, 0, "Up to 10 Gigabit"},
    {"c5.large", 3, 10, 10, 0.75, 10, "Up to 10 Gigabit", false, 120000, 16384, 1, 0, "Up to 10 Gigabit"},
    {"c5n.18xlarge", 15, 50, 50, 100, 100, "100 Gigabit", true, 14000000, 65536, 1, 1, "100 Gigabit"},
    {"c6gn.16xlarge", 15, 50, 50, 100, 100, "100 Gigabit", true, 14000000, 65536, 1, 1, "100 Gigabit"},
    {"hpc6a.48xlarge", 2, 50, 50, 100, 100, "100 Gigabit", true, 14000000, 65536, 1, 1, "100 Gigabit"},
    {"p4d.24xlarge", 60, 50, 50, 400, 400, "4x 100 Gigabit", true, 56000000, 131072, 4, 4, "100 Gigabit"},
    sriov("c4.large", 2, 3, 10, "Moderate", 0.5, 16384),
    sriov("c4.xlarge", 4, 4, 15, "High", 1, 32768),
    sriov("c4.2xlarge", 8, 4, 15, "High", 1, 32768),
    sriov("c4.4xlarge", 16, 8, 30, "High", 2, 65536),
    sriov("c4.8xlarge", 36, 8, 30, "10 Gigabit", 10, 65536),
    sriov("m4.large", 2, 2, 10, "Moderate", 0.5, 16384),
    sriov("m4.xlarge", 4, 4, 15, "High", 1, 32768),
    sriov("m4.2xlarge", 8, 4, 15, "High", 1, 32768),
    sriov("m4.4xlarge", 16, 8, 30, "High", 2, 65536),
    sriov("m4.10xlarge", 40, 8, 30, "10 Gigabit", 10, 65536),
    sriov("r3.large", 2, 3, 10, "Moderate", 0.5, 16384),
    sriov("r3.xlarge", 4, 4, 15, "Moderate", 0.5, 32768),
    sriov("r3.2xlarge", 8, 4, 15, "High", 1, 32768),
    sriov("r3.4xlarge", 16, 8, 30, "High", 2, 65536),
    sriov("r3.8xlarge", 32, 8, 30, "10 Gigabit", 10, 65536),
    sriov("i2.xlarge", 4, 4, 15, "Moderate", 0.5, 32768),
    sriov("i2.2xlarge", 8, 4, 15, "High", 1, 32768),
    sriov("i2.4xlarge", 16, 8, 30, "High", 2, 65536),
    sriov("i2.8xlarge", 32, 8, 30, "10 Gigabit", 10, 65536),
}};

}  // namespace

std::span<const InstanceType> instance_types() {
  return kTypes;
}

bool supports_cluster_placement(const InstanceType& t) {
  static constexpr std::array<std::string_view, 12> kRefused = {"t1",   "t2", "t3", "t3a", "t4g", "mac1",
                                                                "mac2", "m1", "m2", "m3",  "c1",  "cc1"};
  const std::string_view family = t.name.substr(0, t.name.find('.'));
  return std::find(kRefused.begin(), kRefused.end(), family) == kRefused.end();
}

const InstanceType* find_instance_type(std::string_view name) {
  for (const auto& t : kTypes)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace venic::model
