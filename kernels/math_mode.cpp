// The TF32 switches (math_mode.hpp): process-wide, as PyTorch's.
#include "kernels/math_mode.hpp"

#include <atomic>

namespace terra {
namespace {
std::atomic<bool> tf32_matmul{false}, tf32_cudnn{false};
}  // namespace

bool allow_tf32_matmul() { return tf32_matmul.load(std::memory_order_relaxed); }
void set_allow_tf32_matmul(bool allow) { tf32_matmul.store(allow, std::memory_order_relaxed); }
bool allow_tf32_cudnn() { return tf32_cudnn.load(std::memory_order_relaxed); }
void set_allow_tf32_cudnn(bool allow) { tf32_cudnn.store(allow, std::memory_order_relaxed); }

}  // namespace terra
