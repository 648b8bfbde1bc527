// Program's verifier and dumps (program.hpp).
#include "engine/graph/program.hpp"

#include <sstream>

#include "engine/graph/analysis.hpp"
#include "engine/graph/dump_format.hpp"

namespace terra::graph {

const char* buffer_kind_name(BufferKind k) {
  switch (k) {
    case BufferKind::Bound: return "bound";
    case BufferKind::Kept: return "kept";
    case BufferKind::Internal: return "internal";
  }
  return "?";
}

namespace {

[[noreturn]] void invalid(const std::string& what) { fail(ErrorKind::Runtime, "invalid graph program: ", what); }

std::string step_name(const Program& p, int s) { return "step " + std::to_string(s) + " (" + p.steps[s].op->name() + ")"; }

void check_values(const Program& p) {
  const int nv = static_cast<int>(p.values.size()), nb = static_cast<int>(p.buffers.size());
  if (p.num_bound < 0 || p.num_bound > nv) invalid("num_bound out of range");
  for (int v = 0; v < nv; ++v) {
    const Value& val = p.values[v];
    if (val.buffer < 0 || val.buffer >= nb) invalid("value " + std::to_string(v) + " has no buffer");
    const Buffer& buf = p.buffers[val.buffer];
    const bool bound = v < p.num_bound;
    if (bound != (val.bound == v)) invalid("value " + std::to_string(v) + ": bound index does not match its position");
    if (bound && buf.kind != BufferKind::Bound) invalid("bound value " + std::to_string(v) + " is not on a Bound buffer");
    if (bound && val.producer != -1) invalid("bound value " + std::to_string(v) + " has a producer");
    if (val.constant >= static_cast<int>(p.constants.size())) invalid("value " + std::to_string(v) + ": bad constant");
    const bool sourced = bound || val.constant >= 0;
    if (!sourced && (val.producer < 0 || val.producer >= static_cast<int>(p.steps.size())))
      invalid("value " + std::to_string(v) + " has no producer");
    if (val.meta.device != buf.device) invalid("value " + std::to_string(v) + " is on another device than its buffer");
  }
  std::vector<bool> kept_seen(p.num_kept, false);
  for (int b = 0; b < nb; ++b) {
    const Buffer& buf = p.buffers[b];
    if (buf.kind == BufferKind::Bound && (buf.index < 0 || buf.index >= p.num_bound))
      invalid("Bound buffer " + std::to_string(b) + " names no bound input");
    if (buf.kind == BufferKind::Kept) {
      if (buf.index < 0 || buf.index >= p.num_kept || kept_seen[buf.index])
        invalid("Kept buffer " + std::to_string(b) + " has a bad or repeated slot");
      kept_seen[buf.index] = true;
    }
  }
}

void check_steps(const Program& p) {
  const int nv = static_cast<int>(p.values.size());
  std::vector<int> defined_by(nv, -1);
  for (int s = 0; s < static_cast<int>(p.steps.size()); ++s) {
    const Step& step = p.steps[s];
    if (!step.op) invalid("step " + std::to_string(s) + " has no op");
    for (int in : step.inputs) {
      if (in < -1 || in >= nv) invalid(step_name(p, s) + " reads an unknown value");
      if (in < 0) continue;
      const Value& v = p.values[in];
      if (in >= p.num_bound && v.constant < 0 && defined_by[in] < 0)
        invalid(step_name(p, s) + " reads value " + std::to_string(in) + " before it is defined");
    }
    for (int out : step.outputs) {
      if (out < p.num_bound || out >= nv) invalid(step_name(p, s) + " defines a bad value");
      if (defined_by[out] >= 0) invalid("value " + std::to_string(out) + " is defined twice (SSA)");
      if (p.values[out].producer != s || p.values[out].constant >= 0)
        invalid("value " + std::to_string(out) + " does not name " + step_name(p, s) + " as its producer");
      defined_by[out] = s;
    }
    if (step.form == trace::CallForm::Out) {
      if (step.inputs.size() < step.outputs.size()) invalid(step_name(p, s) + ": fewer out= values than outputs");
      const size_t first = first_out_input(step);
      for (size_t i = 0; i < step.outputs.size(); ++i)
        if (step.inputs[first + i] < 0 || p.values[step.outputs[i]].buffer != p.values[step.inputs[first + i]].buffer)
          invalid(step_name(p, s) + ": an out= result is not on its out= buffer");
    } else if (step.form == trace::CallForm::InPlace || step.op->effect == Effect::InPlace) {
      const int w = written_input(step);
      if (step.outputs.empty() || w >= static_cast<int>(step.inputs.size()) || step.inputs[w] < 0 ||
          p.values[step.outputs[0]].buffer != p.values[step.inputs[w]].buffer)
        invalid(step_name(p, s) + ": the in-place result is not on the written buffer");
    } else if (step.op->effect == Effect::View) {
      if (step.inputs.empty() || step.inputs[0] < 0) invalid(step_name(p, s) + ": a view without input");
      // reshape is a view that copies a non-contiguous input: its output may be a fresh buffer.
      for (size_t o = 0; o < step.outputs.size(); ++o)
        if (p.values[step.outputs[o]].buffer != p.values[step.inputs[0]].buffer && !fresh_output(p, step, static_cast<int>(o)))
          invalid(step_name(p, s) + ": a view's output is neither on its input's buffer nor a fresh one");
    } else {
      for (size_t o = 0; o < step.outputs.size(); ++o)
        if (fresh_output(p, step, static_cast<int>(o)) && p.buffers[p.values[step.outputs[o]].buffer].kind == BufferKind::Bound)
          invalid(step_name(p, s) + ": a new result on a Bound buffer");
    }
  }
  for (int v = p.num_bound; v < nv; ++v)
    if (p.values[v].constant < 0 && defined_by[v] < 0) invalid("value " + std::to_string(v) + " is never defined");
}

}  // namespace

void Program::validate() const {
  check_values(*this);
  check_steps(*this);
}

std::string Program::to_json() const {
  std::ostringstream os;
  os << "{\"num_bound\":" << num_bound << ",\"num_kept\":" << num_kept << ",\n\"buffers\":[";
  for (size_t b = 0; b < buffers.size(); ++b)
    os << (b ? ",\n " : "") << "{\"id\":" << b << ",\"kind\":" << json_string(buffer_kind_name(buffers[b].kind))
       << ",\"nbytes\":" << buffers[b].nbytes << ",\"index\":" << buffers[b].index << '}';
  os << "],\n\"values\":[";
  for (size_t v = 0; v < values.size(); ++v) {
    const Value& val = values[v];
    os << (v ? ",\n " : "") << "{\"id\":" << v << ",\"meta\":" << meta_json(val.meta) << ",\"buffer\":" << val.buffer
       << ",\"producer\":" << val.producer << ",\"bound\":" << val.bound << ",\"constant\":" << val.constant << '}';
  }
  os << "],\n\"steps\":[";
  for (size_t s = 0; s < steps.size(); ++s) {
    const Step& st = steps[s];
    os << (s ? ",\n " : "") << "{\"id\":" << s << ",\"op\":" << json_string(st.op->name())
       << ",\"call\":" << json_string(call_str(st)) << ",\"form\":" << json_string(trace::call_form_name(st.form))
       << ",\"effect\":" << json_string(effect_name(st.op->effect)) << ",\"inputs\":[";
    for (size_t i = 0; i < st.inputs.size(); ++i) os << (i ? "," : "") << st.inputs[i];
    os << "],\"outputs\":[";
    for (size_t i = 0; i < st.outputs.size(); ++i) os << (i ? "," : "") << st.outputs[i];
    os << "],\"record\":" << st.record << '}';
  }
  os << "]}\n";
  return os.str();
}

std::string Program::to_dot() const {
  std::ostringstream os;
  os << "digraph program {\n  node [fontname=\"monospace\"];\n";
  for (size_t v = 0; v < values.size(); ++v) {
    const Value& val = values[v];
    if (val.producer >= 0) continue;
    os << "  v" << v << " [shape=box,label=\"" << (val.constant >= 0 ? "const " : "in") << (val.bound >= 0 ? std::to_string(val.bound) : "")
       << " %" << v << "\\n" << meta_str(val.meta) << "\"];\n";
  }
  for (size_t s = 0; s < steps.size(); ++s) {
    os << "  s" << s << " [shape=ellipse,label=\"" << dot_label(call_str(steps[s])) << "\"];\n";
    for (int in : steps[s].inputs) {
      if (in < 0) continue;
      const int from = values[in].producer;
      os << "  " << (from >= 0 ? "s" + std::to_string(from) : "v" + std::to_string(in)) << " -> s" << s << " [label=\"%"
         << in << ' ' << meta_str(values[in].meta) << "\"];\n";
    }
  }
  os << "}\n";
  return os.str();
}

}  // namespace terra::graph
