#include "engine/registry/registry.hpp"

#include <algorithm>

namespace terra {

const char* effect_name(Effect e) {
  switch (e) {
    case Effect::Pure: return "pure";
    case Effect::View: return "view";
    case Effect::InPlace: return "in-place";
    case Effect::Random: return "random";
    case Effect::SideEffect: return "side-effect";
  }
  return "?";
}

KernelFn OpDef::kernel(DeviceType device) const {
  auto& slot = kernels_[static_cast<int>(device)];
  KernelFn fn = slot.load(std::memory_order_acquire);
  if (!fn) {
    fn = find_kernel(schema.name, device);
    if (fn) slot.store(fn, std::memory_order_release);
  }
  return fn;
}

Registry& Registry::instance() {
  static Registry* r = new Registry();
  return *r;
}

OpDef& Registry::add(const std::string& schema) {
  auto op = std::make_unique<OpDef>();
  op->schema = parse_schema(schema);
  std::string name = op->schema.name;
  TERRA_CHECK(!ops_.count(name), Runtime, "op '", name, "' registered twice");
  OpDef& ref = *op;
  ops_.emplace(name, std::move(op));
  return ref;
}

const OpDef* Registry::find(std::string_view name) const {
  auto it = ops_.find(std::string(name));
  return it == ops_.end() ? nullptr : it->second.get();
}

const OpDef& Registry::get(std::string_view name) const {
  const OpDef* op = find(name);
  TERRA_CHECK(op, NotImplemented, "no op named '", name, "' in the registry");
  return *op;
}

std::vector<const OpDef*> Registry::all() const {
  std::vector<const OpDef*> v;
  for (const auto& [name, op] : ops_) v.push_back(op.get());
  std::sort(v.begin(), v.end(), [](const OpDef* a, const OpDef* b) { return a->name() < b->name(); });
  return v;
}

}  // namespace terra
