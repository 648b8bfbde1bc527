// The TraceGraph (DESIGN.md §7): the traces of iterations merged into a tree of op occurrences.
// Node 0 is a sentinel root; every other node holds the record of one op call, and the path from
// the root to a node is the sequence of op calls that led there. Two records are the same node
// when Record::same_node holds. A node with more than one way on is a branch point: several
// children (Python decided differently in different iterations), or children and the end of an
// iteration (loops with different trip counts share their prefix). The number of paths (distinct
// iteration ends) is bounded; a trace past the bound is not added.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/trace/record.hpp"

namespace terra::trace {

class TraceGraph {
 public:
  explicit TraceGraph(int max_paths = 32);

  struct MergeResult {
    int new_nodes = 0;
    bool new_path = false;    // the trace ends where no iteration ended before (or would have)
    bool over_bound = false;  // a new path past max_paths: nothing was added
    int end_node = -1;        // where the trace ended; -1 when it was not merged
  };
  // Walks the trace from the root, adding the records no node matches; matched nodes take the
  // union of their fetched bits and the trace's. An incomplete trace (an exception cut the
  // iteration short) is not merged and counts for nothing: its tail is no path the program takes.
  MergeResult merge(const Trace& trace);

  int root() const { return 0; }
  // The child of `node` that is the same node as `r`; -1 when none.
  int find_child(int node, const Record& r) const;

  // Node ids are 0 .. num_nodes() - 1, the root included.
  const Record& record(int node) const { return nodes_[node].record; }
  bool ends_iteration(int node) const { return nodes_[node].ends > 0; }
  int parent(int node) const { return nodes_[node].parent; }
  int depth(int node) const { return nodes_[node].depth; }  // the root 0, a trace's first record 1
  const std::vector<int>& children(int node) const { return nodes_[node].children; }
  // How often merged traces passed through `node`: for a child, how often its parent went its
  // way (the tree gives each node one parent). ends(): how often an iteration ended at `node`.
  uint32_t visits(int node) const { return nodes_[node].visits; }
  uint32_t ends(int node) const { return nodes_[node].ends; }
  bool is_branch_point(int node) const;
  // The node ids from the first record to `node` (empty for the root).
  std::vector<int> path_to(int node) const;

  size_t num_nodes() const { return nodes_.size(); }
  size_t num_paths() const { return num_paths_; }
  int num_branch_points() const;
  int max_paths() const { return max_paths_; }

  // True when the last k merges each added nothing, neither node nor path (and at least k merges
  // happened). A trace refused by the path bound breaks the run too: the program left the graph.
  bool stable(int k) const { return static_cast<int64_t>(quiet_merges_) >= k; }
  uint32_t merges() const { return merges_; }

  // For people (trace_graph_dump.cpp): every node with its op, form, location, sources, metas,
  // fetched bits, visits, ends and children; the DOT form marks branch points and iteration ends.
  std::string to_json() const;
  std::string to_dot() const;

 private:
  struct Node {
    Record record;
    int parent = -1;
    int depth = 0;
    std::vector<int> children;
    uint32_t visits = 0;
    uint32_t ends = 0;
  };
  int add_child(int node, const Record& r);

  std::vector<Node> nodes_;
  int max_paths_;
  size_t num_paths_ = 0;
  uint32_t merges_ = 0;
  uint32_t quiet_merges_ = 0;  // merges in a row that added nothing
};

}  // namespace terra::trace
