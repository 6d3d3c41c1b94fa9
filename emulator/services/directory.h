// What the instance services know: a per-VF view of the EC2 model (the
// instance behind the VF, all its ENIs, the VPC's addresses), built by the
// control thread and published as an immutable snapshot; the services read
// it from their own threads without locks beyond the snapshot's swap.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ec2_model.h"

namespace venic::services {

struct EniView {
  uint16_t vf = 0;
  std::string id, subnet_id, vpc_id, owner_id;
  int device_index = -1;
  std::array<uint8_t, 6> mac{};
  uint32_t ip = 0;  // host order, as the model keeps them
  std::vector<uint32_t> secondary_ips;
  uint32_t public_ip = 0;  // 0: none
  std::vector<std::array<uint8_t, 16>> ipv6;
  model::Cidr4 subnet_cidr, vpc_cidr;
  std::vector<std::string> group_ids, group_names;
  // The ENI's IPv4 addresses, primary first: a guest's source address is
  // carried through the namespace as its index in this list.
  std::vector<uint32_t> ipv4() const;
  std::string mac_text() const;  // 02:xx:..., lower case
};

struct InstanceView {
  std::string id, type, ami_id, az, region, placement_group, partition, reservation_id, owner_id;
  std::string private_dns_suffix;  // "ec2.internal" in us-east-1, "<region>.compute.internal" elsewhere
  model::InstanceMetadata meta;
  std::vector<EniView> enis;  // by device index
};

struct Directory {
  struct Entry {
    EniView eni;
    std::shared_ptr<const InstanceView> instance;  // null: a detached ENI
  };
  std::map<uint16_t, Entry> by_vf;
  // Every private IPv4 address in each VPC (for Amazon DNS's private names).
  std::map<std::string, std::set<uint32_t>> vpc_addresses;

  const Entry* find(uint16_t vf) const {
    auto it = by_vf.find(vf);
    return it == by_vf.end() ? nullptr : &it->second;
  }
  bool vpc_has(const std::string& vpc, uint32_t ip) const {
    auto it = vpc_addresses.find(vpc);
    return it != vpc_addresses.end() && it->second.count(ip);
  }
};

// The view of m (control thread).
std::shared_ptr<const Directory> build_directory(const model::Ec2Model& m);

// The region an AZ is in ("us-east-1a" -> "us-east-1"), and the private DNS
// names' domain there.
std::string region_of(const std::string& az);
std::string private_dns_suffix(const std::string& region);
// "ip-10-0-1-5.ec2.internal" for 10.0.1.5 (host order).
std::string private_dns_name(uint32_t ip, const std::string& suffix);

// The current snapshot: set by the control thread, read by the services.
class DirectoryBoard {
 public:
  void publish(std::shared_ptr<const Directory> d) {
    std::lock_guard g(mu_);
    cur_ = std::move(d);
  }
  std::shared_ptr<const Directory> get() const {
    std::lock_guard g(mu_);
    return cur_ ? cur_ : std::make_shared<const Directory>();
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Directory> cur_;
};

}  // namespace venic::services
