// The uplink to the other hosts of a VPC (docs/multi-host.md): a DPDK port
// (net_af_packet on an interface: a veth, a real NIC) that carries the
// VPC's frames between venicd hosts, Geneve- or VXLAN-encapsulated
// (tunnel_codec.h).  Every worker sends through its own TX queue; the first
// worker polls every RX queue, answers ARP for this host's underlay address,
// decapsulates, and hands each frame to the fast path's judgement of where
// it comes from (underlay_ingress.h) and then to its receiver.  EFA's SRD
// frames ride the same port (efa_link.h).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "efa_link.h"
#include "tunnel_codec.h"
#include "underlay_ingress.h"
#include "underlay_port.h"

struct rte_mbuf;
struct rte_mempool;

namespace venic::underlay {

struct UplinkOptions {
  std::string iface;         // the interface the DPDK port sits on
  uint32_t underlay_ip = 0;  // this host's underlay address, host order
  Encap encap = Encap::kVxlan;
  unsigned workers = 1;  // TX queues: one per worker
};

class UplinkPort final : public fastpath::UnderlayPort, public efa::EfaLink {
 public:
  // The EAL --vdev argument that makes the port (given to rte_eal_init).
  static std::string eal_vdev(const UplinkOptions& o);
  // After rte_eal_init: configures and starts the port; throws
  // std::runtime_error when it cannot.
  explicit UplinkPort(const UplinkOptions& o);
  ~UplinkPort() override;
  UplinkPort(const UplinkPort&) = delete;
  UplinkPort& operator=(const UplinkPort&) = delete;

  const std::array<uint8_t, 6>& mac() const { return mac_; }
  // The interface's MTU, and the largest inner IP packet it carries.
  uint32_t mtu() const { return mtu_; }
  uint32_t inner_mtu() const { return mtu_ > kOverhead ? mtu_ - kOverhead : 0; }  // IP + UDP + tunnel + inner Ethernet
  // Where SRD frames that passed the checks go (the EFA engine, first
  // worker); set before the workers start.
  void set_srd_receiver(std::function<void(const uint8_t*, uint32_t)> f) { srd_receiver_ = std::move(f); }

  bool offer(uint16_t vf, const fastpath::RemoteView& to, const uint8_t* frame, uint32_t len) override;
  void flush() override;
  void attach_worker(unsigned index) override;
  uint32_t poll(const fastpath::Snapshot& snap) override;
  // EFA (first worker, after poll() in the same loop).
  bool send(const uint8_t* frame, uint32_t len) override;

  // Counters, for venicctl and the metrics (any thread, relaxed).
  nlohmann::json stats_json() const;

 private:
  struct alignas(64) TxQueue {
    rte_mbuf* pending[32];
    uint16_t n = 0;
    uint64_t frames = 0, bytes = 0, full = 0, too_big = 0;
  };
  // Wraps inner for the host at dst_ip/dst_mac into a new mbuf, queued on
  // the calling worker's TX queue.
  bool queue(uint32_t vni, uint32_t dst_ip, const std::array<uint8_t, 6>& dst_mac, const uint8_t* inner, uint32_t len);
  void flush_queue(TxQueue& q);
  // An outer frame: ARP for our address, or a tunnelled frame.
  void receive(const fastpath::Snapshot& snap, rte_mbuf* m);
  bool answer_arp(const uint8_t* frame, uint32_t len);

  UplinkOptions o_;
  uint16_t port_ = 0;
  uint16_t rx_queues_ = 0;
  rte_mempool* pool_ = nullptr;
  std::array<uint8_t, 6> mac_{};
  uint32_t mtu_ = 1500;
  std::unique_ptr<TxQueue[]> txq_;
  std::function<void(const uint8_t*, uint32_t)> srd_receiver_;
  const fastpath::Snapshot* snap_ = nullptr;  // poll()'s, for send() in the same loop
  // First worker only (read relaxed by others).
  uint64_t rx_frames_ = 0, rx_bytes_ = 0, rx_not_tunnel_ = 0, arp_answers_ = 0, delivered_ = 0, undelivered_ = 0,
           srd_frames_ = 0;
  uint64_t drops_[static_cast<int>(fastpath::UnderlayDrop::kCount)] = {};
};

}  // namespace venic::underlay
