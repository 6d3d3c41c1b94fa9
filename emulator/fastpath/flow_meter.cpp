#include "flow_meter.h"

#include <netinet/in.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace venic::fastpath {

namespace {
// A flow silent this long starts over with a full bucket when it returns.
constexpr uint64_t kIdleSeconds = 2;
}  // namespace

bool flow_key(const ParsedPacket& pkt, uint16_t vf, FlowKey& key) {
  if (!pkt.l3_addresses || (pkt.l3 != L3::kIpv4 && pkt.l3 != L3::kIpv6)) return false;
  std::memset(&key, 0, sizeof key);
  if (pkt.l3 == L3::kIpv4) {
    std::memcpy(key.src, &pkt.src_ip4, 4);
    std::memcpy(key.dst, &pkt.dst_ip4, 4);
    key.family = 4;
  } else {
    std::memcpy(key.src, pkt.src_ip6, 16);
    std::memcpy(key.dst, pkt.dst_ip6, 16);
    key.family = 6;
  }
  switch (pkt.l4) {
    case L4::kTcp:
      key.proto = IPPROTO_TCP;
      break;
    case L4::kUdp:
      key.proto = IPPROTO_UDP;
      break;
    case L4::kIcmp:
      key.proto = static_cast<uint8_t>(pkt.l3 == L3::kIpv4 ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6});
      break;
    default:
      key.proto = 0;
  }
  if (pkt.l4 == L4::kTcp || pkt.l4 == L4::kUdp) {
    key.src_port = pkt.src_port;
    key.dst_port = pkt.dst_port;
  }
  key.vf = vf;
  return true;
}

FlowMeter::FlowMeter(unsigned worker, uint64_t hz) : entries_(kCapacity), idle_ticks_(kIdleSeconds * hz) {
  std::string name = "venic_flows_" + std::to_string(worker);
  rte_hash_parameters hp{};
  hp.name = name.c_str();
  hp.entries = kCapacity;
  hp.key_len = sizeof(FlowKey);
  hp.hash_func = rte_hash_crc;
  hp.socket_id = static_cast<int>(rte_socket_id());
  table_ = rte_hash_create(&hp);
  if (!table_)
    throw std::runtime_error("rte_hash_create failed for the flow table of worker " + std::to_string(worker));
}

FlowMeter::~FlowMeter() {
  rte_hash_free(table_);
}

uint32_t FlowMeter::flows() const {
  return static_cast<uint32_t>(rte_hash_count(table_));
}

void FlowMeter::expire(uint64_t now) {
  std::vector<FlowKey> stale;
  const void* key;
  void* data;
  uint32_t it = 0;
  int32_t pos;
  while ((pos = rte_hash_iterate(table_, &key, &data, &it)) >= 0)
    if (now - entries_[pos].last_seen > idle_ticks_) stale.push_back(*static_cast<const FlowKey*>(key));
  for (const FlowKey& k : stale) rte_hash_del_key(table_, &k);
  last_pos_ = -1;  // a freed position may now hold another flow
}

int32_t FlowMeter::find_or_add(const FlowKey& key, uint64_t now) {
  int32_t pos = rte_hash_lookup(table_, &key);
  if (pos >= 0) return pos;
  pos = rte_hash_add_key(table_, &key);
  if (pos == -ENOSPC && now >= next_sweep_) {
    // Full: forget idle flows, at most every ~100 ms so a table full of live
    // flows does not cost a sweep per packet.
    next_sweep_ = now + idle_ticks_ / (kIdleSeconds * 10);
    expire(now);
    pos = rte_hash_add_key(table_, &key);
  }
  if (pos >= 0) entries_[pos] = Entry{};
  return pos;
}

bool FlowMeter::gate_passes(vf::FlowGate& gate, const vf::BucketProfile& cap, uint64_t now, uint32_t bytes) {
  gate.bucket.refill(cap, now);
  if (gate.metering && gate.bucket.half_full(cap)) gate.metering = false;
  if (!gate.metering) {
    if (gate.bucket.take(cap, bytes)) return true;
    gate.metering = true;
    gate.epoch++;
  } else {
    gate.bucket.take_up_to(cap, bytes);
  }
  return false;
}

bool FlowMeter::conform_flow(const FlowKey& key, uint32_t epoch, const vf::BucketProfile& cap, uint64_t now,
                             uint32_t bytes) {
  int32_t pos = last_pos_;
  if (pos < 0 || std::memcmp(&key, &last_key_, sizeof key) != 0) {
    pos = find_or_add(key, now);
    if (pos < 0) return true;  // no room even after a sweep: the VF's own allowances still hold
    last_key_ = key;
    last_pos_ = pos;
  }
  Entry& e = entries_[pos];
  if (e.epoch != epoch) {
    // What the flow sent unmetered came out of the gate: no fresh burst now.
    e.epoch = epoch;
    e.bucket.drain(now);
  }
  e.last_seen = now;
  e.bucket.refill(cap, now);
  return e.bucket.take(cap, bytes);
}

}  // namespace venic::fastpath
