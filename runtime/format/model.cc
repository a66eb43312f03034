#include "runtime/format/model.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "flatbuffers/flatbuffers.h"
#include "runtime/format/quant_arrays.h"
#include "runtime/util/sha256.h"

namespace wisp {
namespace {

constexpr uint32_t kSchemaVersion = 1;
constexpr size_t kDataAlignment = 64;
// Refuse tensors beyond 2^40 bytes: no real model needs them and they would overflow planners.
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 40;
constexpr size_t kMaxRank = 8;

bool RangeWithin(uint64_t offset, uint64_t size, uint64_t limit) {
  return offset <= limit && size <= limit - offset;
}

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

}  // namespace

const char* OpTypeName(fb::OpType type) {
  if (type < fb::OpType::MIN || type > fb::OpType::MAX) return "UNKNOWN";
  return fb::EnumNameOpType(type);
}

bool LooksLikeWisp(const uint8_t* bytes, size_t size) {
  return size >= 8 && flatbuffers::BufferHasIdentifier(bytes, fb::ModelIdentifier());
}

void ComputeContentSha256(const uint8_t* bytes, size_t size, size_t hash_offset, uint8_t out[32]) {
  static const uint8_t kZeros[32] = {};
  Sha256 h;
  h.Update(bytes, hash_offset);
  h.Update(kZeros, 32);
  h.Update(bytes + hash_offset + 32, size - hash_offset - 32);
  const Sha256::Digest d = h.Final();
  std::memcpy(out, d.data(), d.size());
}

Result<std::shared_ptr<const Model>> Model::Load(std::vector<uint8_t> bytes,
                                                 const LoadOptions& options) {
  auto owned = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  const uint8_t* data = owned->data();
  size_t size = owned->size();
  return Load(data, size, std::move(owned), options);
}

Result<std::shared_ptr<const Model>> Model::Load(std::vector<uint8_t> bytes,
                                                 const LoadOptions& options,
                                                 std::vector<BorrowedBytes> borrowed,
                                                 std::shared_ptr<const void> owner,
                                                 std::function<std::string()> content_sha256) {
  auto owned = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  std::shared_ptr<Model> model(new Model());
  model->bytes_ = owned->data();
  model->size_ = owned->size();
  model->keepalive_ = std::move(owned);
  model->borrowed_ = std::move(borrowed);
  model->borrowed_owner_ = std::move(owner);
  model->borrowed_content_sha256_ = std::move(content_sha256);
  WISP_RETURN_IF_ERROR(model->Validate(options));
  return std::shared_ptr<const Model>(std::move(model));
}

Result<std::shared_ptr<const Model>> Model::Load(const uint8_t* bytes, size_t size,
                                                 std::shared_ptr<const void> keepalive,
                                                 const LoadOptions& options) {
  std::shared_ptr<Model> model(new Model());
  model->bytes_ = bytes;
  model->size_ = size;
  model->keepalive_ = std::move(keepalive);
  WISP_RETURN_IF_ERROR(model->Validate(options));
  return std::shared_ptr<const Model>(std::move(model));
}

Status Model::Validate(const LoadOptions& options) {
  if (bytes_ == nullptr || size_ < 8) {
    return InvalidModel("file is %zu bytes, too small to be a .wisp model", size_);
  }
  if (!flatbuffers::BufferHasIdentifier(bytes_, fb::ModelIdentifier())) {
    return InvalidModel("wrong file identifier at byte offset 4: expected 'WISP'");
  }
  if ((reinterpret_cast<uintptr_t>(bytes_) & 7) != 0) {
    return InvalidArgument("model bytes must be 8-byte aligned in memory");
  }
  // The FlatBuffer part is small; a file beyond 2 GiB is legal as long as the FlatBuffer itself
  // sits in the first 2 GiB, which the verifier checks.
  const size_t fb_limit = std::min<size_t>(size_, FLATBUFFERS_MAX_BUFFER_SIZE - 1);
  flatbuffers::Verifier verifier(bytes_, fb_limit, /*max_depth=*/64, /*max_tables=*/4000000);
  if (!fb::VerifyModelBuffer(verifier)) {
    return InvalidModel("FlatBuffers verification failed: the file is truncated or corrupt");
  }
  fb_ = fb::GetModel(bytes_);
  if (fb_->schema_version() != kSchemaVersion) {
    return InvalidModel("schema version %u is not supported (this runtime reads version %u)",
                        fb_->schema_version(), kSchemaVersion);
  }

  const uint64_t data_offset = fb_->data_offset();
  const uint64_t data_size = fb_->data_size();
  if (data_offset % kDataAlignment != 0) {
    return InvalidModel("data section offset %llu is not %zu-byte aligned",
                        static_cast<unsigned long long>(data_offset), kDataAlignment);
  }
  if (!RangeWithin(data_offset, data_size, size_)) {
    return InvalidModel("data section [%llu, +%llu) exceeds the file size %zu (truncated file?)",
                        static_cast<unsigned long long>(data_offset),
                        static_cast<unsigned long long>(data_size), size_);
  }
  const uint8_t* data_section = bytes_ + data_offset;

  if (options.verify_sha256) {
    const fb::Sha256* recorded = fb_->content_sha256();
    if (recorded == nullptr) return InvalidModel("no content sha256 recorded in the model");
    const size_t hash_offset = reinterpret_cast<const uint8_t*>(recorded) - bytes_;
    uint8_t actual[32];
    ComputeContentSha256(bytes_, size_, hash_offset, actual);
    if (std::memcmp(actual, recorded->bytes()->data(), 32) != 0) {
      return InvalidModel("content sha256 mismatch: the file was modified or corrupted");
    }
  }

  // Tensors.
  const auto* fb_tensors = fb_->tensors();
  const size_t num_tensors = fb_tensors ? fb_tensors->size() : 0;
  tensors_.resize(num_tensors);
  for (size_t i = 0; i < num_tensors; ++i) {
    const fb::Tensor* t = fb_tensors->Get(static_cast<flatbuffers::uoffset_t>(i));
    TensorDesc& d = tensors_[i];
    d.name = Str(t->name());
    auto where = [&]() { return StrFormat("tensor %zu ('%s')", i, d.name.c_str()); };
    d.dtype = t->dtype();
    if (d.dtype < DType::MIN || d.dtype > DType::MAX) {
      return InvalidModel("%s: unknown dtype %d", where().c_str(), static_cast<int>(d.dtype));
    }
    if (t->shape()) {
      if (t->shape()->size() > kMaxRank) {
        return InvalidModel("%s: rank %u exceeds the maximum of %zu", where().c_str(),
                            t->shape()->size(), kMaxRank);
      }
      d.shape.assign(t->shape()->begin(), t->shape()->end());
    }
    d.num_elements = NumElements(d.shape);
    if (d.num_elements < 0) {
      return InvalidModel("%s: invalid shape %s", where().c_str(), ShapeToString(d.shape).c_str());
    }
    const uint64_t bytes = static_cast<uint64_t>(d.num_elements) * DTypeSize(d.dtype);
    if (bytes > kMaxTensorBytes) {
      return InvalidModel("%s: shape %s needs %llu bytes, beyond the supported limit",
                          where().c_str(), ShapeToString(d.shape).c_str(),
                          static_cast<unsigned long long>(bytes));
    }
    d.bytes = static_cast<size_t>(bytes);
    d.is_variable = t->is_variable();

    if (const fb::Quantization* q = t->quantization()) {
      const size_t ns = q->scale() ? q->scale()->size() : 0;
      const size_t nz = q->zero_point() ? q->zero_point()->size() : 0;
      if (ns != nz && !(ns > 0 && nz == 0)) {
        return InvalidModel("%s: %zu quantization scales but %zu zero points", where().c_str(), ns,
                            nz);
      }
      if (ns > 0) {
        d.quant.axis = q->axis();
        if (ns > 1) {
          if (d.quant.axis < 0 || static_cast<size_t>(d.quant.axis) >= d.shape.size()) {
            return InvalidModel("%s: quantization axis %d outside rank %zu", where().c_str(),
                                d.quant.axis, d.shape.size());
          }
          if (static_cast<int64_t>(ns) != d.shape[d.quant.axis]) {
            return InvalidModel("%s: %zu per-channel scales but dimension %d has size %d",
                                where().c_str(), ns, d.quant.axis, d.shape[d.quant.axis]);
          }
        }
        d.quant.scale.resize(ns);
        d.quant.zero_point.resize(ns);
        const float* scales = q->scale()->data();
        const uint8_t* zero_points = nz ? q->zero_point()->Data() : nullptr;
        const size_t c =
            CopyQuantArrays(scales, zero_points, ns, DTypeMinValue(d.dtype), DTypeMaxValue(d.dtype),
                            d.quant.scale.data(), d.quant.zero_point.data());
        if (c < ns) {
          const float s = scales[c];
          if (!ValidQuantScale(s)) {
            return InvalidModel("%s: quantization scale[%zu] = %g is not a positive finite number",
                                where().c_str(), c, static_cast<double>(s));
          }
          return InvalidModel("%s: zero point %lld outside the %s range", where().c_str(),
                              static_cast<long long>(ZeroPointAt(zero_points, c)),
                              DTypeName(d.dtype));
        }
      }
    }

    if (const fb::DataRef* ref = t->data()) {
      const bool borrowed = !borrowed_.empty() && ref->offset() >= kBorrowedDataBase;
      if (borrowed) {
        const uint64_t entry = ref->offset() - kBorrowedDataBase;
        if (entry >= borrowed_.size() || borrowed_[entry].size != ref->size()) {
          return InvalidModel(
              "%s: borrowed data entry %llu of %llu bytes is not among the %zu "
              "the model was loaded with",
              where().c_str(), static_cast<unsigned long long>(entry),
              static_cast<unsigned long long>(ref->size()), borrowed_.size());
        }
      } else {
        if (!RangeWithin(ref->offset(), ref->size(), data_size)) {
          return InvalidModel("%s: data [%llu, +%llu) exceeds the data section of %llu bytes",
                              where().c_str(), static_cast<unsigned long long>(ref->offset()),
                              static_cast<unsigned long long>(ref->size()),
                              static_cast<unsigned long long>(data_size));
        }
        if (ref->offset() % kDataAlignment != 0) {
          return InvalidModel("%s: data offset %llu is not %zu-byte aligned", where().c_str(),
                              static_cast<unsigned long long>(ref->offset()), kDataAlignment);
        }
      }
      if (ref->size() != d.bytes) {
        return InvalidModel("%s: holds %llu bytes of data but shape %s of %s needs %zu",
                            where().c_str(), static_cast<unsigned long long>(ref->size()),
                            ShapeToString(d.shape).c_str(), DTypeName(d.dtype), d.bytes);
      }
      d.data = borrowed ? borrowed_[ref->offset() - kBorrowedDataBase].data
                        : data_section + ref->offset();
      if (d.is_variable) {
        return InvalidModel("%s: a variable tensor cannot also be a constant", where().c_str());
      }
    }
  }

  // `what` names the reference; it is formatted only for the error (a model load formats
  // nothing on success: in a browser's first, unoptimized run each format costs tens of us).
  auto check_index = [&](int32_t index, bool allow_absent, auto what) -> Status {
    if (allow_absent && index == -1) return Status::Ok();
    if (index < 0 || static_cast<size_t>(index) >= num_tensors) {
      return InvalidModel("%s refers to tensor %d, but the model has %zu tensors",
                          std::string(what()).c_str(), index, num_tensors);
    }
    return Status::Ok();
  };

  // Graph inputs and outputs.
  std::vector<uint8_t> produced(num_tensors, 0);  // written before the current operator runs
  if (fb_->inputs()) {
    for (int32_t idx : *fb_->inputs()) {
      WISP_RETURN_IF_ERROR(check_index(idx, false, [] { return "graph input"; }));
      if (tensors_[idx].is_constant()) {
        return InvalidModel("graph input %s is a constant", DescribeTensor(idx).c_str());
      }
      inputs_.push_back(idx);
      produced[idx] = 1;
    }
  }
  for (size_t i = 0; i < num_tensors; ++i) {
    if (tensors_[i].is_constant() || tensors_[i].is_variable) produced[i] = 1;
  }

  // Operators, in execution order: every input must already hold a value when the operator runs.
  const auto* fb_ops = fb_->operators();
  const size_t num_ops = fb_ops ? fb_ops->size() : 0;
  operators_.resize(num_ops);
  for (size_t i = 0; i < num_ops; ++i) {
    const fb::Operator* op = fb_ops->Get(static_cast<flatbuffers::uoffset_t>(i));
    OperatorDesc& d = operators_[i];
    d.type = op->type();
    d.fb = op;
    d.name = Str(op->name());
    if (d.type < fb::OpType::MIN || d.type > fb::OpType::MAX) {
      return InvalidModel("operator %zu: unknown operator type %d", i, static_cast<int>(d.type));
    }
    auto where = [&] { return StrFormat("operator %zu (%s)", i, OpTypeName(d.type)); };
    if (op->inputs()) d.inputs.assign(op->inputs()->begin(), op->inputs()->end());
    if (op->outputs()) d.outputs.assign(op->outputs()->begin(), op->outputs()->end());
    if (op->intermediates()) {
      d.intermediates.assign(op->intermediates()->begin(), op->intermediates()->end());
    }
    for (size_t k = 0; k < d.inputs.size(); ++k) {
      WISP_RETURN_IF_ERROR(check_index(
          d.inputs[k], true, [&] { return StrFormat("%s input %zu", where().c_str(), k); }));
      if (d.inputs[k] >= 0 && !produced[d.inputs[k]]) {
        return InvalidModel("%s: input %zu %s is read before any operator writes it",
                            where().c_str(), k, DescribeTensor(d.inputs[k]).c_str());
      }
    }
    for (size_t k = 0; k < d.intermediates.size(); ++k) {
      WISP_RETURN_IF_ERROR(check_index(d.intermediates[k], false, [&] {
        return StrFormat("%s intermediate %zu", where().c_str(), k);
      }));
    }
    if (d.outputs.empty()) return InvalidModel("%s has no outputs", where().c_str());
    for (size_t k = 0; k < d.outputs.size(); ++k) {
      const int32_t o = d.outputs[k];
      WISP_RETURN_IF_ERROR(
          check_index(o, false, [&] { return StrFormat("%s output %zu", where().c_str(), k); }));
      if (tensors_[o].is_constant() || tensors_[o].is_variable) {
        return InvalidModel("%s: output %zu %s is a constant or variable", where().c_str(), k,
                            DescribeTensor(o).c_str());
      }
      if (produced[o]) {
        return InvalidModel(
            "%s: output %zu %s is already written by a graph input or an earlier "
            "operator",
            where().c_str(), k, DescribeTensor(o).c_str());
      }
      produced[o] = 1;
    }
  }

  if (fb_->outputs()) {
    for (int32_t idx : *fb_->outputs()) {
      WISP_RETURN_IF_ERROR(check_index(idx, false, [] { return "graph output"; }));
      if (!produced[idx]) {
        return InvalidModel("graph output %s is never written", DescribeTensor(idx).c_str());
      }
      outputs_.push_back(idx);
    }
  }
  if (outputs_.empty()) return InvalidModel("the model declares no outputs");

  if (fb_->assets()) {
    for (flatbuffers::uoffset_t i = 0; i < fb_->assets()->size(); ++i) {
      const fb::Asset* a = fb_->assets()->Get(i);
      Asset asset;
      asset.name = Str(a->name());
      asset.media_type = Str(a->media_type());
      if (const fb::DataRef* ref = a->data()) {
        if (!RangeWithin(ref->offset(), ref->size(), data_size)) {
          return InvalidModel("asset %u ('%s'): data exceeds the data section", i,
                              asset.name.c_str());
        }
        asset.data = data_section + ref->offset();
        asset.size = static_cast<size_t>(ref->size());
      }
      assets_.push_back(std::move(asset));
    }
  }
  return Status::Ok();
}

const Asset* Model::FindAsset(const std::string& name) const {
  for (const Asset& a : assets_) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string Model::Metadata(const std::string& key) const {
  if (!fb_->metadata()) return {};
  for (const fb::KeyValue* kv : *fb_->metadata()) {
    if (kv->key() && kv->key()->str() == key) return Str(kv->value());
  }
  return {};
}

std::string Model::name() const { return Str(fb_->name()); }
std::string Model::version() const { return Str(fb_->version()); }
std::string Model::description() const { return Str(fb_->description()); }
std::string Model::producer() const { return Str(fb_->producer()); }

std::string Model::content_sha256_hex() const {
  if (borrowed_content_sha256_) return borrowed_content_sha256_();
  const fb::Sha256* h = fb_->content_sha256();
  if (!h) return {};
  uint8_t digest[32];
  std::memcpy(digest, h->bytes()->data(), 32);
  static const uint8_t kZeros[32] = {};
  if (std::memcmp(digest, kZeros, 32) == 0) {
    // Not recorded (a .tflite imported in memory, ImportOptions::record_sha256): the hash field
    // is zero, so hashing the bytes as they are gives what the builder would have recorded.
    const size_t hash_offset = reinterpret_cast<const uint8_t*>(h) - bytes_;
    ComputeContentSha256(bytes_, size_, hash_offset, digest);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string Model::DescribeTensor(int32_t index) const {
  if (index < 0 || static_cast<size_t>(index) >= tensors_.size()) {
    return StrFormat("tensor %d", index);
  }
  return StrFormat("tensor %d ('%s')", index, tensors_[index].name.c_str());
}

std::string Model::DescribeOperator(int32_t index) const {
  if (index < 0 || static_cast<size_t>(index) >= operators_.size()) {
    return StrFormat("operator %d", index);
  }
  const OperatorDesc& op = operators_[index];
  if (op.name.empty()) return StrFormat("operator %d (%s)", index, OpTypeName(op.type));
  return StrFormat("operator %d (%s '%s')", index, OpTypeName(op.type), op.name.c_str());
}

}  // namespace wisp
