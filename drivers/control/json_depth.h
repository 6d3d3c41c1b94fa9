// A nesting limit for JSON from outside the daemon.  nlohmann's parser is
// iterative, but serializing (a reply echoing a request's id) and walking a
// value recurse once per level: a document 100 000 levels deep overflows the
// stack.  Checking the depth before parsing keeps such a value from existing.
#pragma once

#include <cstddef>
#include <string_view>

namespace venic::control {

// Arrays and objects nest at most this deep in anything venicd parses.
inline constexpr std::size_t kMaxJsonDepth = 32;

// True when text nests arrays/objects deeper than max_depth (brackets inside
// strings do not count).  Does not validate: the parser does that next.
bool json_nests_deeper_than(std::string_view text, std::size_t max_depth);

}  // namespace venic::control
