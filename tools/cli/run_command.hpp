// `terra run [options] script.py [args...]`: runs a Python program as `__main__` in an embedded
// CPython, behaving like `python3 script.py args` (see Note [Running like python3] in
// run_command.cpp). Only this file's .cpp includes the Python headers.
#pragma once

namespace terra::cli {

// `args` are the words after `run` (options, the script, then the script's own arguments).
// Returns the process exit status: the script's, or 2 for a usage error.
int run_command(int argc, char** args);

// The one-paragraph summary of `run` that `terra --help` shows.
extern const char* const kRunSummary;

}  // namespace terra::cli
