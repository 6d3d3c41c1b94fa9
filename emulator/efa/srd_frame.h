// The wire format of the engine's SRD-like transport between hosts
// (docs/multi-host.md): one Ethernet frame of EtherType kSrdEtherType per
// packet, from one EFA ENI's MAC to another's, tunnelled by the uplink.
//
//   Ethernet  dst[6] src[6] type[2] = 0x88b5
//   SrdHeader 44 bytes, big-endian:
//     +0  u8  version      kSrdVersion
//     +1  u8  type         SrdType (DATA, ACK)
//     +2  u8  status       ACK: SrdStatus; DATA: 0
//     +3  u8  flags        DATA: kSrdFlagImm, kSrdFlagUd
//     +4  u32 flow         the sender's flow incarnation (random at its start)
//     +8  u32 psn          DATA: this packet's sequence number in the flow;
//                          ACK: the DATA packet it answers
//     +12 u32 low          DATA: the sender's lowest unacknowledged psn (it
//                          never sends an older one again)
//     +16 u16 src_qpn, +18 u16 dst_qpn, +20 u32 qkey
//     +24 u32 msg_id       the message this fragment belongs to (per flow)
//     +28 u32 offset       the fragment's place in the message
//     +32 u32 total_len    the message's length
//     +36 u32 imm          DATA with kSrdFlagImm: the immediate
//     +40 u16 payload_len  bytes after the header (ACK: 0)
//     +42 u16 reserved     0
//   payload (a DATA fragment)
//
// A frame may carry padding after the payload (the underlay's minimum
// size); nothing else is tolerated.  parse_srd never reads outside the frame.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace venic::efa::srd {

using Mac = std::array<uint8_t, 6>;

inline constexpr uint16_t kEtherType = 0x88b5;  // efa_link.h's kSrdEtherType
inline constexpr uint8_t kSrdVersion = 1;
inline constexpr size_t kEthBytes = 14;
inline constexpr size_t kHeaderBytes = 44;

enum class SrdType : uint8_t { kData = 1, kAck = 2 };
// What an ACK says of the DATA packet it answers.
enum class SrdStatus : uint8_t {
  kOk = 0,      // stored (a fragment) or placed in a receive buffer
  kRnr = 1,     // the target QP had no receive buffer: send it again later
  kReject = 2,  // no such QP, a wrong qkey or type, or policy: never placed
};
inline constexpr uint8_t kSrdFlagImm = 1u << 0;
inline constexpr uint8_t kSrdFlagUd = 1u << 1;  // between UD queue pairs

struct SrdHeader {
  SrdType type = SrdType::kData;
  SrdStatus status = SrdStatus::kOk;
  uint8_t flags = 0;
  uint32_t flow = 0, psn = 0, low = 0;
  uint16_t src_qpn = 0, dst_qpn = 0;
  uint32_t qkey = 0, msg_id = 0, offset = 0, total_len = 0, imm = 0;
};

struct SrdPacket {
  Mac dst{}, src{};
  SrdHeader h;
  std::span<const uint8_t> payload;  // inside the parsed frame
};

// Why a frame was refused (counted by the transport).
enum class ParseError : uint8_t {
  kShort,      // shorter than the headers, or than payload_len says
  kEtherType,  // not kSrdEtherType
  kVersion,    // another version
  kType,       // an unknown type, flag or status, or reserved bits set
  kLength,     // offset/total_len/payload_len inconsistent or past the limits
};

// Parses and validates one frame.  max_message bounds total_len and
// max_fragment payload_len.  On failure returns nullopt and sets *why.
std::optional<SrdPacket> parse_srd(std::span<const uint8_t> frame, uint32_t max_message, uint32_t max_fragment,
                                   ParseError* why = nullptr);

// Writes the Ethernet and SRD headers and copies payload after them into
// out; returns the frame's length, 0 when out is too small.
size_t write_srd(std::span<uint8_t> out, const Mac& dst, const Mac& src, const SrdHeader& h,
                 std::span<const uint8_t> payload);

}  // namespace venic::efa::srd
