// Two tenants of one EFA fabric, as processes of two uids (efa_key_scan.sh):
//   efa_probe serve          registers a memfd "secret" (remote read and
//                            write), prints its device GID and QP number --
//                            never a key -- and, when stdin closes, checks
//                            that no peer wrote it (exit 0) or one did (1);
//   efa_probe scan GID QPN N a peer that was told nothing else: N RDMA reads
//                            and N writes with guessed qkeys and rkeys (and
//                            some guessed QP numbers).  Exit 0 when every
//                            probe failed alike and no secret byte reached
//                            it, 1 otherwise.
// Both use drivers/efa's C API directly, as a hostile program would.
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "vefa_dev.h"

namespace {

constexpr uint8_t kSecret = 0x5e;
constexpr size_t kLen = 1 << 20;

[[noreturn]] void fail(const char* what, int rc, const char* err) {
  std::fprintf(stderr, "efa_probe: %s: %d %s\n", what, rc, err);
  std::exit(2);
}

struct Dev {
  vefa_ctx* ctx = nullptr;
  uint32_t cq = 0, qp = 0, qkey = 0;
  uint16_t qpn = 0;
  struct vefa_qp_view qv {};
  struct vefa_cq_view cv {};
  void open() {
    char err[256] = "";
    int rc = vefa_open_default(&ctx, err, sizeof(err));
    if (rc) fail("vefa_open_default", rc, err);
    if ((rc = vefa_create_cq(ctx, &cq, err, sizeof(err)))) fail("create_cq", rc, err);
    if ((rc = vefa_create_qp(ctx, VENIC_EFA_QP_SRD, cq, cq, 0, &qp, &qpn, &qkey, err, sizeof(err))))
      fail("create_qp", rc, err);
    vefa_qp_view(ctx, qp, &qv);
    vefa_cq_view(ctx, cq, &cv);
  }
};

std::string hex(const uint8_t* b, size_t n) {
  std::string s;
  char x[3];
  for (size_t i = 0; i < n; i++) std::snprintf(x, sizeof(x), "%02x", b[i]), s += x;
  return s;
}

uint32_t rnd() {
  uint32_t v = 0;
  if (getrandom(&v, sizeof(v), 0) != sizeof(v)) std::abort();
  return v;
}

int serve() {
  Dev d;
  d.open();
  int fd = memfd_create("secret", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, kLen) != 0) fail("memfd", -1, "");
  auto* secret = static_cast<uint8_t*>(mmap(nullptr, kLen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  std::memset(secret, kSecret, kLen);
  uint32_t lkey = 0, rkey = 0;
  char err[256] = "";
  int rc = vefa_reg_mr(d.ctx, secret, kLen, VENIC_EFA_ACCESS_REMOTE_READ | VENIC_EFA_ACCESS_REMOTE_WRITE, &lkey, &rkey,
                       err, sizeof(err));
  if (rc) fail("reg_mr", rc, err);
  if (!vefa_mr_is_object(d.ctx, lkey)) fail("the memfd was not registered as a memory object", 0, "");
  const auto* regs = vefa_regs(d.ctx);
  uint8_t gid[VENIC_EFA_GID_SIZE];
  for (int i = 0; i < VENIC_EFA_GID_SIZE; i++) gid[i] = regs->gid[i];
  std::printf("%s %u %#lx\n", hex(gid, sizeof(gid)).c_str(), d.qpn, reinterpret_cast<unsigned long>(secret));
  std::fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {
  }
  for (size_t i = 0; i < kLen; i++)
    if (secret[i] != kSecret) {
      std::printf("serve: byte %zu was written by a peer\n", i);
      return 1;
    }
  std::printf("serve: the secret is untouched\n");
  vefa_close(d.ctx);
  return 0;
}

int scan(const char* gid_hex, unsigned qpn, unsigned long target, int n) {
  Dev d;
  d.open();
  uint8_t gid[VENIC_EFA_GID_SIZE];
  for (int i = 0; i < VENIC_EFA_GID_SIZE; i++) std::sscanf(gid_hex + 2 * i, "%2hhx", &gid[i]);
  uint16_t ah = 0;
  char err[256] = "";
  int rc = vefa_create_ah(d.ctx, gid, &ah, err, sizeof(err));
  if (rc) fail("create_ah", rc, err);
  std::vector<uint8_t> local(4096, 0);
  uint32_t lkey = 0, rkey = 0;
  if ((rc = vefa_reg_mr(d.ctx, local.data(), local.size(), 7, &lkey, &rkey, err, sizeof(err)))) fail("reg_mr", rc, err);
  std::map<int, int> statuses;
  int posted = 0, done = 0;
  while (done < 2 * n) {
    while (posted < 2 * n && vefa_sq_space(&d.qv) > 0 && posted - done < 200) {
      venic_efa_wqe w{};
      w.wr_id = static_cast<uint64_t>(posted);
      const bool read = posted % 2 == 0;
      w.opcode = read ? VENIC_EFA_OP_RDMA_READ : VENIC_EFA_OP_RDMA_WRITE;
      w.flags = VENIC_EFA_WQE_F_STAGED;
      w.stage_off = read ? 0 : 4096;
      w.dest_ah = ah;
      w.dest_qpn = posted % 4 == 3 ? static_cast<uint16_t>(rnd()) : static_cast<uint16_t>(qpn);
      w.qkey = rnd();
      w.rkey = rnd();
      w.raddr = target;
      w.length = 4096;
      w.lkey = lkey;
      w.laddr = reinterpret_cast<uint64_t>(local.data());
      vefa_sq_post(&d.qv, &w);
      posted++;
    }
    venic_efa_cqe c[64];
    int got = vefa_cq_poll(&d.cv, c, 64);
    for (int i = 0; i < got; i++) statuses[c[i].status]++;
    done += got;
    if (!got) usleep(50);
  }
  const uint8_t* stage = d.qv.stage;
  bool leaked = std::memchr(stage, kSecret, 4096) != nullptr || std::memchr(local.data(), kSecret, 4096) != nullptr;
  std::printf("scan: %d probes:", 2 * n);
  for (auto& [s, k] : statuses) std::printf(" status %d x%d", s, k);
  std::printf("%s\n", leaked ? " -- SECRET LEAKED" : "");
  vefa_close(d.ctx);
  const bool alike = statuses.size() == 1 && statuses.count(VENIC_EFA_WC_REMOTE_ACCESS);
  return alike && !leaked ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && !std::strcmp(argv[1], "serve")) return serve();
  if (argc == 6 && !std::strcmp(argv[1], "scan"))
    return scan(argv[2], static_cast<unsigned>(std::atoi(argv[3])), std::strtoul(argv[4], nullptr, 0),
                std::atoi(argv[5]));
  std::fprintf(stderr, "usage: efa_probe serve | efa_probe scan GID QPN ADDR N\n");
  return 2;
}
