#include "native/server/predict_json.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace wisp::server {

size_t DtypeSize(const std::string& dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "float16" || dtype == "int16") return 2;
  if (dtype == "int8" || dtype == "uint8" || dtype == "bool") return 1;
  if (dtype == "int64") return 8;
  return 0;
}

std::string ShapeString(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

uint64_t StaticElementCount(const TensorSpec& spec) {
  uint64_t n = 1;
  for (int64_t d : spec.shape) {
    if (d < 0) return 0;
    // Saturate rather than wrap: a model claiming absurd dimensions gets a huge (refused) count.
    if (d > 0 && n > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d)) {
      return std::numeric_limits<uint64_t>::max();
    }
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

namespace {

enum class Tok {
  kEnd,
  kBeginObject,
  kEndObject,
  kBeginArray,
  kEndArray,
  kComma,
  kColon,
  kString,
  kNumber,
  kTrue,
  kFalse,
  kNull,
  kError
};

// A pull tokenizer over the whole body with one token of look-ahead.
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Tok Peek() {
    if (!peeked_) {
      peek_ = Scan();
      peeked_ = true;
    }
    return peek_;
  }
  Tok Next() {
    Tok t = Peek();
    peeked_ = false;
    return t;
  }
  double number() const { return number_; }
  const std::string& text() const { return text_; }
  const std::string& error() const { return error_; }
  size_t offset() const { return start_; }

 private:
  Tok Fail(std::string message) {
    error_ = std::move(message);
    return Tok::kError;
  }
  bool Literal(const char* word) {
    size_t n = std::strlen(word);
    if (s_.substr(pos_, n) != word) return false;
    pos_ += n;
    return true;
  }
  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool Hex4(uint32_t* out) {
    if (pos_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = Hex(s_[pos_ + i]);
      if (h < 0) return false;
      v = v * 16 + static_cast<uint32_t>(h);
    }
    pos_ += 4;
    *out = v;
    return true;
  }
  void PutUtf8(uint32_t cp) {
    if (cp < 0x80) {
      text_.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      text_.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      text_.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      text_.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      text_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      text_.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      text_.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      text_.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      text_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      text_.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }
  Tok String() {
    text_.clear();
    for (;;) {
      if (pos_ >= s_.size()) return Fail("unterminated string");
      char c = s_[pos_++];
      if (c == '"') return Tok::kString;
      if (static_cast<unsigned char>(c) < 0x20) return Fail("control character in string");
      if (c != '\\') {
        text_.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) return Fail("unterminated string");
      char e = s_[pos_++];
      // The one-character escapes: each letter after the backslash, then the character.
      static constexpr std::string_view kEscapes = "\"\"\\\\//b\bf\fn\nr\rt\t";
      if (e != 'u') {
        size_t at = 0;
        while (at < kEscapes.size() && kEscapes[at] != e) at += 2;
        if (at >= kEscapes.size()) return Fail("bad escape in string");
        text_.push_back(kEscapes[at + 1]);
        continue;
      }
      uint32_t cp = 0;
      if (!Hex4(&cp)) return Fail("bad \\u escape");
      if (cp >= 0xd800 && cp < 0xdc00) {
        uint32_t lo = 0;
        if (!Literal("\\u") || !Hex4(&lo) || lo < 0xdc00 || lo >= 0xe000) {
          return Fail("unpaired surrogate in \\u escape");
        }
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      } else if (cp >= 0xdc00 && cp < 0xe000) {
        return Fail("unpaired surrogate in \\u escape");
      }
      PutUtf8(cp);
    }
  }
  Tok Number() {
    // Checked against the JSON grammar first: from_chars alone would accept "01", "1." or "inf".
    size_t p = pos_;
    auto digits = [&] {
      size_t b = p;
      while (p < s_.size() && s_[p] >= '0' && s_[p] <= '9') ++p;
      return p - b;
    };
    if (p < s_.size() && s_[p] == '-') ++p;
    if (p < s_.size() && s_[p] == '0') {
      ++p;
    } else if (digits() == 0) {
      return Fail("bad number");
    }
    if (p < s_.size() && s_[p] == '.') {
      ++p;
      if (digits() == 0) return Fail("bad number");
    }
    if (p < s_.size() && (s_[p] == 'e' || s_[p] == 'E')) {
      ++p;
      if (p < s_.size() && (s_[p] == '+' || s_[p] == '-')) ++p;
      if (digits() == 0) return Fail("bad number");
    }
    auto [end, ec] = std::from_chars(s_.data() + pos_, s_.data() + p, number_);
    if (ec == std::errc::result_out_of_range || !std::isfinite(number_)) {
      return Fail("number out of range");
    }
    if (ec != std::errc() || end != s_.data() + p) return Fail("bad number");
    pos_ = p;
    return Tok::kNumber;
  }
  Tok Scan() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
    start_ = pos_;
    if (pos_ >= s_.size()) return Tok::kEnd;
    char c = s_[pos_];
    // Structural characters are tokens by themselves.
    static constexpr std::string_view kPunct = "{}[],:";
    static constexpr Tok kPunctTok[] = {Tok::kBeginObject, Tok::kEndObject, Tok::kBeginArray,
                                        Tok::kEndArray,    Tok::kComma,     Tok::kColon};
    if (size_t at = kPunct.find(c); at != std::string_view::npos) {
      ++pos_;
      return kPunctTok[at];
    }
    switch (c) {
      case '"':
        ++pos_;
        return String();
      case 't':
        return Literal("true") ? Tok::kTrue : Fail("unexpected character");
      case 'f':
        return Literal("false") ? Tok::kFalse : Fail("unexpected character");
      case 'n':
        return Literal("null") ? Tok::kNull : Fail("unexpected character");
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return Number();
        return Fail("unexpected character");
    }
  }

  std::string_view s_;
  size_t pos_ = 0, start_ = 0;
  bool peeked_ = false;
  Tok peek_ = Tok::kEnd;
  double number_ = 0;
  std::string text_;
  std::string error_;
};

class Parser {
 public:
  Parser(std::string_view body, const std::vector<TensorSpec>& specs)
      : lx_(body), specs_(specs), body_size_(body.size()) {}

  // Why Parse returned false.
  const Status& status() const { return status_; }
  // Whether the body was TF Serving's columnar {"inputs": ...}.
  bool columnar() const { return columnar_; }
  void set_real_values(bool real) { real_values_ = real; }

  // The string value of top-level key `key` of the body's object ("" when absent), every other
  // value skipped. False (with status()) when the body is not a JSON object or `key` is not a
  // string.
  bool TopLevelString(const char* key, std::string* out) {
    Tok t = lx_.Next();
    if (t == Tok::kError || t == Tok::kEnd) return Malformed(t);
    if (t != Tok::kBeginObject) return true;  // Parse says what is wrong
    if (lx_.Peek() == Tok::kEndObject) return true;
    for (;;) {
      t = lx_.Next();
      if (t != Tok::kString) return Malformed(t);
      const bool wanted = lx_.text() == key;
      if ((t = lx_.Next()) != Tok::kColon) return Malformed(t);
      if (wanted) {
        if ((t = lx_.Next()) != Tok::kString) {
          return BadRequest(std::string("\"") + key + "\" must be a string");
        }
        *out = lx_.text();
      } else if (!SkipValue(1)) {
        return false;
      }
      t = lx_.Next();
      if (t == Tok::kEndObject) return true;
      if (t != Tok::kComma) return Malformed(t);
    }
  }

  bool Parse(size_t max_instances, std::vector<std::vector<Tensor>>* batches) {
    static const char* kShapeHelp =
        "expected {\"instances\": [ ... ]} with at least one instance, or {\"inputs\": ...}";
    Tok t = lx_.Next();
    if (t == Tok::kError || t == Tok::kEnd) return Malformed(t);
    if (t != Tok::kBeginObject) return BadRequest(kShapeHelp);
    bool found = false;
    if (lx_.Peek() == Tok::kEndObject) {
      lx_.Next();
    } else {
      for (;;) {
        t = lx_.Next();
        if (t != Tok::kString) return Malformed(t);
        std::string key = lx_.text();
        if ((t = lx_.Next()) != Tok::kColon) return Malformed(t);
        if (key == "instances" || key == "inputs") {
          if (found) return BadRequest("give \"instances\" or \"inputs\", once");
          found = true;
          if (key == "inputs") {
            columnar_ = true;
            std::vector<Tensor> inputs(specs_.size());
            if (!Instance(&inputs, /*depth=*/1)) return false;
            batches->push_back(std::move(inputs));
          } else if (!Instances(max_instances, batches)) {
            return false;
          }
        } else if (!SkipValue(1)) {
          return false;
        }
        t = lx_.Next();
        if (t == Tok::kEndObject) break;
        if (t != Tok::kComma) return Malformed(t);
      }
    }
    if ((t = lx_.Next()) != Tok::kEnd) return Malformed(t, "trailing characters after JSON");
    if (!found) return BadRequest(kShapeHelp);
    return true;
  }

 private:
  // The parsing steps return false after recording the first error here.
  bool Fail(StatusCode code, std::string message) {
    status_ = Status(code, std::move(message));
    return false;
  }
  bool BadRequest(std::string message) {
    return Fail(StatusCode::kInvalidArgument, std::move(message));
  }
  bool Malformed(Tok t, std::string what = "") {
    if (what.empty()) {
      what = t == Tok::kError ? lx_.error()
             : t == Tok::kEnd ? "unexpected end"
                              : "unexpected token";
    }
    return Fail(StatusCode::kMalformed, "request body is not valid JSON: " + what + " at byte " +
                                            std::to_string(lx_.offset()));
  }
  bool TooDeep() {
    return Fail(StatusCode::kOutOfRange, "request JSON is nested more than " +
                                             std::to_string(kMaxPredictJsonDepth) + " levels deep");
  }
  static bool Scalar(Tok t) {
    return t == Tok::kString || t == Tok::kNumber || t == Tok::kTrue || t == Tok::kFalse ||
           t == Tok::kNull;
  }

  // Skips one value whose container sits at `depth`. A stack of container kinds (bounded by the
  // depth limit) replaces recursion.
  bool SkipValue(size_t depth) {
    std::vector<bool> objects;  // true: object, false: array
    for (;;) {
      Tok t = lx_.Next();
      if (t == Tok::kBeginObject || t == Tok::kBeginArray) {
        if (depth + objects.size() + 1 > kMaxPredictJsonDepth) return TooDeep();
        bool obj = t == Tok::kBeginObject;
        objects.push_back(obj);
        if (lx_.Peek() == (obj ? Tok::kEndObject : Tok::kEndArray)) {
          lx_.Next();
          objects.pop_back();
        } else {
          if (obj && !Key()) return false;
          continue;  // the first element
        }
      } else if (!Scalar(t)) {
        return Malformed(t);
      }
      // After a value: close containers or move to the next element.
      for (;;) {
        if (objects.empty()) return true;
        t = lx_.Next();
        if (t == Tok::kComma) {
          if (objects.back() && !Key()) return false;
          break;
        }
        if (t != (objects.back() ? Tok::kEndObject : Tok::kEndArray)) return Malformed(t);
        objects.pop_back();
      }
    }
  }
  bool Key() {
    Tok t = lx_.Next();
    if (t != Tok::kString) return Malformed(t);
    if ((t = lx_.Next()) != Tok::kColon) return Malformed(t);
    return true;
  }

  bool Instances(size_t max_instances, std::vector<std::vector<Tensor>>* batches) {
    Tok t = lx_.Next();
    if (t == Tok::kError || t == Tok::kEnd) return Malformed(t);
    if (t != Tok::kBeginArray || lx_.Peek() == Tok::kEndArray) {
      return BadRequest("expected {\"instances\": [ ... ]} with at least one instance");
    }
    for (;;) {
      if (batches->size() >= max_instances) {
        return BadRequest("at most " + std::to_string(max_instances) + " instances per request");
      }
      std::vector<Tensor> inputs(specs_.size());
      if (!Instance(&inputs, /*depth=*/2)) return false;
      batches->push_back(std::move(inputs));
      t = lx_.Next();
      if (t == Tok::kEndArray) return true;
      if (t != Tok::kComma) return Malformed(t);
    }
  }

  // One instance; its value sits at `depth`: 2 inside the body object and the instances array,
  // 1 as the columnar "inputs".
  bool Instance(std::vector<Tensor>* inputs, size_t depth) {
    if (lx_.Peek() != Tok::kBeginObject) {
      if (specs_.size() != 1) {
        return BadRequest(
            "this model has several inputs: each instance (or \"inputs\") must be an object "
            "keyed by input name");
      }
      return Value(specs_[0], depth, &(*inputs)[0]);
    }
    lx_.Next();
    std::vector<bool> seen(specs_.size());
    if (lx_.Peek() == Tok::kEndObject) {
      lx_.Next();
    } else {
      for (;;) {
        Tok t = lx_.Next();
        if (t != Tok::kString) return Malformed(t);
        std::string key = lx_.text();
        if ((t = lx_.Next()) != Tok::kColon) return Malformed(t);
        size_t i = 0;
        while (i < specs_.size() && specs_[i].name != key) ++i;
        if (i == specs_.size()) {
          if (!SkipValue(depth + 1)) return false;
        } else {
          if (seen[i]) return BadRequest("input '" + key + "' given twice in one instance");
          seen[i] = true;
          if (!Value(specs_[i], depth + 1, &(*inputs)[i])) return false;
        }
        t = lx_.Next();
        if (t == Tok::kEndObject) break;
        if (t != Tok::kComma) return Malformed(t);
      }
    }
    for (size_t i = 0; i < specs_.size(); ++i) {
      if (!seen[i]) return BadRequest("instance lacks input '" + specs_[i].name + "'");
    }
    return true;
  }

  // Appends `v` to `t` in its dtype; integers must fit the dtype (rounded to nearest). With real
  // values, a quantized input's `v` is quantized first (and saturates instead).
  bool Append(const TensorSpec& spec, double v, Tensor* t) {
    if (real_values_ && !spec.scale.empty()) {
      if (spec.scale.size() != 1) {
        return BadRequest("input '" + spec.name +
                          "' is quantized per channel: send raw values, not \"values\": \"real\"");
      }
      const double q = std::round(v / spec.scale[0]) + static_cast<double>(spec.zero_point[0]);
      double lo = -2147483648.0, hi = 2147483647.0;
      if (spec.dtype == "int8") lo = -128, hi = 127;
      if (spec.dtype == "uint8") lo = 0, hi = 255;
      if (spec.dtype == "int16") lo = -32768, hi = 32767;
      if (!std::isfinite(q)) return BadRequest("input '" + spec.name + "': value not finite");
      v = std::min(hi, std::max(lo, q));
    }
    auto put = [&](auto x) {
      const auto* p = reinterpret_cast<const uint8_t*>(&x);
      t->data.insert(t->data.end(), p, p + sizeof(x));
    };
    auto put_int = [&](auto type_tag) {
      using T = decltype(type_tag);
      double r = std::nearbyint(v);
      if (!(r >= static_cast<double>(std::numeric_limits<T>::min()) &&
            r <= static_cast<double>(std::numeric_limits<T>::max()))) {
        return BadRequest("input '" + spec.name + "': value " + std::to_string(v) +
                          " out of range for " + spec.dtype);
      }
      put(static_cast<T>(r));
      return true;
    };
    if (spec.dtype == "float32") {
      if (std::fabs(v) > std::numeric_limits<float>::max()) {
        return BadRequest("input '" + spec.name + "': value " + std::to_string(v) +
                          " out of range for float32");
      }
      put(static_cast<float>(v));
      return true;
    }
    if (spec.dtype == "int8") return put_int(int8_t{});
    if (spec.dtype == "uint8" || spec.dtype == "bool") return put_int(uint8_t{});
    if (spec.dtype == "int16") return put_int(int16_t{});
    if (spec.dtype == "int32") return put_int(int32_t{});
    if (spec.dtype == "int64") return put_int(int64_t{});
    return BadRequest("input '" + spec.name + "': dtype " + spec.dtype +
                      " is not supported in JSON");
  }

  // One input's value: a number or rectangular nested arrays of numbers, whose outermost
  // array sits at `depth`. The rank is fixed by the first number's nesting level; each level's
  // length by the first array closed at that level.
  bool Value(const TensorSpec& spec, size_t depth, Tensor* t) {
    const size_t es = DtypeSize(spec.dtype);
    if (es == 0 || spec.dtype == "float16") {
      return BadRequest("input '" + spec.name + "': dtype " + spec.dtype +
                        " is not supported in JSON");
    }
    // With a static shape, more numbers than the model takes are refused as they arrive, so a
    // request can never make the tensor larger than the model's input.
    const uint64_t static_count = StaticElementCount(spec);
    const uint64_t limit = static_count ? static_count : std::numeric_limits<uint64_t>::max();
    // Reserved up front, but never beyond what the body can hold (a number takes at least two
    // bytes with its separator): a model declaring a huge input must not make a tiny request
    // allocate it.
    if (static_count) t->data.reserve(std::min<uint64_t>(static_count, body_size_ / 2 + 1) * es);
    t->name = spec.name;
    t->dtype = spec.dtype;
    std::vector<int64_t> dims;    // per level; -1 until the first array at that level closes
    std::vector<int64_t> counts;  // elements so far in each open array
    size_t rank = 0;
    bool rank_known = false;
    uint64_t n = 0;
    auto ragged = [&] { return BadRequest("input '" + spec.name + "': ragged array"); };
    for (;;) {
      Tok tok = lx_.Next();
      if (tok == Tok::kBeginArray) {
        if (rank_known && counts.size() >= rank) return ragged();
        if (depth + counts.size() + 1 > kMaxPredictJsonDepth) return TooDeep();
        if (!counts.empty()) counts.back()++;
        counts.push_back(0);
        if (lx_.Peek() == Tok::kEndArray) {
          return BadRequest("input '" + spec.name + "': empty array");
        }
        continue;
      }
      if (tok == Tok::kNumber || tok == Tok::kTrue || tok == Tok::kFalse) {
        if (!rank_known) {
          rank_known = true;
          rank = counts.size();
          dims.assign(rank, -1);
        } else if (counts.size() != rank) {
          return ragged();
        }
        if (!counts.empty()) counts.back()++;
        if (++n > limit) {
          return BadRequest("input '" + spec.name + "' has more than " + std::to_string(limit) +
                            " values, the model expects shape " + ShapeString(spec.shape));
        }
        double v = tok == Tok::kNumber ? lx_.number() : tok == Tok::kTrue ? 1.0 : 0.0;
        if (!Append(spec, v, t)) return false;
      } else if (tok != Tok::kBeginObject && !Scalar(tok)) {
        return Malformed(tok);  // a syntax error, or a structural token where a value belongs
      } else {
        return BadRequest("input '" + spec.name + "': expected numbers or arrays of numbers");
      }
      // After a value: close arrays or move to the next element.
      for (;;) {
        if (counts.empty()) return Check(spec, dims, t);
        tok = lx_.Next();
        if (tok == Tok::kComma) break;
        if (tok != Tok::kEndArray) return Malformed(tok);
        size_t level = counts.size() - 1;
        if (dims[level] < 0) {
          dims[level] = counts[level];
        } else if (dims[level] != counts[level]) {
          return ragged();
        }
        counts.pop_back();
      }
    }
  }

  bool Check(const TensorSpec& spec, std::vector<int64_t> shape, Tensor* t) {
    // Instances omit the batch dimension when the model's first dimension is a batch of 1.
    if (shape.size() + 1 == spec.shape.size() && (spec.shape[0] == 1 || spec.shape[0] == -1)) {
      shape.insert(shape.begin(), 1);
    }
    bool match = shape.size() == spec.shape.size();
    for (size_t i = 0; match && i < shape.size(); ++i) {
      if (spec.shape[i] != -1 && spec.shape[i] != shape[i]) match = false;
    }
    if (!match) {
      return BadRequest("input '" + spec.name + "' has shape " + ShapeString(shape) +
                        ", the model expects " + ShapeString(spec.shape));
    }
    t->shape = std::move(shape);
    return true;
  }

  Lexer lx_;
  const std::vector<TensorSpec>& specs_;
  size_t body_size_;
  Status status_;
  bool columnar_ = false;
  bool real_values_ = false;
};

}  // namespace

Result<std::vector<std::vector<Tensor>>> ParsePredictJson(std::string_view body,
                                                          const std::vector<TensorSpec>& specs,
                                                          size_t max_instances,
                                                          PredictBody* body_info) {
  std::vector<std::vector<Tensor>> batches;
  // "values" may follow the tensors in the object: one cheap pass finds it first, so that
  // numbers are quantized as they are read.
  Parser scan(body, specs);
  std::string values;
  if (!scan.TopLevelString("values", &values)) return scan.status();
  if (!values.empty() && values != "real" && values != "raw") {
    return Status(StatusCode::kInvalidArgument,
                  "\"values\" is \"real\" or \"raw\", not \"" + values.substr(0, 64) + "\"");
  }
  Parser parser(body, specs);
  parser.set_real_values(values == "real");
  if (!parser.Parse(max_instances, &batches)) return parser.status();
  if (body_info) {
    body_info->format = parser.columnar() ? PredictFormat::kColumnar : PredictFormat::kRow;
    body_info->real_values = values == "real";
  }
  return batches;
}

}  // namespace wisp::server
