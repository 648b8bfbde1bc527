// Memory statistics and the CUDA device: terra.memory_stats() and terra.reset_peak_memory_stats()
// (the CPU arena's counters, tensor/cpu_allocator.hpp, read by tools/bench/replay_corpus.py too),
// terra.cuda's queries (the probe of tensor/cuda/cuda_device.hpp, the caching allocator's
// counters; zeros without a device, as PyTorch's), and pinned host memory (Tensor.pin_memory()).
#include <cstring>

#include "bindings/src/common.hpp"
#include "tensor/allocator.hpp"
#include "tensor/cuda/cuda_device.hpp"

namespace terra::python {

namespace {

py::dict stats_dict(const MemoryStats& s) {
  py::dict d;
  d["in_use_bytes"] = s.in_use;
  d["peak_bytes"] = s.peak;
  d["cached_bytes"] = s.cached;
  d["reserved_bytes"] = s.reserved;
  d["peak_reserved_bytes"] = s.peak_reserved;
  d["segments"] = s.segments;
  d["allocations"] = s.allocations;
  d["cache_hits"] = s.cache_hits;
  d["alloc_retries"] = s.alloc_retries;
  d["ooms"] = s.ooms;
  return d;
}

// The CUDA allocator exists only where a device does.
MemoryStats cuda_stats() {
  return has_allocator(DeviceType::CUDA) ? allocator_for(DeviceType::CUDA).stats() : MemoryStats{};
}

// A contiguous copy of a CPU tensor in pinned memory, freed back to the pinned pool.
Tensor pinned_copy(const Tensor& t) {
  TERRA_CHECK(t.device().is_cpu() && t.is_contiguous(), Runtime, "pin_memory needs a contiguous CPU tensor");
  const size_t nbytes = static_cast<size_t>(t.numel()) * t.itemsize();
  void* p = cuda::pinned_allocate(nbytes);
  if (nbytes) std::memcpy(p, t.raw_data(), nbytes);
  return Tensor::from_blob(p, t.shape(), contiguous_strides(t.shape()), t.dtype(), Device{},
                           [p] { cuda::pinned_free(p); });
}

}  // namespace

void bind_memory(py::module_& m) {
  m.def("_memory_stats", [] { return stats_dict(allocator_for(DeviceType::CPU).stats()); });
  m.def("_reset_peak_memory_stats", [] { allocator_for(DeviceType::CPU).reset_peak(); });

  m.def("_cuda_device_count", [] { return cuda::device_count(); });
  m.def("_cuda_unavailable_reason", [] { return cuda::unavailable_reason(); });
  m.def("_cuda_device_properties", [](int index) {
    const cuda::DeviceInfo info = cuda::device_info(index);
    py::dict d;
    d["name"] = info.name;
    d["major"] = info.major;
    d["minor"] = info.minor;
    d["total_memory"] = info.total_memory;
    d["multi_processor_count"] = info.multiprocessors;
    return d;
  });
  m.def("_cuda_synchronize", [] {
    py::gil_scoped_release release;
    cuda::synchronize();
  });
  m.def("_cuda_memory_stats", [] { return stats_dict(cuda_stats()); });
  m.def("_cuda_pinned_memory_stats", [] { return stats_dict(cuda::pinned_stats()); });
  m.def("_cuda_reset_peak_memory_stats", [] {
    if (has_allocator(DeviceType::CUDA)) allocator_for(DeviceType::CUDA).reset_peak();
  });
  m.def("_cuda_empty_cache", [] {
    if (has_allocator(DeviceType::CUDA)) allocator_for(DeviceType::CUDA).empty_cache();
  });
  m.def("_pin_memory", [](py::handle t) { return wrap(pinned_copy(unwrap(t))); });
  m.def("_is_pinned", [](py::handle t) {
    const Tensor x = unwrap(t);
    return x.device().is_cpu() && x.numel() > 0 && cuda::is_pinned(x.raw_data());
  });
}

}  // namespace terra::python
