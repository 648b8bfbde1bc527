// The bytes behind one or more tensors (views share a Storage). Memory comes from the device's
// allocator, or from outside (a numpy array, a user buffer) with a release callback. The version
// counter lives here because every view of the same bytes must see the same count: autograd uses
// it to reject an in-place change to a tensor saved for backward.
#pragma once
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>

#include "tensor/allocator.hpp"
#include "tensor/device.hpp"

namespace terra {

class StorageImpl {
 public:
  // Allocates nbytes from the device's allocator.
  StorageImpl(size_t nbytes, Device device);
  // Wraps external memory; `release` runs when the last tensor using it is gone.
  StorageImpl(void* data, size_t nbytes, Device device, std::function<void()> release);
  ~StorageImpl();
  StorageImpl(const StorageImpl&) = delete;
  StorageImpl& operator=(const StorageImpl&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  uint32_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  Allocator* allocator_;  // null for external memory
  std::function<void()> release_;
  std::atomic<uint32_t> version_{0};
};

using Storage = std::shared_ptr<StorageImpl>;

}  // namespace terra
