#include "runtime/format/model_builder.h"

#include <cstring>

#include "flatbuffers/flatbuffers.h"

namespace wisp {
namespace {
constexpr size_t kAlign = 64;
size_t AlignUp(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
}  // namespace

uint64_t ModelBuilder::AppendData(const void* data, size_t size) {
  const size_t offset = AlignUp(data_.size());
  data_.resize(offset, 0);
  const auto* bytes = static_cast<const uint8_t*>(data);
  if (size) data_.insert(data_.end(), bytes, bytes + size);
  return offset;
}

int32_t ModelBuilder::AddTensor(const std::string& name, DType dtype, const Shape& shape,
                                const QuantParams& quant, bool is_variable) {
  PendingTensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = shape;
  t.quant = quant;
  t.is_variable = is_variable;
  tensors_.push_back(std::move(t));
  return static_cast<int32_t>(tensors_.size() - 1);
}

int32_t ModelBuilder::AddConstant(const std::string& name, DType dtype, const Shape& shape,
                                  const void* data, size_t bytes, const QuantParams& quant) {
  const int32_t index = AddTensor(name, dtype, shape, quant);
  PendingTensor& t = tensors_.back();
  t.has_data = true;
  t.data_offset = AppendData(data, bytes);
  t.data_size = bytes;
  return index;
}

int32_t ModelBuilder::AddBorrowedConstant(const std::string& name, DType dtype, const Shape& shape,
                                          const void* data, size_t bytes,
                                          const QuantParams& quant) {
  const int32_t index = AddTensor(name, dtype, shape, quant);
  PendingTensor& t = tensors_.back();
  t.has_data = true;
  t.data_offset = kBorrowedDataBase + borrowed_.size();
  t.data_size = bytes;
  borrowed_.push_back({static_cast<const uint8_t*>(data), bytes});
  return index;
}

void ModelBuilder::AddOperator(fb::OpType type, std::vector<int32_t> inputs,
                               std::vector<int32_t> outputs, fb::OpOptionsUnion options,
                               std::vector<int32_t> intermediates, const std::string& name) {
  PendingOp op;
  op.type = type;
  op.inputs = std::move(inputs);
  op.outputs = std::move(outputs);
  op.intermediates = std::move(intermediates);
  op.options = std::move(options);
  op.name = name;
  ops_.push_back(std::move(op));
}

void ModelBuilder::SetMetadata(const std::string& key, const std::string& value) {
  for (auto& kv : metadata_) {
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  }
  metadata_.emplace_back(key, value);
}

void ModelBuilder::AddAsset(const std::string& name, const std::string& media_type,
                            const void* data, size_t size) {
  PendingAsset a{name, media_type, AppendData(data, size), size};
  assets_.push_back(std::move(a));
}

void ModelBuilder::BuildFlatBuffer(flatbuffers::FlatBufferBuilder& b) const {
  // Every scalar is written even when it equals its default, so the data offset can be patched
  // in place once the FlatBuffer's size is known.
  b.ForceDefaults(true);

  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  tensors.reserve(tensors_.size());
  for (const PendingTensor& t : tensors_) {
    auto name = b.CreateString(t.name);
    auto shape = b.CreateVector(t.shape);
    flatbuffers::Offset<fb::Quantization> quant = 0;
    if (!t.quant.empty()) {
      std::vector<int64_t> zps(t.quant.zero_point.begin(), t.quant.zero_point.end());
      zps.resize(t.quant.scale.size(), 0);
      quant = fb::CreateQuantization(b, b.CreateVector(t.quant.scale), b.CreateVector(zps),
                                     t.quant.axis);
    }
    fb::DataRef ref(t.data_offset, t.data_size);
    fb::TensorBuilder tb(b);
    tb.add_name(name);
    tb.add_shape(shape);
    tb.add_dtype(t.dtype);
    if (!t.quant.empty()) tb.add_quantization(quant);
    if (t.has_data) tb.add_data(&ref);
    tb.add_is_variable(t.is_variable);
    tensors.push_back(tb.Finish());
  }

  std::vector<flatbuffers::Offset<fb::Operator>> ops;
  ops.reserve(ops_.size());
  for (const PendingOp& op : ops_) {
    auto inputs = b.CreateVector(op.inputs);
    auto outputs = b.CreateVector(op.outputs);
    auto intermediates = b.CreateVector(op.intermediates);
    auto options = op.options.Pack(b);
    auto name = b.CreateString(op.name);
    ops.push_back(fb::CreateOperator(b, op.type, inputs, outputs, intermediates, op.options.type,
                                     options, name));
  }

  std::vector<flatbuffers::Offset<fb::KeyValue>> metadata;
  for (const auto& kv : metadata_) {
    metadata.push_back(fb::CreateKeyValue(b, b.CreateString(kv.first), b.CreateString(kv.second)));
  }
  std::vector<flatbuffers::Offset<fb::Asset>> assets;
  for (const PendingAsset& a : assets_) {
    fb::DataRef ref(a.offset, a.size);
    assets.push_back(
        fb::CreateAsset(b, b.CreateString(a.name), b.CreateString(a.media_type), &ref));
  }

  const fb::Sha256 zero_hash;
  auto model = fb::CreateModel(b, /*schema_version=*/1, b.CreateString(name_),
                               b.CreateString(version_), b.CreateString(description_),
                               b.CreateString(producer_), b.CreateVectorOfSortedTables(&metadata),
                               b.CreateVector(assets), b.CreateVector(tensors), b.CreateVector(ops),
                               b.CreateVector(inputs_), b.CreateVector(outputs_),
                               /*data_offset=*/0, /*data_size=*/data_.size(), &zero_hash);
  fb::FinishModelBuffer(b, model);
}

void ModelBuilder::Seal(std::vector<uint8_t>& out, size_t data_offset, bool record_sha256) {
  fb::Model* root = fb::GetMutableModel(out.data());
  root->mutate_data_offset(data_offset);
  if (!record_sha256) return;
  fb::Sha256* hash = root->mutable_content_sha256();
  const size_t hash_offset = reinterpret_cast<uint8_t*>(hash) - out.data();
  uint8_t digest[32];
  ComputeContentSha256(out.data(), out.size(), hash_offset, digest);
  std::memcpy(out.data() + hash_offset, digest, 32);
}

std::vector<uint8_t> ModelBuilder::Finish(bool record_sha256) const& {
  flatbuffers::FlatBufferBuilder b(FlatBufferSizeHint());
  BuildFlatBuffer(b);
  const size_t fb_size = b.GetSize();
  const size_t data_offset = AlignUp(fb_size);
  // Built by appending, not zero-filled and then overwritten: the data section is megabytes.
  std::vector<uint8_t> out;
  out.reserve(data_offset + data_.size());
  out.insert(out.end(), b.GetBufferPointer(), b.GetBufferPointer() + fb_size);
  out.resize(data_offset, 0);
  out.insert(out.end(), data_.begin(), data_.end());
  Seal(out, data_offset, record_sha256);
  return out;
}

std::vector<uint8_t> ModelBuilder::Finish(bool record_sha256) && {
  flatbuffers::FlatBufferBuilder b(FlatBufferSizeHint());
  BuildFlatBuffer(b);
  const size_t fb_size = b.GetSize();
  const size_t data_offset = AlignUp(fb_size);
  std::vector<uint8_t> out = std::move(data_);
  out.insert(out.begin(), data_offset, 0);  // one memmove within the reservation
  std::memcpy(out.data(), b.GetBufferPointer(), fb_size);
  Seal(out, data_offset, record_sha256);
  return out;
}

}  // namespace wisp
