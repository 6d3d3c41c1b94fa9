#include "pcapng_writer.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pcapng.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "venic_abi.h"

namespace venic::observe {

namespace {

// pcapng block and option codes (the pcapng specification).
constexpr uint32_t kInterfaceBlock = 0x00000001;
constexpr uint16_t kOptEnd = 0, kOptComment = 1, kIfName = 2, kIfTsresol = 9;
constexpr uint32_t kMaxComment = 64;

uint32_t pad4(uint32_t n) {
  return (n + 3) & ~3u;
}

void put_option(std::vector<uint8_t>& b, uint16_t code, const void* v, uint16_t len) {
  const size_t at = b.size();
  b.resize(at + 4 + pad4(len), 0);
  std::memcpy(&b[at], &code, 2);
  std::memcpy(&b[at + 2], &len, 2);
  if (len) std::memcpy(&b[at + 4], v, len);
}

// An Ethernet interface with nanosecond timestamps (rte_pcapng's).
bool write_interface_block(int fd, const std::string& name) {
  std::vector<uint8_t> b(16, 0);  // type, length, link type + reserved, snaplen
  const uint32_t type = kInterfaceBlock;
  const uint16_t link = 1;  // LINKTYPE_ETHERNET
  std::memcpy(&b[0], &type, 4);
  std::memcpy(&b[8], &link, 2);
  const uint8_t tsresol = 9;
  put_option(b, kIfTsresol, &tsresol, 1);
  put_option(b, kIfName, name.data(), static_cast<uint16_t>(std::min<size_t>(name.size(), 64)));
  put_option(b, kOptEnd, nullptr, 0);
  const uint32_t total = static_cast<uint32_t>(b.size() + 4);
  b.resize(total);
  std::memcpy(&b[4], &total, 4);
  std::memcpy(&b[total - 4], &total, 4);
  return ::write(fd, b.data(), b.size()) == static_cast<ssize_t>(b.size());
}

}  // namespace

std::string verdict_text(int verdict) {
  static constexpr const char* kAllowances[] = {"bw_in", "bw_out", "pps", "conntrack", "linklocal", "flow"};
  if (verdict < 0) return "delivered";
  // The fast path's verdict for an allowance that dropped it (fastpath/observe_taps.h).
  if (verdict >= 0x100 && verdict - 0x100 < static_cast<int>(std::size(kAllowances)))
    return std::string("drop: ") + kAllowances[verdict - 0x100] + "_allowance_exceeded";
  if (verdict < VENIC_DROP_REASONS_USED) return std::string("drop: ") + venic_drop_name(verdict);
  return "drop: reason " + std::to_string(verdict);
}

PcapngWriter::PcapngWriter(int fd, const std::string& interface_name) : fd_(fd) {
  static std::atomic<unsigned> serial{0};
  const std::string pool_name = "venic_cap" + std::to_string(serial++);
  // Room for the frame, rte_pcapng's header and trailer, and our comment.
  const uint32_t room = rte_pcapng_mbuf_size(CaptureTap::kSnapLen) + 4 + pad4(kMaxComment) + 8;
  pool_ = rte_pktmbuf_pool_create(pool_name.c_str(), 63, 0, 0, static_cast<uint16_t>(room + RTE_PKTMBUF_HEADROOM),
                                  SOCKET_ID_ANY);
  if (!pool_) {
    ::close(fd);
    throw std::runtime_error(std::string("capture: no mbuf pool: ") + rte_strerror(rte_errno));
  }
  out_ = rte_pcapng_fdopen(fd, nullptr, nullptr, "venicd", nullptr);
  if (!out_) {
    rte_mempool_free(pool_);
    ::close(fd);
    throw std::runtime_error(std::string("capture: cannot start the pcapng file: ") + rte_strerror(rte_errno));
  }
  // rte_pcapng_fdopen described the ethdev ports (0..n-1); the VF is next.
  interface_id_ = rte_eth_dev_count_avail();
  if (!write_interface_block(fd, interface_name)) {
    rte_pcapng_close(out_);
    rte_mempool_free(pool_);
    throw std::runtime_error("capture: cannot write to the file");
  }
}

PcapngWriter::~PcapngWriter() {
  rte_pcapng_close(out_);  // closes fd
  rte_mempool_free(pool_);
}

bool PcapngWriter::write(const CaptureTap::Frame& f) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return false;
  char* d = rte_pktmbuf_append(m, static_cast<uint16_t>(f.len));
  if (!d) {
    rte_pktmbuf_free(m);
    return false;
  }
  std::memcpy(d, f.data, f.len);
  const auto dir = f.dir == CaptureDirection::kIn ? RTE_PCAPNG_DIRECTION_IN : RTE_PCAPNG_DIRECTION_OUT;
  rte_mbuf* pc = rte_pcapng_copy(0, 0, m, pool_, f.len, f.tsc, dir);
  rte_pktmbuf_free(m);
  if (!pc) return false;
  // The frame's length as the VF saw it (we copied at most the snap length).
  uint8_t* block = rte_pktmbuf_mtod(pc, uint8_t*);
  const uint32_t orig = f.orig_len;
  std::memcpy(block + 24, &orig, 4);
  // Replace the trailing block length with opt_comment, opt_endofopt and the
  // new block length; then fix the header's length and the interface id.
  const std::string comment = verdict_text(f.verdict).substr(0, kMaxComment);
  rte_pktmbuf_trim(pc, 4);
  const uint32_t extra = 4 + pad4(static_cast<uint32_t>(comment.size())) + 4 + 4;
  uint8_t* t = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(pc, static_cast<uint16_t>(extra)));
  if (!t) {
    rte_pktmbuf_free(pc);
    return false;
  }
  std::memset(t, 0, extra);
  const uint16_t code = kOptComment, clen = static_cast<uint16_t>(comment.size());
  std::memcpy(t, &code, 2);
  std::memcpy(t + 2, &clen, 2);
  std::memcpy(t + 4, comment.data(), comment.size());
  const uint32_t total = rte_pktmbuf_data_len(pc);
  std::memcpy(block + 4, &total, 4);
  std::memcpy(block + 8, &interface_id_, 4);
  std::memcpy(block + total - 4, &total, 4);
  // Written here rather than by rte_pcapng_write_packets, which would map
  // the mbuf's port to an ethdev interface the VF does not have.
  const bool ok = ::write(fd_, block, total) == static_cast<ssize_t>(total);
  rte_pktmbuf_free(pc);
  written_ += ok;
  return ok;
}

}  // namespace venic::observe
