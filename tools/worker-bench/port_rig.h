// An in-process rig for the fast path: a real VF table (and, for ENIs, the
// EC2 model), the real snapshot, and a driver for each VF that is nothing but
// ring indices over frames written once.  The worker bench (worker_bench.cpp)
// and the pipeline tests drive process_tx_burst with it, on one thread, with
// no daemon, no sockets and no scheduler in the way.  Needs EAL (the snapshot
// and conntrack use rte_hash): call init_eal() first.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "conntrack.h"
#include "ec2_service.h"
#include "snapshot.h"
#include "vf_table.h"

struct vena_txq;
struct vena_rxq;

namespace venic::bench {

// EAL in memory without hugepages, one lcore; false when it cannot start.
bool init_eal(const char* prog);

class PortRig : public vf::Publisher {
 public:
  PortRig();
  ~PortRig() override;

  vf::VfTable& table() { return table_; }
  model::Ec2Service& ec2() { return *ec2_; }
  // An EC2 action as root; throws on error.
  nlohmann::json ec2(const std::string& action, const nlohmann::json& params);

  // Attaches VF id and starts one queue pair, as a driver would through its
  // admin queue; every RX buffer is posted.
  void start(uint16_t id);
  // The frames VF id sends, round robin, from now on.
  void set_frames(uint16_t id, std::vector<std::vector<uint8_t>> frames);
  // The driver writes and publishes up to n more of them (copy mode, as
  // vena_txq_send_copy does), as many as the TX ring has room for.
  // Returns the frames published.
  uint32_t send(uint16_t id, uint32_t n);
  // The receiver takes every completion and posts its buffers again;
  // returns the frames (not descriptors) it took.
  uint32_t drain_rx(uint16_t id);
  // The next received frame's bytes (copied out), or empty when none.
  std::vector<uint8_t> recv(uint16_t id);

  // Frames in VF id's TX ring the worker has not taken yet.
  uint32_t tx_pending(uint16_t id);

  const fastpath::Snapshot& snapshot() const { return *snap_; }
  const fastpath::PortView& port(uint16_t id) const;
  // Moves one burst of VF id's queue 0, as its worker would.
  uint32_t burst(uint16_t id);

  // Publisher: rebuilds the snapshot at once (there is no other thread).
  void publish(const vf::VfTable& table) override;

 private:
  struct Driver;
  vf::VfTable table_;
  std::unique_ptr<model::Ec2Service> ec2_;
  std::unique_ptr<fastpath::Snapshot> snap_;
  std::map<uint16_t, std::shared_ptr<fastpath::Conntrack>> ct_;
  std::map<uint16_t, std::unique_ptr<Driver>> drivers_;
  uint64_t generation_ = 0;
  uint64_t next_session_ = 1;
};

}  // namespace venic::bench
