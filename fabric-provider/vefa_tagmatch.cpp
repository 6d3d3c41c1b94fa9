// SPDX-License-Identifier: MIT
#include "vefa_tagmatch.h"

namespace vefa {

static bool src_accepts(uint64_t want, uint64_t have) {
  return want == kAnySrc || want == have;
}

std::optional<uint64_t> MatchQueues::find_posted(uint64_t tag, uint64_t src) const {
  for (const Posted& p : posted_)
    if (src_accepts(p.src, src) && tag_matches(p.tag, p.ignore, tag)) return p.id;
  return std::nullopt;
}

bool MatchQueues::erase_posted(uint64_t id) {
  for (auto it = posted_.begin(); it != posted_.end(); ++it)
    if (it->id == id) {
      posted_.erase(it);
      return true;
    }
  return false;
}

std::optional<uint64_t> MatchQueues::cancel(const void* context) {
  for (auto it = posted_.begin(); it != posted_.end(); ++it)
    if (it->context == context) {
      uint64_t id = it->id;
      posted_.erase(it);
      return id;
    }
  return std::nullopt;
}

std::optional<uint64_t> MatchQueues::find_unexpected(uint64_t tag, uint64_t ignore, uint64_t src) const {
  for (const Unexpected& u : unexpected_)
    if (!u.claimed_by && src_accepts(src, u.src) && tag_matches(tag, ignore, u.tag)) return u.id;
  return std::nullopt;
}

bool MatchQueues::claim(uint64_t id, const void* context) {
  for (Unexpected& u : unexpected_)
    if (u.id == id && !u.claimed_by) {
      u.claimed_by = context;
      return true;
    }
  return false;
}

std::optional<uint64_t> MatchQueues::find_claimed(const void* context) const {
  for (const Unexpected& u : unexpected_)
    if (u.claimed_by && u.claimed_by == context) return u.id;
  return std::nullopt;
}

bool MatchQueues::erase_unexpected(uint64_t id) {
  for (auto it = unexpected_.begin(); it != unexpected_.end(); ++it)
    if (it->id == id) {
      unexpected_.erase(it);
      return true;
    }
  return false;
}

}  // namespace vefa
