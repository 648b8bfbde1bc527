// Facts about a Program that every pass needs: which buffers a step reads and writes, who reads
// each value, and the rewrites passes share (dropping steps, redirecting uses).
#pragma once
#include <vector>

#include "engine/graph/program.hpp"

namespace terra::graph {

// Position in Step::inputs of the first out= value (inputs.size() unless CallForm::Out).
size_t first_out_input(const Step& step);
// The input an InPlace step writes (the op's inplace_input for copy_/fill_, else 0).
int written_input(const Step& step);
// Buffers the step overwrites in place: an InPlace step's written input, an Out step's out= values.
// (A functional step's fresh outputs are not overwrites.)
std::vector<int> overwritten_buffers(const Program& p, const Step& step);
// True when output `o` of the step lives in a buffer none of its inputs lives in.
bool fresh_output(const Program& p, const Step& step, int o);
size_t value_nbytes(const Value& v);

// For each value, the steps that read it, in order.
std::vector<std::vector<int>> value_readers(const Program& p);
// For each buffer, the steps that overwrite it, in order.
std::vector<std::vector<int>> buffer_overwriters(const Program& p);
// True when some step in the open interval (after, before) overwrites `buffer`.
bool overwritten_between(const std::vector<std::vector<int>>& overwriters, int buffer, int after, int before);

// Replaces every read of value `from` by value `to`.
void replace_uses(Program& p, int from, int to);
// Drops the removed steps, then every value and Internal buffer nothing refers to any more, and
// renumbers (bound values, Bound and Kept buffers keep their numbers).
void compact(Program& p, const std::vector<bool>& removed_steps);

}  // namespace terra::graph
