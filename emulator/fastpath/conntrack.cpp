#include "conntrack.h"

#include <netinet/in.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace venic::fastpath {

namespace {

constexpr uint8_t kTcpFin = 0x01, kTcpRst = 0x04;

uint8_t bit(CtDir d) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(d));
}

bool icmp_echo(const ParsedPacket& pkt) {
  if (pkt.l3 == L3::kIpv4) return pkt.icmp_type == 8 || pkt.icmp_type == 0;
  return pkt.icmp_type == 128 || pkt.icmp_type == 129;
}

}  // namespace

bool ct_key(const ParsedPacket& pkt, uint16_t vf, CtDir dir, CtKey& key) {
  if (!pkt.l3_addresses || (pkt.l3 != L3::kIpv4 && pkt.l3 != L3::kIpv6) || pkt.fragment) return false;
  std::memset(&key, 0, sizeof key);
  const bool out = dir == CtDir::kOut;
  if (pkt.l3 == L3::kIpv4) {
    const uint32_t src = htonl(pkt.src_ip4), dst = htonl(pkt.dst_ip4);
    std::memcpy(key.local, out ? &src : &dst, 4);
    std::memcpy(key.remote, out ? &dst : &src, 4);
    key.family = 4;
  } else {
    std::memcpy(key.local, out ? pkt.src_ip6 : pkt.dst_ip6, 16);
    std::memcpy(key.remote, out ? pkt.dst_ip6 : pkt.src_ip6, 16);
    key.family = 6;
  }
  key.proto = pkt.ip_proto;
  if (pkt.l4 == L4::kTcp || pkt.l4 == L4::kUdp) {
    key.local_port = out ? pkt.src_port : pkt.dst_port;
    key.remote_port = out ? pkt.dst_port : pkt.src_port;
  } else if (pkt.l4 == L4::kIcmp && icmp_echo(pkt)) {
    key.local_port = key.remote_port = pkt.icmp_id;  // request and reply share it
  }
  key.vf = vf;
  return true;
}

Conntrack::Conntrack(const std::string& name, uint32_t capacity, uint64_t hz)
    : capacity_(std::max<uint32_t>(capacity, 1)), hz_(hz) {
  rte_hash_parameters hp{};
  hp.name = name.c_str();
  hp.entries = std::max<uint32_t>(capacity_, 8);
  hp.key_len = sizeof(CtKey);
  hp.hash_func = rte_hash_crc;
  hp.socket_id = static_cast<int>(rte_socket_id());
  // Buckets that overflow chain into an extension table, so the table holds
  // `capacity` flows however they hash: "full" means full.
  hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  table_ = rte_hash_create(&hp);
  if (!table_) throw std::runtime_error("conntrack table " + name + ": " + rte_strerror(rte_errno));
  entries_.resize(hp.entries + 1);  // positions are below entries; one spare for safety
}

Conntrack::~Conntrack() {
  rte_hash_free(table_);
}

void Conntrack::update(Entry& e, CtDir dir, uint8_t proto, uint8_t tcp_flags, const vf::ConntrackTimeouts& t,
                       uint64_t now) {
  e.seen |= bit(dir);
  const bool both = e.seen == 3;
  uint32_t seconds;
  if (proto == IPPROTO_TCP) {
    if (tcp_flags & kTcpRst) e.reset = true;
    if (tcp_flags & kTcpFin) e.fin |= bit(dir);
    seconds = e.reset || e.fin == 3 ? kTcpClosing : both ? t.tcp_established : kTcpUnestablished;
  } else if (proto == IPPROTO_UDP) {
    seconds = both ? t.udp_stream : t.udp;
  } else {
    seconds = kOther;
  }
  e.deadline = now + uint64_t{seconds} * hz_;
  if (e.deadline == 0) e.deadline = 1;
}

int32_t Conntrack::find(const CtKey& key) {
  if (last_pos_ >= 0 && std::memcmp(&key, &last_key_, sizeof key) == 0) return last_pos_;
  const int32_t pos = rte_hash_lookup(table_, &key);
  if (pos >= 0) {
    last_key_ = key;
    last_pos_ = pos;
  }
  return pos;
}

bool Conntrack::refresh(const CtKey& key, CtDir dir, uint8_t tcp_flags, const vf::ConntrackTimeouts& t, uint64_t now) {
  lock_.lock();
  const int32_t pos = find(key);
  bool live = false;
  if (pos >= 0) {
    Entry& e = entries_[pos];
    if (e.deadline > now) {
      update(e, dir, key.proto, tcp_flags, t, now);
      live = true;
    } else {
      remove(key, pos);
    }
  }
  lock_.unlock();
  return live;
}

void Conntrack::refresh_bulk(const CtKey* const* keys, const uint8_t* tcp_flags, uint32_t n, CtDir dir,
                             const vf::ConntrackTimeouts& t, uint64_t now, bool* live) {
  int32_t pos[kBulk];
  lock_.lock();
  const void* key_ptrs[kBulk];
  for (uint32_t i = 0; i < n; i++) key_ptrs[i] = keys[i];
  rte_hash_lookup_bulk(table_, key_ptrs, n, pos);
  bool removed = false;  // positions looked up before a removal may be stale
  for (uint32_t i = 0; i < n; i++) {
    const int32_t at = removed ? find(*keys[i]) : pos[i];
    live[i] = false;
    if (at < 0) continue;
    Entry& e = entries_[at];
    if (e.deadline > now) {
      update(e, dir, keys[i]->proto, tcp_flags[i], t, now);
      live[i] = true;
    } else if (e.deadline != 0) {
      remove(*keys[i], at);
      removed = true;
    }
  }
  lock_.unlock();
}

bool Conntrack::add(const CtKey& key, CtDir dir, uint8_t tcp_flags, const vf::ConntrackTimeouts& t, uint64_t now) {
  lock_.lock();
  int32_t pos = find(key);
  if (pos < 0) {
    // Room is made from flows that timed out, a bounded look at a time.
    if (count_ >= capacity_) sweep_locked(now, 256);
    if (count_ < capacity_) {
      pos = rte_hash_add_key(table_, &key);
      if (pos >= 0) {
        entries_[pos] = Entry{};
        __atomic_store_n(&count_, count_ + 1, __ATOMIC_RELAXED);
      }
    }
  }
  if (pos >= 0) update(entries_[pos], dir, key.proto, tcp_flags, t, now);
  lock_.unlock();
  return pos >= 0;
}

void Conntrack::remove(const CtKey& key, int32_t pos) {
  if (pos == last_pos_) last_pos_ = -1;
  rte_hash_del_key(table_, &key);
  entries_[pos].deadline = 0;
  __atomic_store_n(&count_, count_ - 1, __ATOMIC_RELAXED);
}

uint32_t Conntrack::sweep_locked(uint64_t now, uint32_t budget) {
  uint32_t freed = 0;
  const auto n = static_cast<uint32_t>(entries_.size());
  for (uint32_t i = 0; i < std::min(budget, n) && count_; i++) {
    const uint32_t pos = cursor_;
    cursor_ = cursor_ + 1 == n ? 0 : cursor_ + 1;
    Entry& e = entries_[pos];
    if (e.deadline == 0 || e.deadline > now) continue;
    void* k = nullptr;
    if (rte_hash_get_key_with_position(table_, static_cast<int32_t>(pos), &k) != 0) continue;
    CtKey key;
    std::memcpy(&key, k, sizeof key);  // the key store slot is reused by the delete
    remove(key, static_cast<int32_t>(pos));
    freed++;
  }
  return freed;
}

void Conntrack::sweep(uint64_t now, uint32_t budget) {
  lock_.lock();
  sweep_locked(now, budget);
  lock_.unlock();
}

}  // namespace venic::fastpath
