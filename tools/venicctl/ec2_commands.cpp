#include "ec2_commands.h"

#include <openssl/evp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string_view>
#include <utility>

#include "args.h"

namespace venic::ctl {
namespace {

using nlohmann::json;

// How a flag's text becomes its API parameter.
enum class Kind {
  kString,       // the text
  kEnum,         // the text, one of Flag::meta's "a|b|c"
  kInteger,      // a whole number
  kIpv4,         // a.b.c.d
  kCidr,         // a.b.c.d/n
  kIpv6Cidr,     // ADDRESS/n
  kList,         // --instance-ids a b c: ["a", "b", "c"]
  kIpv4List,     // the same, each an IPv4
  kBool,         // --force / --no-force: true / false
  kBoolValue,    // --source-dest-check / --no-source-dest-check: {"Value": true / false}
  kStringValue,  // --description TEXT: {"Value": "TEXT"}
  kPrivateIps,   // IPv4s: [{"PrivateIpAddress": IP, "Primary": false}, ...]
  kPlacement,    // GroupName=NAME[,Key=Value...] (AWS shorthand) or a JSON object
  kShorthand,    // Key=Value[,Key=Value...] (whole numbers become numbers) or a JSON object
  kCount,        // N or MIN:MAX: MinCount and MaxCount
  kJsonArray,    // a JSON list, passed through
  kAttachment,   // AttachmentId=ID,DeleteOnTermination=true|false (or a JSON object)
  kFilters,      // Name=N,Values=V1,V2 ... (the AWS CLI's shorthand, one filter per value): Filters
  kLocal,        // no parameter of its own: read by the command's `finish`
};

enum class Need { kOptional, kRequired };

struct Flag {
  const char* name;   // the AWS CLI's, e.g. "--cidr-block"
  const char* param;  // the API's, e.g. "CidrBlock" (unused by kCount and kLocal)
  Kind kind;
  Need need;
  const char* help;
  const char* meta = nullptr;  // --help's value name; kEnum's choices, "a|b|c"; kBool/kBoolValue: --no-x's help
};

// What the command line gave, by flag name: its values; "true" or "false"
// for kBool/kBoolValue (--x or --no-x).
using Given = std::map<std::string, std::vector<std::string>>;

struct Command {
  const char* name;    // the AWS CLI's subcommand
  const char* action;  // the EC2 action: the method is "ec2." + action
  const char* help;
  std::vector<Flag> flags;
  const char* examples;                  // "venicctl ..." lines, an optional "# comment" after two spaces
  std::vector<const char*> one_of = {};  // flags of which exactly one must be given
  void (*finish)(const Given&, json& params) = nullptr;  // rules and parameters beyond single flags
};

void throw_if_error(const std::string& flag, const std::string& error) {
  if (!error.empty()) throw UsageError(flag + ": " + error);
}

std::string in_quotes(const std::string& text) {
  std::string out = "'";
  out += text;
  out += '\'';
  return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream stream(text);
  while (std::getline(stream, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.emplace_back();
  return parts;
}

// "a, b or c".
std::string either(const std::vector<std::string>& items, const char* last = " or ") {
  std::string text;
  for (std::size_t i = 0; i < items.size(); i++) {
    if (i > 0) text += i + 1 == items.size() ? last : ", ";
    text += items[i];
  }
  return text;
}

// EC2's Integer is 32 bits; below 0 nothing here is meaningful.
constexpr long kMaxInteger = 2147483647;

long integer(const std::string& flag, const std::string& text) {
  long value = 0;
  if (std::string error = parse_number(flag, text, 0, kMaxInteger, value); !error.empty()) throw UsageError(error);
  return value;
}

std::string ipv4(const std::string& flag, const std::string& text) {
  std::string ip;
  throw_if_error(flag, parse_ipv4(text, ip));
  return ip;
}

// GroupName=pg1 or GroupName=pg1,AvailabilityZone=us-east-1a (the AWS CLI's
// shorthand), or {"GroupName": "pg1"}.  Which keys the daemon knows is its call.
// The AWS CLI's shorthand for a structure, Key=Value,Key=Value (with
// `numbers`, values that are whole numbers become numbers), or the same as
// a JSON object; `expected` words the error.
json key_values(const std::string& flag, const std::string& text, const std::string& expected, bool numbers) {
  if (!text.empty() && text.front() == '{') {
    json object = json::parse(text, nullptr, false);
    if (object.is_discarded() || !object.is_object())
      throw UsageError(flag + ": " + in_quotes(text) + " is not a JSON object");
    return object;
  }
  json object = json::object();
  for (const std::string& pair : split(text, ',')) {
    const std::size_t equals = pair.find('=');
    if (equals == 0 || equals == std::string::npos || equals + 1 == pair.size())
      throw UsageError(flag + ": expected " + expected + ", got " + in_quotes(text));
    const std::string value = pair.substr(equals + 1);
    const bool number = numbers && value.size() < 10 && value.find_first_not_of("0123456789") == std::string::npos;
    object[pair.substr(0, equals)] = number ? json(std::stol(value)) : json(value);
  }
  if (object.empty()) throw UsageError(flag + ": expected " + expected + ", got ''");
  return object;
}

json placement(const std::string& flag, const std::string& text) {
  json p = key_values(flag, text, "GroupName=NAME (Key=Value,... or a JSON object)", false);
  // A group's name stays text, even all digits; its partition is a number.
  if (p.contains("PartitionNumber") && p["PartitionNumber"].is_string())
    p["PartitionNumber"] = integer(flag, p["PartitionNumber"].get<std::string>());
  return p;
}

json shorthand(const std::string& flag, const std::string& text) {
  return key_values(flag, text, "Key=Value[,Key=Value...] or a JSON object", true);
}

// The AWS CLI's --count: N launches exactly N, MIN:MAX at least MIN.
void count(const std::string& flag, const std::string& text, json& params) {
  const std::size_t colon = text.find(':');
  const std::string min = text.substr(0, colon);
  const std::string max = colon == std::string::npos ? min : text.substr(colon + 1);
  long min_count = 0, max_count = 0;
  if (!parse_number(flag, min, 1, kMaxInteger, min_count).empty() ||
      !parse_number(flag, max, 1, kMaxInteger, max_count).empty() || min_count > max_count)
    throw UsageError("invalid value " + in_quotes(text) + " for " + flag + " (expected N or MIN:MAX, from 1)");
  params["MinCount"] = min_count;
  params["MaxCount"] = max_count;
}

bool is_list(const Flag& flag) {
  return flag.kind == Kind::kList || flag.kind == Kind::kIpv4List || flag.kind == Kind::kPrivateIps ||
         flag.kind == Kind::kFilters;
}

// --filters: each value Name=NAME,Values=V1[,V2...] (the AWS CLI's
// shorthand; brackets around the values allowed).  Which names exist is
// venicd's call.
json filters(const std::string& flag, const std::vector<std::string>& values) {
  json out = json::array();
  for (const std::string& text : values) {
    const std::string usage = flag + ": expected Name=NAME,Values=VALUE[,VALUE...], got " + in_quotes(text);
    json filter = {{"Values", json::array()}};
    bool in_values = false;
    for (std::string part : split(text, ',')) {
      if (part.rfind("Name=", 0) == 0) {
        filter["Name"] = part.substr(5);
        in_values = false;
      } else if (part.rfind("Values=", 0) == 0 || in_values) {
        if (!in_values) part = part.substr(7);
        in_values = true;
        if (!part.empty() && part.front() == '[') part.erase(0, 1);
        if (!part.empty() && part.back() == ']') part.pop_back();
        filter["Values"].push_back(part);
      } else {
        throw UsageError(usage);
      }
    }
    if (!filter.contains("Name") || filter["Name"] == "" || filter["Values"].empty()) throw UsageError(usage);
    out.push_back(filter);
  }
  return out;
}

bool toggles(const Flag& flag) {
  return flag.kind == Kind::kBool || flag.kind == Kind::kBoolValue;
}

// The parameter of one flag that was given, from its values.
void add_param(const Flag& flag, const std::vector<std::string>& values, json& params) {
  const std::string name = flag.name;
  const std::string& text = values.front();
  if (flag.kind == Kind::kLocal) return;
  if (flag.kind == Kind::kCount) return count(name, text, params);
  json& param = params[flag.param];
  std::string checked;
  switch (flag.kind) {
    case Kind::kString:
      param = text;
      break;
    case Kind::kEnum: {
      const std::vector<std::string> choices = split(flag.meta, '|');
      if (std::find(choices.begin(), choices.end(), text) == choices.end())
        throw UsageError("invalid value " + in_quotes(text) + " for " + name + " (expected " + either(choices) + ")");
      param = text;
      break;
    }
    case Kind::kInteger:
      param = integer(name, text);
      break;
    case Kind::kIpv4:
      param = ipv4(name, text);
      break;
    case Kind::kCidr:
      throw_if_error(name, parse_ipv4_cidr(text, checked));
      param = checked;
      break;
    case Kind::kIpv6Cidr:
      throw_if_error(name, parse_ipv6_cidr(text, checked));
      param = checked;
      break;
    case Kind::kList:
      param = values;
      break;
    case Kind::kIpv4List:
      param = json::array();
      for (const std::string& value : values) param.push_back(ipv4(name, value));
      break;
    case Kind::kBool:
      param = text == "true";
      break;
    case Kind::kBoolValue:
      param = {{"Value", text == "true"}};
      break;
    case Kind::kStringValue:
      param = {{"Value", text}};
      break;
    case Kind::kPrivateIps:
      param = json::array();
      for (const std::string& value : values)
        param.push_back({{"PrivateIpAddress", ipv4(name, value)}, {"Primary", false}});
      break;
    case Kind::kPlacement:
      param = placement(name, text);
      break;
    case Kind::kShorthand:
      param = shorthand(name, text);
      break;
    case Kind::kJsonArray:
      param = json::parse(text, nullptr, false);
      if (param.is_discarded() || !param.is_array())
        throw UsageError(name + ": expected a JSON list, e.g. '[{\"IpProtocol\": \"tcp\", \"FromPort\": 22, " +
                         "\"ToPort\": 22, \"IpRanges\": [{\"CidrIp\": \"10.0.0.0/16\"}]}]'");
      break;
    case Kind::kFilters:
      param = filters(name, values);
      break;
    case Kind::kAttachment:
      param = key_values(name, text, "AttachmentId=ID,DeleteOnTermination=true|false", false);
      if (param.contains("DeleteOnTermination") && param["DeleteOnTermination"].is_string()) {
        const std::string v = param["DeleteOnTermination"];
        if (v != "true" && v != "false")
          throw UsageError(name + ": DeleteOnTermination is true or false, got " + in_quotes(v));
        param["DeleteOnTermination"] = v == "true";
      }
      break;
    case Kind::kCount:
    case Kind::kLocal:
      break;
  }
}

std::string negation(const std::string& name) {
  if (name == "--egress") return "--ingress";  // the AWS CLI's pair for network ACL entries
  return "--no-" + name.substr(2);
}

const Flag& flag_named(const Command& command, const std::string& name) {
  return *std::find_if(command.flags.begin(), command.flags.end(), [&](const Flag& f) { return f.name == name; });
}

void check_one_of(const Command& command, const Given& given) {
  if (command.one_of.empty()) return;
  std::vector<std::string> all, chosen;
  for (const char* name : command.one_of) {
    const std::string label = toggles(flag_named(command, name)) ? std::string(name) + "/" + negation(name) : name;
    all.push_back(label);
    if (auto it = given.find(name); it != given.end())
      chosen.push_back(toggles(flag_named(command, name)) && it->second.front() == "false" ? negation(name) : name);
  }
  const std::string command_name = command.name;
  if (chosen.empty())
    throw UsageError(command_name + " needs " + (all.size() == 1 ? all.front() : "one of " + either(all)));
  if (chosen.size() > 1)
    throw UsageError(command_name + " takes one of " + either(all) + " at a time (got " + either(chosen, " and ") +
                     ")");
}

// --port of the shorthand: N, N-M, or -1/all; for icmp the type and code.
std::pair<int, int> port_range(const std::string& text) {
  if (text == "-1" || text == "all") return {-1, -1};
  const std::size_t dash = text.find('-', 1);
  const std::string from = text.substr(0, dash), to = dash == std::string::npos ? from : text.substr(dash + 1);
  auto port = [&](const std::string& part) {
    long value = 0;
    if (part == "-1") return -1;
    if (!parse_number("--port", part, 0, 65535, value).empty())
      throw UsageError("invalid value " + in_quotes(text) + " for --port (expected N, N-M or -1)");
    return static_cast<int>(value);
  };
  return {port(from), port(to)};
}

// authorize-security-group-*: the AWS CLI's shorthand for one rule, or the
// whole --ip-permissions list.
void ip_permissions(const Given& given, json& params) {
  const bool shorthand =
      given.count("--protocol") || given.count("--port") || given.count("--cidr") || given.count("--source-group");
  if (params.contains("IpPermissions")) {
    if (shorthand)
      throw UsageError("--ip-permissions cannot be combined with --protocol, --port, --cidr or --source-group");
    return;
  }
  if (!given.count("--protocol"))
    throw UsageError(shorthand ? "--port, --cidr and --source-group need --protocol"
                               : "give --protocol with --cidr or --source-group (and --port), or --ip-permissions");
  // EC2's names, or their numbers, as the API takes them.
  static const std::map<std::string, std::string> kProtocols = {
      {"tcp", "tcp"}, {"6", "tcp"},         {"udp", "udp"},   {"17", "udp"}, {"icmp", "icmp"},
      {"1", "icmp"},  {"icmpv6", "icmpv6"}, {"58", "icmpv6"}, {"all", "-1"}, {"-1", "-1"}};
  const std::string& text = given.at("--protocol").front();
  auto known = kProtocols.find(text);
  if (known == kProtocols.end())
    throw UsageError("invalid value " + in_quotes(text) +
                     " for --protocol (expected tcp, udp, icmp, icmpv6, all, or a number 6, 17, 1, 58, -1)");
  const std::string protocol = known->second;
  json permission = {{"IpProtocol", protocol}};
  const auto [from, to] = given.count("--port") ? port_range(given.at("--port").front()) : std::pair{-1, -1};
  if ((protocol == "tcp" || protocol == "udp") && from == -1 && to == -1) {
    permission["FromPort"] = 0;  // -1, the default, is every port: EC2 takes that as 0-65535
    permission["ToPort"] = 65535;
  } else if (protocol != "-1") {
    permission["FromPort"] = from;  // for icmp the type and code, -1 for all
    permission["ToPort"] = to;
  }
  const bool cidr = given.count("--cidr") > 0, group = given.count("--source-group") > 0;
  if (cidr && group) throw UsageError("give --cidr or --source-group, not both (one rule each)");
  if (cidr) {
    const std::string& text = given.at("--cidr").front();
    std::string block;
    throw_if_error("--cidr", parse_ipv4_cidr(text, block));
    permission["IpRanges"] = json::array({{{"CidrIp", block}}});
  } else if (group) {
    // As the AWS CLI: an sg- id, else a group name.
    const std::string& source = given.at("--source-group").front();
    permission["UserIdGroupPairs"] = json::array({{{source.rfind("sg-", 0) == 0 ? "GroupId" : "GroupName", source}}});
  } else {
    throw UsageError("--protocol needs --cidr or --source-group: the other end of the rule");
  }
  params["IpPermissions"] = json::array({permission});
}

// Network ACL entries: --egress or --ingress (create and delete need one), and
// an ICMP type or code of -1 (any) as the number the API takes.
void acl_entry(const Given& given, json& params, bool direction_needed) {
  if (direction_needed && !given.count("--egress")) throw UsageError("give --egress or --ingress");
  if (!params.contains("IcmpTypeCode")) return;
  for (auto& [key, value] : params["IcmpTypeCode"].items())
    if (value == "-1") value = -1;
}
void acl_entry_create(const Given& given, json& params) {
  acl_entry(given, params, true);
}
void acl_entry_replace(const Given& given, json& params) {
  acl_entry(given, params, false);
}
// create-route and replace-route: the table, the destination and one target.
std::vector<Flag> route_flags() {
  return {{"--route-table-id", "RouteTableId", Kind::kString, Need::kRequired, "the route table", "RTB-ID"},
          {"--destination-cidr-block", "DestinationCidrBlock", Kind::kCidr, Need::kOptional, "the IPv4 destination"},
          {"--destination-ipv6-cidr-block", "DestinationIpv6CidrBlock", Kind::kIpv6Cidr, Need::kOptional,
           "the IPv6 destination"},
          {"--gateway-id", "GatewayId", Kind::kString, Need::kOptional, "an internet gateway (local: the local route)",
           "IGW-ID"},
          {"--nat-gateway-id", "NatGatewayId", Kind::kString, Need::kOptional, "a NAT gateway", "NAT-ID"},
          {"--instance-id", "InstanceId", Kind::kString, Need::kOptional, "an instance with one ENI (a NAT instance)",
           "INSTANCE-ID"},
          {"--network-interface-id", "NetworkInterfaceId", Kind::kString, Need::kOptional, "an ENI", "ENI-ID"},
          {"--vpc-peering-connection-id", "VpcPeeringConnectionId", Kind::kString, Need::kOptional,
           "a VPC peering connection", "PCX-ID"}};
}

std::vector<Flag> acl_entry_flags() {
  return {
      {"--network-acl-id", "NetworkAclId", Kind::kString, Need::kRequired, "the network ACL", "ACL-ID"},
      {"--rule-number", "RuleNumber", Kind::kInteger, Need::kRequired, "1-32766, lowest first", "N"},
      {"--protocol", "Protocol", Kind::kString, Need::kRequired, "-1 (all), a number, or tcp, udp, icmp, icmpv6",
       "PROTO"},
      {"--rule-action", "RuleAction", Kind::kEnum, Need::kRequired, "what a match does", "allow|deny"},
      {"--egress", "Egress", Kind::kBool, Need::kOptional, "an outbound entry", "an inbound entry"},
      {"--cidr-block", "CidrBlock", Kind::kCidr, Need::kOptional, "the peer's IPv4 block", "CIDR"},
      {"--ipv6-cidr-block", "Ipv6CidrBlock", Kind::kIpv6Cidr, Need::kOptional, "...or its IPv6 block", "CIDR"},
      {"--port-range", "PortRange", Kind::kShorthand, Need::kOptional, "destination ports, for tcp and udp",
       "From=N,To=N"},
      {"--icmp-type-code", "IcmpTypeCode", Kind::kShorthand, Need::kOptional, "for icmp (-1: any)", "Type=N,Code=N"},
  };
}

// revoke-security-group-*: the same flags; the rule must match one given before.
std::vector<Flag> authorize_flags(const char* direction) {
  return {
      {"--group-id", "GroupId", Kind::kString, Need::kRequired, "the security group", "SG-ID"},
      {"--protocol", nullptr, Kind::kLocal, Need::kOptional, "the rule's protocol (all = -1: every protocol)",
       "tcp|udp|icmp|icmpv6|all|-1"},
      {"--port", nullptr, Kind::kLocal, Need::kOptional,
       "port or range for tcp/udp; ICMP type-code for icmp (default -1: all; for tcp/udp sent as 0-65535)", "N|N-M|-1"},
      {"--cidr", nullptr, Kind::kLocal, Need::kOptional, direction, "CIDR"},
      {"--source-group", nullptr, Kind::kLocal, Need::kOptional, "...or this security group's members", "SG-ID"},
      {"--ip-permissions", "IpPermissions", Kind::kJsonArray, Need::kOptional,
       "the rules as the API takes them, instead of the flags above", "JSON"},
  };
}

// --user-data TEXT or file://PATH, as the aws CLI takes it: the API wants
// base64 (UserData); the daemon checks the 16 KB limit.
void user_data(const Given& given, json& params) {
  auto it = given.find("--user-data");
  if (it == given.end()) return;
  std::string data = it->second.front();
  if (data.rfind("file://", 0) == 0) {
    std::ifstream in(data.substr(7), std::ios::binary);
    if (!in) throw UsageError("--user-data: cannot read " + in_quotes(data.substr(7)));
    data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (data.size() > 64 * 1024) throw UsageError("--user-data: at most 16 KB");
  std::string b64(4 * ((data.size() + 2) / 3) + 1, '\0');
  b64.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                                 reinterpret_cast<const unsigned char*>(data.data()),
                                                 static_cast<int>(data.size()))));
  params["UserData"] = b64;
}

// Every describe-*'s --filters.
const Flag kFiltersFlag = {"--filters",
                           "Filters",
                           Kind::kFilters,
                           Need::kOptional,
                           "only those matching: EC2's filter names, * and ? wildcards (docs/ec2-api.md)",
                           "Name=NAME,Values=V1[,V2...]"};

const std::vector<Command>& table() {
  static const std::vector<Command> commands = {
      {"create-vpc",
       "CreateVpc",
       "create a VPC",
       {{"--cidr-block", "CidrBlock", Kind::kCidr, Need::kRequired, "the VPC's IPv4 block, /16 to /28"},
        {"--ipv6-cidr-block", "Ipv6CidrBlock", Kind::kIpv6Cidr, Need::kOptional, "an IPv6 block too"},
        {"--client-token", "ClientToken", Kind::kString, Need::kOptional,
         "a repeat with this token answers the first call instead of acting again (default: a fresh one)", "TOKEN"}},
       R"(venicctl create-vpc --cidr-block 10.0.0.0/16
venicctl create-vpc --cidr-block 10.1.0.0/16 --ipv6-cidr-block 2600:1f18:1234:5600::/56)"},
      {"describe-vpcs",
       "DescribeVpcs",
       "describe VPCs",
       {{"--vpc-ids", "VpcIds", Kind::kList, Need::kOptional, "only these (default: all)", "VPC-ID"}, kFiltersFlag},
       R"(venicctl describe-vpcs
venicctl describe-vpcs --vpc-ids vpc-0123456789abcdef0
venicctl describe-vpcs --filters Name=cidr,Values=10.0.*)"},
      {"delete-vpc",
       "DeleteVpc",
       "delete a VPC with no subnet and no security group but its default one (which goes with it)",
       {{"--vpc-id", "VpcId", Kind::kString, Need::kRequired, "the VPC", "VPC-ID"}},
       R"(venicctl delete-vpc --vpc-id vpc-0123456789abcdef0)"},
      {"create-subnet",
       "CreateSubnet",
       "create a subnet in a VPC",
       {{"--vpc-id", "VpcId", Kind::kString, Need::kRequired, "the VPC", "VPC-ID"},
        {"--cidr-block", "CidrBlock", Kind::kCidr, Need::kRequired, "IPv4 block inside the VPC's, /16 to /28"},
        {"--availability-zone", "AvailabilityZone", Kind::kString, Need::kOptional,
         "e.g. us-east-1a (default: the zone of one of the VPC's subnets, else us-east-1a)", "AZ"},
        {"--client-token", "ClientToken", Kind::kString, Need::kOptional,
         "a repeat with this token answers the first call instead of acting again (default: a fresh one)", "TOKEN"}},
       R"(venicctl create-subnet --vpc-id vpc-0123456789abcdef0 --cidr-block 10.0.1.0/24 --availability-zone us-east-1a)"},
      {"modify-subnet-attribute",
       "ModifySubnetAttribute",
       "change whether a subnet's instances get a public IPv4",
       {{"--subnet-id", "SubnetId", Kind::kString, Need::kRequired, "the subnet", "SUBNET-ID"},
        {"--map-public-ip-on-launch", "MapPublicIpOnLaunch", Kind::kBoolValue, Need::kOptional,
         "give instances launched here a public IPv4", "don't (the default)"}},
       R"(venicctl modify-subnet-attribute --subnet-id subnet-0123456789abcdef0 --map-public-ip-on-launch
venicctl modify-subnet-attribute --subnet-id subnet-0123456789abcdef0 --no-map-public-ip-on-launch)",
       {"--map-public-ip-on-launch"}},
      {"delete-subnet",
       "DeleteSubnet",
       "delete a subnet with no ENI (no instance) left in it",
       {{"--subnet-id", "SubnetId", Kind::kString, Need::kRequired, "the subnet", "SUBNET-ID"}},
       R"(venicctl delete-subnet --subnet-id subnet-0123456789abcdef0)"},
      {"describe-subnets",
       "DescribeSubnets",
       "describe subnets",
       {{"--subnet-ids", "SubnetIds", Kind::kList, Need::kOptional, "only these (default: all)", "SUBNET-ID"},
        kFiltersFlag},
       R"(venicctl describe-subnets
venicctl describe-subnets --subnet-ids subnet-0123456789abcdef0 subnet-0123456789abcdef1)"},
      {"create-security-group",
       "CreateSecurityGroup",
       "create a security group in a VPC",
       {{"--group-name", "GroupName", Kind::kString, Need::kRequired, "its name, unique in the VPC", "NAME"},
        {"--description", "Description", Kind::kString, Need::kRequired, "what it is for", "TEXT"},
        {"--vpc-id", "VpcId", Kind::kString, Need::kRequired, "the VPC", "VPC-ID"},
        {"--client-token", "ClientToken", Kind::kString, Need::kOptional,
         "a repeat with this token answers the first call instead of acting again (default: a fresh one)", "TOKEN"}},
       R"(venicctl create-security-group --group-name web --description "web tier" --vpc-id vpc-0123456789abcdef0)"},
      {"authorize-security-group-ingress",
       "AuthorizeSecurityGroupIngress",
       "allow inbound traffic into a security group",
       authorize_flags("from this IPv4 block..."),
       R"(venicctl authorize-security-group-ingress --group-id sg-0123456789abcdef0 --protocol tcp --port 22 --cidr 10.0.0.0/16
venicctl authorize-security-group-ingress --group-id sg-0123456789abcdef0 --protocol all --source-group sg-0123456789abcdef0
venicctl authorize-security-group-ingress --group-id sg-0123456789abcdef0 --protocol icmp --cidr 0.0.0.0/0  # ping and all ICMP
venicctl authorize-security-group-ingress --group-id sg-0123456789abcdef0 --ip-permissions '[{"IpProtocol": "udp", "FromPort": 4791, "ToPort": 4791, "IpRanges": [{"CidrIp": "10.0.1.0/24"}]}]')",
       {},
       ip_permissions},
      {"authorize-security-group-egress",
       "AuthorizeSecurityGroupEgress",
       "allow outbound traffic from a security group",
       authorize_flags("to this IPv4 block..."),
       R"(venicctl authorize-security-group-egress --group-id sg-0123456789abcdef0 --protocol tcp --port 443 --cidr 0.0.0.0/0
venicctl authorize-security-group-egress --group-id sg-0123456789abcdef0 --protocol udp --port 1024-65535 --source-group sg-0123456789abcdef1)",
       {},
       ip_permissions},
      {"revoke-security-group-ingress",
       "RevokeSecurityGroupIngress",
       "remove inbound rules from a security group (each must exist)",
       authorize_flags("from this IPv4 block..."),
       R"(venicctl revoke-security-group-ingress --group-id sg-0123456789abcdef0 --protocol tcp --port 22 --cidr 10.0.0.0/16
venicctl revoke-security-group-ingress --group-id sg-0123456789abcdef0 --ip-permissions '[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-0123456789abcdef0"}]}]')",
       {},
       ip_permissions},
      {"revoke-security-group-egress",
       "RevokeSecurityGroupEgress",
       "remove outbound rules from a security group (each must exist)",
       authorize_flags("to this IPv4 block..."),
       R"(venicctl revoke-security-group-egress --group-id sg-0123456789abcdef0 --protocol all --cidr 0.0.0.0/0  # the rule every group starts with)",
       {},
       ip_permissions},
      {"delete-security-group",
       "DeleteSecurityGroup",
       "delete a security group (no ENI may use it, no other group's rule name it; not the default group)",
       {{"--group-id", "GroupId", Kind::kString, Need::kOptional, "the security group", "SG-ID"},
        {"--group-name", "GroupName", Kind::kString, Need::kOptional, "...or its name, if only one VPC has it",
         "NAME"}},
       R"(venicctl delete-security-group --group-id sg-0123456789abcdef0
venicctl delete-security-group --group-name web)",
       {"--group-id", "--group-name"}},
      {"describe-security-groups",
       "DescribeSecurityGroups",
       "describe security groups and their rules",
       {{"--group-ids", "GroupIds", Kind::kList, Need::kOptional, "only these (default: all)", "SG-ID"}, kFiltersFlag},
       R"(venicctl describe-security-groups
venicctl describe-security-groups --group-ids sg-0123456789abcdef0)"},
      {"create-placement-group",
       "CreatePlacementGroup",
       "create a placement group",
       {{"--group-name", "GroupName", Kind::kString, Need::kRequired, "its name", "NAME"},
        {"--strategy", "Strategy", Kind::kEnum, Need::kRequired, "how instances are placed",
         "cluster|spread|partition"},
        {"--partition-count", "PartitionCount", Kind::kInteger, Need::kOptional,
         "partitions of a partition group, 1-7 (default 2)", "N"},
        {"--client-token", "ClientToken", Kind::kString, Need::kOptional,
         "a repeat with this token answers the first call instead of acting again (default: a fresh one)", "TOKEN"}},
       R"(venicctl create-placement-group --group-name hpc --strategy cluster
venicctl create-placement-group --group-name racks --strategy partition --partition-count 3)"},
      {"delete-placement-group",
       "DeletePlacementGroup",
       "delete a placement group no instance is in",
       {{"--group-name", "GroupName", Kind::kString, Need::kRequired, "its name", "NAME"}},
       R"(venicctl delete-placement-group --group-name hpc)"},
      {"describe-placement-groups",
       "DescribePlacementGroups",
       "describe placement groups",
       {{"--group-names", "GroupNames", Kind::kList, Need::kOptional, "only these (default: all)", "NAME"},
        kFiltersFlag},
       R"(venicctl describe-placement-groups
venicctl describe-placement-groups --group-names hpc)"},
      {"create-network-acl",
       "CreateNetworkAcl",
       "create a network ACL (it denies everything until entries are added)",
       {{"--vpc-id", "VpcId", Kind::kString, Need::kRequired, "the VPC", "VPC-ID"}},
       R"(venicctl create-network-acl --vpc-id vpc-0123456789abcdef0)"},
      {"delete-network-acl",
       "DeleteNetworkAcl",
       "delete a network ACL no subnet is associated with (not the default)",
       {{"--network-acl-id", "NetworkAclId", Kind::kString, Need::kRequired, "the network ACL", "ACL-ID"}},
       R"(venicctl delete-network-acl --network-acl-id acl-0123456789abcdef0)"},
      {"describe-network-acls",
       "DescribeNetworkAcls",
       "describe network ACLs: entries and associations",
       {{"--network-acl-ids", "NetworkAclIds", Kind::kList, Need::kOptional, "only these (default: all)", "ACL-ID"},
        kFiltersFlag},
       R"(venicctl describe-network-acls
venicctl describe-network-acls --filters Name=association.subnet-id,Values=subnet-0123456789abcdef0)"},
      {"create-network-acl-entry",
       "CreateNetworkAclEntry",
       "add a numbered entry to a network ACL",
       acl_entry_flags(),
       R"(venicctl create-network-acl-entry --network-acl-id acl-0123456789abcdef0 --ingress --rule-number 100 --protocol tcp --port-range From=22,To=22 --cidr-block 10.0.0.0/16 --rule-action allow
venicctl create-network-acl-entry --network-acl-id acl-0123456789abcdef0 --egress --rule-number 90 --protocol icmp --icmp-type-code Type=-1,Code=-1 --cidr-block 0.0.0.0/0 --rule-action deny)",
       {},
       acl_entry_create},
      {"replace-network-acl-entry",
       "ReplaceNetworkAclEntry",
       "replace a network ACL's entry (default: the inbound one of that number)",
       acl_entry_flags(),
       R"(venicctl replace-network-acl-entry --network-acl-id acl-0123456789abcdef0 --ingress --rule-number 100 --protocol -1 --cidr-block 0.0.0.0/0 --rule-action deny)",
       {},
       acl_entry_replace},
      {"delete-network-acl-entry",
       "DeleteNetworkAclEntry",
       "delete a network ACL's entry",
       {{"--network-acl-id", "NetworkAclId", Kind::kString, Need::kRequired, "the network ACL", "ACL-ID"},
        {"--rule-number", "RuleNumber", Kind::kInteger, Need::kRequired, "its number", "N"},
        {"--egress", "Egress", Kind::kBool, Need::kOptional, "the outbound entry", "the inbound entry"}},
       R"(venicctl delete-network-acl-entry --network-acl-id acl-0123456789abcdef0 --ingress --rule-number 100)",
       {},
       acl_entry_create},
      {"replace-network-acl-association",
       "ReplaceNetworkAclAssociation",
       "associate a subnet with another network ACL of its VPC",
       {{"--association-id", "AssociationId", Kind::kString, Need::kRequired, "the subnet's current association",
         "ACLASSOC-ID"},
        {"--network-acl-id", "NetworkAclId", Kind::kString, Need::kRequired, "the ACL to associate", "ACL-ID"}},
       R"(venicctl replace-network-acl-association --association-id aclassoc-0123456789abcdef0 --network-acl-id acl-0123456789abcdef0)"},
      {"describe-instance-types",
       "DescribeInstanceTypes",
       "describe instance types and their network figures",
       {{"--instance-types", "InstanceTypes", Kind::kList, Need::kOptional, "only these (default: all)", "TYPE"},
        kFiltersFlag},
       R"(venicctl describe-instance-types
venicctl describe-instance-types --instance-types c5n.18xlarge m5.large)"},
      {"run-instances",
       "RunInstances",
       "launch instances, each with its primary ENI (a VF)",
       {{"--instance-type", "InstanceType", Kind::kString, Need::kRequired, "e.g. c5n.18xlarge", "TYPE"},
        {"--subnet-id", "SubnetId", Kind::kString, Need::kRequired, "the subnet of the primary ENIs", "SUBNET-ID"},
        {"--count", nullptr, Kind::kCount, Need::kOptional, "N instances, or MIN:MAX (default 1)", "N|MIN:MAX"},
        {"--placement", "Placement", Kind::kPlacement, Need::kOptional, "a placement group", "GroupName=NAME|JSON"},
        {"--security-group-ids", "SecurityGroupIds", Kind::kList, Need::kOptional,
         "security groups (default: the VPC's default group)", "SG-ID"},
        {"--private-ip-address", "PrivateIpAddress", Kind::kIpv4, Need::kOptional,
         "the primary ENI's address (with a count of 1)", "IPV4"},
        {"--image-id", "ImageId", Kind::kString, Need::kOptional,
         "shown as the instances' ImageId (venic boots no image; default ami-00000000000000000)", "AMI-ID"},
        {"--network-interface-type", "NetworkInterfaceType", Kind::kEnum, Need::kOptional,
         "venic: efa makes the primary ENI an EFA (default interface)", "efa|interface"},
        {"--owner-uid", "OwnerUid", Kind::kInteger, Need::kOptional,
         "venic: the instance's owner, whose processes may attach its VFs (default: yours; only root names another)",
         "UID"},
        {"--conntrack-limit", "ConntrackLimit", Kind::kInteger, Need::kOptional,
         "venic: flows the instance may track (its conntrack allowance; default: the type's figure)", "N"},
        {"--venic-frontend", "VenicFrontend", Kind::kEnum, Need::kOptional,
         "venic: how the primary ENI's driver reaches it: shm (net_vena) or vhost-user (a QEMU guest, on "
         "vf<VenicVfId>.vhost beside the control socket)",
         "shm|vhost-user"},
        {"--user-data", nullptr, Kind::kLocal, Need::kOptional,
         "what the instance reads at http://169.254.169.254/latest/user-data (text, or file://PATH)", "TEXT"},
        {"--metadata-options", "MetadataOptions", Kind::kShorthand, Need::kOptional,
         "its instance metadata service: HttpTokens=optional|required, HttpPutResponseHopLimit=1-64, "
         "HttpEndpoint=enabled|disabled, InstanceMetadataTags=enabled|disabled",
         "Key=Value,..."},
        {"--iam-instance-profile", "IamInstanceProfile", Kind::kShorthand, Need::kOptional,
         "a role whose credentials its metadata serves", "Name=ROLE"},
        {"--client-token", "ClientToken", Kind::kString, Need::kOptional,
         "a repeat with this token answers the first call instead of acting again (default: a fresh one)", "TOKEN"}},
       R"(venicctl run-instances --instance-type m5.large --subnet-id subnet-0123456789abcdef0
venicctl run-instances --instance-type c5n.18xlarge --subnet-id subnet-0123456789abcdef0 --count 2 --placement GroupName=hpc --network-interface-type efa
venicctl run-instances --instance-type t3.micro --subnet-id subnet-0123456789abcdef0 --private-ip-address 10.0.1.10 --security-group-ids sg-0123456789abcdef0 --owner-uid 1000
venicctl run-instances --instance-type t3.nano --subnet-id subnet-0123456789abcdef0 --conntrack-limit 64
venicctl run-instances --instance-type m5.large --subnet-id subnet-0123456789abcdef0 --venic-frontend vhost-user
venicctl run-instances --instance-type t3.micro --subnet-id subnet-0123456789abcdef0 --user-data 'hello from venic' --metadata-options HttpTokens=required,HttpPutResponseHopLimit=2)",
       {},
       user_data},
      {"modify-instance-metadata-options",
       "ModifyInstanceMetadataOptions",
       "change how an instance's metadata service answers (IMDSv2, hop limit, on/off)",
       {{"--instance-id", "InstanceId", Kind::kString, Need::kRequired, "the instance", "INSTANCE-ID"},
        {"--http-tokens", "HttpTokens", Kind::kEnum, Need::kOptional, "required: IMDSv2 only", "optional|required"},
        {"--http-put-response-hop-limit", "HttpPutResponseHopLimit", Kind::kInteger, Need::kOptional,
         "IP hops a token's response may travel, 1-64 (default 1)", "N"},
        {"--http-endpoint", "HttpEndpoint", Kind::kEnum, Need::kOptional, "disabled: no metadata at all",
         "enabled|disabled"},
        {"--instance-metadata-tags", "InstanceMetadataTags", Kind::kEnum, Need::kOptional,
         "the instance's tags under meta-data/tags/instance", "enabled|disabled"}},
       R"(venicctl modify-instance-metadata-options --instance-id i-0123456789abcdef0 --http-tokens required
venicctl modify-instance-metadata-options --instance-id i-0123456789abcdef0 --http-put-response-hop-limit 2 --http-endpoint enabled)"},
      {"stop-instances",
       "StopInstances",
       "stop instances (their VFs' links go down)",
       {{"--instance-ids", "InstanceIds", Kind::kList, Need::kRequired, "the instances", "INSTANCE-ID"}},
       R"(venicctl stop-instances --instance-ids i-0123456789abcdef0)"},
      {"start-instances",
       "StartInstances",
       "start stopped instances",
       {{"--instance-ids", "InstanceIds", Kind::kList, Need::kRequired, "the instances", "INSTANCE-ID"}},
       R"(venicctl start-instances --instance-ids i-0123456789abcdef0 i-0123456789abcdef1)"},
      {"terminate-instances",
       "TerminateInstances",
       "terminate instances: ENIs with DeleteOnTermination (the primary) go with their VFs, the others are detached",
       {{"--instance-ids", "InstanceIds", Kind::kList, Need::kRequired, "the instances", "INSTANCE-ID"}},
       R"(venicctl terminate-instances --instance-ids i-0123456789abcdef0 i-0123456789abcdef1)"},
      {"describe-instances",
       "DescribeInstances",
       "describe instances and their ENIs",
       {{"--instance-ids", "InstanceIds", Kind::kList, Need::kOptional, "only these (default: all)", "INSTANCE-ID"},
        kFiltersFlag},
       R"(venicctl describe-instances
venicctl describe-instances --instance-ids i-0123456789abcdef0
venicctl describe-instances --filters Name=instance-state-name,Values=running Name=vpc-id,Values=vpc-0123456789abcdef0)"},
      {"create-network-interface",
       "CreateNetworkInterface",
       "create an ENI (a VF) in a subnet",
       {{"--subnet-id", "SubnetId", Kind::kString, Need::kRequired, "the subnet", "SUBNET-ID"},
        {"--private-ip-address", "PrivateIpAddress", Kind::kIpv4, Need::kOptional,
         "its primary address (default: the next free one)", "IPV4"},
        {"--private-ip-addresses", "PrivateIpAddresses", Kind::kPrivateIps, Need::kOptional, "secondary addresses",
         "IPV4"},
        {"--secondary-private-ip-address-count", "SecondaryPrivateIpAddressCount", Kind::kInteger, Need::kOptional,
         "this many secondary addresses, picked by venicd", "N"},
        {"--groups", "Groups", Kind::kList, Need::kOptional, "security groups (default: the VPC's default group)",
         "SG-ID"},
        {"--description", "Description", Kind::kString, Need::kOptional, "free text", "TEXT"},
        {"--interface-type", "InterfaceType", Kind::kEnum, Need::kOptional, "efa: an EFA (default interface)",
         "efa|interface"},
        {"--venic-frontend", "VenicFrontend", Kind::kEnum, Need::kOptional,
         "venic: shm (net_vena, default) or vhost-user (a QEMU guest, on vf<VenicVfId>.vhost)", "shm|vhost-user"},
        {"--connection-tracking-specification", "ConnectionTrackingSpecification", Kind::kShorthand, Need::kOptional,
         "idle timeouts in seconds (EC2's defaults: 432000, 180, 30)",
         "TcpEstablishedTimeout=N,UdpStreamTimeout=N,UdpTimeout=N"},
        {"--client-token", "ClientToken", Kind::kString, Need::kOptional,
         "a repeat with this token answers the first call instead of acting again (default: a fresh one)", "TOKEN"}},
       R"(venicctl create-network-interface --subnet-id subnet-0123456789abcdef0
venicctl create-network-interface --subnet-id subnet-0123456789abcdef0 --private-ip-address 10.0.1.20 --private-ip-addresses 10.0.1.21 10.0.1.22 --groups sg-0123456789abcdef0
venicctl create-network-interface --subnet-id subnet-0123456789abcdef0 --interface-type efa --description "MPI rank 0" --secondary-private-ip-address-count 2)"},
      {"delete-network-interface",
       "DeleteNetworkInterface",
       "delete a detached ENI and its VF",
       {{"--network-interface-id", "NetworkInterfaceId", Kind::kString, Need::kRequired, "the ENI", "ENI-ID"}},
       R"(venicctl delete-network-interface --network-interface-id eni-0123456789abcdef0)"},
      {"attach-network-interface",
       "AttachNetworkInterface",
       "attach an ENI to an instance",
       {{"--network-interface-id", "NetworkInterfaceId", Kind::kString, Need::kRequired, "the ENI", "ENI-ID"},
        {"--instance-id", "InstanceId", Kind::kString, Need::kRequired, "the instance", "INSTANCE-ID"},
        {"--device-index", "DeviceIndex", Kind::kInteger, Need::kRequired,
         "1 and up (0 is the primary ENI); each network card counts its own", "N"},
        {"--network-card-index", "NetworkCardIndex", Kind::kInteger, Need::kOptional,
         "the instance's network card, each with its own allowance (default 0; p4d.24xlarge has 0-3)", "N"},
        {"--client-token", "ClientToken", Kind::kString, Need::kOptional,
         "a repeat with this token answers the first call instead of acting again (default: a fresh one)", "TOKEN"}},
       R"(venicctl attach-network-interface --network-interface-id eni-0123456789abcdef0 --instance-id i-0123456789abcdef0 --device-index 1
venicctl attach-network-interface --network-interface-id eni-0123456789abcdef1 --instance-id i-0123456789abcdef0 --device-index 1 --network-card-index 3)"},
      {"detach-network-interface",
       "DetachNetworkInterface",
       "detach an ENI from its instance",
       {{"--attachment-id", "AttachmentId", Kind::kString, Need::kRequired, "the attachment", "ATTACHMENT-ID"},
        {"--force", "Force", Kind::kBool, Need::kOptional, "force the detachment", "don't force it (the default)"}},
       R"(venicctl detach-network-interface --attachment-id eni-attach-0123456789abcdef0
venicctl detach-network-interface --attachment-id eni-attach-0123456789abcdef0 --force)"},
      {"modify-network-interface-attribute",
       "ModifyNetworkInterfaceAttribute",
       "change one attribute of an ENI",
       {{"--network-interface-id", "NetworkInterfaceId", Kind::kString, Need::kRequired, "the ENI", "ENI-ID"},
        {"--source-dest-check", "SourceDestCheck", Kind::kBoolValue, Need::kOptional,
         "drop traffic not from or to its addresses (the default)", "pass it (a NAT or router)"},
        {"--description", "Description", Kind::kStringValue, Need::kOptional, "free text", "TEXT"},
        {"--groups", "Groups", Kind::kList, Need::kOptional, "its security groups, replacing the list", "SG-ID"},
        {"--connection-tracking-specification", "ConnectionTrackingSpecification", Kind::kShorthand, Need::kOptional,
         "idle timeouts in seconds (TcpEstablishedTimeout 60-432000, UdpStreamTimeout 60-180, "
         "UdpTimeout 30-60)",
         "TcpEstablishedTimeout=N,UdpStreamTimeout=N,UdpTimeout=N"},
        {"--attachment", "Attachment", Kind::kAttachment, Need::kOptional,
         "whether the ENI is deleted when its instance is terminated", "AttachmentId=ID,DeleteOnTermination=BOOL"}},
       R"(venicctl modify-network-interface-attribute --network-interface-id eni-0123456789abcdef0 --no-source-dest-check
venicctl modify-network-interface-attribute --network-interface-id eni-0123456789abcdef0 --description "NAT instance"
venicctl modify-network-interface-attribute --network-interface-id eni-0123456789abcdef0 --groups sg-0123456789abcdef0 sg-0123456789abcdef1
venicctl modify-network-interface-attribute --network-interface-id eni-0123456789abcdef0 --connection-tracking-specification TcpEstablishedTimeout=3600,UdpTimeout=60
venicctl modify-network-interface-attribute --network-interface-id eni-0123456789abcdef0 --attachment AttachmentId=eni-attach-0123456789abcdef0,DeleteOnTermination=true)",
       {"--source-dest-check", "--description", "--groups", "--connection-tracking-specification", "--attachment"}},
      {"assign-private-ip-addresses",
       "AssignPrivateIpAddresses",
       "add secondary private IPv4s to an ENI",
       {{"--network-interface-id", "NetworkInterfaceId", Kind::kString, Need::kRequired, "the ENI", "ENI-ID"},
        {"--private-ip-addresses", "PrivateIpAddresses", Kind::kIpv4List, Need::kOptional, "these addresses", "IPV4"},
        {"--secondary-private-ip-address-count", "SecondaryPrivateIpAddressCount", Kind::kInteger, Need::kOptional,
         "this many, picked by venicd", "N"}},
       R"(venicctl assign-private-ip-addresses --network-interface-id eni-0123456789abcdef0 --private-ip-addresses 10.0.1.30 10.0.1.31
venicctl assign-private-ip-addresses --network-interface-id eni-0123456789abcdef0 --secondary-private-ip-address-count 2)",
       {"--private-ip-addresses", "--secondary-private-ip-address-count"}},
      {"assign-ipv6-addresses",
       "AssignIpv6Addresses",
       "add IPv6 addresses (from the VPC's IPv6 block) to an ENI",
       {{"--network-interface-id", "NetworkInterfaceId", Kind::kString, Need::kRequired, "the ENI", "ENI-ID"},
        {"--ipv6-addresses", "Ipv6Addresses", Kind::kList, Need::kOptional, "these addresses", "IPV6"},
        {"--ipv6-address-count", "Ipv6AddressCount", Kind::kInteger, Need::kOptional, "this many, picked by venicd",
         "N"}},
       R"(venicctl assign-ipv6-addresses --network-interface-id eni-0123456789abcdef0 --ipv6-addresses 2600:1f18:aa:b01::10
venicctl assign-ipv6-addresses --network-interface-id eni-0123456789abcdef0 --ipv6-address-count 2)",
       {"--ipv6-addresses", "--ipv6-address-count"}},
      {"unassign-private-ip-addresses",
       "UnassignPrivateIpAddresses",
       "remove secondary private IPv4s from an ENI",
       {{"--network-interface-id", "NetworkInterfaceId", Kind::kString, Need::kRequired, "the ENI", "ENI-ID"},
        {"--private-ip-addresses", "PrivateIpAddresses", Kind::kIpv4List, Need::kRequired, "these addresses", "IPV4"}},
       R"(venicctl unassign-private-ip-addresses --network-interface-id eni-0123456789abcdef0 --private-ip-addresses 10.0.1.30 10.0.1.31)"},
      {"unassign-ipv6-addresses",
       "UnassignIpv6Addresses",
       "remove IPv6 addresses from an ENI",
       {{"--network-interface-id", "NetworkInterfaceId", Kind::kString, Need::kRequired, "the ENI", "ENI-ID"},
        {"--ipv6-addresses", "Ipv6Addresses", Kind::kList, Need::kRequired, "these addresses", "IPV6"}},
       R"(venicctl unassign-ipv6-addresses --network-interface-id eni-0123456789abcdef0 --ipv6-addresses 2600:1f18:aa:b01::10)"},
      {"describe-network-interfaces",
       "DescribeNetworkInterfaces",
       "describe ENIs (VenicVfId: the VF a driver attaches)",
       {{"--network-interface-ids", "NetworkInterfaceIds", Kind::kList, Need::kOptional, "only these (default: all)",
         "ENI-ID"},
        kFiltersFlag},
       R"(venicctl describe-network-interfaces
venicctl describe-network-interfaces --network-interface-ids eni-0123456789abcdef0
venicctl describe-network-interfaces --filters Name=attachment.instance-id,Values=i-0123456789abcdef0)"},
      // Route tables and VPC peering (docs/ec2-api.md).
      {"create-route-table",
       "CreateRouteTable",
       "create a route table in a VPC (with its local routes)",
       {{"--vpc-id", "VpcId", Kind::kString, Need::kRequired, "the VPC", "VPC-ID"}},
       R"(venicctl create-route-table --vpc-id vpc-0123456789abcdef0)"},
      {"delete-route-table",
       "DeleteRouteTable",
       "delete a route table that is neither main nor associated",
       {{"--route-table-id", "RouteTableId", Kind::kString, Need::kRequired, "the route table", "RTB-ID"}},
       R"(venicctl delete-route-table --route-table-id rtb-0123456789abcdef0)"},
      {"describe-route-tables",
       "DescribeRouteTables",
       "describe route tables: routes (State active or blackhole) and associations",
       {{"--route-table-ids", "RouteTableIds", Kind::kList, Need::kOptional, "only these (default: all)", "RTB-ID"},
        kFiltersFlag},
       R"(venicctl describe-route-tables
venicctl describe-route-tables --filters Name=vpc-id,Values=vpc-0123456789abcdef0 Name=association.main,Values=true)"},
      {"create-route",
       "CreateRoute",
       "add a route to a route table",
       route_flags(),
       R"(venicctl create-route --route-table-id rtb-0123456789abcdef0 --destination-cidr-block 0.0.0.0/0 --instance-id i-0123456789abcdef0
venicctl create-route --route-table-id rtb-0123456789abcdef0 --destination-cidr-block 10.1.0.0/16 --vpc-peering-connection-id pcx-0123456789abcdef0)",
       {"--gateway-id", "--nat-gateway-id", "--instance-id", "--network-interface-id", "--vpc-peering-connection-id"}},
      {"replace-route",
       "ReplaceRoute",
       "point a route somewhere else",
       route_flags(),
       R"(venicctl replace-route --route-table-id rtb-0123456789abcdef0 --destination-cidr-block 0.0.0.0/0 --network-interface-id eni-0123456789abcdef0)",
       {"--gateway-id", "--nat-gateway-id", "--instance-id", "--network-interface-id", "--vpc-peering-connection-id"}},
      {"delete-route",
       "DeleteRoute",
       "delete a route (not a local one)",
       {{"--route-table-id", "RouteTableId", Kind::kString, Need::kRequired, "the route table", "RTB-ID"},
        {"--destination-cidr-block", "DestinationCidrBlock", Kind::kCidr, Need::kOptional, "the IPv4 destination"},
        {"--destination-ipv6-cidr-block", "DestinationIpv6CidrBlock", Kind::kIpv6Cidr, Need::kOptional,
         "the IPv6 destination"}},
       R"(venicctl delete-route --route-table-id rtb-0123456789abcdef0 --destination-cidr-block 0.0.0.0/0)",
       {"--destination-cidr-block", "--destination-ipv6-cidr-block"}},
      {"associate-route-table",
       "AssociateRouteTable",
       "make a route table a subnet's",
       {{"--route-table-id", "RouteTableId", Kind::kString, Need::kRequired, "the route table", "RTB-ID"},
        {"--subnet-id", "SubnetId", Kind::kString, Need::kRequired, "the subnet", "SUBNET-ID"}},
       R"(venicctl associate-route-table --route-table-id rtb-0123456789abcdef0 --subnet-id subnet-0123456789abcdef0)"},
      {"disassociate-route-table",
       "DisassociateRouteTable",
       "end a subnet's association (it uses the main table again)",
       {{"--association-id", "AssociationId", Kind::kString, Need::kRequired, "the association", "RTBASSOC-ID"}},
       R"(venicctl disassociate-route-table --association-id rtbassoc-0123456789abcdef0)"},
      {"replace-route-table-association",
       "ReplaceRouteTableAssociation",
       "give a subnet (or the VPC's main association) another route table",
       {{"--association-id", "AssociationId", Kind::kString, Need::kRequired, "the association", "RTBASSOC-ID"},
        {"--route-table-id", "RouteTableId", Kind::kString, Need::kRequired, "the route table", "RTB-ID"}},
       R"(venicctl replace-route-table-association --association-id rtbassoc-0123456789abcdef0 --route-table-id rtb-0123456789abcdef0)"},
      {"create-vpc-peering-connection",
       "CreateVpcPeeringConnection",
       "ask to peer a VPC with another (its owner accepts)",
       {{"--vpc-id", "VpcId", Kind::kString, Need::kRequired, "the requester VPC", "VPC-ID"},
        {"--peer-vpc-id", "PeerVpcId", Kind::kString, Need::kRequired, "the accepter VPC", "VPC-ID"},
        {"--peer-owner-id", "PeerOwnerId", Kind::kString, Need::kOptional, "the accepter VPC's owner", "ACCOUNT-ID"}},
       R"(venicctl create-vpc-peering-connection --vpc-id vpc-0123456789abcdef0 --peer-vpc-id vpc-0123456789abcdef1)"},
      {"accept-vpc-peering-connection",
       "AcceptVpcPeeringConnection",
       "accept a peering request (the accepter VPC's owner)",
       {{"--vpc-peering-connection-id", "VpcPeeringConnectionId", Kind::kString, Need::kRequired,
         "the peering connection", "PCX-ID"}},
       R"(venicctl accept-vpc-peering-connection --vpc-peering-connection-id pcx-0123456789abcdef0)"},
      {"reject-vpc-peering-connection",
       "RejectVpcPeeringConnection",
       "reject a peering request (the accepter VPC's owner)",
       {{"--vpc-peering-connection-id", "VpcPeeringConnectionId", Kind::kString, Need::kRequired,
         "the peering connection", "PCX-ID"}},
       R"(venicctl reject-vpc-peering-connection --vpc-peering-connection-id pcx-0123456789abcdef0)"},
      {"delete-vpc-peering-connection",
       "DeleteVpcPeeringConnection",
       "end a peering (either side's owner)",
       {{"--vpc-peering-connection-id", "VpcPeeringConnectionId", Kind::kString, Need::kRequired,
         "the peering connection", "PCX-ID"}},
       R"(venicctl delete-vpc-peering-connection --vpc-peering-connection-id pcx-0123456789abcdef0)"},
      {"describe-vpc-peering-connections",
       "DescribeVpcPeeringConnections",
       "describe VPC peering connections",
       {{"--vpc-peering-connection-ids", "VpcPeeringConnectionIds", Kind::kList, Need::kOptional,
         "only these (default: all)", "PCX-ID"},
        kFiltersFlag},
       R"(venicctl describe-vpc-peering-connections
venicctl describe-vpc-peering-connections --filters Name=status-code,Values=pending-acceptance)"},
  };
  return commands;
}

const Command* find_command(const std::string& name) {
  for (const Command& command : table())
    if (name == command.name) return &command;
  return nullptr;
}

// A command's examples as command lines, without their comments.
std::vector<std::string> example_lines(const Command& command) {
  std::vector<std::string> lines;
  for (std::string line : split(command.examples, '\n')) {
    if (std::size_t comment = line.find("  #"); comment != std::string::npos) line.erase(comment);
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string footer(const Command& command) {
  std::string text = "Examples:\n";
  for (const std::string& line : split(command.examples, '\n')) text += "  " + line + "\n";
  return text + "\nSends ec2." + command.action + " (docs/ec2-api.md); prints its result as the AWS CLI does.";
}

Request build(const Command& command, const Given& given) {
  Request request{std::string("ec2.") + command.action};
  for (const Flag& flag : command.flags) {
    if (auto it = given.find(flag.name); it != given.end()) add_param(flag, it->second, request.params);
    if (flag.param != nullptr && std::string_view(flag.param) == "ClientToken") request.idempotent = true;
  }
  check_one_of(command, given);
  if (command.finish != nullptr) command.finish(given, request.params);
  return request;
}

}  // namespace

// What CLI11 writes into for one flag.
struct BoundFlag {
  const Flag* flag = nullptr;
  std::string text;
  std::vector<std::string> list;
  bool yes = false;                // kBool/kBoolValue: --x
  bool no = false;                 // --no-x
  CLI::Option* option = nullptr;   // the flag, or --x
  CLI::Option* negated = nullptr;  // --no-x
};

struct BoundCommand {
  const Command* command = nullptr;
  CLI::App* app = nullptr;
  std::deque<BoundFlag> flags;  // a deque: CLI11 holds pointers into it
};

struct Ec2Commands::Storage {
  std::deque<BoundCommand> commands;
};

Ec2Commands::Ec2Commands(CLI::App& app) : storage_(std::make_unique<Storage>()) {
  for (const Command& command : table()) {
    BoundCommand& bound = storage_->commands.emplace_back();
    bound.command = &command;
    bound.app = app.add_subcommand(command.name, command.help);
    bound.app->group("EC2 commands (the AWS CLI's names and flags; docs/ec2-api.md)");
    for (const Flag& flag : command.flags) {
      BoundFlag& b = bound.flags.emplace_back();
      b.flag = &flag;
      const std::string name = flag.name;
      if (toggles(flag)) {
        b.option = bound.app->add_flag(name, b.yes, flag.help);
        b.negated = bound.app->add_flag(negation(name), b.no, flag.meta);
        continue;
      }
      b.option = is_list(flag) ? bound.app->add_option(name, b.list, flag.help)
                               : bound.app->add_option(name, b.text, flag.help);
      if (flag.meta != nullptr) b.option->type_name(flag.meta);
      if (flag.need == Need::kRequired) b.option->required();
    }
    bound.app->footer(footer(command));
  }
}

Ec2Commands::~Ec2Commands() = default;

std::optional<Request> Ec2Commands::request() const {
  for (const BoundCommand& bound : storage_->commands) {
    if (!bound.app->parsed()) continue;
    Given given;
    for (const BoundFlag& b : bound.flags) {
      const Flag& flag = *b.flag;
      if (toggles(flag)) {
        if (b.option->count() > 0 && b.negated->count() > 0)
          throw UsageError("give " + std::string(flag.name) + " or " + negation(flag.name) + ", not both");
        if (b.option->count() > 0) given[flag.name] = {"true"};
        if (b.negated->count() > 0) given[flag.name] = {"false"};
      } else if (b.option->count() > 0) {
        given[flag.name] = is_list(flag) ? b.list : std::vector<std::string>{b.text};
      }
    }
    return build(*bound.command, given);
  }
  return std::nullopt;
}

Request ec2_request_for(const std::vector<std::string>& args) {
  CLI::App app("", "venicctl");
  app.require_subcommand(1);
  Ec2Commands commands(app);
  std::vector<const char*> argv{"venicctl"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    throw UsageError(e.what());
  }
  std::optional<Request> request = commands.request();
  if (!request) throw UsageError("not an EC2 command");
  return *request;
}

std::vector<std::string> ec2_command_names() {
  std::vector<std::string> names;
  for (const Command& command : table()) names.emplace_back(command.name);
  return names;
}

std::vector<std::string> ec2_examples(const std::string& command) {
  const Command* found = find_command(command);
  return found == nullptr ? std::vector<std::string>{} : example_lines(*found);
}

}  // namespace venic::ctl
