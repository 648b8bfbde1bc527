// The TraceGraph: merging traces of real registry ops into the tree, branch points, loops with
// different trip counts, the path bound, stability, fetched bits and the dumps.
#include <cstdio>
#include <fstream>

#include "engine/trace/trace_graph.hpp"
#include "trace_records.hpp"

using namespace terra;
using namespace terra::test;
using trace::Record;
using trace::Trace;
using trace::TraceGraph;

namespace {

struct Step {
  std::string op;
  uint64_t location;
};

// Unary float ops in a chain on one feed: record i reads record i - 1 (the metas never change).
Trace chain(const std::vector<Step>& steps, const Shape& shape = {4, 3}) {
  Tensor x = random_tensor(shape, DType::Float32, 1);
  Trace t;
  for (size_t i = 0; i < steps.size(); ++i) {
    trace::InputSource src = i == 0 ? feed(0) : internal(static_cast<int>(i) - 1);
    t.records.push_back(make_record(steps[i].op, {{src, x}}, steps[i].location));
  }
  return t;
}

// A feed, then `trips` times: h = tanh(h * w), as an RNN's time loop would trace.
Trace loop(int trips) {
  Tensor x = random_tensor({4, 3}, DType::Float32, 1);
  Tensor w = random_tensor({4, 3}, DType::Float32, 2);
  Trace t = chain({{"neg", 1}});
  for (int i = 0; i < trips; ++i) {
    int prev = static_cast<int>(t.records.size()) - 1;
    t.records.push_back(make_record("mul", {{internal(prev), x}, {param(0), w}}, 10));
    t.records.push_back(make_record("tanh", {{internal(prev + 1), x}}, 11));
  }
  return t;
}

// The path most tests start from: neg, exp, tanh.
Trace three_ops() { return chain({{"neg", 1}, {"exp", 2}, {"tanh", 3}}); }

}  // namespace

TEST_CASE("merging the same path twice adds nothing", "[trace][trace_graph]") {
  TraceGraph g;
  TraceGraph::MergeResult first = g.merge(three_ops());
  CHECK(first.new_nodes == 3);
  CHECK(first.new_path);
  CHECK_FALSE(first.over_bound);
  TraceGraph::MergeResult second = g.merge(three_ops());
  CHECK(second.new_nodes == 0);
  CHECK_FALSE(second.new_path);
  CHECK(second.end_node == first.end_node);

  CHECK(g.num_nodes() == 4);  // the root and three records
  CHECK(g.num_paths() == 1);
  CHECK(g.num_branch_points() == 0);
  CHECK(g.merges() == 2);
  int end = first.end_node;
  CHECK(g.ends_iteration(end));
  CHECK(g.ends(end) == 2);
  CHECK(g.visits(g.root()) == 2);
  CHECK(g.depth(g.root()) == 0);
  CHECK(g.depth(end) == 3);
  CHECK(g.record(end).op->name() == "tanh");
  std::vector<int> path = g.path_to(end);
  REQUIRE(path.size() == 3);
  CHECK(g.parent(path[0]) == g.root());
  CHECK(g.parent(path[2]) == path[1]);
  CHECK(g.children(g.root()) == std::vector<int>{path[0]});
  for (int n : path) CHECK(g.visits(n) == 2);
  CHECK(g.path_to(g.root()).empty());
}

TEST_CASE("a different op after a shared prefix adds one branch point", "[trace][trace_graph]") {
  TraceGraph g;
  g.merge(three_ops());
  Trace other = chain({{"neg", 1}, {"exp", 2}, {"sigmoid", 3}});
  TraceGraph::MergeResult r = g.merge(other);
  CHECK(r.new_nodes == 1);
  CHECK(r.new_path);
  CHECK(g.num_paths() == 2);
  CHECK(g.num_branch_points() == 1);
  int exp_node = g.parent(r.end_node);
  CHECK(g.is_branch_point(exp_node));
  CHECK(g.children(exp_node).size() == 2);
  CHECK(g.visits(exp_node) == 2);
  CHECK(g.find_child(exp_node, other.records[2]) == r.end_node);
  CHECK(g.find_child(exp_node, three_ops().records[2]) == g.children(exp_node)[0]);
  CHECK(g.find_child(exp_node, three_ops().records[0]) == -1);
}

TEST_CASE("a new shape, attribute, location or input source makes a new node", "[trace][trace_graph]") {
  // (A parameter where a feed was is the same node: InputSource::external.)
  Tensor x = random_tensor({4, 3}, DType::Float32, 1);
  Record base = make_record("sum", {{feed(0), x}}, 5, {{"dim", {1}}});
  std::vector<std::pair<std::string, Record>> variants{
      {"shape", make_record("sum", {{feed(0), random_tensor({5, 3}, DType::Float32, 1)}}, 5, {{"dim", {1}}})},
      {"attribute", make_record("sum", {{feed(0), x}}, 5, {{"dim", {0}}})},
      {"location", make_record("sum", {{feed(0), x}}, 6, {{"dim", {1}}})},
      {"source", make_record("sum", {{internal(0), x}}, 5, {{"dim", {1}}})},
      {"alias", make_record("sum", {{feed(1), x}}, 5, {{"dim", {1}}})},
  };
  for (const auto& [what, variant] : variants) {
    INFO(what);
    TraceGraph g;
    g.merge(Trace{{base}});
    TraceGraph::MergeResult r = g.merge(Trace{{variant}});
    CHECK(r.new_nodes == 1);
    CHECK(g.children(g.root()).size() == 2);
  }
}

TEST_CASE("loops with different trip counts share their prefix and end at different depths", "[trace][trace_graph]") {
  TraceGraph g;
  TraceGraph::MergeResult three = g.merge(loop(3));
  TraceGraph::MergeResult five = g.merge(loop(5));
  TraceGraph::MergeResult four = g.merge(loop(4));
  CHECK(three.new_nodes == 7);
  CHECK(five.new_nodes == 4);
  CHECK(four.new_nodes == 0);  // a prefix of the five-trip path, ending where none ended before
  CHECK(four.new_path);
  CHECK(g.num_nodes() == 12);
  CHECK(g.num_paths() == 3);
  CHECK(g.depth(three.end_node) == 7);
  CHECK(g.depth(four.end_node) == 9);
  CHECK(g.depth(five.end_node) == 11);
  // Ends with children: the walker cannot tell from the op alone whether the loop goes on.
  CHECK(g.ends_iteration(three.end_node));
  CHECK(g.children(three.end_node).size() == 1);
  CHECK(g.num_branch_points() == 2);
  std::vector<int> five_path = g.path_to(five.end_node);
  CHECK(five_path[6] == three.end_node);
  CHECK(five_path[8] == four.end_node);
  CHECK(g.visits(five_path[0]) == 3);
  CHECK(g.visits(five_path[9]) == 1);
}

TEST_CASE("the path bound stops growth and says so", "[trace][trace_graph]") {
  TraceGraph g(2);
  g.merge(three_ops());
  g.merge(chain({{"neg", 1}, {"sigmoid", 2}}));
  size_t nodes = g.num_nodes();
  TraceGraph::MergeResult r = g.merge(chain({{"exp", 1}}));
  CHECK(r.over_bound);
  CHECK(r.new_path);
  CHECK(r.new_nodes == 0);
  CHECK(r.end_node == -1);
  CHECK(g.num_nodes() == nodes);
  CHECK(g.num_paths() == 2);
  CHECK(g.merge(chain({{"neg", 1}})).over_bound);  // a new end on a known prefix is a path too
  TraceGraph::MergeResult known = g.merge(three_ops());
  CHECK_FALSE(known.over_bound);
  CHECK(known.end_node > 0);
}

TEST_CASE("stable(k) holds after k merges that add nothing", "[trace][trace_graph]") {
  TraceGraph g;
  CHECK_FALSE(g.stable(1));
  g.merge(three_ops());
  CHECK_FALSE(g.stable(1));
  g.merge(three_ops());
  CHECK(g.stable(1));
  CHECK_FALSE(g.stable(2));
  g.merge(three_ops());
  CHECK(g.stable(2));
  g.merge(chain({{"neg", 1}, {"exp", 2}}));  // a new path that adds no node
  CHECK_FALSE(g.stable(1));
  g.merge(three_ops());
  CHECK(g.stable(1));

  Trace cut = chain({{"sigmoid", 1}});
  cut.complete = false;
  TraceGraph::MergeResult r = g.merge(cut);
  CHECK(r.end_node == -1);
  CHECK(r.new_nodes == 0);
  CHECK(g.stable(1));
  CHECK(g.merges() == 5);
}

TEST_CASE("fetched bits of matched records are merged", "[trace][trace_graph]") {
  TraceGraph g;
  Trace t = three_ops();
  t.records[1].fetched = 1;
  int end = g.merge(t).end_node;
  t.records[1].fetched = 0;
  t.records[2].fetched = 2;
  CHECK(g.merge(t).new_nodes == 0);
  t.records[2].fetched = 1;
  g.merge(t);
  std::vector<int> path = g.path_to(end);
  CHECK(g.record(path[0]).fetched == 0);
  CHECK(g.record(path[1]).fetched == 1);
  CHECK(g.record(path[2]).fetched == 3);
  CHECK(g.to_dot().find("fetched (outputs mask 3)") != std::string::npos);
}

TEST_CASE("the dumps show nodes, branch points and iteration ends", "[trace][trace_graph]") {
  TraceGraph g;
  g.merge(three_ops());
  TraceGraph::MergeResult r = g.merge(chain({{"neg", 1}, {"exp", 2}, {"sigmoid", 3}}));
  int branch = g.parent(r.end_node);
  trace::set_location_describer([](uint64_t key) { return "model \"x\".py:" + std::to_string(key); });
  std::string json = g.to_json();
  std::string dot = g.to_dot();
  trace::set_location_describer(nullptr);

  // The JSON parses, with every node and its fields.
  std::string file = "trace_graph_test.json";
  std::ofstream(file) << json;
  std::string check = "/usr/bin/python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); n = d[\"nodes\"]; "
                      "print(len(n), d[\"num_branch_points\"], n[" + std::to_string(branch) + "][\"op\"], "
                      "n[3][\"location\"], n[2][\"inputs\"][0][\"source\"], n[1][\"inputs\"][0][\"meta\"][\"shape\"])'"
                      " " + file;
  FILE* pipe = popen(check.c_str(), "r");
  REQUIRE(pipe);
  char out[256] = {};
  size_t got = fread(out, 1, sizeof out - 1, pipe);
  CHECK(pclose(pipe) == 0);
  std::remove(file.c_str());
  CHECK(std::string(out, got) == "5 1 exp model \"x\".py:3 #0.0 [4, 3]\n");

  std::string branch_line = "  n" + std::to_string(branch) + " [label=";
  size_t at = dot.find(branch_line);
  REQUIRE(at != std::string::npos);
  std::string line = dot.substr(at, dot.find('\n', at) - at);
  CHECK(line.find("branch point") != std::string::npos);
  CHECK(line.find("fillcolor=gold") != std::string::npos);
  CHECK(line.find("float32[4, 3] -> float32[4, 3]") != std::string::npos);
  CHECK(dot.find("  n" + std::to_string(r.end_node) + " [label=\"sigmoid") != std::string::npos);
  CHECK(dot.find("peripheries=2") != std::string::npos);
  CHECK(dot.find("model \\\"x\\\".py:2") != std::string::npos);
}
