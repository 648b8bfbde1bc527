// The `terra` command line. Today: --version, --help and `terra ops` (the registry as a table).
// `terra run` (embedding Python) arrives with the Python API.
#include <cstring>
#include <iostream>
#include <string>

#include "terra_config.hpp"
#include "tools/cli/ops_table.hpp"

namespace {

const char* kUsage =
    "usage: terra <command> [options]\n"
    "\n"
    "commands:\n"
    "  ops            list every registered op: effect class, devices with kernels, gradient, schema\n"
    "  run SCRIPT     run a Python program under Terra (not available yet: arrives with the Python API)\n"
    "\n"
    "options:\n"
    "  -h, --help     show this help\n"
    "  --version      print the version\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "--version") {
    std::cout << "terra " << TERRA_VERSION << (TERRA_WITH_CUDA ? " (cuda)" : " (cpu only)") << "\n";
    return 0;
  }
  if (cmd == "ops") {
    terra::cli::print_ops_table(std::cout);
    return 0;
  }
  if (cmd == "run") {
    std::cerr << "terra: 'run' is not available yet in this build (the Python API has not landed)\n";
    return 2;
  }
  std::cerr << "terra: unknown command '" << cmd << "' (see terra --help)\n";
  return 2;
}
