// The `terra` command line: --version, --help, `terra ops` (the registry as a table) and
// `terra run` (a Python program run as __main__ in an embedded interpreter, run_command.cpp).
// This file only dispatches; each command lives in its own file.
#include <cstring>
#include <iostream>
#include <string>

#include "terra_config.hpp"
#include "tools/cli/malloc_tuning.hpp"
#include "tools/cli/ops_table.hpp"
#include "tools/cli/run_command.hpp"

namespace {

const char* kCommands =
    "usage: terra <command> [options]\n"
    "\n"
    "commands:\n"
    "  ops            list every registered op: effect class, devices with kernels, gradient, schema\n";

const char* kOptions =
    "\n"
    "options:\n"
    "  -h, --help     show this help (terra run --help: run's own)\n"
    "  --version      print the version\n";

void print_usage(std::ostream& os) { os << kCommands << terra::cli::kRunSummary << kOptions; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    print_usage(std::cout);
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
    terra::cli::tune_malloc(argv);
    return terra::cli::run_command(argc - 2, argv + 2);
  }
  std::cerr << "terra: unknown command '" << cmd << "' (see terra --help)\n";
  return 2;
}
