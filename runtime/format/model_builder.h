// Writes .wisp files. Used by the TFLite importer, by tests to make tiny models, and by tools.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/dtype.h"
#include "runtime/core/shape.h"
#include "runtime/format/model.h"
#include "runtime/format/schema.h"

namespace wisp {

class ModelBuilder {
 public:
  // A non-constant tensor (activation, graph input/output or variable). Returns its index.
  int32_t AddTensor(const std::string& name, DType dtype, const Shape& shape,
                    const QuantParams& quant = {}, bool is_variable = false);
  // A constant whose bytes are copied into the data section. `bytes` must match dtype x shape.
  int32_t AddConstant(const std::string& name, DType dtype, const Shape& shape, const void* data,
                      size_t bytes, const QuantParams& quant = {});
  // A constant left where it is (BorrowedBytes, model.h): recorded as entry borrowed().size() of
  // the table Model::Load must then be given; `data` must outlive the model.
  int32_t AddBorrowedConstant(const std::string& name, DType dtype, const Shape& shape,
                              const void* data, size_t bytes, const QuantParams& quant = {});
  const std::vector<BorrowedBytes>& borrowed() const { return borrowed_; }
  template <typename T>
  int32_t AddConstant(const std::string& name, DType dtype, const Shape& shape,
                      const std::vector<T>& values, const QuantParams& quant = {}) {
    return AddConstant(name, dtype, shape, values.data(), values.size() * sizeof(T), quant);
  }

  // Appends an operator (execution order = call order). `options` may be empty (defaults).
  void AddOperator(fb::OpType type, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
                   fb::OpOptionsUnion options = {}, std::vector<int32_t> intermediates = {},
                   const std::string& name = {});

  void SetInputs(std::vector<int32_t> inputs) { inputs_ = std::move(inputs); }
  void SetOutputs(std::vector<int32_t> outputs) { outputs_ = std::move(outputs); }
  void SetName(std::string v) { name_ = std::move(v); }
  void SetVersion(std::string v) { version_ = std::move(v); }
  void SetDescription(std::string v) { description_ = std::move(v); }
  void SetProducer(std::string v) { producer_ = std::move(v); }
  void SetMetadata(const std::string& key, const std::string& value);
  void AddAsset(const std::string& name, const std::string& media_type, const void* data,
                size_t size);

  size_t num_tensors() const { return tensors_.size(); }

  // Reserves room for `bytes` of constant data, so that appending it does not reallocate.
  void ReserveData(size_t bytes) { data_.reserve(bytes); }

  // Serialises the model: FlatBuffer, 64-byte aligned data section, and the content sha256 unless
  // `record_sha256` is false: a model built to be run at once (a .tflite imported in memory)
  // leaves the hash zero, and Model::content_sha256_hex() computes the same value when asked.
  std::vector<uint8_t> Finish(bool record_sha256 = true) const&;
  // The same bytes, assembled in the data section's own buffer: the FlatBuffer is slid in front
  // of the constants, in place when ReserveData left room, instead of copying megabytes of
  // weights into a fresh buffer (which in WebAssembly and in VMs is mostly page faults).
  std::vector<uint8_t> Finish(bool record_sha256 = true) &&;

 private:
  struct PendingTensor {
    std::string name;
    DType dtype;
    Shape shape;
    QuantParams quant;
    bool is_variable = false;
    bool has_data = false;
    uint64_t data_offset = 0;
    uint64_t data_size = 0;
  };
  struct PendingOp {
    fb::OpType type;
    std::vector<int32_t> inputs, outputs, intermediates;
    fb::OpOptionsUnion options;
    std::string name;
  };
  struct PendingAsset {
    std::string name, media_type;
    uint64_t offset, size;
  };
  uint64_t AppendData(const void* data, size_t size);
  // The FlatBuffer part of the file (everything but the data section).
  void BuildFlatBuffer(flatbuffers::FlatBufferBuilder& b) const;
  // Patches the data offset and, if asked, the content hash into an assembled model.
  static void Seal(std::vector<uint8_t>& out, size_t data_offset, bool record_sha256);
  size_t FlatBufferSizeHint() const { return 1024 + (tensors_.size() + ops_.size()) * 128; }

  std::vector<PendingTensor> tensors_;
  std::vector<PendingOp> ops_;
  std::vector<PendingAsset> assets_;
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::vector<int32_t> inputs_, outputs_;
  std::string name_, version_, description_, producer_ = "wisp";
  std::vector<uint8_t> data_;
  std::vector<BorrowedBytes> borrowed_;
};

}  // namespace wisp
