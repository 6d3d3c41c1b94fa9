// venicctl's EC2 commands (docs/ec2-api.md): one subcommand per ec2.<Action>
// method, named and flagged as in the AWS CLI ("venicctl create-vpc
// --cidr-block 10.0.0.0/16"), each turning its flags into the action's API
// parameters.  The commands are one table in ec2_commands.cpp.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "requests.h"

namespace CLI {
class App;
}

namespace venic::ctl {

// Adds the EC2 subcommands to venicctl's app; CLI11 writes their flags into
// storage owned here, so this must outlive the parse.
class Ec2Commands {
 public:
  explicit Ec2Commands(CLI::App& app);
  ~Ec2Commands();
  Ec2Commands(const Ec2Commands&) = delete;
  Ec2Commands& operator=(const Ec2Commands&) = delete;

  // After the parse: the ec2.<Action> request of the EC2 command given, or
  // nullopt when the command line chose another command.  Throws UsageError
  // for a bad value or combination, naming the flag.
  std::optional<Request> request() const;

 private:
  struct Storage;
  std::unique_ptr<Storage> storage_;
};

// The request `args` (an EC2 subcommand and its flags, without "venicctl")
// would send, without sending it; parse errors become UsageError too.
Request ec2_request_for(const std::vector<std::string>& args);

// The AWS CLI names of the EC2 subcommands, in --help's order.
std::vector<std::string> ec2_command_names();

// The example command lines of one EC2 subcommand's --help ("venicctl ..."
// lines, without the comments).
std::vector<std::string> ec2_examples(const std::string& command);

}  // namespace venic::ctl
