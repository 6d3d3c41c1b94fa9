// What the gateways know of the EC2 model: the public addresses and whose
// they are, the internet gateways' VPCs, the available NAT gateways.  Built
// on the control thread after every change (build_gateway_directory) and
// published whole; the gateway thread reads the latest.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

namespace venic::model {
class Ec2Model;
}

namespace venic::gateways {

struct PublicAddress {
  uint16_t vf = 0;          // the ENI's VF
  uint32_t private_ip = 0;  // host order
  std::array<uint8_t, 6> mac{};
  std::string vpc;
};

struct NatGatewayView {
  uint32_t public_ip = 0;
  std::string vpc;
};

struct GatewayDirectory {
  // Public address (an EIP or an auto-assigned one) -> who has it.
  std::map<uint32_t, PublicAddress> by_public;
  // (VF, private address) -> its public address.
  std::map<std::pair<uint16_t, uint32_t>, uint32_t> public_of;
  // Every VF of an ENI: its VPC and MAC (NAT replies, ICMP answers).
  std::map<uint16_t, std::pair<std::string, std::array<uint8_t, 6>>> vfs;
  std::map<std::string, std::string> igw_vpc;  // attached internet gateway -> its VPC
  std::map<std::string, NatGatewayView> nats;  // available NAT gateways
  // The VPC's attached internet gateway, or nullptr.
  bool vpc_has_igw(const std::string& vpc) const;
};

std::shared_ptr<const GatewayDirectory> build_gateway_directory(const model::Ec2Model& m);

}  // namespace venic::gateways
