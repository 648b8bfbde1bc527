// Attribute values of an op call (the non-tensor arguments of its schema), in schema order with
// defaults filled in. Kernels read them by name; the names come from the op's schema, so a kernel
// and its registry entry cannot disagree about what an argument is called.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tensor/device.hpp"
#include "tensor/dtype.hpp"
#include "tensor/generator.hpp"
#include "tensor/scalar.hpp"

namespace terra {

using AttrValue = std::variant<std::monostate,  // None
                               bool, int64_t, double, Scalar, std::string, std::vector<int64_t>,
                               std::vector<double>, DType, Device, std::shared_ptr<Generator>>;

std::string attr_str(const AttrValue& v);  // for dumps and messages

class Attrs {
 public:
  Attrs() = default;
  Attrs(const std::vector<std::string>* names, std::vector<AttrValue> values)
      : names_(names), values_(std::move(values)) {}

  const AttrValue& operator[](std::string_view name) const { return values_[index(name)]; }
  AttrValue& operator[](std::string_view name) { return values_[index(name)]; }
  bool is_none(std::string_view name) const {
    return std::holds_alternative<std::monostate>((*this)[name]);
  }
  template <class T>
  const T& get(std::string_view name) const {
    const AttrValue& v = (*this)[name];
    const T* p = std::get_if<T>(&v);
    TERRA_CHECK(p, Runtime, "internal error: attribute '", name, "' has an unexpected type");
    return *p;
  }
  template <class T>
  std::optional<T> opt(std::string_view name) const {
    if (is_none(name)) return std::nullopt;
    return get<T>(name);
  }
  const std::vector<AttrValue>& values() const { return values_; }
  const std::vector<std::string>& names() const { return *names_; }
  size_t size() const { return values_.size(); }

 private:
  size_t index(std::string_view name) const;
  const std::vector<std::string>* names_ = nullptr;
  std::vector<AttrValue> values_;
};

}  // namespace terra
