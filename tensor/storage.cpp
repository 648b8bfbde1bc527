#include "tensor/storage.hpp"

#include "tensor/error.hpp"

namespace terra {

namespace {
std::atomic<PendingResolver> g_resolver{nullptr};
}

void set_pending_resolver(PendingResolver resolver) { g_resolver.store(resolver); }

StorageImpl::StorageImpl(size_t nbytes, Device device)
    : data_(nullptr), nbytes_(nbytes), device_(device), allocator_(&allocator_for(device.type)) {
  if (nbytes_ > 0) data_ = allocator_->allocate(nbytes_);
}

StorageImpl::StorageImpl(size_t nbytes, Device device, Deferred)
    : data_(nullptr), nbytes_(nbytes), device_(device), allocator_(&allocator_for(device.type)) {
  pending_.store(true, std::memory_order_relaxed);
}

StorageImpl::StorageImpl(void* data, size_t nbytes, Device device, std::function<void()> release)
    : data_(data), nbytes_(nbytes), device_(device), allocator_(nullptr), release_(std::move(release)) {}

StorageImpl::~StorageImpl() {
  if (allocator_) {
    if (data_) allocator_->deallocate(data_, nbytes_);
  } else if (release_) {
    release_();
  }
}

void StorageImpl::allocate() {
  if (data_ || nbytes_ == 0) return;
  TERRA_ASSERT(allocator_);
  data_ = allocator_->allocate(nbytes_);
}

void StorageImpl::resolve_pending() const {
  PendingResolver resolver = g_resolver.load();
  TERRA_CHECK(resolver, Runtime, "internal error: a tensor's data is pending but no engine runs deferred work");
  resolver(*this);
  TERRA_CHECK(!pending_.load(std::memory_order_acquire), Runtime,
              "this tensor's deferred computation did not run (an earlier error in its span stopped it)");
}

}  // namespace terra
