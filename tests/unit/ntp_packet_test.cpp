// Time Sync's NTP server mode: the reply's fields from a client request.
#include "ntp_packet.h"

#include <gtest/gtest.h>

#include <vector>

namespace venic::services {
namespace {

uint64_t be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

TEST(NtpPacket, ServerReply) {
  std::vector<uint8_t> req(48, 0);
  req[0] = 0 << 6 | 4 << 3 | 3;  // v4, client
  req[2] = 6;
  for (int i = 0; i < 8; i++) req[40 + i] = static_cast<uint8_t>(0x11 * (i + 1));
  const timespec rx{1700000000, 500000000}, tx{1700000000, 600000000};
  auto r = ntp_reply(req, rx, tx);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0], 4 << 3 | 4);  // no leap warning, v4, server
  EXPECT_EQ((*r)[1], kNtpStratum);
  EXPECT_EQ((*r)[2], 6);
  EXPECT_EQ(be64(&(*r)[24]), be64(&req[40]));  // origin = the client's transmit time
  EXPECT_EQ(be64(&(*r)[32]), ntp_timestamp(rx));
  EXPECT_EQ(be64(&(*r)[40]), ntp_timestamp(tx));
  EXPECT_EQ(be64(&(*r)[40]) >> 32, 1700000000ull + 2208988800ull);
  EXPECT_NEAR(static_cast<double>(be64(&(*r)[40]) & 0xffffffff) / 4294967296.0, 0.6, 1e-6);
  EXPECT_LE(be64(&(*r)[16]), be64(&(*r)[32]));  // reference time before receipt
}

TEST(NtpPacket, RefusesWhatIsNoClientRequest) {
  std::vector<uint8_t> req(48, 0);
  req[0] = 4 << 3 | 4;  // a server packet: no reply (no reflection)
  EXPECT_FALSE(ntp_reply(req, {}, {}));
  req[0] = 4 << 3 | 3;
  EXPECT_FALSE(ntp_reply({req.data(), 47}, {}, {}));
  req[0] = 0 << 3 | 3;  // version 0
  EXPECT_FALSE(ntp_reply(req, {}, {}));
  req[0] = 3 << 3 | 3;  // v3 is answered as v3
  auto r = ntp_reply(req, {}, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(((*r)[0] >> 3) & 7, 3);
}

}  // namespace
}  // namespace venic::services
