#include "cluster_methods.h"

#include "ec2_service.h"
#include "vf_config.h"

namespace venic::control {

namespace {

[[noreturn]] void bad(const std::string& msg) {
  throw model::Ec2Error("invalid_params", "InvalidParameterValue", msg);
}

std::string text(const nlohmann::json& p, const char* name) {
  auto it = p.find(name);
  if (it == p.end() || !it->is_string()) bad(std::string(name) + ": missing or not a string");
  return it->get<std::string>();
}

nlohmann::json status(const model::Ec2Service& ec2) {
  const model::Ec2Model& m = ec2.model();
  nlohmann::json hosts = nlohmann::json::array(), vpcs = nlohmann::json::array(), endpoints = nlohmann::json::array();
  for (auto& [name, h] : m.hosts())
    hosts.push_back({{"name", name}, {"underlay_ip", vf::format_ipv4(h.ip)}, {"mac", vf::format_mac(h.mac)}});
  for (auto& [id, v] : m.vpcs()) vpcs.push_back({{"id", id}, {"vni", v.vni}});
  if (ec2.cluster())
    for (const auto& e : ec2.cluster_store()->endpoints()) endpoints.push_back(e);
  return {{"host", m.local_host()},
          {"cluster", ec2.cluster()},
          {"etcd", endpoints},
          {"revision", ec2.revision()},
          {"commit_conflicts", ec2.conflicts()},
          {"hosts", hosts},
          {"vpcs", vpcs}};
}

}  // namespace

std::optional<nlohmann::json> cluster_call(model::Ec2Service& ec2, const std::string& method, const nlohmann::json& p,
                                           const Caller& caller) {
  if (method == "cluster.status") {
    for (auto& [k, v] : p.items()) bad("unknown parameter '" + k + "'");
    if (ec2.cluster()) ec2.refresh();  // the latest this host can see; the last one when etcd is away
    return status(ec2);
  }
  if (method == "cluster.add_host") {
    for (auto& [k, v] : p.items())
      if (k != "name" && k != "underlay_ip" && k != "mac") bad("unknown parameter '" + k + "'");
    if (!caller.admin) throw model::Ec2Error("permission_denied", "UnauthorizedOperation", "only root registers hosts");
    if (!ec2.cluster()) bad("this venicd runs without --etcd: there is no cluster to add a host to");
    vf::UnderlayHost h;
    h.name = text(p, "name");
    auto ip = vf::parse_ipv4(text(p, "underlay_ip"));
    if (!ip) bad("underlay_ip: not an IPv4 address");
    h.ip = *ip;
    auto mac = vf::parse_mac(text(p, "mac"));
    if (!mac) bad("mac: not a MAC address");
    h.mac = *mac;
    ec2.add_host(h);
    return status(ec2);
  }
  return std::nullopt;
}

}  // namespace venic::control
