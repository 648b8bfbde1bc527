// The bytes behind one or more tensors (views share a Storage). Memory comes from the device's
// allocator, or from outside (a numpy array, a user buffer) with a release callback. The version
// counter lives here because every view of the same bytes must see the same count: autograd uses
// it to reject an in-place change to a tensor saved for backward.
//
// A storage can be *pending*: its bytes are (or will be) written by work that has been issued but
// not run yet (replay and co-execution defer ops, DESIGN.md §6 and §9). A deferred storage starts
// without memory; allocate() gets it. Reading a pending storage's data() first calls the pending
// resolver the engine installs, which runs the deferred work (a fetch); code that runs that work
// reads through data_unsynced().
#pragma once
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>

#include "tensor/allocator.hpp"
#include "tensor/device.hpp"
#include "tensor/scoped_depth.hpp"

namespace terra {

class StorageImpl;

// Deferred work performs writes whose version bumps were counted when the op was issued (autograd
// compares versions between issuing a forward op and its backward); it runs under this guard so
// they are not counted twice.
inline thread_local int versions_frozen = 0;
struct FreezeVersions : ScopedDepth {
  FreezeVersions() : ScopedDepth(versions_frozen) {}
};

// Set on the thread that runs deferred work (the graph executor): pending storages it reads were
// written earlier in its own queue, so it reads them as they are instead of asking for a fetch.
inline thread_local int running_deferred_work = 0;
struct RunningDeferredWork : ScopedDepth {
  RunningDeferredWork() : ScopedDepth(running_deferred_work) {}
};

// Runs the deferred work that writes `storage`; must leave it not pending (or raise).
using PendingResolver = void (*)(const StorageImpl& storage);
void set_pending_resolver(PendingResolver resolver);

class StorageImpl {
 public:
  struct Deferred {};
  // Allocates nbytes from the device's allocator.
  StorageImpl(size_t nbytes, Device device);
  // No memory yet, and pending: the deferred op that produces it allocates and writes it.
  StorageImpl(size_t nbytes, Device device, Deferred);
  // Wraps external memory; `release` runs when the last tensor using it is gone.
  StorageImpl(void* data, size_t nbytes, Device device, std::function<void()> release);
  ~StorageImpl();
  StorageImpl(const StorageImpl&) = delete;
  StorageImpl& operator=(const StorageImpl&) = delete;

  void* data() const {
    if (pending_.load(std::memory_order_acquire)) [[unlikely]] {
      if (running_deferred_work == 0) resolve_pending();
    }
    return data_;
  }
  void* data_unsynced() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  uint32_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() {
    if (versions_frozen == 0) version_.fetch_add(1, std::memory_order_relaxed);
  }

  bool pending() const { return pending_.load(std::memory_order_acquire); }
  void set_pending(bool pending) { pending_.store(pending, std::memory_order_release); }
  bool allocated() const { return data_ != nullptr || nbytes_ == 0; }
  // Memory Python can reach without Terra seeing it: borrowed from a numpy array somebody else can
  // still reach, or handed to one (`.numpy()`). Co-execution never lets a span read such bytes
  // late or write them unseen.
  bool host_visible() const {
    return (allocator_ == nullptr && data_ != nullptr && (!reachable_ || reachable_(owner_))) ||
           exports_.load(std::memory_order_relaxed) > 0;
  }
  // Borrowed memory: asks `reachable(owner)` whether anything but this storage still reaches the
  // memory's owner (bindings/: a numpy array nobody else holds, `torch.from_numpy(a.astype(...))`,
  // is Terra's alone). Without it borrowed memory is always visible. Asked on the session's thread.
  void set_reachable_probe(bool (*reachable)(const void* owner), const void* owner) {
    reachable_ = reachable;
    owner_ = owner;
  }
  // A numpy array over these bytes was made / is gone (counted: several may be alive).
  void add_export() { exports_.fetch_add(1, std::memory_order_relaxed); }
  void drop_export() { exports_.fetch_sub(1, std::memory_order_relaxed); }
  // Gets memory for a deferred storage (a no-op when it has some).
  void allocate();

 private:
  void resolve_pending() const;

  void* data_;
  size_t nbytes_;
  Device device_;
  Allocator* allocator_;  // null for external memory
  std::function<void()> release_;
  std::atomic<uint32_t> version_{0};
  std::atomic<bool> pending_{false};
  std::atomic<int> exports_{0};
  bool (*reachable_)(const void*) = nullptr;
  const void* owner_ = nullptr;

 public:
  // The tracing session's mark of the last span that writes this storage (engine/trace's
  // State::span_mark): whether the span being built writes it, in one compare, without a set.
  // Read and written only by the thread running the session.
  mutable uint64_t span_mark = 0;
};

using Storage = std::shared_ptr<StorageImpl>;

}  // namespace terra
