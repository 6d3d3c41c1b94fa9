// What an instance tells about itself through the instance metadata service:
// its metadata options (ModifyInstanceMetadataOptions), its user data and its
// IAM role.  Parsing and persistence here; emulator/services serves them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace venic::model {

// EC2's InstanceMetadataOptions, with EC2's defaults.
struct MetadataOptions {
  bool http_endpoint = true;          // HttpEndpoint: enabled
  bool http_tokens_required = false;  // HttpTokens: optional (IMDSv1 allowed)
  int hop_limit = 1;                  // HttpPutResponseHopLimit, 1-64
  bool tags = false;                  // InstanceMetadataTags
  bool operator==(const MetadataOptions&) const = default;
};

struct InstanceMetadata {
  MetadataOptions options;
  std::string user_data;                             // decoded bytes, at most kMaxUserData
  std::string iam_role;                              // "" when the instance has no role
  static constexpr size_t kMaxUserData = 16 * 1024;  // EC2's limit
};

// The options as the API shows them (InstanceMetadataOptionsResponse).
nlohmann::json metadata_options_json(const MetadataOptions& o);
// RunInstances's UserData (base64), MetadataOptions and IamInstanceProfile
// ({"Name": role}); throws Ec2Error.
InstanceMetadata metadata_from_run(const nlohmann::json& params);
// Applies an options object's fields (ModifyInstanceMetadataOptions or
// RunInstances's MetadataOptions) to o; throws Ec2Error, o unchanged then.
void apply_metadata_options(const nlohmann::json& p, MetadataOptions& o);

// Persistence: an absent object is the defaults; throws std::runtime_error.
nlohmann::json metadata_to_json(const InstanceMetadata& m);
InstanceMetadata metadata_from_json(const nlohmann::json& j);

}  // namespace venic::model
