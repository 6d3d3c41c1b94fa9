#include "cluster_command.h"

#include <CLI/CLI.hpp>
#include <sstream>

#include "args.h"

namespace venic::ctl {

ClusterCommand::ClusterCommand(CLI::App& app) {
  cluster_ = app.add_subcommand("cluster", "the venic hosts sharing this venicd's EC2 model (venicd --etcd)");
  cluster_->require_subcommand(0, 1);
  add_host_ = cluster_->add_subcommand(
      "add-host", "register a tunnel endpoint that is no venicd (a Linux vxlan/geneve device) as a host (root)");
  add_host_->add_option("NAME", name_, "its host name (Placement HostId)")->type_name("")->required();
  add_host_->add_option("--underlay-ip", underlay_ip_, "its underlay IPv4 address")->required();
  add_host_->add_option("--mac", mac_, "its MAC on the underlay")->required();
  cluster_->footer(
      "Examples:\n  venicctl cluster\n  venicctl cluster add-host kernel-peer --underlay-ip 192.168.50.9 --mac "
      "02:00:00:00:50:09\n");
}

std::optional<Request> ClusterCommand::request() const {
  if (!cluster_->parsed()) return std::nullopt;
  if (!add_host_->parsed()) return Request{"cluster.status"};
  Request r{"cluster.add_host"};
  std::string ip, mac;
  if (std::string e = parse_ipv4(underlay_ip_, ip); !e.empty()) throw UsageError("--underlay-ip: " + e);
  if (std::string e = parse_mac(mac_, mac); !e.empty()) throw UsageError("--mac: " + e);
  r.params = {{"name", name_}, {"underlay_ip", ip}, {"mac", mac}};
  return r;
}

std::string format_cluster_status(const nlohmann::json& s) {
  std::ostringstream out;
  if (!s.value("cluster", false)) {
    out << "host " << s.value("host", "") << ": a single host (venicd runs without --etcd)\n";
    return out.str();
  }
  out << "host " << s.value("host", "") << ", model revision " << s.value("revision", 0) << " in etcd";
  for (const auto& e : s.value("etcd", nlohmann::json::array())) out << " " << e.get<std::string>();
  out << "\nhosts:\n";
  for (const auto& h : s.value("hosts", nlohmann::json::array()))
    out << "  " << h.value("name", "") << "  " << h.value("underlay_ip", "") << "  " << h.value("mac", "") << "\n";
  out << "VPCs:\n";
  for (const auto& v : s.value("vpcs", nlohmann::json::array()))
    out << "  " << v.value("id", "") << "  VNI " << v.value("vni", 0) << "\n";
  return out.str();
}

}  // namespace venic::ctl
