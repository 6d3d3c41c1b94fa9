// A NAT gateway's translation table: many private (address, port) pairs
// behind one public address.  Each flow (protocol, sending ENI, private
// source, remote destination) gets a public port (an ICMP query its id)
// unique for that remote (address, port), as EC2's NAT gateway allows about
// 55,000 flows to each destination; replies find the flow by (protocol,
// public port, remote).  Bounded: entries at most, and per sending ENI at
// most, so one tenant cannot take the table from the others; idle flows
// expire (EC2: 350 s).  Gateway thread only; times in seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

namespace venic::gateways {

class NatTable {
 public:
  struct Options {
    uint32_t max_entries = 16384;
    uint32_t per_source_max = 4096;  // flows of one ENI (VF) at most
    int64_t tcp_idle_s = 350, udp_idle_s = 350, icmp_idle_s = 60;
    uint16_t port_lo = 1024, port_hi = 65535;
  };
  enum class Verdict { kOk, kTableFull, kSourceFull, kNoPort };
  struct Private {
    uint16_t vf;
    uint32_t ip;
    uint16_t port;
  };

  explicit NatTable(Options o) : opt_(o) {}

  // The public port for a flow leaving the VPC (an existing flow keeps its
  // port and is refreshed).  ICMP: sport is the query id, dport 0.
  Verdict outbound(uint8_t proto, uint16_t vf, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, int64_t now,
                   uint16_t* public_port);
  // Who a reply from (remote, rport) to public_port goes to; refreshes the flow.
  std::optional<Private> inbound(uint8_t proto, uint32_t remote, uint16_t rport, uint16_t public_port, int64_t now);
  // Forgets flows idle past their protocol's timeout; returns how many.
  size_t expire(int64_t now);

  size_t size() const { return flows_.size(); }
  uint32_t of_source(uint16_t vf) const {
    auto it = per_vf_.find(vf);
    return it == per_vf_.end() ? 0 : it->second;
  }

 private:
  struct Key {
    uint8_t proto;
    uint16_t vf;
    uint32_t src;
    uint16_t sport;
    uint32_t dst;
    uint16_t dport;
    bool operator==(const Key&) const = default;
  };
  struct Reply {
    uint8_t proto;
    uint16_t public_port;
    uint32_t remote;
    uint16_t rport;
    bool operator==(const Reply&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct ReplyHash {
    size_t operator()(const Reply& r) const;
  };
  struct Flow {
    uint16_t public_port;
    int64_t last;
  };
  int64_t idle_limit(uint8_t proto) const;
  void erase(std::unordered_map<Key, Flow, KeyHash>::iterator it);

  Options opt_;
  std::unordered_map<Key, Flow, KeyHash> flows_;
  std::unordered_map<Reply, Key, ReplyHash> replies_;
  std::unordered_map<uint16_t, uint32_t> per_vf_;
  uint32_t cursor_ = 0;  // where the next port search starts
};

}  // namespace venic::gateways
