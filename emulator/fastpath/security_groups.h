// Stage 5 (egress) and part of delivery (ingress): EC2's security groups,
// stateful.  A tracked flow passes; a new one passes when the direction's
// rules allow it, and is then tracked unless EC2 would leave it untracked
// (0.0.0.0/0 both ways, all ports).  The rules are vf/security_policy's, the
// scope (what groups judge at all) sg_scope's, the flows conntrack's.
#pragma once

#include "burst.h"
#include "conntrack.h"
#include "snapshot.h"

namespace venic::fastpath {

enum class SgVerdict : uint8_t { kPass, kDenied, kConntrackFull };

// One crossing of port's groups by pkt in direction dir.
SgVerdict security_groups(const PortView& port, const ParsedPacket& pkt, CtDir dir, uint64_t now);

// The ingress crossing of n (at most kBurstDescs) packets into the same
// port, in order, with tracked flows looked up in bulk: verdict[i] for pkts[i].
void ingress_groups(const PortView& port, const ParsedPacket* const* pkts, uint32_t n, uint64_t now,
                    SgVerdict* verdict);

// The egress stage over b's live packets: a denied packet is dropped as
// sg_egress, one the conntrack table has no room for counted as
// conntrack_allowance_exceeded.  Tracked flows are looked up in bulk.
void egress_groups(const PortView& port, Burst& b);

}  // namespace venic::fastpath
