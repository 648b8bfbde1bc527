// terra.memory_stats() and terra.reset_peak_memory_stats(): the CPU caching allocator's counters
// (tensor/cpu_allocator.hpp), for people and for tools/bench/replay_corpus.py, which compares the
// peak of eager execution with replay's.
#include "bindings/src/common.hpp"
#include "tensor/allocator.hpp"

namespace terra::python {

void bind_memory(py::module_& m) {
  m.def("_memory_stats", [] {
    const MemoryStats s = allocator_for(DeviceType::CPU).stats();
    py::dict d;
    d["in_use_bytes"] = s.in_use;
    d["peak_bytes"] = s.peak;
    d["cached_bytes"] = s.cached;
    d["allocations"] = s.allocations;
    d["cache_hits"] = s.cache_hits;
    return d;
  });
  m.def("_reset_peak_memory_stats", [] { allocator_for(DeviceType::CPU).reset_peak(); });
}

}  // namespace terra::python
