#include "imds_tree.h"

#include <openssl/sha.h>

#include <cstdio>
#include <map>
#include <regex>
#include <vector>

namespace venic::services {

namespace {

// One node of the tree: a value, or a directory of named children.
struct Node {
  std::string value;
  std::map<std::string, Node> children;
  bool dir = false;
  Node& operator[](const std::string& name) {
    dir = true;
    return children[name];
  }
  void operator=(std::string v) { value = std::move(v); }
};

std::string ip4(uint32_t a) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
  return buf;
}

std::string cidr4(const model::Cidr4& c) {
  return ip4(c.addr) + "/" + std::to_string(c.prefix);
}

std::string lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "\n") + s;
  return out;
}

std::string ipv6_text(const std::array<uint8_t, 16>& a) {
  return vf::format_ipv6(a);
}

// Credentials that look like STS's: stable for an instance and role.
std::string credentials(const InstanceView& in) {
  unsigned char h[SHA256_DIGEST_LENGTH];
  const std::string seed = "venic-role:" + in.id + ":" + in.meta.iam_role;
  SHA256(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), h);
  static const char kUpper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string key = "ASIA", secret;
  for (int i = 0; i < 16; i++) key += kUpper[h[i] % 32];
  static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 40; i++) secret += kB64[(h[(i + 16) % SHA256_DIGEST_LENGTH] ^ i) % 64];
  return "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2026-01-01T00:00:00Z\",\n  \"Type\" : \"AWS-HMAC\",\n"
         "  \"AccessKeyId\" : \"" +
         key + "\",\n  \"SecretAccessKey\" : \"" + secret + "\",\n  \"Token\" : \"venic-" + in.id +
         "\",\n  \"Expiration\" : \"2099-01-01T00:00:00Z\"\n}";
}

// EC2's identity document: pretty-printed with " : " as EC2 prints it.
std::string identity_document(const InstanceView& in) {
  const uint32_t ip = in.enis.empty() ? 0 : in.enis.front().ip;
  std::vector<std::pair<std::string, std::string>> f = {{"accountId", "\"" + in.owner_id + "\""},
                                                        {"architecture", "\"x86_64\""},
                                                        {"availabilityZone", "\"" + in.az + "\""},
                                                        {"billingProducts", "null"},
                                                        {"devpayProductCodes", "null"},
                                                        {"marketplaceProductCodes", "null"},
                                                        {"imageId", "\"" + in.ami_id + "\""},
                                                        {"instanceId", "\"" + in.id + "\""},
                                                        {"instanceType", "\"" + in.type + "\""},
                                                        {"kernelId", "null"},
                                                        {"privateIp", "\"" + ip4(ip) + "\""},
                                                        {"ramdiskId", "null"},
                                                        {"region", "\"" + in.region + "\""},
                                                        {"version", "\"2017-09-30\""}};
  std::string out = "{\n";
  for (size_t i = 0; i < f.size(); i++)
    out += "  \"" + f[i].first + "\" : " + f[i].second + (i + 1 < f.size() ? ",\n" : "\n");
  return out + "}";
}

void add_interface(Node& macs, const InstanceView& in, const EniView& e) {
  Node& n = macs[e.mac_text()];
  n["device-number"] = std::to_string(e.device_index);
  n["interface-id"] = e.id;
  n["local-hostname"] = private_dns_name(e.ip, in.private_dns_suffix);
  std::vector<std::string> v4;
  for (uint32_t a : e.ipv4()) v4.push_back(ip4(a));
  n["local-ipv4s"] = lines(v4);
  n["mac"] = e.mac_text();
  n["owner-id"] = e.owner_id;
  if (!e.ipv6.empty()) {
    std::vector<std::string> v6;
    for (const auto& a : e.ipv6) v6.push_back(ipv6_text(a));
    n["ipv6s"] = lines(v6);
  }
  if (e.public_ip) n["public-ipv4s"] = ip4(e.public_ip);
  n["security-group-ids"] = lines(e.group_ids);
  n["security-groups"] = lines(e.group_names);
  n["subnet-id"] = e.subnet_id;
  n["subnet-ipv4-cidr-block"] = cidr4(e.subnet_cidr);
  n["vpc-id"] = e.vpc_id;
  n["vpc-ipv4-cidr-block"] = cidr4(e.vpc_cidr);
  n["vpc-ipv4-cidr-blocks"] = cidr4(e.vpc_cidr);
}

Node tree(const InstanceView& in, const EniView& asking) {
  const EniView& primary = in.enis.empty() ? asking : in.enis.front();
  Node root;
  Node& latest = root["latest"];
  Node& md = latest["meta-data"];
  md["ami-id"] = in.ami_id;
  md["ami-launch-index"] = "0";
  md["ami-manifest-path"] = "(unknown)";
  md["hostname"] = private_dns_name(primary.ip, in.private_dns_suffix);
  md["instance-action"] = "none";
  md["instance-id"] = in.id;
  md["instance-life-cycle"] = "on-demand";
  md["instance-type"] = in.type;
  md["local-hostname"] = private_dns_name(primary.ip, in.private_dns_suffix);
  md["local-ipv4"] = ip4(primary.ip);
  md["mac"] = primary.mac_text();
  if (primary.public_ip) md["public-ipv4"] = ip4(primary.public_ip);
  md["reservation-id"] = in.reservation_id;
  md["security-groups"] = lines(primary.group_names);
  Node& macs = md["network"]["interfaces"]["macs"];
  for (const auto& e : in.enis) add_interface(macs, in, e);
  Node& pl = md["placement"];
  pl["availability-zone"] = in.az;
  pl["region"] = in.region;
  if (!in.placement_group.empty()) pl["group-name"] = in.placement_group;
  if (!in.partition.empty()) pl["partition-number"] = in.partition;
  md["services"]["domain"] = "amazonaws.com";
  md["services"]["partition"] = "aws";
  if (!in.meta.iam_role.empty()) {
    md["iam"]["info"] =
        "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2026-01-01T00:00:00Z\",\n"
        "  \"InstanceProfileArn\" : \"arn:aws:iam::" +
        in.owner_id + ":instance-profile/" + in.meta.iam_role + "\",\n  \"InstanceProfileId\" : \"AIPA" +
        in.id.substr(2) + "\"\n}";
    md["iam"]["security-credentials"][in.meta.iam_role] = credentials(in);
  }
  if (in.meta.options.tags) md["tags"]["instance"].dir = true;  // venic's instances have no tags yet
  latest["dynamic"]["instance-identity"]["document"] = identity_document(in);
  if (!in.meta.user_data.empty()) latest["user-data"] = in.meta.user_data;
  return root;
}

std::string listing(const Node& n) {
  std::vector<std::string> names;
  for (const auto& [name, child] : n.children) names.push_back(child.dir ? name + "/" : name);
  return lines(names);
}

}  // namespace

ImdsAnswer imds_lookup(const InstanceView& in, const EniView& asking, std::string_view path) {
  // Dated versions ("2021-07-15/meta-data/...") serve what latest serves.
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  static const std::regex kVersion("1\\.0|[0-9]{4}-[0-9]{2}-[0-9]{2}");
  if (!parts.empty() && std::regex_match(parts[0], kVersion)) parts[0] = "latest";
  const Node root = tree(in, asking);
  const Node* n = &root;
  for (const auto& p : parts) {
    auto it = n->children.find(p);
    if (!n->dir || it == n->children.end()) return {404, "", "text/plain"};
    n = &it->second;
  }
  if (n->dir) return {200, listing(*n), "text/plain"};
  const bool json = n->value.size() > 1 && n->value.front() == '{';
  return {200, n->value, json ? "application/json" : "text/plain"};
}

}  // namespace venic::services
