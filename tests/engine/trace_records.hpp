// Hand-built trace records for the trace tests: a real registry op run eagerly on the given
// tensors, with the sources, location and call form a tracer would have written down.
#pragma once
#include <string_view>
#include <utility>
#include <vector>

#include "engine/trace/record.hpp"
#include "helpers.hpp"

namespace terra::test {

inline trace::InputSource internal(int record, int output = 0) {
  return {trace::SourceKind::Internal, record, output, -1};
}
inline trace::InputSource external(trace::SourceKind kind, int alias) { return {kind, -1, -1, alias}; }
inline trace::InputSource param(int alias) { return external(trace::SourceKind::Parameter, alias); }
inline trace::InputSource feed(int alias) { return external(trace::SourceKind::Feed, alias); }

struct TracedInput {
  trace::InputSource source;
  Tensor tensor;
};

inline trace::Record make_record(std::string_view op_name, const std::vector<TracedInput>& inputs,
                                 uint64_t location, const NamedAttrs& attrs = {}) {
  trace::Record r;
  r.op = &Registry::instance().get(op_name);
  r.attrs = make_attrs(*r.op, attrs);
  r.location = location;
  std::vector<Tensor> tensors;
  for (const TracedInput& in : inputs) {
    r.inputs.push_back(in.source);
    r.input_metas.push_back(trace::meta_of(in.tensor));
    tensors.push_back(in.tensor);
  }
  for (const Tensor& out : dispatch(*r.op, tensors, r.attrs)) r.outputs.push_back({trace::meta_of(out), -1});
  r.finish_key();
  return r;
}

}  // namespace terra::test
