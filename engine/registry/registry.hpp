// The op registry: the one list of ops. Each op file registers its entries at load time:
//
//   TERRA_OP("exp(Tensor self) -> Tensor").infer(unary_float_rule).fusion(FusionKind::Elementwise);
//
// Kernels register separately, per device, in kernels/ (see kernels/kernel.hpp).
#pragma once
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/registry/op_def.hpp"

namespace terra {

class Registry {
 public:
  static Registry& instance();
  OpDef& add(const std::string& schema);
  const OpDef* find(std::string_view name) const;  // nullptr when absent
  const OpDef& get(std::string_view name) const;   // throws NotImplemented when absent
  std::vector<const OpDef*> all() const;           // sorted by name

 private:
  std::unordered_map<std::string, std::unique_ptr<OpDef>> ops_;
};

// Fluent registration; each setter returns *this so an entry reads as one statement.
class OpRegistrar {
 public:
  explicit OpRegistrar(const std::string& schema) : op_(&Registry::instance().add(schema)) {}
  OpRegistrar& infer(InferFn fn) { op_->infer = std::move(fn); return *this; }
  OpRegistrar& effect(Effect e, int inplace_input = -1) { op_->effect = e; op_->inplace_input = inplace_input; return *this; }
  OpRegistrar& fusion(FusionKind k) {
    op_->fusion = k;
    op_->writes_elementwise = op_->writes_elementwise || k == FusionKind::Elementwise;
    return *this;
  }
  OpRegistrar& writes_elementwise() { op_->writes_elementwise = true; return *this; }
  OpRegistrar& makes_outputs() { op_->kernel_makes_outputs = true; return *this; }
  OpRegistrar& copies_across_devices() { op_->copies_across_devices = true; return *this; }
  OpRegistrar& check_data(void (*check)(const std::vector<Tensor>& inputs, const Attrs& attrs)) {
    op_->check_data = check;
    return *this;
  }
  OpRegistrar& data_dependent(bool (*when)(const std::vector<Tensor>& inputs, const Attrs& attrs)) {
    op_->data_dependent = when;
    return *this;
  }
  OpRegistrar& grad(GradFn fn, SaveSet saves = SaveSet::all()) {
    op_->grad = std::move(fn);
    op_->saves = saves;
    op_->grad_state = GradState::Formula;
    return *this;
  }
  // Only these outputs carry gradients (the others, e.g. indices or saved statistics, do not).
  OpRegistrar& differentiable_outputs(std::initializer_list<int> which) {
    op_->differentiable_outputs = 0;
    for (int i : which) op_->differentiable_outputs |= uint64_t{1} << i;
    return *this;
  }
  OpRegistrar& not_differentiable() { op_->grad_state = GradState::NotDifferentiable; return *this; }
  OpDef& def() { return *op_; }

 private:
  OpDef* op_;
};

}  // namespace terra

#define TERRA_OP(schema) \
  [[maybe_unused]] static ::terra::OpRegistrar TERRA_CONCAT(terra_op_, __COUNTER__) = ::terra::OpRegistrar(schema)
