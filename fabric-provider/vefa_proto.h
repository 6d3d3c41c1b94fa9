// SPDX-License-Identifier: MIT
//
// The vefa RDM wire protocol: what one provider instance puts in a SEND's
// payload for its peer.  Every packet starts with PktBase; the device gives
// us the sender's VF (src_ah) and QP number (src_qpn), so the header only
// carries what the device does not know.  No libfabric dependency.
#ifndef VEFA_PROTO_H
#define VEFA_PROTO_H

#include <cstddef>
#include <cstdint>

namespace vefa {

enum class PktType : uint8_t {
  kEager = 1,       // a whole message in one packet
  kMedium = 2,      // one segment of a message of several packets
  kRts = 3,         // long message: "read it from my registered buffer"
  kEor = 4,         // receiver to sender: the reads of an RTS are done
  kAtomicReq = 5,   // emulated atomic, applied by the target's progress
  kAtomicResp = 6,  // its reply (status and fetched values)
};

// PktBase.flags
inline constexpr uint8_t kPktTagged = 1u << 0;
inline constexpr uint8_t kPktCqData = 1u << 1;

inline constexpr uint16_t kProtoVersion = 1;

struct PktBase {
  uint8_t type;  // PktType
  uint8_t flags;
  uint16_t version;  // kProtoVersion: a mismatch is dropped, not misparsed
  uint32_t conn_id;  // the sender endpoint's incarnation (stale-peer detection)
  uint32_t qkey;     // the sender QP's qkey, so a receiver can answer an unknown peer
  uint32_t reserved;
};
static_assert(sizeof(PktBase) == 16);

// Eager and medium packets: the message's matching information is in every
// segment, so whichever arrives first can start the match.
struct MsgHdr {
  PktBase base;
  uint32_t seq;       // per (sender, receiver) message sequence
  uint32_t seg_size;  // payload bytes of every segment but the last
  uint64_t tag;
  uint64_t cq_data;
  uint64_t total_len;  // the message's length
  uint64_t offset;     // this segment's place in it
};
static_assert(sizeof(MsgHdr) == 56);

struct RtsHdr {
  MsgHdr msg;       // total_len, tag, seq as for the other data packets; offset 0
  uint64_t src_va;  // the sender's buffer (FI_MR_VIRT_ADDR-style), one region
  uint64_t tx_id;   // echoed in the EOR
  uint32_t rkey;
  uint32_t reserved;
};
static_assert(sizeof(RtsHdr) == 80);

struct EorHdr {
  PktBase base;
  uint64_t tx_id;
  uint64_t bytes;  // how much the receiver read (less than total when truncated)
};

struct AtomicReqHdr {
  PktBase base;
  uint64_t req_id;
  uint64_t addr;     // target VA
  uint64_t key;      // target rkey, checked against its registrations
  uint8_t op;        // enum fi_op value
  uint8_t datatype;  // enum fi_datatype value
  uint8_t fetch;     // reply carries the old values
  uint8_t has_compare;
  uint32_t count;
  // followed by count operands, then (has_compare) count compare values
};
static_assert(sizeof(AtomicReqHdr) == 48);

struct AtomicRespHdr {
  PktBase base;
  uint64_t req_id;
  int32_t status;  // 0 or a negative FI_E* value
  uint32_t bytes;  // fetched bytes that follow
};

// Protocol thresholds (bytes of user payload), chosen as efa's RDM protocol
// does: one packet when it fits, segmented sends up to a few packets (no
// registration, no round trip), and above that a read rendezvous where the
// receiver pulls with RDMA read straight into the user's buffer.
inline constexpr size_t eager_max(uint32_t mtu) {
  return mtu - sizeof(MsgHdr);
}
// Medium messages go as SENDs through the device's slots (three copies,
// each 8 KiB and cache-warm); long ones as an RDMA read of the sender's
// buffer, which on private memory waits on the sender's driver for every
// 256 KiB piece.  On venic's shared-memory device the SENDs win up to a few
// MiB (fi_pingpong 1 MiB: 4.5 GB/s as RDMA, 19 GB/s as SENDs, 2 cores).
inline constexpr size_t kMediumMax = 4 * 1024 * 1024;
// Open MPI and fabtests use inject for small messages; a copy this size is
// cheaper than tracking the user's buffer.
inline constexpr size_t kInjectSize = 4096;

}  // namespace vefa

#endif
