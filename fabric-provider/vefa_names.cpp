// SPDX-License-Identifier: MIT
//
// The name vefa registers under: "vefa" (fabric "venic"), or with
// VENIC_FI_NAME=efa the names software written for EFA looks for: provider
// and fabric "efa", domains "<device>-rdm" and "<device>-dgrm".
#include <cstdlib>
#include <cstring>

#include "vefa.h"

namespace vefa {

static bool g_efa = false;

void choose_name() {
  const char* n = std::getenv("VENIC_FI_NAME");
  g_efa = n && strcmp(n, "efa") == 0;
  if (n && *n && !g_efa && strcmp(n, kProvName) != 0)
    VEFA_WARN(FI_LOG_CORE, "VENIC_FI_NAME=%s: only \"efa\" or \"vefa\"; registering as vefa\n", n);
  g_prov.name = g_efa ? "efa" : kProvName;
  g_prov.version = prov_version();
}

// As efa: libfabric's own version as 100 * major + minor (Open MPI's btl ofi
// refuses an "efa" older than 110.0, from before FI_DELIVERY_COMPLETE).
uint32_t prov_version() {
  return g_efa ? FI_VERSION(FI_MAJOR_VERSION * 100 + FI_MINOR_VERSION, 0) : kProvVersion;
}

bool efa_named() {
  return g_efa;
}

const char* prov_name() {
  return g_efa ? "efa" : kProvName;
}

const char* fabric_name() {
  return g_efa ? "efa" : kFabricName;
}

std::string domain_name(const std::string& dev, enum fi_ep_type type) {
  if (!g_efa) return dev;
  return dev + (type == FI_EP_DGRAM ? "-dgrm" : "-rdm");
}

}  // namespace vefa
