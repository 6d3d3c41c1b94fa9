// The last stage, deliver: the receiver's side of every packet of a burst —
// its destination check, its subnet's inbound network ACL, its security groups (ingress, stateful), its
// inbound allowances (bw_in, PPS: what exceeds them is dropped and counted)
// — and the copy into its posted RX buffers with their completions.
// Deliveries are planned first (destination, RSS queue) and then run in
// packet order with every destination queue locked once for the burst
// (locks taken in address order, so workers delivering to overlapping sets
// never deadlock), and each queue's completions published once.
#pragma once

#include "burst.h"
#include "rss.h"
#include "snapshot.h"

namespace venic::fastpath {

class Delivery {
 public:
  // Starts planning burst b's deliveries.
  void begin(Burst& b);
  // Plans packet k of the burst (its VPC answer when `answer`) for dst.
  // False when dst takes nothing now (stopped, or being reset).
  bool plan(const PortView& dst, uint32_t k, bool answer = false);
  // Runs what was planned; afterwards nothing is locked.
  void run();
  // Frames dropped for a full destination RX ring since the last call.
  uint32_t take_rx_full();

  // The receiver being written when a fault struck (nullptr: none).
  const PortView* writing() const { return writing_; }
  // Descriptors of the burst whose packets are done, the one being
  // delivered included (after a fault in the receiver's memory, the sender's
  // ring moves past them so none is delivered twice).
  uint32_t progress() const { return progress_; }
  // After a fault: publishes every queue's completed frames except, when
  // the receiver faulted, the faulting queue's; unlocks; forgets the plan.
  void abandon(bool receiver_faulted);

 private:
  static constexpr uint32_t kMaxEntries = 256;
  static constexpr uint32_t kMaxQueues = 64;
  struct Entry {
    uint16_t queue;  // index into queues_
    uint8_t k;       // the packet
    bool answer;
    RssHash rss;
  };
  struct Queue {
    const PortView* port;
    uint32_t q;
    vf::RxqRuntime* rq;
    vf::AllowanceRuntime* allow;  // locked with the queues when the port polices inbound
    uint32_t sq_prod;
    bool dirty;
    bool observed;  // a flow log or a capture wants its frames
  };
  int queue_index(const PortView& dst, uint32_t q);
  // The receivers' checks for every planned entry, before any copy:
  // destination check, then their groups (in bulk, per run of one receiver).
  void judge_receivers();
  void judge_run(uint32_t first, uint32_t end);
  // The receiver subnet's inbound network ACL over one receiver's run.
  void judge_acl(const PortView& dst, uint32_t first, uint32_t end);
  const ParsedPacket& packet_of(const Entry& e) const { return e.answer ? b_->answer_pkt[e.k] : b_->p[e.k].pkt; }
  void lock_all();
  void unlock_all(int skip_publish);
  // Returns the frame's verdict: -1 delivered, else why not (observe_taps.h).
  int deliver_one(Queue& qu, const Entry& e);
  // The inbound allowance a frame of len bytes exceeds (counted), or -1.
  int within_allowance(Queue& qu, uint32_t len);

  Burst* b_ = nullptr;
  Entry entries_[kMaxEntries];
  uint32_t n_entries_ = 0;
  // Per entry: -1 deliver, else the drop reason / (kExceeded + allowance).
  int16_t verdict_[kMaxEntries];
  static constexpr int16_t kExceeded = 0x100;
  Queue queues_[kMaxQueues];
  uint32_t n_queues_ = 0;
  bool locked_ = false;
  int current_queue_ = -1;
  const PortView* writing_ = nullptr;
  uint32_t progress_ = 0;
  uint32_t rx_full_ = 0;
};

}  // namespace venic::fastpath
