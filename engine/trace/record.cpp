// Trace records: names, metas, attribute equality and hashing, the node key of a record and its
// printable form. See Note [Record key] for what the key covers.
#include "engine/trace/record.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <sstream>
#include <type_traits>

namespace terra::trace {

namespace {

// splitmix64's finalizer: every input bit affects every output bit.
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void combine(uint64_t& seed, uint64_t v) { seed = mix64(seed ^ mix64(v)); }

uint64_t double_bits(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return bits;
}

// FNV-1a: deterministic across processes, unlike std::hash, so keys in dumps can be compared.
uint64_t hash_string(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// A Scalar's value as bits: the double's bits for floats, the integer otherwise.
uint64_t scalar_bits(const Scalar& s) {
  return s.is_floating() ? double_bits(s.as_double()) : static_cast<uint64_t>(s.as_int());
}

bool same_value(const AttrValue& a, const AttrValue& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b);
        if constexpr (std::is_same_v<T, double>) {
          return double_bits(x) == double_bits(y);
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          if (x.size() != y.size()) return false;
          for (size_t i = 0; i < x.size(); ++i)
            if (double_bits(x[i]) != double_bits(y[i])) return false;
          return true;
        } else if constexpr (std::is_same_v<T, Scalar>) {
          return x.kind() == y.kind() && scalar_bits(x) == scalar_bits(y);
        } else if constexpr (std::is_same_v<T, std::monostate>) {
          return true;
        } else {
          return x == y;  // shared_ptr<Generator> compares by pointer: the generator's identity
        }
      },
      a);
}

uint64_t hash_value(const AttrValue& v) {
  uint64_t h = v.index();
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int64_t>) {
          combine(h, static_cast<uint64_t>(x));
        } else if constexpr (std::is_same_v<T, double>) {
          combine(h, double_bits(x));
        } else if constexpr (std::is_same_v<T, Scalar>) {
          combine(h, static_cast<uint64_t>(x.kind()));
          combine(h, scalar_bits(x));
        } else if constexpr (std::is_same_v<T, std::string>) {
          combine(h, hash_string(x));
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          combine(h, x.size());
          for (int64_t e : x) combine(h, static_cast<uint64_t>(e));
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          combine(h, x.size());
          for (double e : x) combine(h, double_bits(e));
        } else if constexpr (std::is_same_v<T, DType>) {
          combine(h, static_cast<uint64_t>(x));
        } else if constexpr (std::is_same_v<T, Device>) {
          combine(h, static_cast<uint64_t>(x.type));
          combine(h, static_cast<uint64_t>(x.index));
        } else if constexpr (std::is_same_v<T, std::shared_ptr<Generator>>) {
          combine(h, reinterpret_cast<uintptr_t>(x.get()));
        }
      },
      v);
  return h;
}

// Note [Record key]: the identity of a node leaves out the input offsets (a view that moves
// through a buffer from one iteration to the next is still the same op at the same place), the
// fetched bits and the outputs (they follow from the rest).
bool same_identity_meta(const std::optional<ValueMeta>& a, const std::optional<ValueMeta>& b) {
  if (!a || !b) return !a && !b;
  return a->shape == b->shape && a->strides == b->strides && a->dtype == b->dtype && a->device == b->device;
}

void combine_meta(uint64_t& h, const std::optional<ValueMeta>& m) {
  combine(h, m.has_value());
  if (!m) return;
  combine(h, m->shape.size());
  for (int64_t d : m->shape) combine(h, static_cast<uint64_t>(d));
  for (int64_t s : m->strides) combine(h, static_cast<uint64_t>(s));
  combine(h, static_cast<uint64_t>(m->dtype));
  combine(h, static_cast<uint64_t>(m->device.type));
  combine(h, static_cast<uint64_t>(m->device.index));
}

// Set by the embedding layer at import; read from whichever thread prints a record.
std::atomic<LocationDescriber> location_describer{nullptr};
std::atomic<DerivedLocations> derived_locations{nullptr};

}  // namespace

const char* source_kind_name(SourceKind k) {
  switch (k) {
    case SourceKind::None: return "none";
    case SourceKind::Internal: return "internal";
    case SourceKind::Parameter: return "param";
    case SourceKind::Feed: return "feed";
    case SourceKind::Carried: return "carried";
  }
  return "?";
}

const char* call_form_name(CallForm f) {
  switch (f) {
    case CallForm::Functional: return "functional";
    case CallForm::InPlace: return "inplace";
    case CallForm::Out: return "out";
  }
  return "?";
}

std::string source_str(const InputSource& s) {
  switch (s.kind) {
    case SourceKind::None: return "None";
    case SourceKind::Internal: return "#" + std::to_string(s.record) + "." + std::to_string(s.output);
    default: return std::string(source_kind_name(s.kind)) + "@" + std::to_string(s.alias);
  }
}

ValueMeta meta_of(const Tensor& t) {
  return ValueMeta{t.shape(), t.strides(), t.offset(), t.dtype(), t.device()};
}

size_t bytes_spanned(const ValueMeta& m) {
  if (shape_numel(m.shape) == 0) return 0;
  int64_t last = m.offset;
  for (size_t d = 0; d < m.shape.size(); ++d) last += (m.shape[d] - 1) * m.strides[d];
  return static_cast<size_t>(last + 1) * itemsize(m.dtype);
}

uint64_t mix_keys(uint64_t a, uint64_t b) {
  combine(a, b);
  return a;
}

std::string meta_str(const ValueMeta& m) { return dtype_name(m.dtype) + shape_str(m.shape); }

namespace {

// Note [Runtime attributes]: a floating-point attribute (a learning rate in add_(g, alpha=-lr), a
// clipping coefficient) is data the program computes, often anew each step. Its value is not part
// of a node's identity, only its kind; the replayed call binds the value it was given.
bool runtime_value(const AttrValue& v) {
  if (std::holds_alternative<double>(v)) return true;
  const Scalar* s = std::get_if<Scalar>(&v);
  return s && s->is_floating();
}

bool same_identity_attrs(const Attrs& a, const Attrs& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const AttrValue &x = a.values()[i], &y = b.values()[i];
    if (runtime_value(x) ? x.index() != y.index() || !runtime_value(y) : !same_value(x, y)) return false;
  }
  return true;
}

uint64_t hash_identity_attrs(const Attrs& a) {
  uint64_t h = a.size();
  for (const AttrValue& v : a.values()) combine(h, runtime_value(v) ? 0x5eed + v.index() : hash_value(v));
  return h;
}

}  // namespace

bool is_runtime_attr(const AttrValue& v) { return runtime_value(v); }

bool attrs_equal(const Attrs& a, const Attrs& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!same_value(a.values()[i], b.values()[i])) return false;
  return true;
}

uint64_t hash_attrs(const Attrs& a) {
  uint64_t h = a.size();
  for (const AttrValue& v : a.values()) combine(h, hash_value(v));
  return h;
}

void Record::finish_key() {
  uint64_t h = op ? hash_string(op->name()) : 0;
  combine(h, static_cast<uint64_t>(form));
  combine(h, hash_identity_attrs(attrs));
  combine(h, location);
  combine(h, inputs.size());
  for (const InputSource& s : inputs) {
    combine(h, static_cast<uint64_t>(s.external() ? SourceKind::Parameter : s.kind));  // as operator==
    combine(h, static_cast<uint64_t>(s.record));
    combine(h, static_cast<uint64_t>(s.output));
    combine(h, static_cast<uint64_t>(s.alias));
  }
  for (const std::optional<ValueMeta>& m : input_metas) combine_meta(h, m);
  key = h;
}

namespace {

// A node's identity past its key: op, call form, location, wiring, identity attributes, and each
// input's meta as `same_meta(i)` compares it (offsets aside).
template <class SameMeta>
bool same_identity(const Record& r, const OpDef* op, CallForm form, uint64_t location,
                   const std::vector<InputSource>& inputs, const Attrs& attrs, size_t num_metas, SameMeta same_meta) {
  if (r.op != op || r.form != form || r.location != location || r.inputs != inputs) return false;
  if (r.input_metas.size() != num_metas || !same_identity_attrs(r.attrs, attrs)) return false;
  for (size_t i = 0; i < num_metas; ++i)
    if (!same_meta(i)) return false;
  return true;
}

}  // namespace

bool same_identity_meta(const std::optional<ValueMeta>& m, const Tensor& t) {
  if (m.has_value() != t.defined()) return false;
  return !m || (m->shape == t.shape() && m->strides == t.strides() && m->dtype == t.dtype() && m->device == t.device());
}

bool Record::same_node(const Record& o) const {
  return key == o.key && same_identity(*this, o.op, o.form, o.location, o.inputs, o.attrs, o.input_metas.size(),
                                       [&](size_t i) { return same_identity_meta(input_metas[i], o.input_metas[i]); });
}

bool Record::same_node_as_call(const OpDef& call_op, CallForm call_form, const Attrs& call_attrs,
                               uint64_t call_location, const std::vector<InputSource>& sources,
                               const std::vector<Tensor>& call_inputs) const {
  return same_identity(*this, &call_op, call_form, call_location, sources, call_attrs, call_inputs.size(),
                       [&](size_t i) { return same_identity_meta(input_metas[i], call_inputs[i]); });
}

std::string Record::str() const {
  std::ostringstream os;
  os << (op ? op->name() : std::string("?"));
  // An in-place call of a functional op prints as PyTorch spells it (add_); copy_ already is.
  if (form == CallForm::InPlace && op && op->effect != Effect::InPlace) os << '_';
  os << '(';
  size_t first_out = form == CallForm::Out ? inputs.size() - std::min(inputs.size(), outputs.size()) : inputs.size();
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i) os << ", ";
    if (i >= first_out) os << "out=";
    if (i < input_metas.size() && input_metas[i]) os << meta_str(*input_metas[i]) << " <- ";
    os << source_str(inputs[i]);
  }
  os << ") at " << describe_location(location);
  return os.str();
}

std::string Record::difference(const Record& o) const {
  if (op != o.op) return "another op";
  if (form != o.form) return std::string("called ") + call_form_name(o.form) + ", expected " + call_form_name(form);
  if (location != o.location) {
    const std::string here = describe_location(o.location), there = describe_location(location);
    return here == there ? "the same line reached through other calls (another location key)"
                         : "called at " + here + ", expected " + there;
  }
  if (attrs.size() != o.attrs.size()) return "another number of attributes";
  for (size_t i = 0; i < attrs.size(); ++i) {
    const AttrValue &want = attrs.values()[i], &got = o.attrs.values()[i];
    const bool same = runtime_value(want) ? want.index() == got.index() && runtime_value(got) : same_value(want, got);
    if (same) continue;
    const std::string name = i < attrs.names().size() ? attrs.names()[i] : std::to_string(i);
    return "attribute " + name + " = " + attr_str(got) + ", expected " + attr_str(want);
  }
  if (inputs.size() != o.inputs.size()) return "another number of inputs";
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string in = "input " + std::to_string(i);
    if (!(inputs[i] == o.inputs[i]))
      return in + " comes from " + source_str(o.inputs[i]) + ", expected " + source_str(inputs[i]);
    const std::optional<ValueMeta>&want = input_metas.at(i), &got = o.input_metas.at(i);
    if (want.has_value() != got.has_value()) return in + (got ? " is given" : " is left out");
    if (!want) continue;
    if (want->shape != got->shape || want->dtype != got->dtype)
      return in + " is " + meta_str(*got) + ", expected " + meta_str(*want);
    if (want->strides != got->strides)
      return in + " has strides " + shape_str(got->strides) + ", expected " + shape_str(want->strides);
    if (!(want->device == got->device)) return in + " is on " + got->device.str() + ", expected " + want->device.str();
  }
  return {};
}

void set_location_describer(LocationDescriber fn) { location_describer.store(fn); }
void set_derived_locations(DerivedLocations fn) { derived_locations.store(fn); }

std::string describe_location(uint64_t key) {
  uint64_t called_at = 0, forward = 0;
  if (DerivedLocations derived = derived_locations.load(); derived && derived(key, &called_at, &forward))
    return "backward of " + describe_location(forward) + " (from " + describe_location(called_at) + ")";
  if (LocationDescriber describe = location_describer.load()) return describe(key);
  std::ostringstream os;
  os << "location 0x" << std::hex << key;
  return os.str();
}

}  // namespace terra::trace
