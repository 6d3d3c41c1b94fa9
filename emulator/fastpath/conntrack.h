// Connection tracking for security groups: the flows an instance's ENIs
// opened or accepted, each with EC2's idle timeout.  One table per instance
// (its ENIs share the instance's conntrack allowance), found by an rte_hash of
// the flow as the ENI sees it, so a reply finds the entry its request made.
// Every worker that sends from or delivers to one of the instance's VFs uses
// the table, under its lock (held for one lookup or insert).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "packet_parser.h"
#include "security_policy.h"
#include "vf.h"

struct rte_hash;

namespace venic::fastpath {

// A flow from one ENI's side: local is the ENI's address.
struct CtKey {
  uint8_t local[16];  // IPv4 in the first four bytes
  uint8_t remote[16];
  uint16_t local_port;  // ICMP echo: the identifier, in both ports
  uint16_t remote_port;
  uint16_t vf;
  uint8_t proto;
  uint8_t family;
};
static_assert(sizeof(CtKey) == 40);

// Which way a packet crosses the ENI.
enum class CtDir : uint8_t { kOut = 0, kIn = 1 };

// The flow of a parsed IPv4/IPv6 packet as VF vf sees it; false for other
// frames and for IPv4 fragments after the first (they carry no ports).
bool ct_key(const ParsedPacket& pkt, uint16_t vf, CtDir dir, CtKey& key);

class Conntrack {
 public:
  // Timeouts venic chooses where EC2 publishes none (seconds).
  static constexpr uint32_t kTcpUnestablished = 60;  // seen one way only
  static constexpr uint32_t kTcpClosing = 10;        // after RST, or FIN both ways
  static constexpr uint32_t kOther = 60;             // ICMP and other protocols

  // capacity: flows tracked at most; hz: ticks per second of `now`.
  // Throws std::runtime_error when EAL memory runs out.
  Conntrack(const std::string& name, uint32_t capacity, uint64_t hz);
  ~Conntrack();
  Conntrack(const Conntrack&) = delete;
  Conntrack& operator=(const Conntrack&) = delete;

  // The packet belongs to a tracked, live flow: refresh it, true.
  bool refresh(const CtKey& key, CtDir dir, uint8_t tcp_flags, const vf::ConntrackTimeouts& t, uint64_t now);
  // refresh() for up to kBulk keys of one direction under one lock and one
  // bulk hash lookup; live[i] tells which were tracked and live.
  static constexpr uint32_t kBulk = 64;
  void refresh_bulk(const CtKey* const* keys, const uint8_t* tcp_flags, uint32_t n, CtDir dir,
                    const vf::ConntrackTimeouts& t, uint64_t now, bool* live);
  // Starts tracking a flow the rules allowed; false when the table is full
  // of live flows (conntrack_allowance_exceeded).
  bool add(const CtKey& key, CtDir dir, uint8_t tcp_flags, const vf::ConntrackTimeouts& t, uint64_t now);
  // Forgets up to `budget` positions' worth of idle flows; the control thread
  // calls it now and then so that expired flows do not hold the table full.
  void sweep(uint64_t now, uint32_t budget);

  uint32_t size() const { return __atomic_load_n(&count_, __ATOMIC_RELAXED); }
  uint32_t capacity() const { return capacity_; }

 private:
  struct Entry {
    uint64_t deadline = 0;  // ticks; 0: the slot is free
    uint8_t seen = 0;       // bit per CtDir
    uint8_t fin = 0;        // bit per CtDir: a FIN went that way
    bool reset = false;     // an RST went either way
  };
  void update(Entry& e, CtDir dir, uint8_t proto, uint8_t tcp_flags, const vf::ConntrackTimeouts& t, uint64_t now);
  void remove(const CtKey& key, int32_t pos);
  int32_t find(const CtKey& key);
  uint32_t sweep_locked(uint64_t now, uint32_t budget);

  vf::SpinLock lock_;
  rte_hash* table_ = nullptr;
  std::vector<Entry> entries_;  // by rte_hash key position
  uint32_t capacity_;
  uint64_t hz_;
  uint32_t count_ = 0;
  uint32_t cursor_ = 0;  // where the next sweep starts
  // Bursts are mostly one flow: the last key found and its position (under
  // lock_; -1 when none) spare the hash lookup.
  CtKey last_key_{};
  int32_t last_pos_ = -1;
};

}  // namespace venic::fastpath
