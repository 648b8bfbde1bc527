#include "engine/graph/analysis.hpp"

#include <algorithm>

namespace terra::graph {

size_t first_out_input(const Step& step) {
  if (step.form != trace::CallForm::Out) return step.inputs.size();
  return step.inputs.size() - std::min(step.inputs.size(), step.outputs.size());
}

int written_input(const Step& step) { return step.op->effect == Effect::InPlace ? step.op->inplace_input : 0; }

std::vector<int> overwritten_buffers(const Program& p, const Step& step) {
  std::vector<int> out;
  if (step.form == trace::CallForm::InPlace || (step.form == trace::CallForm::Functional && step.op->effect == Effect::InPlace))
    out.push_back(p.values[step.inputs[written_input(step)]].buffer);
  if (step.form == trace::CallForm::Out)
    for (size_t i = first_out_input(step); i < step.inputs.size(); ++i) out.push_back(p.values[step.inputs[i]].buffer);
  return out;
}

bool fresh_output(const Program& p, const Step& step, int o) {
  const int b = p.values[step.outputs[o]].buffer;
  for (int in : step.inputs)
    if (in >= 0 && p.values[in].buffer == b) return false;
  return true;
}

size_t value_nbytes(const Value& v) { return static_cast<size_t>(shape_numel(v.meta.shape)) * itemsize(v.meta.dtype); }

std::vector<std::vector<int>> value_readers(const Program& p) {
  std::vector<std::vector<int>> readers(p.values.size());
  for (int s = 0; s < static_cast<int>(p.steps.size()); ++s)
    for (int in : p.steps[s].inputs)
      if (in >= 0 && (readers[in].empty() || readers[in].back() != s)) readers[in].push_back(s);
  return readers;
}

std::vector<std::vector<int>> buffer_overwriters(const Program& p) {
  std::vector<std::vector<int>> writers(p.buffers.size());
  for (int s = 0; s < static_cast<int>(p.steps.size()); ++s)
    for (int b : overwritten_buffers(p, p.steps[s])) writers[b].push_back(s);
  return writers;
}

bool overwritten_between(const std::vector<std::vector<int>>& overwriters, int buffer, int after, int before) {
  const std::vector<int>& w = overwriters[buffer];
  auto it = std::upper_bound(w.begin(), w.end(), after);
  return it != w.end() && *it < before;
}

void replace_uses(Program& p, int from, int to) {
  for (Step& s : p.steps)
    for (int& in : s.inputs)
      if (in == from) in = to;
}

void compact(Program& p, const std::vector<bool>& removed_steps) {
  std::vector<Step> steps;
  for (size_t s = 0; s < p.steps.size(); ++s)
    if (!removed_steps[s]) steps.push_back(std::move(p.steps[s]));
  p.steps = std::move(steps);

  std::vector<bool> used_value(p.values.size(), false);
  for (int v = 0; v < p.num_bound; ++v) used_value[v] = true;
  for (const Step& s : p.steps) {
    for (int in : s.inputs)
      if (in >= 0) used_value[in] = true;
    for (int out : s.outputs) used_value[out] = true;
  }
  std::vector<bool> used_buffer(p.buffers.size(), false);
  for (size_t b = 0; b < p.buffers.size(); ++b) used_buffer[b] = p.buffers[b].kind != BufferKind::Internal;
  for (size_t v = 0; v < p.values.size(); ++v)
    if (used_value[v]) used_buffer[p.values[v].buffer] = true;

  std::vector<int> buffer_id(p.buffers.size(), -1);
  std::vector<Buffer> buffers;
  for (size_t b = 0; b < p.buffers.size(); ++b) {
    if (!used_buffer[b]) continue;
    buffer_id[b] = static_cast<int>(buffers.size());
    buffers.push_back(p.buffers[b]);
  }
  std::vector<int> value_id(p.values.size(), -1);
  std::vector<Value> values;
  std::vector<Tensor> constants;
  for (size_t v = 0; v < p.values.size(); ++v) {
    if (!used_value[v]) continue;
    value_id[v] = static_cast<int>(values.size());
    Value val = p.values[v];
    val.buffer = buffer_id[val.buffer];
    if (val.constant >= 0) {
      constants.push_back(p.constants[val.constant]);
      val.constant = static_cast<int>(constants.size()) - 1;
    }
    values.push_back(std::move(val));
  }
  for (int s = 0; s < static_cast<int>(p.steps.size()); ++s) {
    Step& step = p.steps[s];
    for (int& in : step.inputs)
      if (in >= 0) in = value_id[in];
    for (int& out : step.outputs) {
      out = value_id[out];
      values[out].producer = s;
    }
  }
  p.values = std::move(values);
  p.buffers = std::move(buffers);
  p.constants = std::move(constants);
}

}  // namespace terra::graph
