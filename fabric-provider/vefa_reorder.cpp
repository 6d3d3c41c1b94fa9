// SPDX-License-Identifier: MIT
#include "vefa_reorder.h"

namespace vefa {

int32_t seq_diff(uint32_t to, uint32_t from) {
  return static_cast<int32_t>(to - from);
}

}  // namespace vefa
