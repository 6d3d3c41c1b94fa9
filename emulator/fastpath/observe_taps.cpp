#include "observe_taps.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "capture_tap.h"
#include "flow_log_table.h"
#include "parse_burst.h"
#include "sg_scope.h"

namespace venic::fastpath {

namespace {

thread_local ObserveTaps t_taps;

bool logged(const PortView& p) {
  return t_taps.flow_logged && t_taps.flow_table && p.sg.enforced && t_taps.flow_logged->logged(p.vf);
}
observe::CaptureTap* capturing(const PortView& p) {
  if (!t_taps.capture || p.vf >= 256) return nullptr;
  observe::CaptureTap* tap = t_taps.capture + p.vf;
  return tap->active() ? tap : nullptr;
}

// The flow of an IP packet as VF vf logs it; false for anything else.
bool flow_key(const ParsedPacket& pkt, uint16_t vf, observe::FlowLogKey& k) {
  if (!pkt.l3_addresses || (pkt.l3 != L3::kIpv4 && pkt.l3 != L3::kIpv6)) return false;
  k = observe::FlowLogKey{};
  k.vf = vf;
  k.proto = pkt.ip_proto;
  if (pkt.l4 == L4::kTcp || pkt.l4 == L4::kUdp) {
    k.sport = pkt.src_port;
    k.dport = pkt.dst_port;
  }
  if (pkt.l3 == L3::kIpv4) {
    k.family = 4;
    const uint32_t s = htonl(pkt.src_ip4), d = htonl(pkt.dst_ip4);
    std::memcpy(k.src, &s, 4);
    std::memcpy(k.dst, &d, 4);
  } else {
    k.family = 6;
    std::memcpy(k.src, pkt.src_ip6, 16);
    std::memcpy(k.dst, pkt.dst_ip6, 16);
  }
  return true;
}

// A frame as the fast path judged it: its private header copy, then the
// rest of its segments, up to what a capture keeps.
const uint8_t* whole_frame(const BurstPacket& p, uint32_t& len) {
  static thread_local uint8_t frame[observe::CaptureTap::kSnapLen];
  len = std::min<uint32_t>(p.tx.total, observe::CaptureTap::kSnapLen);
  if (len <= p.hdr_len) return p.hdr;
  copy_segments(frame, p.tx.segs, p.tx.nseg, len);
  std::memcpy(frame, p.hdr, p.hdr_len);
  return frame;
}

}  // namespace

void observe_use(const ObserveTaps& taps) {
  t_taps = taps;
}

void observe_sent(const PortView& port, const Burst& b) {
  const bool log = logged(port);
  observe::CaptureTap* tap = capturing(port);
  if (!log && !tap) return;
  for (uint32_t k = 0; k < b.npkt; k++) {
    const BurstPacket& p = b.p[k];
    if (log && (p.alive() || p.drop == VENIC_DROP_SG_EGRESS)) {
      observe::FlowLogKey key;
      if (!outside_security_groups(p.pkt, CtDir::kOut, port.gateway, port.vpc_dns) && flow_key(p.pkt, port.vf, key))
        t_taps.flow_table->record(key, p.drop != VENIC_DROP_SG_EGRESS, p.tx.total, b.now);
    }
    if (tap && p.hdr_len) {
      uint32_t len;
      const uint8_t* f = whole_frame(p, len);
      const int verdict = p.drop >= 0 ? p.drop : p.exceeded >= 0 ? kCaptureAllowance + p.exceeded : -1;
      tap->offer(observe::CaptureDirection::kOut, f, len, verdict, b.now);
    }
  }
}

bool observe_wants(const PortView& dst) {
  return logged(dst) || capturing(dst);
}

void observe_received(const PortView& dst, const Burst& b, uint32_t k, bool answer, int verdict) {
  const BurstPacket& p = b.p[k];
  const ParsedPacket& pkt = answer ? b.answer_pkt[k] : p.pkt;
  // What the receiver's groups judged: everything past its destination check
  // that is in their scope, but the VPC's own answers.
  const bool judged = verdict != VENIC_DROP_DST_CHECK && verdict != kCaptureAllowance + VENIC_ALLOW_CONNTRACK &&
                      !answer && !(b.from_services && !b.from_internet) &&
                      !outside_security_groups(pkt, CtDir::kIn, dst.gateway, dst.vpc_dns);
  if (judged && logged(dst)) {
    observe::FlowLogKey key;
    if (flow_key(pkt, dst.vf, key)) t_taps.flow_table->record(key, verdict != VENIC_DROP_SG_INGRESS, p.tx.total, b.now);
  }
  if (observe::CaptureTap* tap = capturing(dst)) {
    uint32_t len;
    const uint8_t* f = answer ? b.answer[k] : whole_frame(p, len);
    if (answer) len = b.answer_len[k];
    tap->offer(observe::CaptureDirection::kIn, f, len, verdict, b.now);
  }
}

}  // namespace venic::fastpath
