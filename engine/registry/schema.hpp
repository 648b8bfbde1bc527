// An op's schema, written once as a PyTorch-style signature string and parsed at registration:
//   "add(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor"
// Tensor arguments are the op's inputs; every other argument is an attribute. The same parsed
// schema drives argument checking in C++, the Python binding's signatures, keyword names and
// defaults, trace records and graph dumps.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "kernels/attrs.hpp"

namespace terra {

enum class ArgType { Tensor, TensorList, Int, Float, Bool, Str, Scalar, ScalarType, Device, Generator, IntList, FloatList };

struct Argument {
  std::string name;
  ArgType type;
  bool optional = false;    // "T?": may be None
  bool kwarg_only = false;  // after "*"
  std::optional<AttrValue> default_value;  // absent: required
};

struct Schema {
  std::string name;
  std::vector<Argument> args;
  std::vector<std::string> returns;  // output names ("" when unnamed)
  bool returns_list = false;         // "-> Tensor[]": the output count is decided at run time

  std::vector<std::string> attr_names;   // non-tensor args, in order
  size_t num_inputs = 0;                 // tensor args (a Tensor[] arg takes any number)
  size_t min_inputs = 0;                 // tensor args up to the last required one
  std::vector<const Argument*> inputs() const;  // tensor args
  std::vector<const Argument*> attrs() const;
  bool has_tensor_list() const;
  std::string str() const;  // the signature, re-printed
};

Schema parse_schema(const std::string& text);  // throws terra::Error on a malformed schema
const char* arg_type_name(ArgType t);

// Converts `value` to the attribute's declared type (an int where a float is declared, a number
// where a Scalar is) or throws a TypeError naming the argument.
AttrValue coerce_attr(const Argument& arg, const AttrValue& value);

}  // namespace terra
