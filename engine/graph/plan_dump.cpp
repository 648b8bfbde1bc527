// CompiledPlan's dumps (plan.hpp): the program after the passes, the schedule, the fused groups
// with their members and kernel listing, where each buffer lives, and the statistics; the dot
// form draws each fused group as a cluster and labels buffers with their arena offsets.
#include <sstream>

#include "engine/graph/dump_format.hpp"
#include "engine/graph/plan.hpp"

namespace terra::graph {

const char* placement_name(Placement p) {
  switch (p) {
    case Placement::Bound: return "bound";
    case Placement::Kept: return "kept";
    case Placement::Arena: return "arena";
    case Placement::OpAllocated: return "op-allocated";
    case Placement::Constant: return "constant";
    case Placement::NotMaterialized: return "not-materialized";
  }
  return "?";
}

namespace {

std::string id_list(const std::vector<int>& ids) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < ids.size(); ++i) os << (i ? "," : "") << ids[i];
  os << ']';
  return os.str();
}

std::string stats_json(const PlanStats& s) {
  std::ostringstream os;
  os << "{\"steps_before\":" << s.steps_before << ",\"steps_after\":" << s.steps_after
     << ",\"kernels_per_run\":" << s.kernels_per_run << ",\"views_per_run\":" << s.views_per_run
     << ",\"fused_groups\":" << s.fused_groups << ",\"fused_steps\":" << s.fused_steps
     << ",\"nvrtc_kernels\":" << s.nvrtc_kernels
     << ",\"bytes_moved\":" << s.bytes_moved << ",\"arena_bytes\":" << s.arena_bytes << ",\"kept_bytes\":" << s.kept_bytes
     << ",\"constant_bytes\":" << s.constant_bytes << ",\"peak_bytes\":" << s.peak_bytes << ",\"arenas\":[";
  for (size_t a = 0; a < s.arenas.size(); ++a)
    os << (a ? "," : "") << "{\"device\":" << json_string(s.arenas[a].device.str()) << ",\"bytes\":" << s.arenas[a].bytes << '}';
  os << ']' << ",\"cuda_graph_captures\":" << s.cuda_graph_captures << ",\"cuda_graph_replays\":" << s.cuda_graph_replays
     << ",\"compile_seconds\":" << s.compile_seconds << '}';
  return os.str();
}

std::string buffer_label(const CompiledPlan& plan, int b) {
  const BufferPlacement& bp = plan.placement[b];
  std::string s = "buf" + std::to_string(b) + " " + placement_name(bp.where);
  if (bp.where == Placement::Arena && plan.stats.arenas.size() > 1) s += " " + plan.stats.arenas[bp.arena].device.str();
  if (bp.where == Placement::Arena) s += " @" + std::to_string(bp.offset);
  if (bp.reused_from >= 0) s += " (in place of buf" + std::to_string(bp.reused_from) + ")";
  return s;
}

}  // namespace

std::string CompiledPlan::to_json() const {
  std::ostringstream os;
  os << "{\"stats\":" << stats_json(stats)
     << ",\n\"cuda_graph\":" << json_string(cuda_graph_blocker.empty() ? "capturable" : "not captured: " + cuda_graph_blocker)
     << ",\n\"schedule\":[";
  for (size_t k = 0; k < schedule.size(); ++k)
    os << (k ? "," : "") << (schedule[k].group >= 0 ? "{\"group\":" + std::to_string(schedule[k].group) + "}"
                                                    : "{\"step\":" + std::to_string(schedule[k].step) + "}");
  os << "],\n\"groups\":[";
  for (size_t g = 0; g < groups.size(); ++g) {
    const FusedGroup& fg = groups[g];
    os << (g ? ",\n " : "") << "{\"id\":" << g << ",\"steps\":" << id_list(fg.steps) << ",\"ops\":[";
    for (size_t i = 0; i < fg.steps.size(); ++i) os << (i ? "," : "") << json_string(call_str(program.steps[fg.steps[i]]));
    os << "],\"inputs\":" << id_list(fg.inputs) << ",\"outputs\":" << id_list(fg.outputs)
       << ",\"dtype\":" << json_string(dtype_name(fg.dtype)) << ",\"shape\":" << json_string(shape_str(fg.shape))
       << ",\"kernel\":" << json_string(fg.kernel->listing());
    if (!fg.cuda_hash.empty()) os << ",\"cuda_kernel\":" << json_string(fg.cuda_hash);
    os << '}';
  }
  os << "],\n\"placement\":[";
  for (size_t b = 0; b < placement.size(); ++b) {
    const BufferPlacement& bp = placement[b];
    os << (b ? ",\n " : "") << "{\"buffer\":" << b << ",\"where\":" << json_string(placement_name(bp.where))
       << ",\"arena\":" << bp.arena << ",\"offset\":" << bp.offset << ",\"nbytes\":" << program.buffers[b].nbytes << ",\"first\":" << bp.first
       << ",\"last\":" << bp.last << ",\"reused_from\":" << bp.reused_from << '}';
  }
  os << "],\n\"program\":" << program.to_json() << "}\n";
  return os.str();
}

std::string CompiledPlan::to_dot() const {
  const Program& p = program;
  std::ostringstream os;
  os << "digraph plan {\n  node [fontname=\"monospace\"];\n  label=\"" << dot_label(stats_json(stats)) << "\";\n";
  for (size_t v = 0; v < p.values.size(); ++v)
    if (p.values[v].producer < 0)
      os << "  v" << v << " [shape=box,label=\"%" << v << ' ' << meta_str(p.values[v].meta) << "\\n"
         << buffer_label(*this, p.values[v].buffer) << "\"];\n";
  std::vector<int> group_of(p.steps.size(), -1);
  for (size_t g = 0; g < groups.size(); ++g) {
    os << "  subgraph cluster_" << g << " {\n    label=\"fused group " << g << "\";\n    style=filled;\n    color=lightgrey;\n";
    for (int s : groups[g].steps) {
      group_of[s] = static_cast<int>(g);
      os << "    s" << s << ";\n";
    }
    os << "  }\n";
  }
  for (size_t s = 0; s < p.steps.size(); ++s) {
    os << "  s" << s << " [label=\"" << dot_label(call_str(p.steps[s]));
    for (int out : p.steps[s].outputs)
      if (group_of[s] < 0 || placement[p.values[out].buffer].where != Placement::NotMaterialized)
        os << "\\n%" << out << " -> " << buffer_label(*this, p.values[out].buffer);
    os << "\"];\n";
    for (int in : p.steps[s].inputs) {
      if (in < 0) continue;
      const int from = p.values[in].producer;
      os << "  " << (from >= 0 ? "s" + std::to_string(from) : "v" + std::to_string(in)) << " -> s" << s << " [label=\"%"
         << in << "\"];\n";
    }
  }
  os << "}\n";
  return os.str();
}

}  // namespace terra::graph
