#include "instance_metadata.h"

#include <openssl/evp.h>

#include <algorithm>
#include <regex>

#include "ec2_model.h"

namespace venic::model {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& msg) {
  throw Ec2Error("invalid_params", "InvalidParameterValue", msg);
}

// "enabled"/"disabled" (or optional/required) as a bool; absent keeps cur.
bool choice(const json& p, const char* name, const char* yes, const char* no, bool cur) {
  auto it = p.find(name);
  if (it == p.end() || it->is_null()) return cur;
  if (!it->is_string() || (*it != yes && *it != no))
    bad(std::string("Invalid value for ") + name + " (" + yes + ", " + no + ")");
  return *it == yes;
}

std::string base64_decode(const std::string& in) {
  // EVP_DecodeBlock keeps the padding's zero bytes: count them off.
  if (in.size() % 4 != 0 || in.size() > 4 * (InstanceMetadata::kMaxUserData / 3 + 1))
    bad("UserData must be base64, at most 16 KB decoded");
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) bad("UserData must be base64");
  size_t len = static_cast<size_t>(n);
  for (size_t i = in.size(); i > 0 && in[i - 1] == '=' && len > 0; i--) len--;
  out.resize(len);
  if (out.size() > InstanceMetadata::kMaxUserData) bad("UserData must be at most 16 KB decoded");
  return out;
}

std::string base64_encode(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

json metadata_options_json(const MetadataOptions& o) {
  return {{"State", "applied"},
          {"HttpTokens", o.http_tokens_required ? "required" : "optional"},
          {"HttpPutResponseHopLimit", o.hop_limit},
          {"HttpEndpoint", o.http_endpoint ? "enabled" : "disabled"},
          {"HttpProtocolIpv6", "enabled"},
          {"InstanceMetadataTags", o.tags ? "enabled" : "disabled"}};
}

void apply_metadata_options(const json& p, MetadataOptions& o) {
  if (!p.is_object()) bad("MetadataOptions must be an object");
  MetadataOptions n = o;
  n.http_endpoint = choice(p, "HttpEndpoint", "enabled", "disabled", o.http_endpoint);
  n.http_tokens_required = choice(p, "HttpTokens", "required", "optional", o.http_tokens_required);
  n.tags = choice(p, "InstanceMetadataTags", "enabled", "disabled", o.tags);
  if (auto it = p.find("HttpPutResponseHopLimit"); it != p.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<long>() < 1 || it->get<long>() > 64)
      bad("Invalid value for HttpPutResponseHopLimit (an integer in 1-64)");
    n.hop_limit = static_cast<int>(it->get<long>());
  }
  o = n;
}

InstanceMetadata metadata_from_run(const json& p) {
  InstanceMetadata m;
  if (auto it = p.find("UserData"); it != p.end() && !it->is_null()) {
    if (!it->is_string()) bad("UserData must be a base64 string");
    m.user_data = base64_decode(it->get<std::string>());
  }
  if (auto it = p.find("MetadataOptions"); it != p.end() && !it->is_null()) {
    if (!it->is_object()) bad("MetadataOptions must be an object");
    for (const auto& item : it->items())
      if (item.key() != "HttpEndpoint" && item.key() != "HttpTokens" && item.key() != "HttpPutResponseHopLimit" &&
          item.key() != "InstanceMetadataTags")
        throw Ec2Error("invalid_params", "UnknownParameter", "The parameter " + item.key() + " is not recognized");
    apply_metadata_options(*it, m.options);
  }
  if (auto it = p.find("IamInstanceProfile"); it != p.end() && !it->is_null()) {
    static const std::regex kRole("[A-Za-z0-9+=,.@_-]{1,64}");
    if (!it->is_object() || !it->contains("Name") || !(*it)["Name"].is_string() ||
        !std::regex_match((*it)["Name"].get<std::string>(), kRole))
      bad("IamInstanceProfile must be {\"Name\": a role name of 1-64 characters [A-Za-z0-9+=,.@_-]}");
    m.iam_role = (*it)["Name"].get<std::string>();
  }
  return m;
}

json metadata_to_json(const InstanceMetadata& m) {
  json j = metadata_options_json(m.options);
  j.erase("State");
  j.erase("HttpProtocolIpv6");
  j["UserData"] = base64_encode(m.user_data);  // user data may be any bytes (gzip); JSON wants UTF-8
  j["IamRole"] = m.iam_role;
  return j;
}

InstanceMetadata metadata_from_json(const json& j) {
  InstanceMetadata m;
  if (j.is_null()) return m;
  try {
    apply_metadata_options(j, m.options);
  } catch (const Ec2Error& e) {
    throw std::runtime_error(e.what());
  }
  try {
    m.user_data = base64_decode(j.value("UserData", std::string()));
  } catch (const Ec2Error& e) {
    throw std::runtime_error(std::string("user data: ") + e.what());
  }
  m.iam_role = j.value("IamRole", std::string());
  return m;
}

// ---- the action -------------------------------------------------------------

json Ec2Model::modify_instance_metadata_options(const json& p) {
  for (const auto& item : p.items())
    if (item.key() != "InstanceId" && item.key() != "HttpEndpoint" && item.key() != "HttpTokens" &&
        item.key() != "HttpPutResponseHopLimit" && item.key() != "InstanceMetadataTags")
      throw Ec2Error("invalid_params", "UnknownParameter", "The parameter " + item.key() + " is not recognized");
  auto id = p.find("InstanceId");
  if (id == p.end() || !id->is_string())
    throw Ec2Error("invalid_params", "MissingParameter", "The request must contain the parameter InstanceId");
  auto it = s_.instances.find(id->get<std::string>());
  if (it == s_.instances.end() || !visible(it->second.owner_uid))
    throw Ec2Error("not_found", "InvalidInstanceID.NotFound",
                   "The instance ID '" + id->get<std::string>() + "' does not exist");
  require_owner(it->second.owner_uid);
  apply_metadata_options(p, it->second.meta.options);
  return {{"InstanceId", it->first}, {"InstanceMetadataOptions", metadata_options_json(it->second.meta.options)}};
}

}  // namespace venic::model
