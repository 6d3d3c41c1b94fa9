#include "uplink_port.h"

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <span>
#include <stdexcept>

#include "vf.h"
#include "worker.h"

namespace venic::underlay {

namespace {

using vf::counter_add;
using vf::counter_read;

constexpr char kPortName[] = "net_af_packet_venic";
// The largest outer frame: a 9001-byte inner packet needs 9065.  The
// PMD's ring frames (framesz) must fit an mbuf, less its own header.
constexpr uint32_t kFrameRoom = 10240;
constexpr uint16_t kRingSize = 512;
constexpr uint16_t kRxBurst = 32;

thread_local int t_queue = -1;  // the calling worker's TX queue

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

}  // namespace

std::string UplinkPort::eal_vdev(const UplinkOptions& o) {
  // One socket per worker's TX queue; ring frames of 10 KiB (jumbo inner
  // frames plus the tunnel's 50 bytes).
  return std::string(kPortName) + ",iface=" + o.iface + ",qpairs=" + std::to_string(o.workers) +
         ",blocksz=20480,framesz=" + std::to_string(kFrameRoom) + ",framecnt=512,qdisc_bypass=1";
}

UplinkPort::UplinkPort(const UplinkOptions& o) : o_(o), txq_(new TxQueue[o.workers]) {
  if (rte_eth_dev_get_port_by_name(kPortName, &port_) != 0)
    throw std::runtime_error("uplink: no DPDK port on " + o.iface + " (is the interface there?)");
  pool_ = rte_pktmbuf_pool_create("venic_uplink", 2048 * o.workers - 1, 64, 0, RTE_PKTMBUF_HEADROOM + kFrameRoom,
                                  static_cast<int>(rte_socket_id()));
  if (!pool_) throw std::runtime_error("uplink: cannot make its mbuf pool");
  rte_eth_conf conf{};
  rx_queues_ = static_cast<uint16_t>(o.workers);
  const uint16_t txq = static_cast<uint16_t>(o.workers);
  if (rte_eth_dev_configure(port_, rx_queues_, txq, &conf) != 0) throw std::runtime_error("uplink: configure failed");
  const int socket = rte_eth_dev_socket_id(port_);
  for (uint16_t q = 0; q < rx_queues_; q++)
    if (rte_eth_rx_queue_setup(port_, q, kRingSize, socket, nullptr, pool_) != 0)
      throw std::runtime_error("uplink: RX queue setup failed");
  for (uint16_t q = 0; q < txq; q++)
    if (rte_eth_tx_queue_setup(port_, q, kRingSize, socket, nullptr) != 0)
      throw std::runtime_error("uplink: TX queue setup failed");
  if (rte_eth_dev_start(port_) != 0) throw std::runtime_error("uplink: cannot start the port on " + o.iface);
  rte_ether_addr a;
  rte_eth_macaddr_get(port_, &a);
  std::memcpy(mac_.data(), a.addr_bytes, 6);
  // The interface's MTU is the underlay's: the kernel refuses larger
  // frames on it (the port's own MTU stays DPDK's default).
  std::ifstream sys("/sys/class/net/" + o.iface + "/mtu");
  uint32_t mtu = 0;
  if (sys >> mtu && mtu >= 1280) mtu_ = std::min(mtu, kFrameRoom - 64);
}

UplinkPort::~UplinkPort() {
  rte_eth_dev_stop(port_);
  rte_eth_dev_close(port_);
  for (unsigned i = 0; i < o_.workers; i++)
    for (uint16_t k = 0; k < txq_[i].n; k++) rte_pktmbuf_free(txq_[i].pending[k]);
  rte_mempool_free(pool_);
}

void UplinkPort::attach_worker(unsigned index) {
  t_queue = index < o_.workers ? static_cast<int>(index) : -1;
}

bool UplinkPort::queue(uint32_t vni, uint32_t dst_ip, const std::array<uint8_t, 6>& dst_mac, const uint8_t* inner,
                       uint32_t len) {
  if (t_queue < 0) return false;
  TxQueue& q = txq_[t_queue];
  if (len + kOverhead > mtu_ + 14 || len + kOverhead > kFrameRoom) {
    counter_add(q.too_big, 1);  // the underlay cannot carry it (and must not fragment)
    return true;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) {
    counter_add(q.full, 1);
    return false;
  }
  Underlay u;
  u.src_mac = mac_;
  u.dst_mac = dst_mac;
  u.src_ip = o_.underlay_ip;
  u.dst_ip = dst_ip;
  auto* out = rte_pktmbuf_mtod(m, uint8_t*);
  const size_t n = encapsulate(o_.encap, u, vni, {inner, len}, {out, rte_pktmbuf_tailroom(m)});
  if (!n) {
    rte_pktmbuf_free(m);
    counter_add(q.too_big, 1);
    return true;
  }
  m->data_len = static_cast<uint16_t>(n);
  m->pkt_len = static_cast<uint32_t>(n);
  q.pending[q.n++] = m;
  if (q.n == std::size(q.pending)) flush_queue(q);
  return true;
}

void UplinkPort::flush_queue(TxQueue& q) {
  if (!q.n) return;
  const uint16_t sent = rte_eth_tx_burst(port_, static_cast<uint16_t>(&q - txq_.get()), q.pending, q.n);
  for (uint16_t k = sent; k < q.n; k++) rte_pktmbuf_free(q.pending[k]);
  counter_add(q.frames, sent);
  if (sent < q.n) counter_add(q.full, q.n - sent);
  q.n = 0;
}

bool UplinkPort::offer(uint16_t, const fastpath::RemoteView& to, const uint8_t* frame, uint32_t len) {
  if (t_queue >= 0) counter_add(txq_[t_queue].bytes, len);
  return queue(to.vni, to.host_ip, to.host_mac, frame, len);
}

void UplinkPort::flush() {
  if (t_queue >= 0) flush_queue(txq_[t_queue]);
}

bool UplinkPort::send(const uint8_t* frame, uint32_t len) {
  // The remote ENI by its MAC, in the snapshot poll() saw this loop.
  const fastpath::PortView* to = snap_ && len >= 14 ? snap_->lookup_remote_mac(0, frame) : nullptr;
  if (!to) return false;
  return queue(to->remote->vni, to->remote->host_ip, to->remote->host_mac, frame, len);
}

bool UplinkPort::answer_arp(const uint8_t* f, uint32_t len) {
  // A request for this host's underlay address: answered with our MAC.
  if (len < 42 || be16(f + 12) != 0x0806 || be16(f + 14) != 1 || be16(f + 16) != 0x0800 || f[18] != 6 || f[19] != 4 ||
      be16(f + 20) != 1 || be32(f + 38) != o_.underlay_ip)
    return false;
  if (t_queue < 0) return true;
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return true;
  uint8_t* r = rte_pktmbuf_mtod(m, uint8_t*);
  std::memset(r, 0, 60);
  std::memcpy(r, f + 6, 6);
  std::memcpy(r + 6, mac_.data(), 6);
  r[12] = 0x08;
  r[13] = 0x06;
  std::memcpy(r + 14, f + 14, 6);  // htype, ptype, hlen, plen
  r[20] = 0;
  r[21] = 2;  // reply
  std::memcpy(r + 22, mac_.data(), 6);
  std::memcpy(r + 28, f + 38, 4);
  std::memcpy(r + 32, f + 22, 10);  // the requester's MAC and address
  m->data_len = m->pkt_len = 60;
  TxQueue& q = txq_[t_queue];
  q.pending[q.n++] = m;
  if (q.n == std::size(q.pending)) flush_queue(q);
  counter_add(arp_answers_, 1);
  return true;
}

void UplinkPort::receive(const fastpath::Snapshot& snap, rte_mbuf* m) {
  const auto* f = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = m->data_len;
  counter_add(rx_frames_, 1);
  counter_add(rx_bytes_, len);
  if (m->nb_segs != 1 || answer_arp(f, len)) return;
  auto d = decapsulate(o_.encap, {f, len}, nullptr, UdpChecksum::kTrust);
  if (!d || d->outer_dst != o_.underlay_ip) {
    counter_add(rx_not_tunnel_, 1);
    return;
  }
  uint8_t answer[fastpath::kAnswerMax];
  const auto a = fastpath::underlay_arrival(snap, d->vni, d->outer_src, d->inner.data(),
                                            static_cast<uint32_t>(d->inner.size()), answer);
  using Kind = fastpath::UnderlayArrival::Kind;
  switch (a.kind) {
    case Kind::kDeliver:
      if (fastpath::deliver_from_underlay(*a.dst, a.from, d->inner.data(), static_cast<uint32_t>(d->inner.size())))
        counter_add(delivered_, 1);
      else
        counter_add(undelivered_, 1);
      break;
    case Kind::kAnswer: {
      std::array<uint8_t, 6> back;
      std::memcpy(back.data(), f + 6, 6);  // whoever asked, where it asked from
      queue(d->vni, d->outer_src, back, answer, a.answer_len);
      break;
    }
    case Kind::kSrd:
      counter_add(srd_frames_, 1);
      if (srd_receiver_)
        srd_receiver_(d->inner.data(), static_cast<uint32_t>(d->inner.size()));
      else
        counter_add(undelivered_, 1);
      break;
    case Kind::kDrop:
      counter_add(drops_[static_cast<int>(a.drop)], 1);
      break;
  }
}

uint32_t UplinkPort::poll(const fastpath::Snapshot& snap) {
  snap_ = &snap;
  uint32_t work = 0;
  rte_mbuf* rx[kRxBurst];
  for (uint16_t q = 0; q < rx_queues_; q++) {
    const uint16_t n = rte_eth_rx_burst(port_, q, rx, kRxBurst);
    for (uint16_t i = 0; i < n; i++) {
      receive(snap, rx[i]);
      rte_pktmbuf_free(rx[i]);
    }
    work += n;
  }
  flush();  // ARP and answers, and what EFA sent last loop
  return work;
}

nlohmann::json UplinkPort::stats_json() const {
  uint64_t tx = 0, tx_bytes = 0, full = 0, too_big = 0;
  for (unsigned i = 0; i < o_.workers; i++) {
    tx += counter_read(txq_[i].frames);
    tx_bytes += counter_read(txq_[i].bytes);
    full += counter_read(txq_[i].full);
    too_big += counter_read(txq_[i].too_big);
  }
  // What the port itself lost: its kernel ring full (missed), errors.
  rte_eth_stats st{};
  rte_eth_stats_get(port_, &st);
  nlohmann::json drops = nlohmann::json::object();
  for (int d = 0; d < static_cast<int>(fastpath::UnderlayDrop::kCount); d++)
    drops[fastpath::underlay_drop_name(static_cast<fastpath::UnderlayDrop>(d))] = counter_read(drops_[d]);
  return {{"iface", o_.iface},
          {"encap", o_.encap == Encap::kVxlan ? "vxlan" : "geneve"},
          {"mtu", mtu_},
          {"inner_mtu", inner_mtu()},
          {"tx_frames", tx},
          {"tx_bytes", tx_bytes},
          {"tx_full", full},
          {"tx_too_big", too_big},
          {"rx_frames", counter_read(rx_frames_)},
          {"rx_bytes", counter_read(rx_bytes_)},
          {"rx_not_tunnel", counter_read(rx_not_tunnel_)},
          {"arp_answers", counter_read(arp_answers_)},
          {"delivered", counter_read(delivered_)},
          {"undelivered", counter_read(undelivered_)},
          {"srd_frames", counter_read(srd_frames_)},
          {"rx_missed", st.imissed},
          {"rx_errors", st.ierrors},
          {"rx_nombuf", st.rx_nombuf},
          {"tx_errors", st.oerrors},
          {"drops", drops}};
}

}  // namespace venic::underlay
