// Time Sync's NTP server mode (RFC 5905): the reply to a client's request.
// Stratum 3, reference id 127.127.1.1: the host's clock is all venic knows,
// and a guest's chrony reports what it sees on EC2 (the Time Sync service at
// stratum 3, itself at 4) -- never stratum 1, which would claim a reference
// clock we do not have, and never a refid that could look like a loop.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <optional>
#include <span>

namespace venic::services {

constexpr size_t kNtpPacket = 48;
constexpr uint8_t kNtpStratum = 3;

// The reply to req received at rx and sent at tx (CLOCK_REALTIME), or
// nullopt when req is no client-mode request (mode 3, version 1-4) of at
// least 48 bytes.
std::optional<std::array<uint8_t, kNtpPacket>> ntp_reply(std::span<const uint8_t> req, timespec rx, timespec tx);

// An NTP timestamp (seconds since 1900, 32.32 fixed point).
uint64_t ntp_timestamp(timespec t);

}  // namespace venic::services
