// A loaded, fully validated .wisp model: a read-only view over the file bytes (which may be an
// mmap'd file or a JS ArrayBuffer) plus small decoded descriptions of every tensor and operator.
// Nothing downstream re-checks indices, shapes or byte ranges that Load() has accepted.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/dtype.h"
#include "runtime/core/shape.h"
#include "runtime/core/status.h"
#include "runtime/format/schema.h"

namespace wisp {

struct QuantParams {
  std::vector<float> scale;  // empty: not quantized
  std::vector<int32_t> zero_point;
  int32_t axis = 0;

  bool empty() const { return scale.empty(); }
  bool per_channel() const { return scale.size() > 1; }
};

struct TensorDesc {
  std::string name;
  DType dtype = DType::FLOAT32;
  Shape shape;
  QuantParams quant;
  int64_t num_elements = 0;
  size_t bytes = 0;               // num_elements * DTypeSize(dtype)
  const uint8_t* data = nullptr;  // constant data in the model bytes, or nullptr
  bool is_variable = false;

  bool is_constant() const { return data != nullptr; }
};

struct OperatorDesc {
  fb::OpType type = fb::OpType::CONV_2D;
  std::vector<int32_t> inputs;  // -1: absent optional input
  std::vector<int32_t> outputs;
  std::vector<int32_t> intermediates;
  const fb::Operator* fb = nullptr;  // typed options
  std::string name;
};

struct Asset {
  std::string name;
  std::string media_type;
  const uint8_t* data = nullptr;
  size_t size = 0;
};

// Constant bytes a model reads in place instead of from its own data section: an in-memory
// import of a .tflite leaves the weights in the TFLite buffer (LoadModelBytes). A tensor whose
// DataRef offset is kBorrowedDataBase + i uses entry i of the table given to Model::Load; a file
// loaded without that table has no such entry, and its load fails on the out-of-range offset.
struct BorrowedBytes {
  const uint8_t* data = nullptr;
  size_t size = 0;
};
constexpr uint64_t kBorrowedDataBase = uint64_t{1} << 62;

struct LoadOptions {
  // Recompute the content hash and compare with the recorded one (costs one pass over the file).
  bool verify_sha256 = false;
};

const char* OpTypeName(fb::OpType type);

class Model {
 public:
  // `bytes` must stay valid and unchanged while the Model lives; `keepalive` (optional) owns them.
  static Result<std::shared_ptr<const Model>> Load(const uint8_t* bytes, size_t size,
                                                   std::shared_ptr<const void> keepalive,
                                                   const LoadOptions& options = {});
  // Convenience: the model takes ownership of a byte vector.
  static Result<std::shared_ptr<const Model>> Load(std::vector<uint8_t> bytes,
                                                   const LoadOptions& options = {});
  // A byte vector whose constants are partly `borrowed` (see BorrowedBytes): `owner` keeps those
  // bytes alive, and `content_sha256` computes content_sha256_hex() (the bytes alone do not hold
  // the borrowed data the hash covers).
  static Result<std::shared_ptr<const Model>> Load(std::vector<uint8_t> bytes,
                                                   const LoadOptions& options,
                                                   std::vector<BorrowedBytes> borrowed,
                                                   std::shared_ptr<const void> owner,
                                                   std::function<std::string()> content_sha256);

  const fb::Model& fb() const { return *fb_; }
  // The .wisp bytes; with borrowed constants (BorrowedBytes) not a whole file.
  const uint8_t* bytes() const { return bytes_; }
  bool has_borrowed_data() const { return !borrowed_.empty(); }
  size_t size() const { return size_; }

  const std::vector<TensorDesc>& tensors() const { return tensors_; }
  const std::vector<OperatorDesc>& operators() const { return operators_; }
  const std::vector<int32_t>& inputs() const { return inputs_; }
  const std::vector<int32_t>& outputs() const { return outputs_; }
  const std::vector<Asset>& assets() const { return assets_; }
  const Asset* FindAsset(const std::string& name) const;
  // Metadata value, or empty string when absent.
  std::string Metadata(const std::string& key) const;

  std::string name() const;
  std::string version() const;
  std::string description() const;
  std::string producer() const;
  // Recorded content hash, lowercase hex.
  std::string content_sha256_hex() const;

  // "tensor 12 ('MobilenetV2/Conv/Relu6')": used in every error message about a tensor.
  std::string DescribeTensor(int32_t index) const;
  std::string DescribeOperator(int32_t index) const;

 private:
  Model() = default;
  Status Validate(const LoadOptions& options);

  const uint8_t* bytes_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<const void> keepalive_;
  std::vector<BorrowedBytes> borrowed_;
  std::shared_ptr<const void> borrowed_owner_;
  std::function<std::string()> borrowed_content_sha256_;
  const fb::Model* fb_ = nullptr;
  std::vector<TensorDesc> tensors_;
  std::vector<OperatorDesc> operators_;
  std::vector<int32_t> inputs_;
  std::vector<int32_t> outputs_;
  std::vector<Asset> assets_;
};

// The hash recorded in a .wisp file: SHA-256 of the file with the content_sha256 bytes zeroed.
// `hash_offset` is the position of those 32 bytes within the file.
void ComputeContentSha256(const uint8_t* bytes, size_t size, size_t hash_offset, uint8_t out[32]);

// True when the bytes carry the .wisp FlatBuffers identifier.
bool LooksLikeWisp(const uint8_t* bytes, size_t size);

}  // namespace wisp
