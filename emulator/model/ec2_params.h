// The EC2 model's parameter readers and error helpers, shared by the files
// that implement its actions (ec2_model.cpp, ec2_lifecycle.cpp, ...).  Each
// reader throws Ec2Error with EC2's code (MissingParameter,
// InvalidParameterValue, UnknownParameter) naming the parameter.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ec2_model.h"

namespace venic::model::params {

using nlohmann::json;

// venic's error classes (control/protocol.h) for EC2's codes.
constexpr const char* kInvalid = "invalid_params";
constexpr const char* kNotFound = "not_found";
constexpr const char* kExists = "exists";
constexpr const char* kLimit = "limit";
constexpr const char* kBusy = "busy";
constexpr const char* kPermission = "permission_denied";

[[noreturn]] inline void fail(const char* code, const std::string& aws, const std::string& msg) {
  throw Ec2Error(code, aws, msg);
}
[[noreturn]] inline void bad_param(const std::string& msg) {
  fail(kInvalid, "InvalidParameterValue", msg);
}

inline const json* field(const json& p, const char* name) {
  auto it = p.find(name);
  return it == p.end() || it->is_null() ? nullptr : &*it;
}
inline std::string str(const json& p, const char* name) {
  const json* v = field(p, name);
  if (!v) fail(kInvalid, "MissingParameter", std::string("The request must contain the parameter ") + name);
  if (!v->is_string()) bad_param(std::string(name) + " must be a string");
  return v->get<std::string>();
}
inline std::string opt_str(const json& p, const char* name, std::string dflt = "") {
  return field(p, name) ? str(p, name) : dflt;
}
// venic's VenicFrontend: "shm" (a driver over the device ABI, the default)
// or "vhost-user" (venicd serves the VF on a vhost-user socket for a guest).
inline bool vhost_frontend(const json& p) {
  const std::string f = opt_str(p, "VenicFrontend", "shm");
  if (f != "shm" && f != "vhost-user") bad_param("Invalid value '" + f + "' for VenicFrontend (shm, vhost-user)");
  return f == "vhost-user";
}

inline long integer(const json& p, const char* name, long lo, long hi, std::optional<long> dflt);
inline void only(const json& p, std::initializer_list<const char*> allowed);

// ConnectionTrackingSpecification into t (EC2's ranges); absent keys keep t's.
inline void conntrack_spec(const json& p, vf::ConntrackTimeouts& t) {
  const json* spec = field(p, "ConnectionTrackingSpecification");
  if (!spec) return;
  if (!spec->is_object()) bad_param("ConnectionTrackingSpecification must be an object");
  only(*spec, {"TcpEstablishedTimeout", "UdpStreamTimeout", "UdpTimeout"});
  t.tcp_established = static_cast<uint32_t>(integer(*spec, "TcpEstablishedTimeout", 60, 432000, t.tcp_established));
  t.udp_stream = static_cast<uint32_t>(integer(*spec, "UdpStreamTimeout", 60, 180, t.udp_stream));
  t.udp = static_cast<uint32_t>(integer(*spec, "UdpTimeout", 30, 60, t.udp));
}

inline long integer(const json& p, const char* name, long lo, long hi, std::optional<long> dflt = std::nullopt) {
  const json* v = field(p, name);
  if (!v) {
    if (dflt) return *dflt;
    fail(kInvalid, "MissingParameter", std::string("The request must contain the parameter ") + name);
  }
  if (!v->is_number_integer() || v->get<long>() < lo || v->get<long>() > hi)
    bad_param("Invalid value '" + v->dump() + "' for " + name + " (an integer in " + std::to_string(lo) + "-" +
              std::to_string(hi) + ")");
  return v->get<long>();
}
// Describe*'s MaxResults / NextToken over a list, already filtered: one page
// of it under key, and the token where the next page starts.
inline json describe_page(const json& p, const char* key, json list) {
  const auto max = static_cast<size_t>(integer(p, "MaxResults", 5, 1000, 0));
  size_t from = 0;
  if (const json* t = field(p, "NextToken")) {
    const std::string token = t->is_string() ? t->get<std::string>() : "";
    if (token.empty() || token.size() > 7 || token.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(token) > list.size())
      bad_param("Invalid NextToken");
    from = std::stoul(token);
  }
  const size_t to = max ? std::min(list.size(), from + max) : list.size();
  json out = {{key, json::array()}};
  for (size_t i = from; i < to; i++) out[key].push_back(std::move(list[i]));
  if (to < list.size()) out["NextToken"] = std::to_string(to);
  return out;
}

inline std::vector<std::string> str_list(const json& p, const char* name) {
  const json* v = field(p, name);
  if (!v) return {};
  if (!v->is_array()) bad_param(std::string(name) + " must be a list of strings");
  std::vector<std::string> out;
  for (const auto& e : *v) {
    if (!e.is_string()) bad_param(std::string(name) + " must be a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}
// {"Value": bool} (the API's AttributeBooleanValue), or a bare bool.
inline std::optional<bool> bool_value(const json& p, const char* name) {
  const json* v = field(p, name);
  if (!v) return std::nullopt;
  if (v->is_object() && v->contains("Value")) v = &(*v)["Value"];
  if (!v->is_boolean()) bad_param(std::string(name) + " must be {\"Value\": true|false}");
  return v->get<bool>();
}
inline uint32_t ipv4(const std::string& s, const char* name) {
  auto a = vf::parse_ipv4(s);
  if (!a) bad_param("Invalid value '" + s + "' for " + name + " (an IPv4 address)");
  return *a;
}
inline Cidr4 cidr(const std::string& s, const char* name, const char* aws_range_code) {
  auto c = parse_cidr4(s);
  if (!c) fail(kInvalid, aws_range_code, "The CIDR '" + s + "' is invalid for " + name);
  return *c;
}
inline void only(const json& p, std::initializer_list<const char*> allowed) {
  for (const auto& item : p.items()) {
    const std::string& k = item.key();  // clang 14 (the fuzz build) cannot capture a structured binding
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; }) == allowed.end())
      fail(kInvalid, "UnknownParameter", "The parameter " + k + " is not recognized");
  }
}

// An instance's State: {"Code": 16, "Name": "running"}, stopped (80), terminated (48).
json state_json(const Instance& i);
// seconds since the epoch as EC2 writes a time: 2026-12-04T21:37:22.000Z.
std::string iso8601(int64_t seconds);

inline std::string ip_s(uint32_t a) {
  return vf::format_ipv4(a);
}

}  // namespace venic::model::params
