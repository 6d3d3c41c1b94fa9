// SPDX-License-Identifier: MIT
//
// The provider's entry point and fi_getinfo.  getinfo learns the device's
// attributes once per process (a control-socket round trip, then the
// context is closed again) and answers from that cache afterwards; with no
// daemon socket it answers -FI_ENODATA without trying to connect.
#include <strings.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "vefa.h"

namespace vefa {

static std::mutex g_probe_lock;
static bool g_probed = false;
static DevInfo g_dev;

static const char* socket_path() {
  const char* s = std::getenv("VENIC_SOCKET");
  return s && *s ? s : "/run/venic/venicd.sock";
}

int probe_device(DevInfo* out) {
  std::lock_guard<std::mutex> g(g_probe_lock);
  if (g_probed) {
    *out = g_dev;
    return 0;
  }
  // No socket, no daemon: fail at once rather than in the control client's
  // connect/timeout path.
  struct stat st;
  if (stat(socket_path(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    VEFA_INFO(FI_LOG_CORE, "no venicd socket at %s\n", socket_path());
    return -FI_ENODATA;
  }
  vefa_ctx* ctx = nullptr;
  char err[256] = "";
  int rc = vefa_open_default(&ctx, err, sizeof(err));
  if (rc) {
    VEFA_INFO(FI_LOG_CORE, "no EFA device: %s (%d)\n", err, rc);
    return -FI_ENODATA;
  }
  const volatile venic_efa_regs* r = vefa_regs(ctx);
  DevInfo d;
  d.name = vefa_name(ctx);
  d.mtu = r->mtu;
  d.max_qps = r->max_qps;
  d.max_cqs = r->max_cqs;
  d.sq_depth = r->sq_depth;
  d.rq_depth = r->rq_depth;
  d.cq_depth = r->cq_depth;
  d.max_rdma_size = r->max_rdma_size;
  d.max_mr = r->max_mr;
  d.device_caps = r->device_caps;
  d.link_speed_mbps = r->link_speed_mbps;
  for (size_t i = 0; i < kGidSize; ++i) d.gid[i] = r->gid[i];
  vefa_close(ctx);
  // A device too small for our headers cannot carry the protocol.
  if (d.mtu < 1024 || d.max_qps == 0 || d.max_cqs == 0) {
    VEFA_WARN(FI_LOG_CORE, "device %s unusable (mtu %u)\n", d.name.c_str(), d.mtu);
    return -FI_ENODATA;
  }
  g_dev = d;
  g_probed = true;
  *out = d;
  return 0;
}

// vefa's RDM endpoint is native; it does not serve as the base of a utility
// provider.  Otherwise "vefa;ofi_rxd" (RDM emulated over our DGRAM) is listed
// before vefa itself and Open MPI's prefix match of
// mtl_ofi_provider_include=vefa picks it.
//
// Public-API check: hints whose provider name asks for a utility provider
// ("vefa;ofi_rxm", "ofi_rxd"; an exclusion such as "^ofi_rxm" does not).
static bool names_utility_provider(const struct fi_info* hints) {
  if (!hints || !hints->fabric_attr || !hints->fabric_attr->prov_name) return false;
  const char* n = hints->fabric_attr->prov_name;
  for (const char* tok = n; *tok;) {
    size_t len = strcspn(tok, ",;");
    if (len >= 4 && strncasecmp(tok, "ofi_", 4) == 0) return true;
    tok += len;
    if (*tok) ++tok;
  }
  return false;
}

// That check is not enough: for "vefa;ofi_rxd" (or no name at all) libfabric
// calls ofi_rxd, which asks the core providers with its own name removed or
// excluded ("vefa", "^ofi_rxd") -- a name a plain query may carry too; only
// this getinfo flag tells them apart: libfabric's internal
// OFI_CORE_PROV_ONLY (include/ofi.h, not in the public headers; bit 59 in
// libfabric 1.17, the version vefa is built for; seen with FI_LOG_LEVEL=info
// on every rxm/rxd core query).  It must not collide with a public getinfo
// flag, or a plain query would be refused.
static constexpr uint64_t kOfiCoreProvOnly = 1ull << 59;
static_assert((kOfiCoreProvOnly & (FI_SOURCE | FI_SOURCE_ERR | FI_NUMERICHOST | FI_PROV_ATTR_ONLY)) == 0,
              "OFI_CORE_PROV_ONLY must not alias a public fi_getinfo flag");
static_assert(FI_MAJOR_VERSION == 1, "re-check OFI_CORE_PROV_ONLY (ofi.h) for this libfabric");

static int vefa_getinfo(uint32_t version, const char* node, const char* service, uint64_t flags,
                        const struct fi_info* hints, struct fi_info** info) {
  *info = nullptr;
  // Names are EFA addresses, exchanged out of band; there is no string form
  // to resolve, so a node is only acceptable as our own side (FI_SOURCE).
  if ((node || service) && !(flags & FI_SOURCE)) return -FI_ENODATA;
  // Not the base of a utility provider (see above).
  if (names_utility_provider(hints)) {
    VEFA_INFO(FI_LOG_CORE, "declining: prov_name %s names a utility provider\n", hints->fabric_attr->prov_name);
    return -FI_ENODATA;
  }
  if (flags & kOfiCoreProvOnly) {
    VEFA_INFO(FI_LOG_CORE, "declining: a utility provider's core query (OFI_CORE_PROV_ONLY, flags %#lx)\n",
              static_cast<unsigned long>(flags));
    return -FI_ENODATA;
  }
  if (hints)
    VEFA_INFO(FI_LOG_CORE, "getinfo v%u.%u flags %#lx hints: caps %#lx mode %#lx ep %d prov %s mr_mode %#x\n",
              FI_MAJOR(version), FI_MINOR(version), static_cast<unsigned long>(flags),
              static_cast<unsigned long>(hints->caps), static_cast<unsigned long>(hints->mode),
              hints->ep_attr ? static_cast<int>(hints->ep_attr->type) : -1,
              hints->fabric_attr && hints->fabric_attr->prov_name ? hints->fabric_attr->prov_name : "-",
              hints->domain_attr ? static_cast<unsigned>(hints->domain_attr->mr_mode) : 0u);
  DevInfo dev;
  int rc = probe_device(&dev);
  if (rc) return rc;
  return build_infos(dev, version, flags, hints, info);
}

static void vefa_cleanup() {}

struct fi_provider g_prov = {
    kProvVersion, FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION), {}, kProvName, vefa_getinfo, fabric_open,
    vefa_cleanup,
};

}  // namespace vefa

extern "C" FI_EXT_INI {
  vefa::choose_name();
  return &vefa::g_prov;
}
