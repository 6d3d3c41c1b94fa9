// Several venic hosts, one model (docs/multi-host.md): the host registry,
// each VPC's VNI, where an instance runs (Placement.HostId) and the VF ids
// the model gives per host.
#include <regex>
#include <set>

#include "ec2_model.h"
#include "ec2_params.h"
#include "venic_abi.h"

namespace venic::model {

using namespace params;

void Ec2Model::add_host(const vf::UnderlayHost& h) {
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
  if (!std::regex_match(h.name, kName))
    bad_param("Invalid host name '" + h.name.substr(0, 64) + "': 1-63 of A-Z a-z 0-9 . _ -, first a letter or digit");
  if (!h.ip) bad_param("Host " + h.name + " needs an underlay IPv4 address");
  if (!s_.hosts.count(h.name) && s_.hosts.size() >= kMaxHosts)
    fail(kLimit, "HostLimitExceeded", "At most " + std::to_string(kMaxHosts) + " hosts");
  for (auto& [name, o] : s_.hosts)
    if (name != h.name && o.ip == h.ip)
      fail(kExists, "InvalidParameterValue", "Host " + name + " already has underlay address " + ip_s(h.ip));
  s_.hosts[h.name] = h;
}

uint32_t Ec2Model::free_vni(const State& s) const {
  std::set<uint32_t> used;
  for (auto& [id, v] : s.vpcs) used.insert(v.vni);
  for (uint32_t n = 1; n <= kMaxVni; n++)
    if (!used.count(n)) return n;
  fail(kLimit, "VpcLimitExceeded", "Every VNI is taken");
}

uint16_t Ec2Model::free_vf(const std::string& host) const {
  std::set<uint16_t> used;
  for (auto& [id, e] : s_.enis)
    if (e.host == host) used.insert(e.vf);
  for (uint16_t n = 0; n < VENIC_MAX_VFS; n++)
    if (!used.count(n)) return n;
  fail(kLimit, "NetworkInterfaceLimitExceeded",
       "Host " + host + " backs " + std::to_string(VENIC_MAX_VFS) + " network interfaces, the most it can");
}

std::string Ec2Model::placement_host(const json* placement) const {
  const std::string want = placement ? opt_str(*placement, "HostId") : std::string();
  if (!cluster_) {
    // One host: it may be named, nothing else.
    if (!want.empty() && want != local_host_)
      bad_param("Invalid value '" + want + "' for HostId: this venicd is host '" + local_host_ +
                "' and runs without --etcd");
    return "";
  }
  if (want.empty()) return local_host_;
  if (!s_.hosts.count(want)) bad_param("Invalid value '" + want + "' for HostId: no such venic host");
  return want;
}

}  // namespace venic::model
