// Note [Malloc tuning] in malloc_tuning.cpp: `terra run` enlarges glibc's per-thread cache of
// free chunks, which glibc reads only when a process starts.
#pragma once

namespace terra::cli {

// Re-executes this program (argv as given) with glibc.malloc.tcache_count raised, unless
// GLIBC_TUNABLES or LD_PRELOAD is set, or TERRA_MALLOC_TUNING=0. Returns only when it did not re-execute.
void tune_malloc(char** argv);

}  // namespace terra::cli
