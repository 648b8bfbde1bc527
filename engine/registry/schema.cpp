#include "engine/registry/schema.hpp"

#include <cctype>
#include <limits>
#include <sstream>

#include "tensor/error.hpp"

namespace terra {

namespace {

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  Schema parse() {
    Schema sc;
    sc.name = ident();
    expect('(');
    bool kwarg_only = false;
    skip_ws();
    while (peek() != ')') {
      if (peek() == '*') {
        ++pos_;
        kwarg_only = true;
      } else {
        Argument a = argument();
        a.kwarg_only = kwarg_only;
        sc.args.push_back(std::move(a));
      }
      skip_ws();
      if (peek() == ',') ++pos_;
      skip_ws();
    }
    expect(')');
    skip_ws();
    expect('-');
    expect('>');
    skip_ws();
    if (peek() == '(') {
      ++pos_;
      skip_ws();
      while (peek() != ')') {
        std::string t = ident();
        TERRA_CHECK(t == "Tensor", Runtime, "schema '", s_, "': outputs must be Tensors");
        skip_ws();
        std::string n = std::isalpha(static_cast<unsigned char>(peek())) ? ident() : "";
        sc.returns.push_back(n);
        skip_ws();
        if (peek() == ',') ++pos_;
        skip_ws();
      }
      ++pos_;
    } else {
      std::string t = ident();
      TERRA_CHECK(t == "Tensor", Runtime, "schema '", s_, "': outputs must be Tensors");
      if (peek() == '[') {
        expect('[');
        expect(']');
        sc.returns_list = true;
      }
      sc.returns.push_back("");
    }
    for (const auto& a : sc.args) {
      if (a.type != ArgType::Tensor && a.type != ArgType::TensorList) {
        sc.attr_names.push_back(a.name);
        continue;
      }
      sc.num_inputs++;
      if (!a.optional) sc.min_inputs = sc.num_inputs;
    }
    return sc;
  }

 private:
  Argument argument() {
    Argument a;
    std::string t = ident();
    bool list = false;
    if (peek() == '[') {
      ++pos_;
      while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;  // int[2]: size is documentation
      expect(']');
      list = true;
    }
    if (peek() == '?') {
      ++pos_;
      a.optional = true;
    }
    if (t == "Tensor") a.type = list ? ArgType::TensorList : ArgType::Tensor;
    else if (t == "int") a.type = list ? ArgType::IntList : ArgType::Int;
    else if (t == "float") a.type = list ? ArgType::FloatList : ArgType::Float;
    else if (t == "bool") a.type = ArgType::Bool;
    else if (t == "str") a.type = ArgType::Str;
    else if (t == "Scalar") a.type = ArgType::Scalar;
    else if (t == "ScalarType") a.type = ArgType::ScalarType;
    else if (t == "Device") a.type = ArgType::Device;
    else if (t == "Generator") a.type = ArgType::Generator;
    else fail(ErrorKind::Runtime, "schema '", s_, "': unknown type '", t, "'");
    skip_ws();
    a.name = ident();
    skip_ws();
    if (peek() == '=') {
      ++pos_;
      skip_ws();
      a.default_value = coerce_attr(a, literal());
    } else if (a.optional && a.type == ArgType::Tensor) {
      a.default_value = AttrValue{};  // an optional tensor defaults to None
    }
    return a;
  }

  AttrValue literal() {
    char c = peek();
    if (c == '"' || c == '\'') {
      ++pos_;
      size_t start = pos_;
      while (peek() != c) ++pos_;
      std::string v = s_.substr(start, pos_ - start);
      ++pos_;
      return v;
    }
    if (c == '[') {
      ++pos_;
      std::vector<int64_t> ints;
      std::vector<double> floats;
      bool is_float = false;
      skip_ws();
      while (peek() != ']') {
        AttrValue v = literal();
        if (auto* i = std::get_if<int64_t>(&v)) {
          ints.push_back(*i);
          floats.push_back(static_cast<double>(*i));
        } else {
          is_float = true;
          floats.push_back(std::get<double>(v));
        }
        skip_ws();
        if (peek() == ',') ++pos_;
        skip_ws();
      }
      ++pos_;
      if (is_float) return floats;
      return ints;
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      std::string w = ident();
      if (w == "None") return AttrValue{};
      if (w == "True") return true;
      if (w == "False") return false;
      if (w == "inf") return std::numeric_limits<double>::infinity();
      return w;  // e.g. a dtype name such as float32
    }
    size_t start = pos_;
    if (peek() == '-') ++pos_;
    bool is_float = false;
    while (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '.' || peek() == 'e' ||
           ((peek() == '-' || peek() == '+') && (s_[pos_ - 1] == 'e'))) {
      if (peek() == '.' || peek() == 'e') is_float = true;
      ++pos_;
    }
    std::string num = s_.substr(start, pos_ - start);
    if (num == "-" && std::isalpha(static_cast<unsigned char>(peek())) && ident() == "inf")
      return -std::numeric_limits<double>::infinity();
    TERRA_CHECK(!num.empty(), Runtime, "schema '", s_, "': bad default at ", pos_);
    if (is_float) return std::stod(num);
    return static_cast<int64_t>(std::stoll(num));
  }

  std::string ident() {
    skip_ws();
    size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' || s_[pos_] == '.'))
      ++pos_;
    TERRA_CHECK(pos_ > start, Runtime, "schema '", s_, "': expected a name at ", start);
    return s_.substr(start, pos_ - start);
  }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void expect(char c) {
    skip_ws();
    TERRA_CHECK(peek() == c, Runtime, "schema '", s_, "': expected '", c, "' at ", pos_);
    ++pos_;
  }

  const std::string& s_;
  size_t pos_ = 0;
};

}  // namespace

Schema parse_schema(const std::string& text) { return Parser(text).parse(); }

std::vector<const Argument*> Schema::inputs() const {
  std::vector<const Argument*> v;
  for (const auto& a : args)
    if (a.type == ArgType::Tensor || a.type == ArgType::TensorList) v.push_back(&a);
  return v;
}

std::vector<const Argument*> Schema::attrs() const {
  std::vector<const Argument*> v;
  for (const auto& a : args)
    if (a.type != ArgType::Tensor && a.type != ArgType::TensorList) v.push_back(&a);
  return v;
}

bool Schema::has_tensor_list() const {
  for (const auto& a : args)
    if (a.type == ArgType::TensorList) return true;
  return false;
}

const char* arg_type_name(ArgType t) {
  switch (t) {
    case ArgType::Tensor: return "Tensor";
    case ArgType::TensorList: return "Tensor[]";
    case ArgType::Int: return "int";
    case ArgType::Float: return "float";
    case ArgType::Bool: return "bool";
    case ArgType::Str: return "str";
    case ArgType::Scalar: return "Scalar";
    case ArgType::ScalarType: return "ScalarType";
    case ArgType::Device: return "Device";
    case ArgType::Generator: return "Generator";
    case ArgType::IntList: return "int[]";
    case ArgType::FloatList: return "float[]";
  }
  return "?";
}

std::string Schema::str() const {
  std::ostringstream os;
  os << name << "(";
  bool star = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const Argument& a = args[i];
    if (i) os << ", ";
    if (a.kwarg_only && !star) {
      os << "*, ";
      star = true;
    }
    os << arg_type_name(a.type) << (a.optional ? "?" : "") << " " << a.name;
    if (a.default_value && !(a.type == ArgType::Tensor)) os << "=" << attr_str(*a.default_value);
  }
  os << ") -> ";
  if (returns_list) return os.str() + "Tensor[]";
  if (returns.size() == 1) return os.str() + "Tensor";
  os << "(";
  for (size_t i = 0; i < returns.size(); ++i) os << (i ? ", " : "") << "Tensor" << (returns[i].empty() ? "" : " " + returns[i]);
  os << ")";
  return os.str();
}

AttrValue coerce_attr(const Argument& arg, const AttrValue& v) {
  if (std::holds_alternative<std::monostate>(v)) {
    TERRA_CHECK(arg.optional, Type, "argument '", arg.name, "' must be ", arg_type_name(arg.type), ", not None");
    return v;
  }
  auto bad = [&]() -> AttrValue {
    fail(ErrorKind::Type, "argument '", arg.name, "' must be ", arg_type_name(arg.type), ", not ", attr_str(v));
  };
  switch (arg.type) {
    case ArgType::Int:
      if (auto* p = std::get_if<int64_t>(&v)) return *p;
      if (auto* p = std::get_if<bool>(&v)) return static_cast<int64_t>(*p);
      if (auto* p = std::get_if<Scalar>(&v); p && !p->is_floating()) return p->as_int();
      return bad();
    case ArgType::Float:
      if (auto* p = std::get_if<double>(&v)) return *p;
      if (auto* p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
      if (auto* p = std::get_if<Scalar>(&v)) return p->as_double();
      return bad();
    case ArgType::Bool:
      if (auto* p = std::get_if<bool>(&v)) return *p;
      return bad();
    case ArgType::Str:
      if (auto* p = std::get_if<std::string>(&v)) return *p;
      return bad();
    case ArgType::Scalar:
      if (auto* p = std::get_if<Scalar>(&v)) return *p;
      if (auto* p = std::get_if<int64_t>(&v)) return Scalar(*p);
      if (auto* p = std::get_if<double>(&v)) return Scalar(*p);
      if (auto* p = std::get_if<bool>(&v)) return Scalar(*p);
      return bad();
    case ArgType::ScalarType:
      if (auto* p = std::get_if<DType>(&v)) return *p;
      if (auto* p = std::get_if<std::string>(&v)) return dtype_from_name(*p);
      return bad();
    case ArgType::Device:
      if (auto* p = std::get_if<Device>(&v)) return *p;
      if (auto* p = std::get_if<std::string>(&v)) return parse_device(*p);
      return bad();
    case ArgType::Generator:
      if (std::holds_alternative<std::shared_ptr<Generator>>(v)) return v;
      return bad();
    case ArgType::IntList:
      if (auto* p = std::get_if<std::vector<int64_t>>(&v)) return *p;
      if (auto* p = std::get_if<int64_t>(&v)) return std::vector<int64_t>{*p};
      return bad();
    case ArgType::FloatList:
      if (auto* p = std::get_if<std::vector<double>>(&v)) return *p;
      if (auto* p = std::get_if<std::vector<int64_t>>(&v)) return std::vector<double>(p->begin(), p->end());
      return bad();
    case ArgType::Tensor:
    case ArgType::TensorList:
      return bad();
  }
  return bad();
}

}  // namespace terra
