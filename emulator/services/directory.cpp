#include "directory.h"

#include <cstdio>

namespace venic::services {

namespace {

// venic launches no images: every instance reports this one.
constexpr const char* kAmiId = "ami-0000000000000venc";

EniView eni_view(const model::Ec2Model& m, const model::Eni& e) {
  EniView v;
  v.vf = e.vf;
  v.id = e.id;
  v.subnet_id = e.subnet;
  v.owner_id = venic::account_id(e.owner);
  v.device_index = e.device_index;
  v.mac = e.mac;
  v.ip = e.ip;
  v.secondary_ips = e.secondary_ips;
  v.public_ip = e.public_ip;
  v.ipv6.assign(e.ipv6.begin(), e.ipv6.end());
  if (const model::Subnet* sn = m.subnet(e.subnet)) {
    v.subnet_cidr = sn->cidr;
    v.vpc_id = sn->vpc;
    if (const model::Vpc* vpc = m.vpc(sn->vpc)) v.vpc_cidr = vpc->cidr;
  }
  v.group_ids = e.groups;
  for (const auto& g : e.groups)
    if (const model::SecurityGroup* sg = m.security_group(g)) v.group_names.push_back(sg->name);
  return v;
}

}  // namespace

std::vector<uint32_t> EniView::ipv4() const {
  std::vector<uint32_t> out{ip};
  out.insert(out.end(), secondary_ips.begin(), secondary_ips.end());
  return out;
}

std::string EniView::mac_text() const {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return buf;
}

std::string region_of(const std::string& az) {
  // An AZ is its region and one letter.
  return az.size() > 1 ? az.substr(0, az.size() - 1) : az;
}

std::string private_dns_suffix(const std::string& region) {
  return region == "us-east-1" ? "ec2.internal" : region + ".compute.internal";
}

std::string private_dns_name(uint32_t ip, const std::string& suffix) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "ip-%u-%u-%u-%u.", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  return buf + suffix;
}

std::shared_ptr<const Directory> build_directory(const model::Ec2Model& m) {
  auto d = std::make_shared<Directory>();
  std::map<std::string, std::shared_ptr<InstanceView>> instances;
  for (const auto& [id, e] : m.enis()) {
    Directory::Entry entry{eni_view(m, e), nullptr};
    auto& addrs = d->vpc_addresses[entry.eni.vpc_id];
    for (uint32_t a : entry.eni.ipv4()) addrs.insert(a);
    if (e.attached()) {
      auto& iv = instances[e.instance];
      if (!iv) {
        const model::Instance* in = m.instance(e.instance);
        if (!in) continue;
        iv = std::make_shared<InstanceView>();
        iv->id = in->id;
        iv->type = in->type;
        iv->ami_id = in->image_id;
        if (iv->ami_id.empty()) iv->ami_id = kAmiId;
        iv->az = in->az;
        iv->region = region_of(in->az);
        iv->private_dns_suffix = private_dns_suffix(iv->region);
        iv->placement_group = in->placement_group;
        if (const model::PlacementGroup* pg =
                in->placement_group.empty() ? nullptr : m.placement_group(in->placement_owner, in->placement_group))
          if (pg->strategy == "partition" && in->partition) iv->partition = std::to_string(in->partition);
        iv->reservation_id = in->reservation;
        iv->owner_id = venic::account_id(in->owner_uid);
        iv->meta = in->meta;
        for (const auto& [idx, eid] : in->enis) {
          auto it = m.enis().find(eid);
          if (it != m.enis().end()) iv->enis.push_back(eni_view(m, it->second));
        }
      }
      entry.instance = iv;
    }
    if (m.local(e)) d->by_vf[e.vf] = std::move(entry);  // another host's VF ids are not ours
  }
  return d;
}

}  // namespace venic::services
