// The TraceGraph's structure: merging traces into the tree, lookups and counts. The dumps are in
// trace_graph_dump.cpp.
#include "engine/trace/trace_graph.hpp"

#include <algorithm>

namespace terra::trace {

TraceGraph::TraceGraph(int max_paths) : nodes_(1), max_paths_(max_paths) {}

int TraceGraph::find_child(int node, const Record& r) const {
  for (int c : nodes_[node].children)
    if (nodes_[c].record.same_node(r)) return c;  // same_node compares keys first
  return -1;
}

int TraceGraph::add_child(int node, const Record& r) {
  int id = static_cast<int>(nodes_.size());
  Node child;
  child.record = r;
  child.parent = node;
  child.depth = nodes_[node].depth + 1;
  nodes_.push_back(std::move(child));
  nodes_[node].children.push_back(id);
  return id;
}

TraceGraph::MergeResult TraceGraph::merge(const Trace& trace) {
  MergeResult result;
  if (!trace.complete) return result;
  ++merges_;

  // Find how far the trace follows the tree before changing anything, so that a trace refused
  // by the path bound leaves the graph as it was.
  std::vector<int> path{root()};
  for (const Record& r : trace.records) {
    int next = find_child(path.back(), r);
    if (next < 0) break;
    path.push_back(next);
  }
  size_t matched = path.size() - 1;
  result.new_path = matched < trace.records.size() || !ends_iteration(path.back());
  if (result.new_path && num_paths_ >= static_cast<size_t>(max_paths_)) {
    result.over_bound = true;
    quiet_merges_ = 0;
    return result;
  }

  for (size_t i = matched; i < trace.records.size(); ++i) path.push_back(add_child(path.back(), trace.records[i]));
  for (size_t i = 0; i < path.size(); ++i) {
    ++nodes_[path[i]].visits;
    if (i > 0) nodes_[path[i]].record.fetched |= trace.records[i - 1].fetched;
  }
  result.new_nodes = static_cast<int>(trace.records.size() - matched);
  result.end_node = path.back();
  ++nodes_[result.end_node].ends;
  if (result.new_path) ++num_paths_;
  quiet_merges_ = result.new_path ? 0 : quiet_merges_ + 1;
  return result;
}

bool TraceGraph::is_branch_point(int node) const {
  return nodes_[node].children.size() + (ends_iteration(node) ? 1 : 0) > 1;
}

std::vector<int> TraceGraph::path_to(int node) const {
  std::vector<int> path;
  for (; node != root(); node = parent(node)) path.push_back(node);
  std::reverse(path.begin(), path.end());
  return path;
}

int TraceGraph::num_branch_points() const {
  int n = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) n += is_branch_point(static_cast<int>(i));
  return n;
}

}  // namespace terra::trace
