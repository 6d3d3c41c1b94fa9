// SPDX-License-Identifier: MIT
//
// Receive matching: the posted-receive queue and the unexpected-message
// queue of one endpoint (one pair for tagged, one for untagged messages).
// Entries are handles (ids) into the endpoint's own tables; this class only
// decides who matches whom, in posting/arrival order as libfabric requires.
// Sources are opaque 64-bit peer keys; kAnySrc matches every peer.
// No libfabric dependency.
#ifndef VEFA_TAGMATCH_H
#define VEFA_TAGMATCH_H

#include <cstdint>
#include <list>
#include <optional>

namespace vefa {

inline constexpr uint64_t kAnySrc = ~0ull;

inline bool tag_matches(uint64_t want, uint64_t ignore, uint64_t have) {
  return ((want ^ have) & ~ignore) == 0;
}

class MatchQueues {
 public:
  struct Posted {
    uint64_t id;
    uint64_t tag;
    uint64_t ignore;
    uint64_t src;  // kAnySrc, or the only peer this receive accepts
    const void* context;
  };
  struct Unexpected {
    uint64_t id;
    uint64_t tag;
    uint64_t src;
    const void* claimed_by;  // FI_CLAIM: reserved for the receive with this context
  };

  void post(const Posted& p) { posted_.push_back(p); }
  // The first posted receive that accepts (tag, src); it stays queued (the
  // caller erases it, or keeps it for a multi-receive buffer).
  std::optional<uint64_t> find_posted(uint64_t tag, uint64_t src) const;
  bool erase_posted(uint64_t id);
  // Removes the posted receive with this user context (fi_cancel).
  std::optional<uint64_t> cancel(const void* context);
  size_t posted_count() const { return posted_.size(); }

  void add_unexpected(const Unexpected& u) { unexpected_.push_back(u); }
  // The oldest unclaimed unexpected message a receive (tag, ignore, src) takes.
  std::optional<uint64_t> find_unexpected(uint64_t tag, uint64_t ignore, uint64_t src) const;
  // FI_PEEK|FI_CLAIM: reserves message id for the receive carrying context.
  bool claim(uint64_t id, const void* context);
  // The message claimed for context (FI_CLAIM receive).
  std::optional<uint64_t> find_claimed(const void* context) const;
  bool erase_unexpected(uint64_t id);
  size_t unexpected_count() const { return unexpected_.size(); }

 private:
  std::list<Posted> posted_;
  std::list<Unexpected> unexpected_;
};

}  // namespace vefa

#endif
