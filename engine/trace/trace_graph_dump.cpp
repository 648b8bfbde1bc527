// The TraceGraph for people: JSON with every field of every node, and Graphviz DOT where branch
// points are filled, iteration ends have a double border and edges say how often they were taken.
#include <cstdio>
#include <sstream>

#include "engine/trace/json.hpp"
#include "engine/trace/trace_graph.hpp"

namespace terra::trace {

namespace {

std::string json_attrs(const Attrs& attrs) {
  std::string out = "{";
  for (size_t i = 0; i < attrs.size(); ++i)
    out += (i ? "," : "") + json_string(attrs.names()[i]) + ":" + json_string(attr_str(attrs.values()[i]));
  return out + "}";
}

std::string json_record(const Record& r) {
  std::ostringstream os;
  char key[19];
  std::snprintf(key, sizeof key, "0x%016llx", static_cast<unsigned long long>(r.key));
  os << "\"op\":" << json_string(r.op->name()) << ",\"form\":" << json_string(call_form_name(r.form))
     << ",\"key\":" << json_string(key) << ",\"location\":" << json_string(describe_location(r.location))
     << ",\"attrs\":" << json_attrs(r.attrs) << ",\"inputs\":[";
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    os << (i ? "," : "") << "{\"source\":" << json_string(source_str(r.inputs[i]));
    if (i < r.input_metas.size() && r.input_metas[i]) os << ",\"meta\":" << meta_json(*r.input_metas[i]);
    os << '}';
  }
  os << "],\"outputs\":[";
  for (size_t i = 0; i < r.outputs.size(); ++i)
    os << (i ? "," : "") << "{\"meta\":" << meta_json(r.outputs[i].meta)
       << ",\"alias_input\":" << r.outputs[i].alias_input << '}';
  os << "],\"fetched\":" << r.fetched;
  return os.str();
}

// "add (inplace)\nfloat32[2, 3], float32[3] -> float32[2, 3]\nmodel.py:12", and the fetches
std::string dot_label(const Record& r) {
  std::string label = r.op->name();
  if (r.form != CallForm::Functional) label += std::string(" (") + call_form_name(r.form) + ")";
  label += '\n';
  for (size_t i = 0; i < r.input_metas.size(); ++i)
    label += (i ? ", " : "") + (r.input_metas[i] ? meta_str(*r.input_metas[i]) : std::string("None"));
  label += " ->";
  for (size_t i = 0; i < r.outputs.size(); ++i) label += (i ? ", " : " ") + meta_str(r.outputs[i].meta);
  label += '\n' + describe_location(r.location);
  if (r.fetched) label += "\nfetched (outputs mask " + std::to_string(r.fetched) + ")";
  return label;
}

}  // namespace

std::string TraceGraph::to_json() const {
  std::ostringstream os;
  os << "{\"max_paths\":" << max_paths_ << ",\"merges\":" << merges_ << ",\"num_paths\":" << num_paths_
     << ",\"num_branch_points\":" << num_branch_points() << ",\"nodes\":[";
  for (int n = 0; n < static_cast<int>(nodes_.size()); ++n) {
    const Node& node = nodes_[n];
    os << (n ? ",\n" : "\n") << "{\"id\":" << n << ",\"parent\":" << node.parent << ",\"depth\":" << node.depth
       << ",\"visits\":" << node.visits << ",\"ends\":" << node.ends
       << ",\"iteration_end\":" << (ends_iteration(n) ? "true" : "false")
       << ",\"branch_point\":" << (is_branch_point(n) ? "true" : "false") << ",\"children\":[";
    for (size_t i = 0; i < node.children.size(); ++i)
      os << (i ? "," : "") << "{\"node\":" << node.children[i] << ",\"taken\":" << visits(node.children[i]) << '}';
    os << ']';
    if (n != root()) os << ',' << json_record(node.record);
    os << '}';
  }
  os << "\n]}\n";
  return os.str();
}

std::string TraceGraph::to_dot() const {
  std::ostringstream os;
  os << "digraph TraceGraph {\n  node [shape=box, fontname=\"monospace\"];\n";
  for (int n = 0; n < static_cast<int>(nodes_.size()); ++n) {
    std::string label = n == root() ? std::string("start") : dot_label(record(n));
    if (is_branch_point(n)) label += "\nbranch point";
    if (ends_iteration(n)) label += "\niteration end (" + std::to_string(ends(n)) + "x)";
    os << "  n" << n << " [label=" << json_string(label);
    if (is_branch_point(n)) os << ", style=filled, fillcolor=gold";
    if (ends_iteration(n)) os << ", peripheries=2";
    os << "];\n";
    for (int c : children(n)) os << "  n" << n << " -> n" << c << " [label=\"" << visits(c) << "\"];\n";
  }
  os << "}\n";
  return os.str();
}

}  // namespace terra::trace
