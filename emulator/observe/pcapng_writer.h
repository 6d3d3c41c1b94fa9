// Captured frames into a pcapng file with DPDK's rte_pcapng: the section
// header (rte_pcapng_fdopen), one interface block for the VF (written here:
// DPDK 22.11 describes only ethdev ports, which a VF is not), and an
// enhanced packet block per frame (rte_pcapng_copy), to which we add an
// opt_comment with the verdict ("delivered" or "drop: <reason>"), since
// 22.11's rte_pcapng_copy takes no comment.  Needs EAL (a small mempool).
#pragma once

#include <cstdint>
#include <string>

#include "capture_tap.h"

struct rte_mempool;
struct rte_pcapng;

namespace venic::observe {

class PcapngWriter {
 public:
  // Takes fd (closes it).  Throws std::runtime_error when DPDK refuses.
  PcapngWriter(int fd, const std::string& interface_name);
  ~PcapngWriter();
  PcapngWriter(const PcapngWriter&) = delete;
  PcapngWriter& operator=(const PcapngWriter&) = delete;

  // False when the write failed (the file is then left as it is).
  bool write(const CaptureTap::Frame& f);
  uint64_t written() const { return written_; }

 private:
  rte_pcapng* out_ = nullptr;
  rte_mempool* pool_ = nullptr;
  int fd_;
  uint32_t interface_id_ = 0;
  uint64_t written_ = 0;
};

// "delivered", or "drop: <reason>" (the stats' drop names).
std::string verdict_text(int verdict);

}  // namespace venic::observe
