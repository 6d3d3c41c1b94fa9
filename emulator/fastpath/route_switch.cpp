#include "route_switch.h"

#include <cstring>

#include "exception_port.h"
#include "gateway_port.h"
#include "network_acl.h"
#include "parse_burst.h"
#include "underlay_port.h"

namespace venic::fastpath {

namespace {

thread_local ExceptionPort* t_exceptions = nullptr;
thread_local GatewayPort* t_gateways = nullptr;
thread_local UnderlayPort* t_underlay = nullptr;

// The whole frame, its header as judged (never re-read from the sender).
const uint8_t* whole_frame(const BurstPacket& p) {
  static thread_local uint8_t frame[VENIC_FRAME_MAX];
  if (p.tx.total <= p.hdr_len) return p.hdr;
  copy_segments(frame, p.tx.segs, p.tx.nseg, p.tx.total);
  std::memcpy(frame, p.hdr, p.hdr_len);
  return frame;
}

// A frame for the instance's services: the whole of it, to the exception port.
void to_services(const PortView& port, BurstPacket& p) {
  if (!t_exceptions) {
    p.drop_as(VENIC_DROP_NO_ROUTE);
    return;
  }
  if (!t_exceptions->offer(port.vf, whole_frame(p), p.tx.total)) p.drop_as(VENIC_DROP_RX_NO_BUFFER);
}

// A frame for an internet or NAT gateway: the whole of it, to the gateway port.
void to_gateway(const PortView& port, BurstPacket& p, const char* gateway) {
  if (!t_gateways) {
    p.drop_as(VENIC_DROP_NO_ROUTE);
    return;
  }
  if (!t_gateways->offer(port.vf, gateway, whole_frame(p), p.tx.total)) p.drop_as(VENIC_DROP_RX_NO_BUFFER);
}

// A frame for an ENI on another host: the whole of it, to the underlay port.
void to_remote(const PortView& port, BurstPacket& p, const RemoteView& to) {
  if (!t_underlay) {
    p.drop_as(VENIC_DROP_NO_ROUTE);
    return;
  }
  if (!t_underlay->offer(port.vf, to, whole_frame(p), p.tx.total)) p.drop_as(VENIC_DROP_RX_NO_BUFFER);
}

// A packet leaving the sender's subnet: its outbound network ACL's verdict
// (dropped as nacl_egress when it denies).
bool leaves_subnet(const PortView& port, BurstPacket& p) {
  const NetworkAcl* acl = port.net ? port.net->acl_out.get() : nullptr;
  if (!acl || acl->allows(p.pkt)) return true;
  p.drop_as(VENIC_DROP_NACL_EGRESS);
  return false;
}

}  // namespace

void route_use_exception_port(ExceptionPort* port) {
  t_exceptions = port;
}

void route_use_gateway_port(GatewayPort* port) {
  t_gateways = port;
}

void route_use_underlay_port(UnderlayPort* port) {
  t_underlay = port;
}

void route_flush() {
  if (t_underlay) t_underlay->flush();
}

void route_burst(const Snapshot& snap, const PortView& port, Burst& b, Delivery& out) {
  // Most bursts go to one destination: remember the last lookup.
  uint8_t mac_cache[6];
  const uint8_t* last_mac = nullptr;
  const PortView* last_dst = nullptr;
  b.sender_net = port.net;
  for (uint32_t k = 0; k < b.npkt; k++) {
    BurstPacket& p = b.p[k];
    if (!p.alive()) continue;
    const ParsedPacket& pkt = p.pkt;
    if (port.vpc) {
      const VpcVerdict v = vpc_forward(snap, port, pkt, p.hdr, p.hdr_len, b.answer[k]);
      if (v.kind == VpcVerdict::Kind::kAnswer) {
        b.answer_len[k] = v.answer_len;
        parse_packet({b.answer[k], v.answer_len}, v.answer_len, b.answer_pkt[k]);
        out.plan(port, k, true);
        continue;
      }
      if (v.kind == VpcVerdict::Kind::kService) {
        to_services(port, p);
        continue;
      }
      if (v.kind == VpcVerdict::Kind::kGateway) {
        if (leaves_subnet(port, p)) to_gateway(port, p, v.gateway);
        continue;
      }
      if (v.kind == VpcVerdict::Kind::kDrop) {
        p.drop_as(v.drop);
        continue;
      }
      if (v.kind == VpcVerdict::Kind::kRouted) {
        if (v.dst->net != port.net && !leaves_subnet(port, p)) continue;  // to another subnet or VPC
        if (v.dst->remote) {
          to_remote(port, p, *v.dst->remote);
          continue;
        }
        if (!v.dst->polled || !out.plan(*v.dst, k)) p.drop_as(VENIC_DROP_RX_DOWN);
        continue;
      }
    }
    if (pkt.is_multicast()) {
      for (const PortView* peer : port.flood) out.plan(*peer, k);
      continue;
    }
    const PortView* dst;
    if (last_mac && std::memcmp(last_mac, pkt.dst_mac, 6) == 0) {
      dst = last_dst;
    } else {
      dst = snap.lookup(port.vpc, port.subnet, port.prefix, pkt.dst_mac);
      std::memcpy(mac_cache, pkt.dst_mac, 6);
      last_mac = mac_cache;
      last_dst = dst;
    }
    if (dst && dst->remote) {
      to_remote(port, p, *dst->remote);
    } else if (dst && dst->polled) {
      if (!out.plan(*dst, k)) p.drop_as(VENIC_DROP_RX_DOWN);
    } else if (dst) {
      p.drop_as(VENIC_DROP_RX_DOWN);
    } else if (!port.promisc_peers.empty()) {
      for (const PortView* peer : port.promisc_peers) out.plan(*peer, k);
    } else {
      p.drop_as(VENIC_DROP_NO_ROUTE);
    }
  }
}

}  // namespace venic::fastpath
