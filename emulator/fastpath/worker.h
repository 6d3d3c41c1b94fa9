// One worker's packet pipeline over one burst of one TX queue:
// fetch + validate descriptors -> copy headers -> parse -> switch -> deliver.
#pragma once

#include "burst.h"
#include "exception_port.h"
#include "flow_meter.h"
#include "snapshot.h"

namespace venic::fastpath {

// kBurstDescs: burst.h

// Lets workers survive SIGBUS from a driver's truncated registered memory.
void install_fault_guard();

// The flow table (per-flow cap) the calling worker thread uses; nullptr: none.
void worker_thread_use_flows(FlowMeter* flows);

// Frames the calling worker dropped for a full destination RX ring since the
// last call (the receiver is behind: on a shared core, let it run).
uint32_t worker_take_rx_full();

// Runs (bridge.*call)(q), which reads and writes a peer's memory (a guest's,
// through rte_vhost).  A page of it whose file was truncated under us is
// replaced by a private zero page and the call carries on: it is never cut
// short, since rte_vhost holds the virtqueue's lock inside it.  Afterwards
// the bridge hears of the fault (Bridge::peer_memory_faulted).  Needs
// install_fault_guard().
uint32_t call_bridge(vf::Bridge& bridge, uint32_t (vf::Bridge::*call)(uint32_t), uint32_t q);

// From now on, the calling thread survives faults in a peer's memory as a
// bridge call does (pages patched, the access completes).  For rte_vhost's
// own threads, which read a guest's rings while handling its messages.
void patch_peer_faults_on_this_thread();

// Delivers one frame the instance services answer with (Dataplane::inject)
// into VF vf's RX ring: the destination check and the inbound allowances
// apply; security groups only to what the internet sent.  Guarded as a
// burst is (a receiver whose memory vanished is reset).  False when vf is
// not polled or the frame is malformed.  Where an injected frame comes from: the instance's own services (the
// VPC's answers, which no group or ACL judges) or the internet through a
// gateway (judged as any traffic from outside: ACL in, groups, conntrack).
enum class InjectFrom : uint8_t { kServices, kInternet };
bool deliver_from_services(const Snapshot& snap, uint16_t vf, const uint8_t* frame, uint32_t len,
                           InjectFrom from = InjectFrom::kServices);

// A frame another host tunnelled (underlay_ingress.h judged where it comes
// from) for the local port dst, sent by the remote ENI `from` (nullptr:
// forwarded by a NAT instance there): the receiver's checks as for a local
// sender's packet — destination check, network ACL in when it comes from
// another subnet, groups and conntrack, allowances in.  First worker only.
bool deliver_from_underlay(const PortView& dst, const PortView* from, const uint8_t* frame, uint32_t len);

// Moves up to one burst from port's TX queue q; returns descriptors consumed.
uint32_t process_tx_burst(const Snapshot& snap, const PortView& port, uint32_t q);

}  // namespace venic::fastpath
