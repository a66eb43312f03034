#include "runtime/import/tflite_importer.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>

#include "flatbuffers/flatbuffers.h"

// musl's <limits.h> (the Emscripten libc) defines the POSIX macro ARG_MAX, which would replace
// the ARG_MAX enumerators of both generated schema headers. Nothing here needs the macro.
#ifdef ARG_MAX
#undef ARG_MAX
#endif

#include "runtime/core/dtype.h"
#include "runtime/core/shape.h"
#include "runtime/format/model.h"
#include "runtime/format/model_builder.h"
#include "runtime/format/model_metadata.h"
#include "runtime/format/quant_arrays.h"
#include "runtime/import/tflite_metadata.h"
#include "schemas/tflite_generated.h"
#include "schemas/wisp_generated.h"

namespace wisp {
namespace {

namespace tfl = ::tflite;

constexpr uint32_t kTfliteSchemaVersion = 3;
// The .wisp loader's limits; refusing here gives the TFLite tensor index in the message.
constexpr size_t kMaxRank = 8;
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 40;
// UNIDIRECTIONAL_SEQUENCE_LSTM: 20 inputs, or 24 with the layer-normalisation coefficients.
constexpr size_t kLstmInputsWithoutLayerNorm = 20;
constexpr size_t kLstmInputs = 24;
constexpr size_t kLstmOutputStateInput = 18;
constexpr size_t kLstmCellStateInput = 19;

bool RangeWithin(uint64_t offset, uint64_t size, uint64_t limit) {
  return offset <= limit && size <= limit - offset;
}

std::string BuiltinCodeName(int32_t code) {
  if (code >= 0 && code <= static_cast<int32_t>(tfl::BuiltinOperator::MAX)) {
    const char* name = tfl::EnumNameBuiltinOperator(static_cast<tfl::BuiltinOperator>(code));
    if (name && *name) return name;
  }
  return StrFormat("BUILTIN_%d", code);
}

std::string TensorTypeName(tfl::TensorType type) {
  if (type >= tfl::TensorType::MIN && type <= tfl::TensorType::MAX) {
    const char* name = tfl::EnumNameTensorType(type);
    if (name && *name) return name;
  }
  return StrFormat("TYPE_%d", static_cast<int>(type));
}

// Custom names come from the file: keep them printable and short in messages.
std::string Printable(const flatbuffers::String* s, size_t max_len = 200) {
  std::string out;
  if (!s) return out;
  for (size_t i = 0; i < s->size() && out.size() < max_len; ++i) {
    const char c = s->c_str()[i];
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

bool MapDType(tfl::TensorType type, DType* out) {
  switch (type) {
    case tfl::TensorType::FLOAT32:
      *out = DType::FLOAT32;
      return true;
    case tfl::TensorType::FLOAT16:
      *out = DType::FLOAT16;
      return true;
    case tfl::TensorType::INT32:
      *out = DType::INT32;
      return true;
    case tfl::TensorType::UINT8:
      *out = DType::UINT8;
      return true;
    case tfl::TensorType::INT64:
      *out = DType::INT64;
      return true;
    case tfl::TensorType::BOOL:
      *out = DType::BOOL;
      return true;
    case tfl::TensorType::INT16:
      *out = DType::INT16;
      return true;
    case tfl::TensorType::INT8:
      *out = DType::INT8;
      return true;
    default:
      return false;
  }
}

// Zero points the .wisp loader accepts for each dtype.
void ZeroPointRange(DType dtype, int64_t* lo, int64_t* hi) {
  switch (dtype) {
    case DType::INT8:
      *lo = -128;
      *hi = 127;
      return;
    case DType::UINT8:
      *lo = 0;
      *hi = 255;
      return;
    case DType::INT16:
      *lo = -32768;
      *hi = 32767;
      return;
    default:
      *lo = std::numeric_limits<int32_t>::min();
      *hi = std::numeric_limits<int32_t>::max();
      return;
  }
}

// The FlatBuffers Verifier only says yes or no. When it says no, the parts of the file are
// re-verified one by one (each with a fresh verifier) to name the broken one.
using flatbuffers::voffset_t;

flatbuffers::Verifier MakeVerifier(const uint8_t* buf, size_t size) {
  return flatbuffers::Verifier(buf, size, /*max_depth=*/64, /*max_tables=*/4000000);
}

// Checks field `field` of `parent` as a vector of T tables; returns a description of the first
// broken element (or of the vector itself), or "" when all verify.
template <typename T>
std::string FindBrokenTable(const uint8_t* buf, size_t size, const flatbuffers::Table* parent,
                            voffset_t field, const std::string& what) {
  flatbuffers::Verifier verifier = MakeVerifier(buf, size);
  if (!parent->VerifyOffset(verifier, field)) return "the reference to the " + what + " list";
  const auto* list = parent->GetPointer<const flatbuffers::Vector<flatbuffers::Offset<T>>*>(field);
  if (list == nullptr) return "";
  if (!verifier.VerifyVector(list)) {
    return StrFormat("the %s list at byte offset %zu", what.c_str(),
                     static_cast<size_t>(reinterpret_cast<const uint8_t*>(list) - buf));
  }
  for (flatbuffers::uoffset_t i = 0; i < list->size(); ++i) {
    flatbuffers::Verifier element_verifier = MakeVerifier(buf, size);
    const T* element = list->Get(i);
    if (!element->Verify(element_verifier)) {
      return StrFormat("%s %u (byte offset %zu)", what.c_str(), i,
                       static_cast<size_t>(reinterpret_cast<const uint8_t*>(element) - buf));
    }
  }
  return "";
}

std::string FindBrokenPart(const uint8_t* buf, size_t size) {
  const auto* root = reinterpret_cast<const flatbuffers::Table*>(
      buf + flatbuffers::ReadScalar<flatbuffers::uoffset_t>(buf));
  {
    flatbuffers::Verifier verifier = MakeVerifier(buf, size);
    if (!root->VerifyTableStart(verifier)) return "the model table";
  }
  std::string broken = FindBrokenTable<tfl::OperatorCode>(
      buf, size, root, tfl::Model::VT_OPERATOR_CODES, "operator code");
  if (!broken.empty()) return broken;
  broken = FindBrokenTable<tfl::Buffer>(buf, size, root, tfl::Model::VT_BUFFERS, "buffer");
  if (!broken.empty()) return broken;
  broken = FindBrokenTable<tfl::SubGraph>(buf, size, root, tfl::Model::VT_SUBGRAPHS, "subgraph");
  if (broken.rfind("subgraph ", 0) == 0) {
    // Narrow a broken subgraph down to its tensor or operator.
    const auto* subgraphs =
        root->GetPointer<const flatbuffers::Vector<flatbuffers::Offset<tfl::SubGraph>>*>(
            tfl::Model::VT_SUBGRAPHS);
    const unsigned index = static_cast<unsigned>(std::strtoul(broken.c_str() + 9, nullptr, 10));
    const auto* graph = reinterpret_cast<const flatbuffers::Table*>(subgraphs->Get(index));
    flatbuffers::Verifier verifier = MakeVerifier(buf, size);
    if (!graph->VerifyTableStart(verifier)) return broken;
    const std::string prefix = StrFormat("subgraph %u ", index);
    std::string inner = FindBrokenTable<tfl::Tensor>(buf, size, graph, tfl::SubGraph::VT_TENSORS,
                                                     prefix + "tensor");
    if (inner.empty()) {
      inner = FindBrokenTable<tfl::Operator>(buf, size, graph, tfl::SubGraph::VT_OPERATORS,
                                             prefix + "operator");
    }
    return inner.empty() ? broken : inner;
  }
  if (!broken.empty()) return broken;
  broken = FindBrokenTable<tfl::Metadata>(buf, size, root, tfl::Model::VT_METADATA, "metadata");
  return broken.empty() ? "the model table" : broken;
}

// What the importer knows about one TFLite tensor of subgraph 0.
struct TensorInfo {
  std::string name;
  bool supported = false;  // dtype and encoding representable in .wisp
  DType dtype = DType::FLOAT32;
  Shape shape;
  QuantParams quant;
  bool is_constant = false;
  const uint8_t* data = nullptr;  // constant bytes inside the input file (any alignment)
  size_t bytes = 0;
  bool is_variable = false;
};

// One TFLite operator while it is being mapped.
struct OpContext {
  size_t index = 0;
  std::string op_name;  // "CONV_2D", "CUSTOM(foo)"
  const tfl::Operator* op = nullptr;
  std::vector<int32_t> inputs, outputs, intermediates;
  // Set when the operator cannot be imported; the reason is appended to its entry in the list.
  bool unsupported = false;
  std::string unsupported_reason;

  // "operator #3 (CONV_2D)", for error messages: formatted only when one is reported (a
  // formatted string per operator cost milliseconds of a browser's cold start).
  std::string where() const { return StrFormat("operator #%zu (%s)", index, op_name.c_str()); }

  void MarkUnsupported(std::string reason) {
    if (!unsupported) unsupported_reason = std::move(reason);
    unsupported = true;
  }
};

class TfliteImporter {
 public:
  TfliteImporter(const uint8_t* data, size_t size, const ImportOptions& opts, bool borrow)
      : file_(data), file_size_(size), opts_(opts), borrow_(borrow) {}

  Result<ImportedModel> Run();

 private:
  Status Open();
  // The bytes of buffer `buffer_index`; owner() names its user in an error (formatted only then).
  template <typename Owner>
  Status ResolveBuffer(uint32_t buffer_index, const Owner& owner, const uint8_t** data,
                       size_t* size) const;
  Status ImportTensors();
  Status ImportTensor(int32_t index, const tfl::Tensor* tensor);
  Status ReadQuantization(int32_t index, const tfl::QuantizationParameters* q, TensorInfo* info);
  Status ImportGraphInputs();
  Status ImportOperators();
  Status ImportOperator(size_t index, const tfl::Operator* op);
  Status MapOperator(OpContext& c, int32_t code, fb::OpType* type, fb::OpOptionsUnion* options);
  Status CheckDataFlow(const OpContext& c);
  Status ImportGraphOutputs();
  void WriteMetadata();
  void WriteTfliteMetadata(const uint8_t* data, size_t size);

  // Operator mapping helpers: each returns an InvalidModel error for a malformed operator and
  // marks the context unsupported for a valid one we cannot run.
  Status ExpectCounts(const OpContext& c, size_t min_inputs, size_t max_inputs,
                      size_t num_outputs) const;
  Status RequireInputs(const OpContext& c, size_t count) const;
  template <typename T>
  Result<const T*> Options(const OpContext& c) const;
  // The fused activation of an elementwise operator whose options table is T (NONE when absent).
  template <typename T>
  Status FusedActivation(const OpContext& c, tfl::ActivationFunctionType* activation) const;
  // RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR: same inputs, same flags, options table T.
  template <typename T>
  Status MapResize(const OpContext& c, fb::OpType op_type, fb::OpType* type,
                   fb::OpOptionsUnion* options) const;
  Status MapActivation(OpContext& c, tfl::ActivationFunctionType in, fb::Activation* out) const;
  Status MapPadding(const OpContext& c, tfl::Padding in, fb::Padding* out) const;
  Status CheckPositive(const OpContext& c, const char* what, int32_t value) const;
  Status NormalizeAxis(const OpContext& c, const char* what, const Shape* shape,
                       int32_t* axis) const;
  Status ConstantInt32Input(OpContext& c, size_t k, const char* what);
  Status PadV2IsPlainPad(OpContext& c, bool* plain) const;
  const Shape* InputShape(const OpContext& c, size_t k) const;
  const Shape* OutputShape(const OpContext& c, size_t k) const;

  std::string DescribeTensor(int32_t index) const;

  const uint8_t* file_;
  size_t file_size_;
  const ImportOptions& opts_;
  std::string metadata_labels_;         // from TFLite Metadata's TENSOR_AXIS_LABELS file
  std::vector<uint64_t> aligned_copy_;  // the FlatBuffer part, when the input is misaligned
  const uint8_t* fb_bytes_ = nullptr;
  size_t fb_size_ = 0;
  const tfl::Model* model_ = nullptr;
  const tfl::SubGraph* graph_ = nullptr;
  size_t num_buffers_ = 0;

  std::vector<TensorInfo> tensors_;
  std::vector<uint8_t> produced_;  // per tensor: holds a value at the current operator
  std::vector<std::string> unsupported_ops_;
  std::vector<std::string> unsupported_tensors_;
  ModelBuilder builder_;
  // Constants stay in the file's bytes where their elements are aligned (ImportTfliteBorrowing).
  bool borrow_ = false;
};

Result<ImportedModel> TfliteImporter::Run() {
  WISP_RETURN_IF_ERROR(Open());
  WISP_RETURN_IF_ERROR(ImportTensors());
  WISP_RETURN_IF_ERROR(ImportGraphInputs());
  WISP_RETURN_IF_ERROR(ImportOperators());
  WISP_RETURN_IF_ERROR(ImportGraphOutputs());

  if (!unsupported_ops_.empty() || !unsupported_tensors_.empty()) {
    std::string message;
    auto append_list = [&message](const char* title, const std::vector<std::string>& items) {
      if (items.empty()) return;
      if (!message.empty()) message += "; ";
      message += title;
      for (size_t i = 0; i < items.size(); ++i) message += (i ? ", " : " ") + items[i];
    };
    append_list("unsupported operators:", unsupported_ops_);
    append_list("unsupported tensors:", unsupported_tensors_);
    return Status(StatusCode::kUnsupported, message);
  }

  WriteMetadata();
  ImportedModel out;
  out.borrowed = builder_.borrowed();
  out.wisp = std::move(builder_).Finish(opts_.record_sha256);
  return out;
}

Status TfliteImporter::Open() {
  if (file_ == nullptr || file_size_ < 8) {
    return InvalidModel("file is %zu bytes, too small to be a TFLite model", file_size_);
  }
  if (!LooksLikeTflite(file_, file_size_)) {
    return InvalidModel("not a TFLite model: expected the identifier 'TFL3' at byte offset 4");
  }
  // A model over 2 GiB keeps its FlatBuffer in the first 2 GiB and its buffers after it.
  fb_size_ = std::min<size_t>(file_size_, FLATBUFFERS_MAX_BUFFER_SIZE - 1);
  fb_bytes_ = file_;
  // FlatBuffers reads scalars in place, which needs the buffer 8-byte aligned in memory.
  if ((reinterpret_cast<uintptr_t>(file_) & 7) != 0) {
    aligned_copy_.resize((fb_size_ + 7) / 8);
    std::memcpy(aligned_copy_.data(), file_, fb_size_);
    fb_bytes_ = reinterpret_cast<const uint8_t*>(aligned_copy_.data());
  }
  const uint32_t root_offset = flatbuffers::ReadScalar<uint32_t>(fb_bytes_);
  if (root_offset >= fb_size_) {
    return InvalidModel(
        "root table offset %u at byte offset 0 lies beyond the end of the "
        "%zu-byte file (truncated file?)",
        root_offset, file_size_);
  }
  flatbuffers::Verifier verifier(fb_bytes_, fb_size_, /*max_depth=*/64, /*max_tables=*/4000000);
  if (!tfl::VerifyModelBuffer(verifier)) {
    return InvalidModel(
        "TFLite FlatBuffers verification failed in %s: the %zu-byte file is "
        "truncated or corrupt",
        FindBrokenPart(fb_bytes_, fb_size_).c_str(), file_size_);
  }
  model_ = tfl::GetModel(fb_bytes_);
  if (model_->version() != kTfliteSchemaVersion) {
    return InvalidModel("TFLite schema version %u is not supported (expected %u)",
                        model_->version(), kTfliteSchemaVersion);
  }
  if (!model_->subgraphs() || model_->subgraphs()->size() == 0) {
    return InvalidModel("the TFLite model has no subgraphs");
  }
  graph_ = model_->subgraphs()->Get(0);
  num_buffers_ = model_->buffers() ? model_->buffers()->size() : 0;
  return Status::Ok();
}

// Finds the bytes of buffer `buffer_index`: inline in the FlatBuffer, or (models over 2 GiB) at
// an absolute file offset. Index 0 is the empty sentinel. An empty buffer yields size 0.
template <typename Owner>
Status TfliteImporter::ResolveBuffer(uint32_t buffer_index, const Owner& owner,
                                     const uint8_t** data, size_t* size) const {
  *data = nullptr;
  *size = 0;
  if (buffer_index == 0) return Status::Ok();
  if (buffer_index >= num_buffers_) {
    return InvalidModel("%s: buffer index %u is out of range (the model has %zu buffers)",
                        std::string(owner()).c_str(), buffer_index, num_buffers_);
  }
  const tfl::Buffer* buffer = model_->buffers()->Get(buffer_index);
  if (buffer->data() && buffer->data()->size() > 0) {
    // Inline data was verified to lie inside the FlatBuffer; point into the caller's bytes.
    *data = file_ + (buffer->data()->data() - fb_bytes_);
    *size = buffer->data()->size();
    return Status::Ok();
  }
  // TFLite's convention: an external location is valid only when offset > 1.
  if (buffer->offset() > 1 && buffer->size() > 0) {
    if (!RangeWithin(buffer->offset(), buffer->size(), file_size_)) {
      return InvalidModel(
          "%s: buffer %u at byte offset %llu with size %llu lies beyond the end "
          "of the %zu-byte file",
          std::string(owner()).c_str(), buffer_index,
          static_cast<unsigned long long>(buffer->offset()),
          static_cast<unsigned long long>(buffer->size()), file_size_);
    }
    *data = file_ + buffer->offset();
    *size = static_cast<size_t>(buffer->size());
  }
  return Status::Ok();
}

std::string TfliteImporter::DescribeTensor(int32_t index) const {
  if (index < 0 || static_cast<size_t>(index) >= tensors_.size()) {
    return StrFormat("tensor %d", index);
  }
  // Converter names can run to hundreds of characters (fused op names joined by ';'); error
  // messages are capped at 1 KiB, so keep the start, which names the layer.
  constexpr size_t kMaxShown = 120;
  std::string name;
  for (char c : tensors_[index].name) {
    if (name.size() == kMaxShown) {
      name += "...";
      break;
    }
    name += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return StrFormat("tensor %d ('%s')", index, name.c_str());
}

Status TfliteImporter::ImportTensors() {
  const auto* fb_tensors = graph_->tensors();
  const size_t num_tensors = fb_tensors ? fb_tensors->size() : 0;
  if (num_tensors > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return InvalidModel("subgraph 0 has %zu tensors, more than an int32 index can address",
                        num_tensors);
  }
  // Constants come from the file's buffers: at most its size, plus each one's alignment.
  // The FlatBuffer part is later slid in front of them within the same reservation. Borrowed
  // constants take no room.
  builder_.ReserveData((borrow_ ? 0 : file_size_) + 64 * num_tensors + 65536 + 512 * num_tensors);
  tensors_.resize(num_tensors);
  for (size_t i = 0; i < num_tensors; ++i) {
    WISP_RETURN_IF_ERROR(ImportTensor(static_cast<int32_t>(i),
                                      fb_tensors->Get(static_cast<flatbuffers::uoffset_t>(i))));
  }
  return Status::Ok();
}

Status TfliteImporter::ImportTensor(int32_t index, const tfl::Tensor* tensor) {
  TensorInfo& info = tensors_[index];
  info.name = tensor->name() ? tensor->name()->str() : std::string();
  info.is_variable = tensor->is_variable();
  // Formatted only for an error: a model load formats nothing on success.
  auto where = [&] { return DescribeTensor(index); };

  // Whatever goes wrong below, the builder gets one tensor per TFLite tensor so indices match.
  auto add_placeholder = [&]() { builder_.AddTensor(info.name, DType::FLOAT32, {}); };

  if (!MapDType(tensor->type(), &info.dtype)) {
    unsupported_tensors_.push_back(
        StrFormat("#%d '%s' %s", index, info.name.c_str(), TensorTypeName(tensor->type()).c_str()));
    add_placeholder();
    return Status::Ok();
  }
  if (tensor->sparsity()) {
    unsupported_tensors_.push_back(StrFormat("#%d '%s' (sparse)", index, info.name.c_str()));
    add_placeholder();
    return Status::Ok();
  }

  if (const auto* shape = tensor->shape()) {
    if (shape->size() > kMaxRank) {
      return InvalidModel("%s: rank %u exceeds the supported maximum of %zu", where().c_str(),
                          shape->size(), kMaxRank);
    }
    info.shape.assign(shape->begin(), shape->end());
  }
  for (int32_t dim : info.shape) {
    if (dim < 0) {
      unsupported_tensors_.push_back(StrFormat("#%d '%s' (dynamic shape %s)", index,
                                               info.name.c_str(),
                                               ShapeToString(info.shape).c_str()));
      add_placeholder();
      return Status::Ok();
    }
  }
  const int64_t num_elements = NumElements(info.shape);
  if (num_elements < 0) {
    return InvalidModel("%s: shape %s has too many elements", where().c_str(),
                        ShapeToString(info.shape).c_str());
  }
  const uint64_t bytes = static_cast<uint64_t>(num_elements) * DTypeSize(info.dtype);
  if (bytes > kMaxTensorBytes) {
    return InvalidModel("%s: shape %s of %s needs %llu bytes, beyond the supported limit",
                        where().c_str(), ShapeToString(info.shape).c_str(), DTypeName(info.dtype),
                        static_cast<unsigned long long>(bytes));
  }
  info.bytes = static_cast<size_t>(bytes);

  WISP_RETURN_IF_ERROR(ReadQuantization(index, tensor->quantization(), &info));
  if (!info.supported) {
    add_placeholder();
    return Status::Ok();
  }

  const uint8_t* data = nullptr;
  size_t data_size = 0;
  WISP_RETURN_IF_ERROR(ResolveBuffer(tensor->buffer(), where, &data, &data_size));
  // Empty buffers mean "no data", except for a tensor with no elements (e.g. the shape [0]
  // operand of a reshape to a scalar), which is a legitimate empty constant.
  const bool has_data = data_size > 0 || (tensor->buffer() != 0 && num_elements == 0);
  if (has_data) {
    if (info.is_variable) {
      return InvalidModel("%s: a variable tensor with constant data (buffer %u) is not supported",
                          where().c_str(), tensor->buffer());
    }
    if (data_size != info.bytes) {
      return InvalidModel("%s: buffer %u holds %zu bytes, but shape %s of %s needs %zu",
                          where().c_str(), tensor->buffer(), data_size,
                          ShapeToString(info.shape).c_str(), DTypeName(info.dtype), info.bytes);
    }
    info.is_constant = true;
    info.data = data;
    // In place where its elements are aligned (what typed reads need; TFLite files align buffers
    // to 4 bytes, some converters to 16), else copied into the .wisp's 64-byte-aligned data.
    const uintptr_t alignment = std::max<size_t>(1, DTypeSize(info.dtype));
    if (borrow_ && reinterpret_cast<uintptr_t>(data) % alignment == 0) {
      builder_.AddBorrowedConstant(info.name, info.dtype, info.shape, data, data_size, info.quant);
    } else {
      builder_.AddConstant(info.name, info.dtype, info.shape, data, data_size, info.quant);
    }
  } else {
    builder_.AddTensor(info.name, info.dtype, info.shape, info.quant, info.is_variable);
  }
  return Status::Ok();
}

Status TfliteImporter::ReadQuantization(int32_t index, const tfl::QuantizationParameters* q,
                                        TensorInfo* info) {
  info->supported = true;
  // A quantization table without scales (converters emit them for float tensors) means "not
  // quantized". Float and bool tensors carry no integer encoding, so their parameters are dropped.
  if (!q || !q->scale() || q->scale()->size() == 0) return Status::Ok();
  if (info->dtype == DType::FLOAT32 || info->dtype == DType::FLOAT16 ||
      info->dtype == DType::BOOL) {
    return Status::Ok();
  }
  auto where = [&] { return DescribeTensor(index); };
  if (q->details_type() != tfl::QuantizationDetails::NONE) {
    unsupported_tensors_.push_back(
        StrFormat("#%d '%s' (custom quantization)", index, info->name.c_str()));
    info->supported = false;
    return Status::Ok();
  }
  const size_t num_scales = q->scale()->size();
  const size_t num_zero_points = q->zero_point() ? q->zero_point()->size() : 0;
  if (num_zero_points != num_scales && num_zero_points != 0) {
    return InvalidModel("%s: %zu quantization scales but %zu zero points", where().c_str(),
                        num_scales, num_zero_points);
  }
  const int32_t rank = static_cast<int32_t>(info->shape.size());
  const int32_t axis = q->quantized_dimension();
  if (num_scales > 1) {
    if (axis < 0 || axis >= rank) {
      return InvalidModel("%s: quantized_dimension %d is outside rank %d", where().c_str(), axis,
                          rank);
    }
    if (static_cast<int64_t>(num_scales) != info->shape[axis]) {
      return InvalidModel("%s: %zu per-channel scales but dimension %d has size %d",
                          where().c_str(), num_scales, axis, info->shape[axis]);
    }
    info->quant.axis = axis;
  } else {
    info->quant.axis = (axis >= 0 && axis < rank) ? axis : 0;
  }
  int64_t zp_min = 0, zp_max = 0;
  ZeroPointRange(info->dtype, &zp_min, &zp_max);
  info->quant.scale.resize(num_scales);
  info->quant.zero_point.resize(num_scales);
  const float* scales = q->scale()->data();
  const uint8_t* zero_points = num_zero_points ? q->zero_point()->Data() : nullptr;
  const size_t c = CopyQuantArrays(scales, zero_points, num_scales, zp_min, zp_max,
                                   info->quant.scale.data(), info->quant.zero_point.data());
  if (c < num_scales) {
    const float scale = scales[c];
    if (!ValidQuantScale(scale)) {
      return InvalidModel("%s: quantization scale[%zu] = %g is not a positive finite number",
                          where().c_str(), c, static_cast<double>(scale));
    }
    return InvalidModel("%s: zero point %lld is outside the %s range", where().c_str(),
                        static_cast<long long>(ZeroPointAt(zero_points, c)),
                        DTypeName(info->dtype));
  }
  return Status::Ok();
}

Status TfliteImporter::ImportGraphInputs() {
  produced_.assign(tensors_.size(), 0);
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (tensors_[i].is_constant || tensors_[i].is_variable) produced_[i] = 1;
  }
  std::vector<int32_t> inputs;
  if (const auto* fb_inputs = graph_->inputs()) {
    for (flatbuffers::uoffset_t k = 0; k < fb_inputs->size(); ++k) {
      const int32_t t = fb_inputs->Get(k);
      if (t < 0 || static_cast<size_t>(t) >= tensors_.size()) {
        return InvalidModel("graph input %u refers to tensor %d, but subgraph 0 has %zu tensors", k,
                            t, tensors_.size());
      }
      if (tensors_[t].is_constant) {
        return InvalidModel("graph input %u, %s, holds constant data", k,
                            DescribeTensor(t).c_str());
      }
      produced_[t] = 1;
      inputs.push_back(t);
    }
  }
  builder_.SetInputs(std::move(inputs));
  return Status::Ok();
}

Status TfliteImporter::ImportOperators() {
  const auto* ops = graph_->operators();
  const size_t num_ops = ops ? ops->size() : 0;
  for (size_t i = 0; i < num_ops; ++i) {
    WISP_RETURN_IF_ERROR(ImportOperator(i, ops->Get(static_cast<flatbuffers::uoffset_t>(i))));
  }
  return Status::Ok();
}

Status TfliteImporter::ImportOperator(size_t index, const tfl::Operator* op) {
  OpContext c;
  c.index = index;
  c.op = op;
  const size_t num_codes = model_->operator_codes() ? model_->operator_codes()->size() : 0;
  if (op->opcode_index() >= num_codes) {
    return InvalidModel(
        "operator #%zu: opcode index %u is out of range (the model has %zu "
        "operator codes)",
        index, op->opcode_index(), num_codes);
  }
  const tfl::OperatorCode* opcode = model_->operator_codes()->Get(op->opcode_index());
  // Writers before schema 3a only set the byte-sized field; newer ones set both (the byte one
  // saturated at 127). The real code is the larger of the two.
  const int32_t code = std::max<int32_t>(opcode->deprecated_builtin_code(),
                                         static_cast<int32_t>(opcode->builtin_code()));
  c.op_name = code == static_cast<int32_t>(tfl::BuiltinOperator::CUSTOM)
                  ? "CUSTOM(" + Printable(opcode->custom_code()) + ")"
                  : BuiltinCodeName(code);

  const int32_t num_tensors = static_cast<int32_t>(tensors_.size());
  auto read_indices = [&](const flatbuffers::Vector<int32_t>* list, const char* what,
                          bool allow_absent, std::vector<int32_t>* out) -> Status {
    if (!list) return Status::Ok();
    out->assign(list->begin(), list->end());
    for (size_t k = 0; k < out->size(); ++k) {
      const int32_t t = (*out)[k];
      if (allow_absent && t == -1) continue;
      if (t < 0 || t >= num_tensors) {
        return InvalidModel("%s: %s %zu refers to tensor %d, but subgraph 0 has %d tensors",
                            c.where().c_str(), what, k, t, num_tensors);
      }
    }
    return Status::Ok();
  };
  WISP_RETURN_IF_ERROR(read_indices(op->inputs(), "input", true, &c.inputs));
  WISP_RETURN_IF_ERROR(read_indices(op->outputs(), "output", false, &c.outputs));
  WISP_RETURN_IF_ERROR(read_indices(op->intermediates(), "intermediate", false, &c.intermediates));

  fb::OpType type = fb::OpType::CONV_2D;
  fb::OpOptionsUnion options;
  WISP_RETURN_IF_ERROR(MapOperator(c, code, &type, &options));
  // Unsupported operators may legitimately have no outputs (ASSIGN_VARIABLE); they are listed.
  if (!c.unsupported && c.outputs.empty()) {
    return InvalidModel("%s has no outputs", c.where().c_str());
  }
  WISP_RETURN_IF_ERROR(CheckDataFlow(c));
  if (c.unsupported) {
    std::string entry = StrFormat("#%zu %s", index, c.op_name.c_str());
    if (!c.unsupported_reason.empty()) entry += " (" + c.unsupported_reason + ")";
    unsupported_ops_.push_back(std::move(entry));
    return Status::Ok();
  }
  builder_.AddOperator(type, c.inputs, c.outputs, std::move(options), c.intermediates);
  return Status::Ok();
}

// The .wisp loader's rule, checked here to name the TFLite operator: every input already holds a
// value (graph input, constant, variable or an earlier output) and every output is written once.
Status TfliteImporter::CheckDataFlow(const OpContext& c) {
  for (size_t k = 0; k < c.inputs.size(); ++k) {
    const int32_t t = c.inputs[k];
    if (t < 0 || static_cast<size_t>(t) >= produced_.size()) continue;  // absent or synthesized
    if (!produced_[t]) {
      return InvalidModel(
          "%s: input %zu, %s, is read before any operator writes it (it is not "
          "a graph input, a constant or a variable)",
          c.where().c_str(), k, DescribeTensor(t).c_str());
    }
  }
  for (size_t k = 0; k < c.outputs.size(); ++k) {
    const int32_t t = c.outputs[k];
    if (tensors_[t].is_constant || tensors_[t].is_variable) {
      return InvalidModel("%s: output %zu, %s, is a %s", c.where().c_str(), k,
                          DescribeTensor(t).c_str(),
                          tensors_[t].is_constant ? "constant" : "variable");
    }
    if (produced_[t]) {
      return InvalidModel(
          "%s: output %zu, %s, is already written by a graph input or an earlier "
          "operator",
          c.where().c_str(), k, DescribeTensor(t).c_str());
    }
    produced_[t] = 1;
  }
  return Status::Ok();
}

Status TfliteImporter::ImportGraphOutputs() {
  std::vector<int32_t> outputs;
  if (const auto* fb_outputs = graph_->outputs()) {
    for (flatbuffers::uoffset_t k = 0; k < fb_outputs->size(); ++k) {
      const int32_t t = fb_outputs->Get(k);
      if (t < 0 || static_cast<size_t>(t) >= tensors_.size()) {
        return InvalidModel("graph output %u refers to tensor %d, but subgraph 0 has %zu tensors",
                            k, t, tensors_.size());
      }
      if (!produced_[t]) {
        return InvalidModel("graph output %u, %s, is never written", k, DescribeTensor(t).c_str());
      }
      outputs.push_back(t);
    }
  }
  if (outputs.empty()) return InvalidModel("subgraph 0 declares no outputs");
  builder_.SetOutputs(std::move(outputs));
  return Status::Ok();
}

void TfliteImporter::WriteMetadata() {
  builder_.SetName(opts_.name.empty() ? "model" : opts_.name);
  builder_.SetVersion(opts_.version);
  builder_.SetDescription(opts_.description);
  builder_.SetProducer("wisp tflite importer");
  builder_.SetMetadata("source_format", "tflite");
  builder_.SetMetadata("tflite_schema_version", StrFormat("%u", model_->version()));
  if (model_->description() && model_->description()->size() > 0) {
    builder_.SetMetadata("tflite_description", Printable(model_->description(), 4096));
  }
  bool tflite_metadata_seen = false;
  if (const auto* entries = model_->metadata()) {
    for (const tfl::Metadata* entry : *entries) {
      const std::string name = entry->name() ? entry->name()->str() : "";
      if (name == kTfliteMetadataEntry && !tflite_metadata_seen) {
        tflite_metadata_seen = true;
        const uint8_t* data = nullptr;
        size_t size = 0;
        const Status st = ResolveBuffer(
            entry->buffer(), [] { return kTfliteMetadataEntry; }, &data, &size);
        if (st.ok()) {
          WriteTfliteMetadata(data, size);
        } else {
          builder_.SetMetadata(kMetadataWarningsKey, "metadata ignored: " + st.message());
        }
        continue;
      }
      if (name != "min_runtime_version") continue;
      const uint8_t* data = nullptr;
      size_t size = 0;
      // Optional information: a bad reference is ignored rather than failing the import.
      if (!ResolveBuffer(
               entry->buffer(), [] { return "metadata"; }, &data, &size)
               .ok())
        continue;
      std::string version;
      for (size_t k = 0; k < size && k < 64 && data[k] != 0; ++k) {
        version += (data[k] >= 0x20 && data[k] < 0x7f) ? static_cast<char>(data[k]) : '?';
      }
      if (!version.empty()) builder_.SetMetadata("tflite_min_runtime_version", version);
    }
  }
  // Image models in TFLite are NHWC; the hint lets tools feed images without guessing.
  const auto* inputs = graph_->inputs();
  bool all_rank4 = inputs && inputs->size() > 0;
  if (inputs) {
    for (int32_t t : *inputs) all_rank4 = all_rank4 && tensors_[t].shape.size() == 4;
  }
  if (all_rank4) builder_.SetMetadata("input_layout", "NHWC");
  for (const auto& kv : opts_.metadata) builder_.SetMetadata(kv.first, kv.second);
  if (!opts_.labels.empty()) {
    builder_.AddAsset(kLabelsAsset, "text/plain", opts_.labels.data(), opts_.labels.size());
  } else if (!metadata_labels_.empty()) {
    builder_.AddAsset(kLabelsAsset, "text/plain", metadata_labels_.data(), metadata_labels_.size());
  }
}

// TFLite Metadata, kept as .wisp fields, metadata keys (runtime/format/model_metadata.h) and the
// labels asset. Options given to the importer (name, description, version, labels, input_range)
// win over it. A buffer that does not parse is recorded as a warning, not an error: the graph is
// what the import is for.
void TfliteImporter::WriteTfliteMetadata(const uint8_t* data, size_t size) {
  auto parsed = ReadTfliteMetadata(data, size, file_, file_size_);
  if (!parsed.ok()) {
    builder_.SetMetadata(kMetadataWarningsKey, "metadata ignored: " + parsed.status().message());
    return;
  }
  TfliteMetadata& md = *parsed;
  std::string warnings;
  for (const std::string& w : md.warnings) warnings += (warnings.empty() ? "" : "; ") + w;
  if (!md.name.empty()) builder_.SetMetadata(kDisplayNameKey, md.name);
  if (opts_.description.empty() && !md.description.empty()) builder_.SetDescription(md.description);
  if (opts_.version.empty() && !md.version.empty()) builder_.SetVersion(md.version);
  if (!md.author.empty()) builder_.SetMetadata(kAuthorKey, md.author);
  if (!md.license.empty()) builder_.SetMetadata(kLicenseKey, md.license);
  const size_t num_inputs = graph_->inputs() ? graph_->inputs()->size() : 0;
  const size_t num_outputs = graph_->outputs() ? graph_->outputs()->size() : 0;
  if (md.inputs.size() > num_inputs) {
    warnings += StrFormat("%sthe metadata describes %zu inputs but the graph has %zu",
                          warnings.empty() ? "" : "; ", md.inputs.size(), num_inputs);
  }
  auto join = [](const std::vector<float>& v) {
    std::string s;
    for (float x : v) s += (s.empty() ? "" : ",") + StrFormat("%.9g", static_cast<double>(x));
    return s;
  };
  for (size_t i = 0; i < md.inputs.size() && i < num_inputs; ++i) {
    const TfliteTensorMetadata& in = md.inputs[i];
    if (!in.mean.empty() && !in.std.empty()) {
      builder_.SetMetadata(InputMetadataKey(i, kInputMeanSuffix), join(in.mean));
      builder_.SetMetadata(InputMetadataKey(i, kInputStdSuffix), join(in.std));
      const std::string range = NormalizedPixelRange(in.mean, in.std);
      if (!range.empty()) {
        builder_.SetMetadata(InputMetadataKey(i, kInputRangeSuffix), range);
        // The key `wisp run --image` and the JS image helpers read (opts_.metadata may override).
        if (i == 0 && num_inputs == 1) builder_.SetMetadata(kInputRangeKey, range);
      }
    }
    if (!in.min.empty() && !in.max.empty()) {
      builder_.SetMetadata(InputMetadataKey(i, kInputValueRangeSuffix),
                           join(in.min) + ";" + join(in.max));
    }
  }
  std::string files;
  for (const TfliteAssociatedFile& f : md.files) {
    files += StrFormat("%s%s (%s, %s)", files.empty() ? "" : "; ", f.name.c_str(), f.type.c_str(),
                       f.owner.c_str());
  }
  if (!files.empty()) builder_.SetMetadata(kAssociatedFilesKey, files);
  if (!md.labels.empty() && md.labels_output >= 0 &&
      static_cast<size_t>(md.labels_output) < num_outputs) {
    builder_.SetMetadata(kLabelsSourceKey,
                         StrFormat("%s (output %d)", md.labels_file.c_str(), md.labels_output));
    const int32_t t = graph_->outputs()->Get(static_cast<flatbuffers::uoffset_t>(md.labels_output));
    const size_t n = SplitLabels(md.labels).size();
    if (t >= 0 && static_cast<size_t>(t) < tensors_.size() && !tensors_[t].shape.empty() &&
        tensors_[t].shape.back() != static_cast<int64_t>(n)) {
      warnings += StrFormat("%slabels file '%s' has %zu labels but output %d has %lld classes",
                            warnings.empty() ? "" : "; ", md.labels_file.c_str(), n,
                            md.labels_output, static_cast<long long>(tensors_[t].shape.back()));
    }
    metadata_labels_ = std::move(md.labels);
  }
  if (!warnings.empty()) builder_.SetMetadata(kMetadataWarningsKey, warnings);
}

// ---------------------------------------------------------------------------------------------
// Operator mapping.

Status TfliteImporter::ExpectCounts(const OpContext& c, size_t min_inputs, size_t max_inputs,
                                    size_t num_outputs) const {
  if (c.inputs.size() < min_inputs || c.inputs.size() > max_inputs) {
    if (min_inputs == max_inputs) {
      return InvalidModel("%s: expected %zu inputs, found %zu", c.where().c_str(), min_inputs,
                          c.inputs.size());
    }
    return InvalidModel("%s: expected %zu to %zu inputs, found %zu", c.where().c_str(), min_inputs,
                        max_inputs, c.inputs.size());
  }
  if (c.outputs.size() != num_outputs) {
    return InvalidModel("%s: expected %zu outputs, found %zu", c.where().c_str(), num_outputs,
                        c.outputs.size());
  }
  return Status::Ok();
}

// The first `count` inputs are mandatory: -1 is not allowed there.
Status TfliteImporter::RequireInputs(const OpContext& c, size_t count) const {
  for (size_t k = 0; k < count && k < c.inputs.size(); ++k) {
    if (c.inputs[k] < 0) {
      return InvalidModel("%s: required input %zu is absent (-1)", c.where().c_str(), k);
    }
  }
  return Status::Ok();
}

// The operator's options table, nullptr when absent (the caller then uses schema defaults). A
// table of another type is a corrupt file, not "no options".
template <typename T>
Result<const T*> TfliteImporter::Options(const OpContext& c) const {
  const tfl::BuiltinOptions expected = tfl::BuiltinOptionsTraits<T>::enum_value;
  const tfl::BuiltinOptions actual = c.op->builtin_options_type();
  if (actual == tfl::BuiltinOptions::NONE || c.op->builtin_options() == nullptr) {
    return static_cast<const T*>(nullptr);
  }
  if (actual != expected) {
    return InvalidModel("%s: builtin_options has union type %d, expected %s (%d)",
                        c.where().c_str(), static_cast<int>(actual),
                        tfl::EnumNameBuiltinOptions(expected), static_cast<int>(expected));
  }
  return c.op->builtin_options_as<T>();
}

template <typename T>
Status TfliteImporter::FusedActivation(const OpContext& c,
                                       tfl::ActivationFunctionType* activation) const {
  WISP_ASSIGN_OR_RETURN(const T* in, Options<T>(c));
  *activation = in ? in->fused_activation_function() : tfl::ActivationFunctionType::NONE;
  return Status::Ok();
}

template <typename T>
Status TfliteImporter::MapResize(const OpContext& c, fb::OpType op_type, fb::OpType* type,
                                 fb::OpOptionsUnion* options) const {
  WISP_RETURN_IF_ERROR(ExpectCounts(c, 2, 2, 1));
  WISP_RETURN_IF_ERROR(RequireInputs(c, 2));
  WISP_ASSIGN_OR_RETURN(const T* in, Options<T>(c));
  fb::ResizeOptionsT out;
  out.align_corners = in ? in->align_corners() : false;
  out.half_pixel_centers = in ? in->half_pixel_centers() : false;
  *type = op_type;
  options->Set(std::move(out));
  return Status::Ok();
}

Status TfliteImporter::MapActivation(OpContext& c, tfl::ActivationFunctionType in,
                                     fb::Activation* out) const {
  switch (in) {
    case tfl::ActivationFunctionType::NONE:
      *out = fb::Activation::NONE;
      return Status::Ok();
    case tfl::ActivationFunctionType::RELU:
      *out = fb::Activation::RELU;
      return Status::Ok();
    case tfl::ActivationFunctionType::RELU_N1_TO_1:
      *out = fb::Activation::RELU_N1_TO_1;
      return Status::Ok();
    case tfl::ActivationFunctionType::RELU6:
      *out = fb::Activation::RELU6;
      return Status::Ok();
    case tfl::ActivationFunctionType::TANH:
      *out = fb::Activation::TANH;
      return Status::Ok();
    case tfl::ActivationFunctionType::SIGN_BIT:
      *out = fb::Activation::NONE;
      c.MarkUnsupported("fused activation SIGN_BIT");
      return Status::Ok();
    default:
      return InvalidModel("%s: unknown fused activation function %d", c.where().c_str(),
                          static_cast<int>(in));
  }
}

Status TfliteImporter::MapPadding(const OpContext& c, tfl::Padding in, fb::Padding* out) const {
  switch (in) {
    case tfl::Padding::SAME:
      *out = fb::Padding::SAME;
      return Status::Ok();
    case tfl::Padding::VALID:
      *out = fb::Padding::VALID;
      return Status::Ok();
    default:
      return InvalidModel("%s: unknown padding %d", c.where().c_str(), static_cast<int>(in));
  }
}

Status TfliteImporter::CheckPositive(const OpContext& c, const char* what, int32_t value) const {
  if (value < 1)
    return InvalidModel("%s: %s is %d, must be at least 1", c.where().c_str(), what, value);
  return Status::Ok();
}

// TFLite accepts negative axes counted from the end; kernels get the equivalent positive one.
Status TfliteImporter::NormalizeAxis(const OpContext& c, const char* what, const Shape* shape,
                                     int32_t* axis) const {
  if (shape == nullptr) return Status::Ok();  // unknown shape: the tensor is listed already
  const int32_t rank = static_cast<int32_t>(shape->size());
  if (*axis < -rank || *axis >= rank) {
    return InvalidModel("%s: %s %d is outside rank %d", c.where().c_str(), what, *axis, rank);
  }
  if (*axis < 0) *axis += rank;
  return Status::Ok();
}

// nullptr for an absent input or a tensor already listed as unsupported (its shape is unknown).
const Shape* TfliteImporter::InputShape(const OpContext& c, size_t k) const {
  if (k >= c.inputs.size() || c.inputs[k] < 0 ||
      static_cast<size_t>(c.inputs[k]) >= tensors_.size() || !tensors_[c.inputs[k]].supported) {
    return nullptr;
  }
  return &tensors_[c.inputs[k]].shape;
}

const Shape* TfliteImporter::OutputShape(const OpContext& c, size_t k) const {
  if (k >= c.outputs.size() || !tensors_[c.outputs[k]].supported) return nullptr;
  return &tensors_[c.outputs[k]].shape;
}

// Input k (an axis list) must be a constant; wisp kernels read it as int32, so an int64 constant
// is rewritten into a new int32 constant appended after the TFLite tensors.
Status TfliteImporter::ConstantInt32Input(OpContext& c, size_t k, const char* what) {
  const int32_t t = c.inputs[k];
  const TensorInfo& info = tensors_[t];
  if (!info.supported) return Status::Ok();  // already listed as an unsupported tensor
  if (!info.is_constant) {
    c.MarkUnsupported(StrFormat("%s is not a constant", what));
    return Status::Ok();
  }
  if (info.dtype == DType::INT32) return Status::Ok();
  if (info.dtype != DType::INT64) {
    return InvalidModel("%s: %s, %s, has dtype %s; expected INT32 or INT64", c.where().c_str(),
                        what, DescribeTensor(t).c_str(), DTypeName(info.dtype));
  }
  const size_t count = info.bytes / sizeof(int64_t);
  std::vector<int32_t> values(count);
  for (size_t i = 0; i < count; ++i) {
    int64_t v = 0;
    std::memcpy(&v, info.data + i * sizeof(int64_t), sizeof(v));
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
      return InvalidModel("%s: %s value %lld does not fit int32", c.where().c_str(), what,
                          static_cast<long long>(v));
    }
    values[i] = static_cast<int32_t>(v);
  }
  c.inputs[k] = builder_.AddConstant(info.name + "/int32", DType::INT32, info.shape, values);
  return Status::Ok();
}

// PADV2 pads with input 2; when that value is what PAD pads with (0, or the output zero point
// for quantized tensors) the operator is a plain PAD.
Status TfliteImporter::PadV2IsPlainPad(OpContext& c, bool* plain) const {
  *plain = false;
  const TensorInfo& value = tensors_[c.inputs[2]];
  const TensorInfo& output = tensors_[c.outputs[0]];
  if (!value.is_constant || value.bytes == 0 || value.bytes != DTypeSize(value.dtype) ||
      value.dtype != output.dtype) {
    return Status::Ok();
  }
  const int32_t zero_point = output.quant.empty() ? 0 : output.quant.zero_point[0];
  switch (value.dtype) {
    case DType::INT8:
      *plain = static_cast<int8_t>(value.data[0]) == zero_point;
      break;
    case DType::UINT8:
      *plain = value.data[0] == zero_point;
      break;
    case DType::INT16: {
      int16_t v;
      std::memcpy(&v, value.data, sizeof(v));
      *plain = v == zero_point;
      break;
    }
    default: {
      // Bit-exact zero (so -0.0f is not treated as the 0.0f that PAD writes).
      bool all_zero = true;
      for (size_t i = 0; i < value.bytes; ++i) all_zero = all_zero && value.data[i] == 0;
      *plain = all_zero;
      break;
    }
  }
  return Status::Ok();
}

Status TfliteImporter::MapOperator(OpContext& c, int32_t code, fb::OpType* type,
                                   fb::OpOptionsUnion* options) {
  using BO = tfl::BuiltinOperator;
  // Operators without options that map one to one.
  struct Simple {
    BO code;
    fb::OpType type;
    size_t min_inputs, max_inputs;
  };
  static const Simple kSimple[] = {
      {BO::QUANTIZE, fb::OpType::QUANTIZE, 1, 1},
      {BO::DEQUANTIZE, fb::OpType::DEQUANTIZE, 1, 1},
      {BO::LOGISTIC, fb::OpType::LOGISTIC, 1, 1},
      {BO::CAST, fb::OpType::CAST, 1, 1},
      {BO::GATHER_ND, fb::OpType::GATHER_ND, 2, 2},
      {BO::SQRT, fb::OpType::SQRT, 1, 1},
      {BO::RELU, fb::OpType::RELU, 1, 1},
      {BO::RELU6, fb::OpType::RELU6, 1, 1},
      {BO::HARD_SWISH, fb::OpType::HARD_SWISH, 1, 1},
      {BO::TANH, fb::OpType::TANH, 1, 1},
      {BO::PAD, fb::OpType::PAD, 2, 2},
      {BO::TRANSPOSE, fb::OpType::TRANSPOSE, 2, 2},
      {BO::SLICE, fb::OpType::SLICE, 3, 3},
      {BO::RESHAPE, fb::OpType::RESHAPE, 1, 2},
  };
  for (const Simple& s : kSimple) {
    if (code != static_cast<int32_t>(s.code)) continue;
    WISP_RETURN_IF_ERROR(ExpectCounts(c, s.min_inputs, s.max_inputs, 1));
    // RESHAPE's shape operand is optional (older files give the shape in ReshapeOptions only).
    WISP_RETURN_IF_ERROR(RequireInputs(c, s.code == BO::RESHAPE ? 1 : s.min_inputs));
    *type = s.type;
    return Status::Ok();
  }

  switch (static_cast<BO>(code)) {
    case BO::CONV_2D: {
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 2, 3, 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 2));
      WISP_ASSIGN_OR_RETURN(const tfl::Conv2DOptions* in, Options<tfl::Conv2DOptions>(c));
      tfl::Conv2DOptionsT o;
      if (in) in->UnPackTo(&o);
      fb::Conv2DOptionsT out;
      WISP_RETURN_IF_ERROR(MapPadding(c, o.padding, &out.padding));
      WISP_RETURN_IF_ERROR(CheckPositive(c, "stride_w", o.stride_w));
      WISP_RETURN_IF_ERROR(CheckPositive(c, "stride_h", o.stride_h));
      WISP_RETURN_IF_ERROR(CheckPositive(c, "dilation_w_factor", o.dilation_w_factor));
      WISP_RETURN_IF_ERROR(CheckPositive(c, "dilation_h_factor", o.dilation_h_factor));
      out.stride_w = o.stride_w;
      out.stride_h = o.stride_h;
      out.dilation_w = o.dilation_w_factor;
      out.dilation_h = o.dilation_h_factor;
      WISP_RETURN_IF_ERROR(MapActivation(c, o.fused_activation_function, &out.activation));
      *type = fb::OpType::CONV_2D;
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::DEPTHWISE_CONV_2D: {
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 2, 3, 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 2));
      WISP_ASSIGN_OR_RETURN(const tfl::DepthwiseConv2DOptions* in,
                            Options<tfl::DepthwiseConv2DOptions>(c));
      tfl::DepthwiseConv2DOptionsT o;
      if (in) in->UnPackTo(&o);
      fb::DepthwiseConv2DOptionsT out;
      WISP_RETURN_IF_ERROR(MapPadding(c, o.padding, &out.padding));
      WISP_RETURN_IF_ERROR(CheckPositive(c, "stride_w", o.stride_w));
      WISP_RETURN_IF_ERROR(CheckPositive(c, "stride_h", o.stride_h));
      WISP_RETURN_IF_ERROR(CheckPositive(c, "dilation_w_factor", o.dilation_w_factor));
      WISP_RETURN_IF_ERROR(CheckPositive(c, "dilation_h_factor", o.dilation_h_factor));
      out.stride_w = o.stride_w;
      out.stride_h = o.stride_h;
      out.dilation_w = o.dilation_w_factor;
      out.dilation_h = o.dilation_h_factor;
      // Current TFLite ignores the stored multiplier (old converters wrote inconsistent ones)
      // and derives it from the shapes: filter [1, KH, KW, OC] over IC input channels.
      out.depth_multiplier = o.depth_multiplier > 0 ? o.depth_multiplier : 1;
      const Shape* input = InputShape(c, 0);
      const Shape* filter = InputShape(c, 1);
      if (input && filter && input->size() == 4 && filter->size() == 4 && (*input)[3] > 0 &&
          (*filter)[3] % (*input)[3] == 0 && (*filter)[3] > 0) {
        out.depth_multiplier = (*filter)[3] / (*input)[3];
      }
      WISP_RETURN_IF_ERROR(MapActivation(c, o.fused_activation_function, &out.activation));
      *type = fb::OpType::DEPTHWISE_CONV_2D;
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::FULLY_CONNECTED: {
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 2, 3, 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 2));
      WISP_ASSIGN_OR_RETURN(const tfl::FullyConnectedOptions* in,
                            Options<tfl::FullyConnectedOptions>(c));
      tfl::FullyConnectedOptionsT o;
      if (in) in->UnPackTo(&o);
      if (o.weights_format != tfl::FullyConnectedOptionsWeightsFormat::DEFAULT) {
        c.MarkUnsupported("shuffled weights format");
      }
      fb::FullyConnectedOptionsT out;
      WISP_RETURN_IF_ERROR(MapActivation(c, o.fused_activation_function, &out.activation));
      out.keep_num_dims = o.keep_num_dims;
      *type = fb::OpType::FULLY_CONNECTED;
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::ADD:
    case BO::SUB:
    case BO::MUL:
    case BO::DIV:
    case BO::MAXIMUM:
    case BO::MINIMUM:
    case BO::FLOOR_DIV: {
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 2, 2, 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 2));
      tfl::ActivationFunctionType activation = tfl::ActivationFunctionType::NONE;
      switch (static_cast<BO>(code)) {
        case BO::ADD:
          WISP_RETURN_IF_ERROR(FusedActivation<tfl::AddOptions>(c, &activation));
          *type = fb::OpType::ADD;
          break;
        case BO::SUB:
          WISP_RETURN_IF_ERROR(FusedActivation<tfl::SubOptions>(c, &activation));
          *type = fb::OpType::SUB;
          break;
        case BO::MUL:
          WISP_RETURN_IF_ERROR(FusedActivation<tfl::MulOptions>(c, &activation));
          *type = fb::OpType::MUL;
          break;
        case BO::DIV:
          WISP_RETURN_IF_ERROR(FusedActivation<tfl::DivOptions>(c, &activation));
          *type = fb::OpType::DIV;
          break;
        case BO::MAXIMUM:
          *type = fb::OpType::MAXIMUM;
          break;
        case BO::MINIMUM:
          *type = fb::OpType::MINIMUM;
          break;
        default:
          *type = fb::OpType::FLOOR_DIV;
          break;
      }
      fb::BinaryOptionsT out;
      WISP_RETURN_IF_ERROR(MapActivation(c, activation, &out.activation));
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::AVERAGE_POOL_2D:
    case BO::MAX_POOL_2D: {
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 1, 1, 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 1));
      WISP_ASSIGN_OR_RETURN(const tfl::Pool2DOptions* in, Options<tfl::Pool2DOptions>(c));
      tfl::Pool2DOptionsT o;
      if (in) in->UnPackTo(&o);
      fb::Pool2DOptionsT out;
      WISP_RETURN_IF_ERROR(MapPadding(c, o.padding, &out.padding));
      WISP_RETURN_IF_ERROR(CheckPositive(c, "stride_w", o.stride_w));
      WISP_RETURN_IF_ERROR(CheckPositive(c, "stride_h", o.stride_h));
      WISP_RETURN_IF_ERROR(CheckPositive(c, "filter_width", o.filter_width));
      WISP_RETURN_IF_ERROR(CheckPositive(c, "filter_height", o.filter_height));
      out.stride_w = o.stride_w;
      out.stride_h = o.stride_h;
      out.filter_w = o.filter_width;
      out.filter_h = o.filter_height;
      WISP_RETURN_IF_ERROR(MapActivation(c, o.fused_activation_function, &out.activation));
      *type = code == static_cast<int32_t>(BO::MAX_POOL_2D) ? fb::OpType::MAX_POOL_2D
                                                            : fb::OpType::AVERAGE_POOL_2D;
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::MEAN: {
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 2, 2, 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 2));
      WISP_ASSIGN_OR_RETURN(const tfl::ReducerOptions* in, Options<tfl::ReducerOptions>(c));
      WISP_RETURN_IF_ERROR(ConstantInt32Input(c, 1, "axis"));
      fb::ReducerOptionsT out;
      out.keep_dims = in ? in->keep_dims() : false;
      *type = fb::OpType::MEAN;
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::SOFTMAX: {
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 1, 1, 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 1));
      WISP_ASSIGN_OR_RETURN(const tfl::SoftmaxOptions* in, Options<tfl::SoftmaxOptions>(c));
      fb::SoftmaxOptionsT out;
      // The schema default is 0; converters always write the real beta (normally 1).
      out.beta = in ? in->beta() : 0.0f;
      if (!std::isfinite(out.beta)) {
        return InvalidModel("%s: beta %g is not finite", c.where().c_str(),
                            static_cast<double>(out.beta));
      }
      *type = fb::OpType::SOFTMAX;
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::CONCATENATION: {
      if (c.inputs.empty()) return InvalidModel("%s has no inputs", c.where().c_str());
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 1, c.inputs.size(), 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, c.inputs.size()));
      WISP_ASSIGN_OR_RETURN(const tfl::ConcatenationOptions* in,
                            Options<tfl::ConcatenationOptions>(c));
      tfl::ConcatenationOptionsT o;
      if (in) in->UnPackTo(&o);
      fb::ConcatenationOptionsT out;
      out.axis = o.axis;
      WISP_RETURN_IF_ERROR(NormalizeAxis(c, "axis", OutputShape(c, 0), &out.axis));
      WISP_RETURN_IF_ERROR(MapActivation(c, o.fused_activation_function, &out.activation));
      *type = fb::OpType::CONCATENATION;
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::RESIZE_BILINEAR:
      return MapResize<tfl::ResizeBilinearOptions>(c, fb::OpType::RESIZE_BILINEAR, type, options);
    case BO::RESIZE_NEAREST_NEIGHBOR:
      return MapResize<tfl::ResizeNearestNeighborOptions>(c, fb::OpType::RESIZE_NEAREST_NEIGHBOR,
                                                          type, options);
    case BO::ARG_MAX: {
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 2, 2, 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 2));
      WISP_RETURN_IF_ERROR(Options<tfl::ArgMaxOptions>(c).status());
      WISP_RETURN_IF_ERROR(ConstantInt32Input(c, 1, "axis"));
      *type = fb::OpType::ARG_MAX;
      options->Set(fb::ArgMaxOptionsT());
      return Status::Ok();
    }
    case BO::PACK: {
      if (c.inputs.empty()) return InvalidModel("%s has no inputs", c.where().c_str());
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 1, c.inputs.size(), 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, c.inputs.size()));
      WISP_ASSIGN_OR_RETURN(const tfl::PackOptions* in, Options<tfl::PackOptions>(c));
      fb::PackOptionsT out;
      out.values_count = in ? in->values_count() : 0;
      out.axis = in ? in->axis() : 0;
      if (out.values_count != static_cast<int32_t>(c.inputs.size())) {
        return InvalidModel("%s: values_count is %d but the operator has %zu inputs",
                            c.where().c_str(), out.values_count, c.inputs.size());
      }
      WISP_RETURN_IF_ERROR(NormalizeAxis(c, "axis", OutputShape(c, 0), &out.axis));
      *type = fb::OpType::PACK;
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::UNPACK: {
      WISP_ASSIGN_OR_RETURN(const tfl::UnpackOptions* in, Options<tfl::UnpackOptions>(c));
      fb::UnpackOptionsT out;
      out.num = in ? in->num() : 0;
      out.axis = in ? in->axis() : 0;
      if (out.num < 1 || out.num != static_cast<int32_t>(c.outputs.size())) {
        return InvalidModel("%s: num is %d but the operator has %zu outputs", c.where().c_str(),
                            out.num, c.outputs.size());
      }
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 1, 1, c.outputs.size()));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 1));
      WISP_RETURN_IF_ERROR(NormalizeAxis(c, "axis", InputShape(c, 0), &out.axis));
      *type = fb::OpType::UNPACK;
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::UNIDIRECTIONAL_SEQUENCE_LSTM: {
      if (c.inputs.size() != kLstmInputsWithoutLayerNorm && c.inputs.size() != kLstmInputs) {
        return InvalidModel("%s: expected %zu or %zu inputs, found %zu", c.where().c_str(),
                            kLstmInputsWithoutLayerNorm, kLstmInputs, c.inputs.size());
      }
      WISP_RETURN_IF_ERROR(ExpectCounts(c, c.inputs.size(), c.inputs.size(), 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 1));
      for (size_t k : {kLstmOutputStateInput, kLstmCellStateInput}) {
        const int32_t t = c.inputs[k];
        if (t < 0 || !tensors_[t].is_variable) {
          return InvalidModel("%s: input %zu (the %s state) must be a variable tensor",
                              c.where().c_str(), k, k == kLstmOutputStateInput ? "output" : "cell");
        }
      }
      WISP_ASSIGN_OR_RETURN(const tfl::UnidirectionalSequenceLSTMOptions* in,
                            Options<tfl::UnidirectionalSequenceLSTMOptions>(c));
      tfl::UnidirectionalSequenceLSTMOptionsT o;
      if (in) in->UnPackTo(&o);
      if (o.diagonal_recurrent_tensors) c.MarkUnsupported("diagonal recurrent tensors");
      fb::LstmOptionsT out;
      WISP_RETURN_IF_ERROR(MapActivation(c, o.fused_activation_function, &out.activation));
      out.cell_clip = o.cell_clip;
      out.proj_clip = o.proj_clip;
      out.time_major = o.time_major;
      if (!std::isfinite(out.cell_clip) || out.cell_clip < 0 || !std::isfinite(out.proj_clip) ||
          out.proj_clip < 0) {
        return InvalidModel("%s: cell_clip %g / proj_clip %g must be finite and non-negative",
                            c.where().c_str(), static_cast<double>(out.cell_clip),
                            static_cast<double>(out.proj_clip));
      }
      // One layout for kernels: the layer-norm inputs are present as -1 when the file omits them.
      c.inputs.resize(kLstmInputs, -1);
      *type = fb::OpType::UNIDIRECTIONAL_SEQUENCE_LSTM;
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::PADV2: {
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 2, 3, 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 2));
      if (c.inputs.size() == 3 && c.inputs[2] >= 0) {
        bool plain = false;
        WISP_RETURN_IF_ERROR(PadV2IsPlainPad(c, &plain));
        if (!plain) c.MarkUnsupported("padding value other than zero");
        c.inputs.resize(2);
      }
      *type = fb::OpType::PAD;
      return Status::Ok();
    }
    case BO::STRIDED_SLICE: {
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 4, 4, 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 4));
      WISP_ASSIGN_OR_RETURN(const tfl::StridedSliceOptions* in,
                            Options<tfl::StridedSliceOptions>(c));
      tfl::StridedSliceOptionsT o;
      if (in) in->UnPackTo(&o);
      fb::StridedSliceOptionsT out;
      out.begin_mask = o.begin_mask;
      out.end_mask = o.end_mask;
      out.ellipsis_mask = o.ellipsis_mask;
      out.new_axis_mask = o.new_axis_mask;
      out.shrink_axis_mask = o.shrink_axis_mask;
      out.offset = o.offset;
      *type = fb::OpType::STRIDED_SLICE;
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::SQUEEZE: {
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 1, 1, 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 1));
      WISP_ASSIGN_OR_RETURN(const tfl::SqueezeOptions* in, Options<tfl::SqueezeOptions>(c));
      fb::SqueezeOptionsT out;
      if (in && in->squeeze_dims()) {
        out.squeeze_dims.assign(in->squeeze_dims()->begin(), in->squeeze_dims()->end());
      }
      for (int32_t& dim : out.squeeze_dims) {
        WISP_RETURN_IF_ERROR(NormalizeAxis(c, "squeeze dimension", InputShape(c, 0), &dim));
      }
      *type = fb::OpType::SQUEEZE;
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::LEAKY_RELU: {
      WISP_RETURN_IF_ERROR(ExpectCounts(c, 1, 1, 1));
      WISP_RETURN_IF_ERROR(RequireInputs(c, 1));
      WISP_ASSIGN_OR_RETURN(const tfl::LeakyReluOptions* in, Options<tfl::LeakyReluOptions>(c));
      fb::LeakyReluOptionsT out;
      out.alpha = in ? in->alpha() : 0.0f;
      if (!std::isfinite(out.alpha)) {
        return InvalidModel("%s: alpha %g is not finite", c.where().c_str(),
                            static_cast<double>(out.alpha));
      }
      *type = fb::OpType::LEAKY_RELU;
      options->Set(std::move(out));
      return Status::Ok();
    }
    case BO::CALL:
    case BO::IF:
    case BO::WHILE:
    case BO::CALL_ONCE: {
      // Name the called subgraphs: the error then says why this graph cannot be flattened.
      std::string called;
      if (const auto* o = c.op->builtin_options_as_IfOptions()) {
        called = StrFormat("%d and %d", o->then_subgraph_index(), o->else_subgraph_index());
      } else if (const auto* w = c.op->builtin_options_as_WhileOptions()) {
        called = StrFormat("%d and %d", w->cond_subgraph_index(), w->body_subgraph_index());
      } else if (const auto* once = c.op->builtin_options_as_CallOnceOptions()) {
        called = StrFormat("%d", once->init_subgraph_index());
      } else if (const auto* call = c.op->builtin_options_as_CallOptions()) {
        called = StrFormat("%u", call->subgraph());
      }
      c.MarkUnsupported(called.empty()
                            ? "calls another subgraph; only subgraph 0 is imported"
                            : "calls subgraph " + called + "; only subgraph 0 is imported");
      return Status::Ok();
    }
    default:
      c.MarkUnsupported("");
      return Status::Ok();
  }
}

}  // namespace

bool LooksLikeTflite(const uint8_t* data, size_t size) {
  return data != nullptr && size >= 8 &&
         flatbuffers::BufferHasIdentifier(data, tfl::ModelIdentifier());
}

Result<std::vector<uint8_t>> ImportTflite(const uint8_t* data, size_t size,
                                          const ImportOptions& opts) {
  TfliteImporter importer(data, size, opts, /*borrow=*/false);
  WISP_ASSIGN_OR_RETURN(ImportedModel imported, importer.Run());
  return std::move(imported.wisp);
}

Result<ImportedModel> ImportTfliteBorrowing(const uint8_t* data, size_t size,
                                            const ImportOptions& opts) {
  TfliteImporter importer(data, size, opts, /*borrow=*/true);
  return importer.Run();
}

}  // namespace wisp
