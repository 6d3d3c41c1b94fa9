// What EC2's security groups judge, and what a VPC carries at all.  Groups
// judge every IP packet between instances, link-local (fe80::/10) and
// 169.254.0.0/16 addresses included; they leave out only what an instance
// sends to EC2's own services (DHCP, the link-local DNS, metadata and time
// servers, broadcasts and multicasts, which only the VPC's router gets) and
// neighbour discovery, which the VPC answers itself.
#pragma once

#include <cstdint>

#include "conntrack.h"
#include "packet_parser.h"

namespace venic::fastpath {

// IPv4, IPv6 and ARP: all a VPC carries.  Nothing else leaves a VPC port.
bool vpc_carries(const ParsedPacket& pkt);

// EC2's link-local services: 169.254.169.254 (metadata), .123 (time) and
// .253 (DNS); fd00:ec2::254, ::123 and ::253.  a is host order (IPv4) or
// 16 network-order bytes (IPv6).
bool ec2_service4(uint32_t a);
bool ec2_service6(const uint8_t* a);

// True when pkt, crossing a port in direction dir, is not for the port's
// groups to judge.  gateway is the port's subnet router (host order), the
// VPC's DHCP server.
// vpc_dns: the VPC's Amazon DNS (its base + 2, host order), 0: none.
bool outside_security_groups(const ParsedPacket& pkt, CtDir dir, uint32_t gateway, uint32_t vpc_dns = 0);

}  // namespace venic::fastpath
