// VF personalities: the Intel 82599 VF (ixgbevf) beside ENA.  Its limits (2
// queue pairs, MTU 9710, 10 Gbps, no ENA allowance counters) hold in the VF
// config, in the register page the driver reads, and in the admin commands.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "personality.h"
#include "venic_abi.h"
#include "vf_config.h"
#include "vf_region.h"
#include "vf_table.h"

namespace venic::vf {
namespace {

using nlohmann::json;

json create_params(const std::string& type) {
  return {{"type", type}, {"mac", "02:00:00:00:00:07"}, {"ip", "10.0.1.7"}};
}

TEST(Personality, NamesRoundTrip) {
  for (Personality p : {Personality::kEna, Personality::kEfa, Personality::kIxgbevf}) {
    auto back = personality_from_name(caps_of(p).name);
    ASSERT_TRUE(back.has_value()) << caps_of(p).name;
    EXPECT_EQ(*back, p);
  }
  EXPECT_FALSE(personality_from_name("e1000").has_value());
  EXPECT_EQ(static_cast<uint32_t>(Personality::kIxgbevf), uint32_t(VENIC_PERSONALITY_IXGBEVF));
}

TEST(Personality, TheIntel82599VfsLimits) {
  const DeviceCaps& c = caps_of(Personality::kIxgbevf);
  EXPECT_EQ(c.max_queues, 2);  // Linux ixgbevf: at most 2 RSS queues on an 82599 VF
  EXPECT_EQ(c.max_mtu, 9710);  // a 9728-byte frame with its CRC
  EXPECT_EQ(c.link_speed_mbps, 10000u);
  EXPECT_EQ(c.reta_size, 128);
  EXPECT_EQ(c.rss_key_size, 40);
  EXPECT_FALSE(c.allowance_counters);
  EXPECT_TRUE(caps_of(Personality::kEna).allowance_counters);
  EXPECT_EQ(caps_of(Personality::kEna).max_mtu, VENIC_MTU_MAX);
  EXPECT_LE(c.max_mtu + VENIC_L2_OVERHEAD, VENIC_FRAME_MAX) << "the fast path carries its largest frame";
}

TEST(PersonalityConfig, AnIxgbevfVfDefaultsToItsLimits) {
  VfConfig c = config_from_json(create_params("ixgbevf"), false);
  EXPECT_EQ(c.type, Personality::kIxgbevf);
  EXPECT_EQ(c.queues, 2) << "its queue pairs, not ENA's default 4";
  EXPECT_EQ(c.limits.bw_in_mbps, 10000u) << "a 10 Gbps link";
  EXPECT_EQ(c.limits.bw_out_mbps, 10000u);
  EXPECT_EQ(validate(c), "");
  EXPECT_EQ(to_json(c)["type"], "ixgbevf");
  // ENA keeps its defaults.
  VfConfig e = config_from_json(create_params("ena"), false);
  EXPECT_EQ(e.queues, 4);
  EXPECT_EQ(e.limits.bw_in_mbps, 0u);
}

TEST(PersonalityConfig, BeyondTheLimitsIsRefused) {
  auto with = [](json extra) {
    json p = create_params("ixgbevf");
    p.update(extra);
    try {
      return validate(config_from_json(p, false));
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
  };
  EXPECT_NE(with({{"queues", 3}}).find("at most 2"), std::string::npos) << with({{"queues", 3}});
  EXPECT_EQ(with({{"queues", 1}}), "");
  EXPECT_EQ(with({{"mtu", 9710}}), "");
  EXPECT_NE(with({{"mtu", 9711}}), "");
  EXPECT_NE(with({{"bw_out_mbps", 25000u}}).find("10000"), std::string::npos);
  EXPECT_NE(with({{"bw_in_mbps", 0u}}), "") << "no unlimited bandwidth on a 10 Gbps link";
  EXPECT_EQ(with({{"bw_in_mbps", 500u}}), "");
  // ENA: MTU 9001 at most, as before.
  VfConfig ena = config_from_json(create_params("ena"), false);
  ena.mtu = 9710;
  EXPECT_NE(validate(ena).find("68-9001"), std::string::npos) << validate(ena);
  // Inside a VPC, EC2 carries 9001 whatever the device.
  VfConfig in_vpc = config_from_json(create_params("ixgbevf"), false);
  in_vpc.vpc_id = "vpc-1";
  in_vpc.mtu = 9710;
  EXPECT_NE(validate(in_vpc), "");
  EXPECT_EQ(max_mtu(in_vpc), VENIC_MTU_MAX);
}

TEST(PersonalityRegion, TheRegisterPageShowsThePersonality) {
  VfConfig c = config_from_json(create_params("ixgbevf"), false);
  VfRegion region(c);
  const venic_regs* r = region.regs();
  EXPECT_EQ(r->personality, uint32_t(VENIC_PERSONALITY_IXGBEVF));
  EXPECT_EQ(r->abi_major, 2);  // ABI 2.0 carries the personality's RSS geometry
  EXPECT_EQ(r->max_qps, 2u);
  EXPECT_EQ(r->max_mtu, 9710);
  EXPECT_EQ(r->link_speed_mbps, 10000u);
  EXPECT_EQ(r->reta_size, 128);
  EXPECT_EQ(r->rss_key_size, 40);
  EXPECT_FALSE(r->features & VENIC_F_ALLOWANCE_STATS) << "no ENA allowance counters";

  VfConfig e = config_from_json(create_params("ena"), false);
  VfRegion ena(e);
  EXPECT_EQ(ena.regs()->link_speed_mbps, 100000u);
  EXPECT_EQ(ena.regs()->max_mtu, VENIC_MTU_MAX);
  EXPECT_TRUE(ena.regs()->features & VENIC_F_ALLOWANCE_STATS);
  EXPECT_EQ(ena.regs()->reta_size, VENIC_RETA_SIZE);
}

class NullPublisher : public Publisher {
 public:
  void publish(const VfTable&) override {}
};

TEST(PersonalityTable, TheDaemonHoldsTheDriverToTheLimits) {
  NullPublisher pub;
  VfTable table(pub, nullptr);
  json p = create_params("ixgbevf");
  p["queues"] = 4;
  EXPECT_THROW(table.create(config_from_json(p, false), false), TableError);
  const Vf& v = table.create(config_from_json(create_params("ixgbevf"), false), false);
  // What the admin queue's SET_MTU and START accept.
  EXPECT_TRUE(mtu_fits(v.cfg, 9710));
  EXPECT_FALSE(mtu_fits(v.cfg, 9711));
  EXPECT_FALSE(mtu_fits(v.cfg, VENIC_MTU_MIN - 1));
  EXPECT_TRUE(queues_fit(v.cfg, 2));
  EXPECT_FALSE(queues_fit(v.cfg, 3)) << "more queue pairs than an 82599 VF has";
  EXPECT_FALSE(queues_fit(v.cfg, 0));
  EXPECT_THROW(table.set(v.cfg.id, {{"vf", v.cfg.id}, {"mtu", 9711}}), TableError);
  EXPECT_NO_THROW(table.set(v.cfg.id, {{"vf", v.cfg.id}, {"mtu", 9710}}));
  EXPECT_EQ(table.get(v.cfg.id).region->regs()->mtu, 9710);
}

}  // namespace
}  // namespace venic::vf
