// Trace records (DESIGN.md §7): what the dispatcher writes down for each top-level op call while
// tracing, and what the TraceGraph stores per node. A record says which op ran, how it was called,
// where (the location key), where each input came from and what the outputs looked like. Two
// records are the same node of the TraceGraph when everything but `fetched`, the offsets of the
// inputs and the outputs is equal (outputs follow from the rest).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/registry/op_def.hpp"

namespace terra::trace {

// Where an input came from.
enum class SourceKind : uint8_t {
  None,       // an optional tensor argument left out
  Internal,   // an output of an earlier record of this iteration
  Parameter,  // a persistent tensor made before tracing began (parameters, buffers, state)
  Feed,       // a tensor made in this iteration from Python data (no traced op made it)
  Carried,    // a tensor made in an earlier iteration (a hidden state, optimizer state)
};
const char* source_kind_name(SourceKind k);

struct InputSource {
  SourceKind kind = SourceKind::None;
  int32_t record = -1;  // Internal: position of the producing record in the iteration
  int32_t output = -1;  // Internal: which of its outputs
  // Parameter/Feed/Carried: where in this iteration the first external input with this storage
  // was used (record position * 64 + input index); its own place when it is the first. This is
  // the wiring of aliases: `p` and `p.data` feed the same bytes.
  int32_t alias = -1;
  // Parameter, Feed and Carried say where an external input came from, for messages and dumps; a
  // plan binds all three alike, so a node's identity only knows "external": a hidden state made
  // before the loop in the first iteration and carried after it, or a batch drawn from tensors of
  // several ages, is one path.
  bool external() const { return kind == SourceKind::Parameter || kind == SourceKind::Feed || kind == SourceKind::Carried; }
  bool operator==(const InputSource& o) const {
    return (kind == o.kind || (external() && o.external())) && record == o.record && output == o.output &&
           alias == o.alias;
  }
};
std::string source_str(const InputSource& s);  // "#3.0" (record 3, output 0), "param@0", "None"

// A tensor's metadata as the plan needs it: strides and offset matter for views and fused loops.
struct ValueMeta {
  Shape shape;
  Strides strides;
  int64_t offset = 0;
  DType dtype = DType::Float32;
  Device device;
  bool operator==(const ValueMeta& o) const {
    return shape == o.shape && strides == o.strides && offset == o.offset && dtype == o.dtype && device == o.device;
  }
};
ValueMeta meta_of(const Tensor& t);
// The bytes a storage needs to hold a tensor of this layout (offset included).
size_t bytes_spanned(const ValueMeta& m);
// Mixes two location keys into one (a gradient op's: backward()'s key and its forward op's).
uint64_t mix_keys(uint64_t a, uint64_t b);
std::string meta_str(const ValueMeta& m);  // "float32[2, 3]"

// How the op was called: op(inputs) -> new outputs; op_(inputs) writing inputs[0]
// (dispatch_inplace, or an Effect::InPlace op such as copy_); op(inputs, out=outputs).
enum class CallForm : uint8_t { Functional, InPlace, Out };
const char* call_form_name(CallForm f);

struct OutputInfo {
  ValueMeta meta;
  // The input whose storage this output shares (views, in-place, out= into an input); -1 for a
  // fresh buffer. For CallForm::Out the outputs are extra inputs: see Record::inputs.
  int alias_input = -1;
  // The op handed back input k itself (contiguous() of a contiguous tensor, an in-place op's
  // self): replay must hand back the same tensor, not a new alias of it.
  int same_as_input = -1;
  bool operator==(const OutputInfo& o) const {
    return meta == o.meta && alias_input == o.alias_input && same_as_input == o.same_as_input;
  }
};

struct Record {
  const OpDef* op = nullptr;
  CallForm form = CallForm::Functional;
  Attrs attrs;
  uint64_t location = 0;  // opaque key; trace::describe_location() prints it
  // Tensor arguments in schema order; for CallForm::Out the out= tensors follow them.
  std::vector<InputSource> inputs;
  std::vector<std::optional<ValueMeta>> input_metas;  // nullopt for SourceKind::None
  std::vector<OutputInfo> outputs;
  uint64_t fetched = 0;  // bit i: Python read output i's data (a sync point)
  uint64_t key = 0;      // hash of the node identity; set by finish_key()

  // Computes `key` from op, form, attributes, location, sources and input metas.
  void finish_key();
  // The same node of a TraceGraph (compares key first, then every field of the identity).
  bool same_node(const Record& other) const;
  // Whether a call would make a Record that is the same node as this one: what same_node
  // compares, read straight from the call (`sources`: its inputs as classified), so that matching
  // a replayed call builds nothing.
  bool same_node_as_call(const OpDef& call_op, CallForm call_form, const Attrs& call_attrs, uint64_t call_location,
                         const std::vector<InputSource>& sources, const std::vector<Tensor>& call_inputs) const;
  // "add(float32[2, 3] <- #3.0, float32[3] <- param@0) at model.py:12", for dumps and messages.
  std::string str() const;
  // The first part of the identity in which `other` differs from this record, in words ("input 1
  // has strides [1, 32], expected [16, 1]"); empty when they are the same node. For divergence
  // messages, where str() of both can read the same.
  std::string difference(const Record& other) const;
};

// Whether `t` has the metas an input with metas `m` has for a node's identity (all but the offset).
bool same_identity_meta(const std::optional<ValueMeta>& m, const Tensor& t);

// Floating-point attribute values are not part of a node's identity (Note [Runtime attributes]).
bool is_runtime_attr(const AttrValue& v);
bool attrs_equal(const Attrs& a, const Attrs& b);
uint64_t hash_attrs(const Attrs& a);

// A trace: the records of one iteration, in order.
struct Trace {
  std::vector<Record> records;
  bool complete = true;  // false when the iteration was cut short (an exception escaped it)
};

// Location keys come from the embedding layer (the Python frames, computed in bindings/); the
// engine sees opaque keys and asks this hook for a printable form ("train.py:41 in step").
using LocationDescriber = std::string (*)(uint64_t key);
void set_location_describer(LocationDescriber fn);
// A gradient op's key is mixed from backward()'s and its forward op's (mix_keys); the tracing
// session, which mixes them, says which two through this hook, so that describe_location reads
// "backward of <the forward op's location> (from <backward()'s>)".
using DerivedLocations = bool (*)(uint64_t key, uint64_t* called_at, uint64_t* forward);
void set_derived_locations(DerivedLocations fn);
// A location key as a person reads it ("train.py:41 in step").
std::string describe_location(uint64_t key);

}  // namespace terra::trace
