// venicctl: command-line client of venicd's control socket.
#include <iostream>

#include "cli.h"

int main(int argc, char** argv) {
  return venic::ctl::run(argc, argv, std::cout, std::cerr);
}
