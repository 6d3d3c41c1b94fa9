// venicctl's command line: parses argv, validates it, runs the command.
#pragma once

#include <ostream>

namespace venic::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitDaemonError = 1;  // venicd answered an error, or could not be reached
inline constexpr int kExitUsage = 2;        // bad command line or value

// Runs one venicctl invocation.  Results and help go to `out`; every failure
// is exactly one line on `err`: "venicctl: <message>", except venicd's refusal
// of an EC2 command, worded as the AWS CLI words it ("An error occurred
// (InvalidSubnetID.NotFound) when calling the RunInstances operation: ...").
// Never throws.
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace venic::ctl
