// The EC2 network model: VPCs, subnets, security groups, placement groups,
// instances and ENIs, with the rules EC2 enforces and EC2's error codes.
// Requests and results are the EC2 API's (docs/ec2-api.md).  Pure logic: it
// knows no VF; ec2_service.h turns each ENI into the VF that backs it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "instance_metadata.h"
#include "instance_types.h"
#include "owner.h"
#include "vf_config.h"
#include "vpc_network.h"

namespace venic::model {

// A refused request: venic's error class (control/protocol.h's err::*) and
// EC2's error code.
struct Ec2Error : std::runtime_error {
  Ec2Error(std::string venic_code, std::string aws, const std::string& message)
      : std::runtime_error(message), code(std::move(venic_code)), aws_code(std::move(aws)) {}
  std::string code;
  std::string aws_code;
};

struct Cidr4 {
  uint32_t addr = 0;  // host order, the network address
  uint8_t prefix = 0;
  uint32_t mask() const { return prefix == 0 ? 0 : ~0u << (32 - prefix); }
  bool contains(uint32_t a) const { return (a & mask()) == addr; }
  bool contains(const Cidr4& o) const { return o.prefix >= prefix && contains(o.addr); }
  bool overlaps(const Cidr4& o) const { return contains(o.addr) || o.contains(addr); }
  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
};
std::optional<Cidr4> parse_cidr4(const std::string& s);  // the address must be the network's
std::string format_cidr4(const Cidr4& c);

// Every resource has an owner uid (docs/ownership.md), shown as EC2's OwnerId.
struct Vpc {
  std::string id;
  int64_t owner = 0;
  Cidr4 cidr;
  std::string ipv6_cidr;  // "" when none
  std::string default_group;
  uint32_t vni = 0;  // its 24-bit id on the underlay between hosts: unique, 1..kMaxVni
};

struct Subnet {
  std::string id, vpc, az;
  int64_t owner = 0;
  Cidr4 cidr;
  bool map_public_ip = false;
};

// One security-group permission: protocol ("tcp", "udp", "icmp", "-1" for
// all), port range (-1 for all), and its peers.
struct SgRule {
  std::string protocol;
  int from_port = -1, to_port = -1;
  std::vector<Cidr4> cidrs;
  std::vector<std::string> groups;
  std::vector<std::string> ipv6_cidrs;  // canonical ADDRESS/LEN
};

// A VPC's Ipv6CidrBlock: an IPv6 /56 with no host bits, in canonical text;
// throws Ec2Error InvalidParameterValue for anything else.
std::string ipv6_block56(const std::string& s);

// An IPv6 block in canonical text, or nullopt when s is none.
std::optional<std::string> canonical_cidr6(const std::string& s);

struct SecurityGroup {
  std::string id, name, description, vpc;
  int64_t owner = 0;
  std::vector<SgRule> ingress, egress;
};

// EC2's rules: a cluster group lives in one Availability Zone and takes
// only types that support it; a spread group runs at most kSpreadPerZone
// instances per zone; a partition group has partition_count partitions
// (1..kMaxPartitions per zone), each instance in one of them.
struct PlacementGroup {
  std::string id, name, strategy;
  int64_t owner = 0;
  int partition_count = 0;  // partition groups only
  static constexpr int kSpreadPerZone = 7;
  static constexpr int kMaxPartitions = 7;
  static constexpr int kDefaultPartitions = 2;
};

struct Eni {
  std::string id, subnet, description;
  int64_t owner = 0;
  vf::MacAddr mac{};
  uint32_t ip = 0;
  std::vector<uint32_t> secondary_ips;
  std::vector<vf::Ipv6Addr> ipv6;
  uint32_t public_ip = 0;  // 0: none
  // The public address is EC2's automatic one (MapPublicIpOnLaunch): its
  // instance gives it back on stop and gets a new one on start.
  bool auto_public_ip = false;
  std::vector<std::string> groups;
  bool src_dst_check = true;
  bool efa = false;
  bool vhost_user = false;         // venic: its VF is served on a vhost-user socket (a QEMU guest's NIC)
  vf::ConntrackTimeouts timeouts;  // ConnectionTrackingSpecification
  uint16_t vf = 0;                 // the VF that backs it (on `host`)
  std::string host;                // venic host whose VF backs it; "" on a single host (local)
  // Attachment.
  std::string attachment, instance;
  int device_index = -1;
  int network_card = 0;  // NetworkCardIndex: the instance's card it is on
  // Its key in Instance::enis: a device index is unique per network card.
  int slot() const { return network_card * kSlotsPerCard + device_index; }
  static constexpr int kSlotsPerCard = 64;  // DeviceIndex is 0-63
  bool delete_on_termination = false;       // EC2: true for a primary ENI made at launch, false for one attached
  int64_t attach_time = 0;                  // seconds since the epoch
  bool attached() const { return !instance.empty(); }
  // Forgets the attachment (detach, or its instance terminated).
  void clear_attachment() {
    attachment.clear();
    instance.clear();
    device_index = -1;
    network_card = 0;
    delete_on_termination = false;
    attach_time = 0;
  }
};

// ---- route tables and VPC peering (ec2_routes.cpp) ----
// One route of a route table.  Its target is an id the model may no longer
// have (a terminated instance, a deleted ENI or peering): the route then
// shows State blackhole and drops what it matches.
struct RouteEntry {
  enum class Target : uint8_t { kLocal, kGateway, kNatGateway, kInstance, kEni, kPeering };
  std::string destination;  // canonical CIDR text, IPv4 or IPv6
  bool ipv6 = false;
  Target target = Target::kLocal;
  std::string target_id;  // igw-, nat-, eni- (kInstance: the instance's ENI), pcx-; "local"
  std::string instance;   // kInstance: the instance named
  std::string origin = "CreateRoute";
};

struct RouteTable {
  std::string id, vpc;
  int64_t owner = 0;
  bool main = false;
  std::string main_association;                     // rtbassoc-... while it is the VPC's main table
  std::map<std::string, std::string> associations;  // subnet -> rtbassoc-...
  std::vector<RouteEntry> routes;
};

// A VPC peering connection: the requester's VPC and the accepter's, whose
// owner accepts it.  Ended ones (rejected, deleted, failed, expired) stay
// listed for a while, as EC2 lists them.
struct VpcPeering {
  std::string id, requester_vpc, accepter_vpc;
  int64_t requester_owner = 0, accepter_owner = 0;
  std::string requester_cidr, accepter_cidr;
  std::string status = "pending-acceptance";
  int64_t created = 0, ended = 0;  // seconds since the epoch
};

// ---- network ACLs (ec2_network_acls.cpp) -----------------------------------
// One numbered entry of a network ACL, as EC2 describes it.  The final `*`
// deny (rule 32767) is implied, never stored.
struct NaclRule {
  int number = 0;  // 1-32766, unique per direction
  bool egress = false;
  bool allow = false;
  int protocol = -1;                   // the IP protocol number, -1: all
  std::string cidr, ipv6_cidr;         // one of them, canonical
  int from_port = -1, to_port = -1;    // TCP and UDP
  int icmp_type = -1, icmp_code = -1;  // ICMP and ICMPv6 (-1: all)
};

struct NetworkAcl {
  std::string id, vpc;
  int64_t owner = 0;
  bool is_default = false;
  std::vector<NaclRule> entries;                    // by direction (egress first), then number
  std::map<std::string, std::string> associations;  // subnet id -> its association id (aclassoc-...)
};
// ---- end of network ACLs -------------------------------------------------------

struct Instance {
  std::string id, type, subnet, az, placement_group, reservation, image_id;
  int partition = 0;            // its partition (1...) in a partition placement group; 0: none
  int64_t placement_owner = 0;  // its placement group's owner (names are per account)
  std::string host;             // the venic host it runs on (Placement.HostId); "" on a single host
  bool running = true;
  int64_t launch_time = 0;          // seconds since the epoch
  int64_t terminated_at = 0;        // a terminated instance's record: when (it holds no ENI, no VF)
  int64_t owner_uid = 0;            // its owner, whose processes may attach its VFs
  uint32_t conntrack_limit = 0;     // venic: tracked flows at most; 0: the type's figure
  std::map<int, std::string> enis;  // Eni::slot() (the device index on card 0) -> ENI id
  InstanceMetadata meta;            // what its metadata service tells (instance_metadata.h)
};

// ---- internet gateways, NAT gateways, Elastic IPs (ec2_gateways.cpp) ----
struct InternetGateway {
  std::string id;
  int64_t owner = 0;
  std::string vpc;  // attached to; "": detached
};

// An Elastic IP (AllocateAddress): a public address of venic's pool, held
// until released; associated with one private address of one ENI, or used
// by a NAT gateway.
struct ElasticIp {
  std::string allocation_id;
  int64_t owner = 0;
  uint32_t public_ip = 0;
  std::string association_id, eni;  // "" when not associated with an ENI
  uint32_t private_ip = 0;          // the ENI's address it maps to
  std::string nat_gateway;          // the NAT gateway using it, if any
  bool associated() const { return !association_id.empty() || !nat_gateway.empty(); }
};

struct NatGateway {
  std::string id, subnet, vpc, allocation_id;
  int64_t owner = 0;
  uint32_t public_ip = 0, private_ip = 0;  // its EIP; its address in the subnet
  bool deleted = false;                    // listed as "deleted" a while, holding nothing
  int64_t create_time = 0, delete_time = 0;
};

class Ec2Model {
 public:
  // Where ids and MACs come from (tests make them deterministic).
  using Random = std::function<uint64_t()>;
  // Seconds since the epoch (LaunchTime, AttachTime, how long a terminated
  // instance stays listed); tests make it a counter.
  using Clock = std::function<int64_t()>;
  explicit Ec2Model(Random random = {}, Clock clock = {});

  // A terminated instance stays listed (State "terminated", no ENIs) this
  // long, as EC2 lists one for about an hour, and at most kMaxTerminated of
  // them (the oldest go first); then DescribeInstances no longer knows it.
  static constexpr int64_t kTerminatedListedSeconds = 3600;
  static constexpr size_t kMaxTerminated = 1024;

  // Runs one EC2 action (e.g. "CreateVpc") on params for caller; returns
  // its result.  new_eni(eni) is called for every ENI the action creates, to
  // give it a VF id; it may throw.  Throws Ec2Error; on a throw nothing changed.
  nlohmann::json call(const std::string& action, const nlohmann::json& params,
                      const std::function<uint16_t(const Eni&)>& new_eni, const Caller& caller = {});

  // Persistence: the whole model; load throws Ec2Error on a bad document.
  nlohmann::json to_json() const;
  void load(const nlohmann::json& j);

  const std::map<std::string, Eni>& enis() const { return s_.enis; }
  const std::map<std::string, Vpc>& vpcs() const { return s_.vpcs; }
  const std::map<std::string, Subnet>& subnets() const { return s_.subnets; }
  const Eni* eni_by_vf(uint16_t vf) const;
  const Instance* instance(const std::string& id) const;
  const Subnet* subnet(const std::string& id) const;
  const Vpc* vpc(const std::string& id) const {
    auto it = s_.vpcs.find(id);
    return it == s_.vpcs.end() ? nullptr : &it->second;
  }
  // Placement group names are per account, as on EC2: owner's group `name`.
  const PlacementGroup* placement_group(int64_t owner, const std::string& name) const;
  static std::string placement_key(int64_t owner, const std::string& name) {
    return std::to_string(owner) + ":" + name;
  }
  const std::map<std::string, NetworkAcl>& network_acls() const { return s_.network_acls; }
  const SecurityGroup* security_group(const std::string& id) const;
  // EFA's OS-bypass traffic needs one of the ENI's groups to allow all
  // traffic in from and out to itself (and stays in the ENI's subnet):
  // "" when e has such a group, else why not.
  std::string efa_os_bypass_problem(const Eni& e) const;

  // ---- route tables and VPC peering (ec2_routes.cpp) ----
  const std::map<std::string, RouteTable>& route_tables() const { return s_.route_tables; }
  const std::map<std::string, VpcPeering>& peerings() const { return s_.peerings; }
  // The table that routes a subnet's traffic: the one associated with it, or its VPC's main table.
  const RouteTable* route_table_of(const Subnet& sn) const;
  // Whether a route of a table in vpc has its target (State active) or not (blackhole).
  bool route_active(const RouteEntry& r, const std::string& vpc) const;
  // The active peering between VPCs a and b, or nullptr.
  const VpcPeering* active_peering(const std::string& a, const std::string& b) const;
  static constexpr size_t kRoutesPerTable = 50, kTablesPerVpc = 200;
  static constexpr size_t kActivePeeringsPerVpc = 50, kPendingPeeringsPerOwner = 25, kMaxEndedPeerings = 1000;
  static constexpr int64_t kEndedPeeringListedSeconds = 2 * 3600, kPendingPeeringSeconds = 7 * 24 * 3600;
  // ---- gateways and public addresses (ec2_gateways.cpp) ----
  // True for an internet gateway attached to vpc_id or an available NAT
  // gateway in it: what a route to it may use (else the route is a blackhole).
  bool gateway_usable(const std::string& gateway_id, const std::string& vpc_id) const;
  const std::map<std::string, InternetGateway>& internet_gateways() const { return s_.igws; }
  const std::map<std::string, ElasticIp>& addresses() const { return s_.addresses; }
  const std::map<std::string, NatGateway>& nat_gateways() const { return s_.nat_gateways; }
  // EC2's default: 5 Elastic IPs per account (uid) and region.
  static constexpr size_t kMaxAddressesPerOwner = 5;
  static constexpr size_t kMaxInternetGatewaysPerOwner = 5;
  static constexpr size_t kMaxNatGatewaysPerAz = 5;  // per owner, as EC2's per-AZ quota
  static constexpr int64_t kDeletedNatListedSeconds = 3600;
  static constexpr size_t kMaxDeletedNat = 256;
  // venic's public pool: 203.0.113.1-253 (RFC 5737 TEST-NET-3).
  static constexpr uint32_t kPublicPoolBase = 0xcb007100;
  static constexpr uint32_t kPublicPoolSize = 253;

  // ---- several hosts (docs/multi-host.md) ----
  // This venicd's host name; cluster: the model is shared (etcd), so
  // instances and ENIs record their host and VF ids are the model's to
  // give, per host.  Without it (a single host) hosts stay "" and
  // Placement.HostId may only name this host.
  void set_local_host(std::string name, bool cluster) {
    local_host_ = std::move(name);
    cluster_ = cluster;
  }
  const std::string& local_host() const { return local_host_; }
  bool cluster() const { return cluster_; }
  // Whether e's VF is this host's to serve.
  bool local(const Eni& e) const { return !cluster_ || e.host == local_host_; }
  // Registered tunnel endpoints (venicds, or kernel Geneve/VXLAN peers).
  const std::map<std::string, vf::UnderlayHost>& hosts() const { return s_.hosts; }
  // Registers h, or updates its address and MAC; throws Ec2Error
  // InvalidParameterValue for a bad name, HostLimitExceeded past kMaxHosts.
  void add_host(const vf::UnderlayHost& h);
  static constexpr size_t kMaxHosts = 64;
  static constexpr uint32_t kMaxVni = 0xffffff;

 private:
  struct State {
    std::map<std::string, Vpc> vpcs;
    std::map<std::string, Subnet> subnets;
    std::map<std::string, SecurityGroup> groups;
    std::map<std::string, PlacementGroup> placement;  // by placement_key(owner, name)
    std::map<std::string, Instance> instances;
    std::map<std::string, Eni> enis;
    std::map<std::string, Instance> terminated;  // listed for a while, holding nothing
    uint32_t next_public = 0;                    // public IPv4 pool: where the next search starts
    std::map<std::string, InternetGateway> igws;
    std::map<std::string, ElasticIp> addresses;  // by AllocationId
    std::map<std::string, NatGateway> nat_gateways;
    // ---- route tables and VPC peering (ec2_routes.cpp) ----
    std::map<std::string, RouteTable> route_tables;
    std::map<std::string, VpcPeering> peerings;

    std::map<std::string, NetworkAcl> network_acls;
    std::map<std::string, vf::UnderlayHost> hosts;  // by name
  };
  // The smallest VNI no VPC has (CreateVpc, load of older files).
  uint32_t free_vni(const State& s) const;
  // The smallest VF id no ENI on host has (cluster mode); throws
  // NetworkInterfaceLimitExceeded when all VENIC_MAX_VFS are taken.
  uint16_t free_vf(const std::string& host) const;
  // RunInstances' Placement.HostId: the host to run on.
  std::string placement_host(const nlohmann::json* placement) const;
  // ---- route tables and VPC peering (ec2_routes.cpp) ----
  // The action if it is one of theirs, else nullopt.
  std::optional<nlohmann::json> routes_action(const std::string& action, const nlohmann::json& p);
  nlohmann::json create_route_table(const nlohmann::json& p);
  nlohmann::json delete_route_table(const nlohmann::json& p);
  nlohmann::json put_route(const nlohmann::json& p, bool replace);
  nlohmann::json delete_route(const nlohmann::json& p);
  nlohmann::json associate_route_table(const nlohmann::json& p);
  nlohmann::json disassociate_route_table(const nlohmann::json& p);
  nlohmann::json replace_route_table_association(const nlohmann::json& p);
  nlohmann::json describe_route_tables(const nlohmann::json& p) const;
  nlohmann::json create_vpc_peering(const nlohmann::json& p);
  nlohmann::json answer_vpc_peering(const nlohmann::json& p, bool accept);
  nlohmann::json delete_vpc_peering(const nlohmann::json& p);
  nlohmann::json describe_vpc_peerings(const nlohmann::json& p) const;
  RouteTable& owned_route_table(const std::string& id);
  VpcPeering& visible_peering(const std::string& id);
  std::string new_route_id(const char* prefix);
  void add_main_route_table(const Vpc& v);  // CreateVpc, and load for older state files
  void routes_on_delete_vpc(const std::string& vpc);
  void routes_on_delete_subnet(const std::string& subnet);
  void forget_ended_peerings();
  // A rule's groups: its own VPC's, or an actively peered VPC's.
  void check_rule_groups(const std::vector<std::string>& groups, const std::string& vpc) const;
  nlohmann::json route_table_json(const RouteTable& t) const;
  nlohmann::json peering_json(const VpcPeering& x) const;
  void routes_to_json(nlohmann::json& out) const;
  static void routes_from_json(const nlohmann::json& j, State& s);
  // ---- gateways and public addresses (ec2_gateways.cpp) ----
  // A free public address of the pool (neither an ENI's nor an EIP's); the
  // search starts past the last one handed out, so a freed address comes
  // back late.  Throws AddressLimitExceeded when none is free.
  uint32_t take_public_ip();
  // The gateway actions (nullopt: not one of them) and their describes.
  std::optional<nlohmann::json> gateway_action(const std::string& action, const nlohmann::json& p);
  std::optional<nlohmann::json> describe_gateways(const std::string& what, const nlohmann::json& p) const;
  // After every action: associations of ENIs that are gone end, an EIP's
  // address is its ENI's public address again (after a stop, say), deleted
  // NAT gateways listed long enough are forgotten.  Never throws.
  void settle_addresses() noexcept;
  // Throws DependencyViolation while vpc has an attached internet gateway, or
  // subnet (when given) an available NAT gateway (DeleteVpc, DeleteSubnet).
  void check_gateway_dependencies(const std::string& vpc, const std::string& subnet) const;
  nlohmann::json gateways_to_json() const;
  static void gateways_from_json(const nlohmann::json& j, State& s);
  std::string fresh_id(const char* prefix);
  nlohmann::json create_igw(const nlohmann::json& p);
  nlohmann::json attach_igw(const nlohmann::json& p, bool attach);
  nlohmann::json delete_igw(const nlohmann::json& p);
  nlohmann::json allocate_address(const nlohmann::json& p);
  nlohmann::json associate_address(const nlohmann::json& p);
  nlohmann::json disassociate_address(const nlohmann::json& p);
  nlohmann::json release_address(const nlohmann::json& p);
  nlohmann::json create_nat(const nlohmann::json& p);
  nlohmann::json delete_nat(const nlohmann::json& p);
  ElasticIp& owned_address(const std::string& allocation_id);
  nlohmann::json address_json(const ElasticIp& a) const;
  nlohmann::json igw_json(const InternetGateway& g) const;
  nlohmann::json nat_json(const NatGateway& n) const;
  // Forgets terminated instances listed long enough (or too many).
  void forget_terminated();
  std::string new_id(const char* prefix);
  // The ENI called id in the working copy; throws InvalidNetworkInterfaceID.NotFound.
  Eni& eni_named(const std::string& id);
  // The same, and the caller must own it (UnauthorizedOperation).
  Eni& owned_eni(const std::string& id);
  // Throws UnauthorizedOperation unless the caller may manage owner's resources.
  void require_owner(int64_t owner) const;
  // What the caller sees (describes, references): its own, or all for an admin.
  bool visible(int64_t owner) const { return caller_.may_manage(owner); }
  // Actions, each on the working copy s_.
  nlohmann::json create_vpc(const nlohmann::json& p);
  nlohmann::json create_subnet(const nlohmann::json& p);
  nlohmann::json modify_subnet_attribute(const nlohmann::json& p);
  nlohmann::json create_security_group(const nlohmann::json& p);
  nlohmann::json authorize(const nlohmann::json& p, bool ingress);
  nlohmann::json create_placement_group(const nlohmann::json& p);
  // The groups the caller sees, by name (Describe's GroupNames).
  std::map<std::string, PlacementGroup> placement_by_name() const;
  // The group an instance for `owner` launches into: the owner's, else (an
  // admin launching for someone) the caller's own.
  const PlacementGroup* launch_group(int64_t owner, const std::string& name) const;
  nlohmann::json run_instances(const nlohmann::json& p, const std::function<uint16_t(const Eni&)>& new_eni);
  nlohmann::json set_instance_state(const nlohmann::json& p, bool run);
  nlohmann::json create_network_interface(const nlohmann::json& p, const std::function<uint16_t(const Eni&)>& new_eni);
  nlohmann::json delete_network_interface(const nlohmann::json& p);
  nlohmann::json attach(const nlohmann::json& p);
  nlohmann::json detach(const nlohmann::json& p);
  nlohmann::json modify_eni(const nlohmann::json& p);
  nlohmann::json assign_ips(const nlohmann::json& p);
  nlohmann::json assign_ipv6(const nlohmann::json& p);
  // The lifecycle's end (ec2_lifecycle.cpp).
  nlohmann::json terminate_instances(const nlohmann::json& p);
  nlohmann::json delete_vpc(const nlohmann::json& p);
  nlohmann::json delete_subnet(const nlohmann::json& p);
  nlohmann::json delete_security_group(const nlohmann::json& p);
  nlohmann::json revoke(const nlohmann::json& p, bool ingress);
  nlohmann::json unassign_ips(const nlohmann::json& p);
  nlohmann::json unassign_ipv6(const nlohmann::json& p);
  nlohmann::json delete_placement_group(const nlohmann::json& p);
  // One IpPermissions entry as a rule of group g, checked (authorize, revoke).
  SgRule permission(const nlohmann::json& e, const SecurityGroup& g) const;
  nlohmann::json modify_instance_metadata_options(const nlohmann::json& p);  // instance_metadata.cpp
  nlohmann::json describe(const std::string& what, const nlohmann::json& p) const;

  // Network ACLs (ec2_network_acls.cpp): the actions, and what the VPC and
  // subnet actions and the state file do to ACLs.
  nlohmann::json create_network_acl(const nlohmann::json& p);
  nlohmann::json delete_network_acl(const nlohmann::json& p);
  nlohmann::json network_acl_entry(const nlohmann::json& p, bool create);
  nlohmann::json delete_network_acl_entry(const nlohmann::json& p);
  nlohmann::json replace_network_acl_association(const nlohmann::json& p);
  nlohmann::json network_acl_json(const NetworkAcl& a) const;
  // The ACL called id that the caller may see; throws InvalidNetworkAclID.*.
  NetworkAcl& network_acl_named(const std::string& id);
  void nacl_vpc_created(const Vpc& v);         // its default ACL
  void nacl_subnet_created(const Subnet& sn);  // associated with the default ACL
  void nacl_vpc_deleting(const std::string& vpc);
  void nacl_subnet_deleted(const std::string& subnet);
  nlohmann::json network_acls_to_json() const;
  // From a state file into s (none there: every VPC gets its default ACL).
  void network_acls_from_json(const nlohmann::json& j, State& s);

  // Builds an ENI in subnet (addresses, MAC, public IP, groups) without
  // adding it; requested: explicit primary and secondary addresses.
  Eni make_eni(const Subnet& sn, std::optional<uint32_t> primary, std::vector<uint32_t> secondaries,
               uint32_t secondary_count, std::vector<std::string> groups, bool efa);
  uint32_t free_ip(const Subnet& sn, const std::vector<uint32_t>& taken) const;
  // The placement rules (ec2_placement.cpp): throws EC2's errors when n more
  // running instances of type t in az would break group g's; returns how
  // many of n fit (at least min_n).
  long placement_room(const PlacementGroup& g, const InstanceType& t, const std::string& az, long min_n, long n) const;
  // The partition for the next instance of g in az: the one with fewest.
  int emptiest_partition(const PlacementGroup& g, const std::string& az) const;
  // Gives back / gets again the automatic public addresses of in's ENIs.
  void release_public_ips(const Instance& in);
  void renew_public_ips(const Instance& in);
  // Adds a to taken if it is usable in sn and nobody has it; throws otherwise.
  void claim_ip(const Subnet& sn, uint32_t a, std::vector<uint32_t>& taken) const;
  bool ip_used(const Subnet& sn, uint32_t ip) const;
  void check_groups(const std::vector<std::string>& groups, const std::string& vpc) const;
  void check_attach(const Eni& e, const Instance& in, int device_index, int card) const;

  nlohmann::json vpc_json(const Vpc& v) const;
  nlohmann::json subnet_json(const Subnet& s) const;
  nlohmann::json group_json(const SecurityGroup& g) const;
  nlohmann::json eni_json(const Eni& e) const;
  nlohmann::json instance_json(const Instance& i) const;

  Random random_;
  Clock clock_;
  State s_;
  Caller caller_;  // the current call's
  std::string local_host_;
  bool cluster_ = false;
};

// The limits an ENI's VF gets from the instance it is attached to.  A
// cluster placement group's 10 Gbps per flow is not here: it holds only
// between members (VfConfig::cluster_group, the fast path's police stage).
vf::Limits limits_for(const InstanceType& t);

}  // namespace venic::model
