#include "runtime/import/tflite_importer.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/api/load_model.h"
#include "runtime/format/model.h"
#include "runtime/format/model_metadata.h"
#include "runtime/import/zip_reader.h"
#include "runtime/interpreter/interpreter.h"
#include "schemas/tflite_generated.h"
#include "schemas/tflite_metadata_generated.h"
#include "tests/support/shared_data.h"

namespace wisp {
namespace {

namespace tfl = ::tflite;

// ---------------------------------------------------------------------------------------------
// Reading the source .tflite directly (the same generated reader), to compare with the import.

int32_t BuiltinCode(const tfl::OperatorCode* code) {
  return std::max<int32_t>(code->deprecated_builtin_code(),
                           static_cast<int32_t>(code->builtin_code()));
}

bool ExpectedDType(tfl::TensorType type, DType* out) {
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

std::vector<std::string> SharedModelPaths() {
  std::vector<std::string> paths;
  const std::string dir = testing::SharedPath("models");
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".tflite") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::vector<uint8_t> ReadOrDie(const std::string& path) {
  auto bytes = testing::ReadFileBytes(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? std::move(bytes).value() : std::vector<uint8_t>();
}

// Checks the imported model against its source, tensor by tensor and operator by operator.
void ExpectSameGraph(const std::vector<uint8_t>& source, const Model& imported) {
  const tfl::Model* model = tfl::GetModel(source.data());
  const tfl::SubGraph* graph = model->subgraphs()->Get(0);
  const auto& tensors = *graph->tensors();
  ASSERT_EQ(imported.tensors().size(), tensors.size());
  for (flatbuffers::uoffset_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE("tensor " + std::to_string(i));
    const tfl::Tensor* t = tensors.Get(i);
    const TensorDesc& d = imported.tensors()[i];
    EXPECT_EQ(d.name, t->name()->str());
    DType dtype;
    ASSERT_TRUE(ExpectedDType(t->type(), &dtype));
    EXPECT_EQ(d.dtype, dtype);
    Shape shape;
    if (t->shape()) shape.assign(t->shape()->begin(), t->shape()->end());
    EXPECT_EQ(d.shape, shape);
    EXPECT_EQ(d.is_variable, t->is_variable());

    const tfl::QuantizationParameters* q = t->quantization();
    const bool quantized = q && q->scale() && q->scale()->size() > 0 && dtype != DType::FLOAT32 &&
                           dtype != DType::FLOAT16;
    if (quantized) {
      ASSERT_EQ(d.quant.scale.size(), q->scale()->size());
      for (flatbuffers::uoffset_t c = 0; c < q->scale()->size(); ++c) {
        EXPECT_EQ(d.quant.scale[c], q->scale()->Get(c));
        EXPECT_EQ(d.quant.zero_point[c], q->zero_point()->Get(c));
      }
      if (q->scale()->size() > 1) {
        EXPECT_EQ(d.quant.axis, q->quantized_dimension());
      }
    } else {
      EXPECT_TRUE(d.quant.empty());
    }

    const tfl::Buffer* buffer = model->buffers()->Get(t->buffer());
    const bool has_data = t->buffer() != 0 && buffer->data() && buffer->data()->size() > 0;
    EXPECT_EQ(d.is_constant(), has_data);
    if (has_data && d.is_constant()) {
      ASSERT_EQ(d.bytes, buffer->data()->size());
      EXPECT_EQ(std::memcmp(d.data, buffer->data()->data(), d.bytes), 0);
    }
  }

  const auto& ops = *graph->operators();
  ASSERT_EQ(imported.operators().size(), ops.size());
  for (flatbuffers::uoffset_t i = 0; i < ops.size(); ++i) {
    SCOPED_TRACE("operator " + std::to_string(i));
    const tfl::Operator* op = ops.Get(i);
    const OperatorDesc& d = imported.operators()[i];
    const int32_t code = BuiltinCode(model->operator_codes()->Get(op->opcode_index()));
    std::string name = tfl::EnumNameBuiltinOperator(static_cast<tfl::BuiltinOperator>(code));
    if (name == "PADV2") name = "PAD";
    EXPECT_EQ(OpTypeName(d.type), name);
    std::vector<int32_t> inputs(op->inputs()->begin(), op->inputs()->end());
    if (d.type == fb::OpType::UNIDIRECTIONAL_SEQUENCE_LSTM) inputs.resize(24, -1);
    EXPECT_EQ(d.inputs, inputs);
    EXPECT_EQ(d.outputs, std::vector<int32_t>(op->outputs()->begin(), op->outputs()->end()));
    std::vector<int32_t> intermediates;
    if (op->intermediates()) {
      intermediates.assign(op->intermediates()->begin(), op->intermediates()->end());
    }
    EXPECT_EQ(d.intermediates, intermediates);
  }
  EXPECT_EQ(imported.inputs(),
            std::vector<int32_t>(graph->inputs()->begin(), graph->inputs()->end()));
  EXPECT_EQ(imported.outputs(),
            std::vector<int32_t>(graph->outputs()->begin(), graph->outputs()->end()));
}

TEST(TfliteImport, EverySharedModelImportsAndLoads) {
  const std::vector<std::string> paths = SharedModelPaths();
  ASSERT_FALSE(paths.empty()) << "no .tflite models under " << testing::SharedPath("models");
  for (const std::string& path : paths) {
    SCOPED_TRACE(path);
    const std::vector<uint8_t> source = ReadOrDie(path);
    ASSERT_TRUE(LooksLikeTflite(source.data(), source.size()));
    ImportOptions opts;
    opts.name = std::filesystem::path(path).stem().string();
    opts.version = "1.0";
    opts.labels = "background\ncat\n";
    auto imported = ImportTflite(source.data(), source.size(), opts);
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    auto loaded = Model::Load(std::move(imported).value(), LoadOptions{/*verify_sha256=*/true});
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    const Model& model = **loaded;
    EXPECT_EQ(model.name(), opts.name);
    EXPECT_EQ(model.version(), "1.0");
    EXPECT_EQ(model.Metadata("source_format"), "tflite");
    EXPECT_EQ(model.Metadata("tflite_schema_version"), "3");
    const Asset* labels = model.FindAsset("labels.txt");
    ASSERT_NE(labels, nullptr);
    EXPECT_EQ(labels->media_type, "text/plain");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(labels->data), labels->size), opts.labels);
    ExpectSameGraph(source, model);

    // The operator inventory, printed for the record.
    const tfl::Model* tflite = tfl::GetModel(source.data());
    std::set<std::string> codes;
    for (const tfl::Operator* op : *tflite->subgraphs()->Get(0)->operators()) {
      codes.insert(tfl::EnumNameBuiltinOperator(static_cast<tfl::BuiltinOperator>(
          BuiltinCode(tflite->operator_codes()->Get(op->opcode_index())))));
    }
    std::string list;
    for (const std::string& c : codes) list += (list.empty() ? "" : " ") + c;
    std::cout << "[model] " << opts.name << ": " << model.tensors().size() << " tensors, "
              << model.operators().size() << " operators: " << list << "\n";
  }
}

// ---------------------------------------------------------------------------------------------
// Synthetic .tflite files built with the flatc object API.

class TfliteFile {
 public:
  TfliteFile() {
    model_.version = 3;
    model_.description = "synthetic";
    model_.buffers.push_back(std::make_unique<tfl::BufferT>());  // the empty sentinel
    model_.subgraphs.push_back(std::make_unique<tfl::SubGraphT>());
  }

  tfl::ModelT& model() { return model_; }
  tfl::SubGraphT& graph() { return *model_.subgraphs[0]; }

  int32_t Tensor(const std::string& name, tfl::TensorType type, std::vector<int32_t> shape,
                 std::vector<uint8_t> data = {}) {
    auto t = std::make_unique<tfl::TensorT>();
    t->name = name;
    t->type = type;
    t->shape = std::move(shape);
    if (!data.empty()) {
      auto buffer = std::make_unique<tfl::BufferT>();
      buffer->data = std::move(data);
      model_.buffers.push_back(std::move(buffer));
      t->buffer = static_cast<uint32_t>(model_.buffers.size() - 1);
    }
    graph().tensors.push_back(std::move(t));
    return static_cast<int32_t>(graph().tensors.size() - 1);
  }

  int32_t FloatTensor(const std::string& name, std::vector<int32_t> shape) {
    return Tensor(name, tfl::TensorType::FLOAT32, std::move(shape));
  }

  void Quantize(int32_t tensor, std::vector<float> scale, std::vector<int64_t> zero_point,
                int32_t axis = 0) {
    auto q = std::make_unique<tfl::QuantizationParametersT>();
    q->scale = std::move(scale);
    q->zero_point = std::move(zero_point);
    q->quantized_dimension = axis;
    graph().tensors[tensor]->quantization = std::move(q);
  }

  void Op(tfl::BuiltinOperator code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
          tfl::BuiltinOptionsUnion options = {}, const std::string& custom_code = {}) {
    auto op = std::make_unique<tfl::OperatorT>();
    op->opcode_index = OpCode(code, custom_code);
    op->inputs = std::move(inputs);
    op->outputs = std::move(outputs);
    op->builtin_options = std::move(options);
    graph().operators.push_back(std::move(op));
  }

  std::vector<uint8_t> Finish() const {
    flatbuffers::FlatBufferBuilder fbb;
    tfl::FinishModelBuffer(fbb, tfl::Model::Pack(fbb, &model_));
    return std::vector<uint8_t>(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  }

 private:
  uint32_t OpCode(tfl::BuiltinOperator code, const std::string& custom_code) {
    for (size_t i = 0; i < model_.operator_codes.size(); ++i) {
      const auto& c = model_.operator_codes[i];
      if (c->builtin_code == code && c->custom_code == custom_code) return static_cast<uint32_t>(i);
    }
    auto c = std::make_unique<tfl::OperatorCodeT>();
    // As current converters write it: the byte field saturates at 127 for newer codes.
    c->deprecated_builtin_code =
        static_cast<int8_t>(std::min<int32_t>(static_cast<int32_t>(code), 127));
    c->builtin_code = code;
    c->custom_code = custom_code;
    model_.operator_codes.push_back(std::move(c));
    return static_cast<uint32_t>(model_.operator_codes.size() - 1);
  }

  tfl::ModelT model_;
};

template <typename T>
std::vector<uint8_t> Bytes(const std::vector<T>& values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

tfl::BuiltinOptionsUnion AddOptions(tfl::ActivationFunctionType activation) {
  tfl::AddOptionsT o;
  o.fused_activation_function = activation;
  tfl::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

// in -> FULLY_CONNECTED(w, b) -> ADD(+RELU6, with itself) -> out: small but has constants.
TfliteFile SmallValidFile() {
  TfliteFile f;
  const int32_t in = f.FloatTensor("in", {1, 4});
  const int32_t w = f.Tensor("w", tfl::TensorType::FLOAT32, {3, 4},
                             Bytes(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  const int32_t b =
      f.Tensor("b", tfl::TensorType::FLOAT32, {3}, Bytes(std::vector<float>{1, 2, 3}));
  const int32_t fc = f.FloatTensor("fc", {1, 3});
  const int32_t out = f.FloatTensor("out", {1, 3});
  tfl::FullyConnectedOptionsT fc_options;
  fc_options.fused_activation_function = tfl::ActivationFunctionType::RELU;
  tfl::BuiltinOptionsUnion fc_union;
  fc_union.Set(std::move(fc_options));
  f.Op(tfl::BuiltinOperator::FULLY_CONNECTED, {in, w, b}, {fc}, std::move(fc_union));
  f.Op(tfl::BuiltinOperator::ADD, {fc, fc}, {out}, AddOptions(tfl::ActivationFunctionType::RELU6));
  f.graph().inputs = {in};
  f.graph().outputs = {out};
  return f;
}

Result<std::shared_ptr<const Model>> ImportAndLoad(const std::vector<uint8_t>& tflite) {
  auto imported = ImportTflite(tflite.data(), tflite.size());
  if (!imported.ok()) return imported.status();
  return Model::Load(std::move(imported).value(), LoadOptions{true});
}

void ExpectError(const std::vector<uint8_t>& tflite, StatusCode code,
                 const std::vector<std::string>& fragments) {
  auto imported = ImportTflite(tflite.data(), tflite.size());
  ASSERT_FALSE(imported.ok());
  EXPECT_EQ(imported.status().code(), code) << imported.status().ToString();
  for (const std::string& fragment : fragments) {
    EXPECT_NE(imported.status().message().find(fragment), std::string::npos)
        << "missing '" << fragment << "' in: " << imported.status().message();
  }
}

TEST(TfliteImport, SmallSyntheticModelRoundTrips) {
  auto loaded = ImportAndLoad(SmallValidFile().Finish());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Model& m = **loaded;
  ASSERT_EQ(m.operators().size(), 2u);
  EXPECT_EQ(m.operators()[0].type, fb::OpType::FULLY_CONNECTED);
  EXPECT_EQ(m.operators()[0].fb->options_as_FullyConnectedOptions()->activation(),
            fb::Activation::RELU);
  EXPECT_EQ(m.operators()[1].fb->options_as_BinaryOptions()->activation(), fb::Activation::RELU6);
  EXPECT_EQ(m.name(), "model");
  EXPECT_EQ(m.Metadata("tflite_description"), "synthetic");
  EXPECT_EQ(m.Metadata("input_layout"), "");  // the input is rank 2
  ASSERT_TRUE(m.tensors()[1].is_constant());
  float w11;
  std::memcpy(&w11, m.tensors()[1].data + 11 * sizeof(float), sizeof(float));
  EXPECT_EQ(w11, 12.0f);
}

TEST(TfliteImport, UnalignedInputIsAccepted) {
  const std::vector<uint8_t> file = SmallValidFile().Finish();
  std::vector<uint8_t> shifted(file.size() + 1);
  std::memcpy(shifted.data() + 1, file.data(), file.size());
  auto imported = ImportTflite(shifted.data() + 1, file.size());
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_TRUE(Model::Load(std::move(imported).value(), LoadOptions{true}).ok());
}

// LoadModelBytes with a keepalive runs an imported .tflite on its weights where they are: the
// constants point into the source bytes, the model computes what a full import computes and
// reports the same hash; complete_wisp_bytes (the server stores bytes()) and a source at an odd
// address (its float weights misaligned) get copies instead.
TEST(TfliteImport, LoadModelBytesUsesAlignedWeightsInPlace) {
  const std::vector<uint8_t> file = SmallValidFile().Finish();
  auto owned = std::make_shared<std::vector<uint8_t>>(file);
  const uint8_t* begin = owned->data();
  auto borrowed = LoadModelBytes(begin, owned->size(), owned);
  ASSERT_TRUE(borrowed.ok()) << borrowed.status().ToString();
  auto copied = LoadModelBytes(file.data(), file.size(), nullptr);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_TRUE((*borrowed)->has_borrowed_data());
  EXPECT_FALSE((*copied)->has_borrowed_data());
  size_t in_place = 0;
  ASSERT_EQ((*borrowed)->tensors().size(), (*copied)->tensors().size());
  for (size_t i = 0; i < (*borrowed)->tensors().size(); ++i) {
    const TensorDesc& a = (*borrowed)->tensors()[i];
    const TensorDesc& b = (*copied)->tensors()[i];
    ASSERT_EQ(a.is_constant(), b.is_constant());
    if (!a.is_constant()) continue;
    in_place += a.data >= begin && a.data < begin + owned->size();
    ASSERT_EQ(a.bytes, b.bytes);
    EXPECT_EQ(std::memcmp(a.data, b.data, a.bytes), 0) << "tensor " << i;
  }
  EXPECT_GT(in_place, 0u);
  EXPECT_EQ((*borrowed)->content_sha256_hex(), (*copied)->content_sha256_hex());
  EXPECT_EQ((*borrowed)->content_sha256_hex().size(), 64u);

  std::vector<float> results[2];
  for (int k = 0; k < 2; ++k) {
    auto interp = Interpreter::Create(k == 0 ? *borrowed : *copied);
    ASSERT_TRUE(interp.ok()) << interp.status().ToString();
    std::vector<float> x((*interp)->input(0).bytes / sizeof(float));
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.25f * static_cast<float>(i) - 1.0f;
    ASSERT_TRUE((*interp)->SetInput(0, x.data(), x.size() * sizeof(float)).ok());
    ASSERT_TRUE((*interp)->Invoke().ok());
    const float* y = reinterpret_cast<const float*>((*interp)->output_data(0));
    results[k].assign(y, y + (*interp)->output(0).bytes / sizeof(float));
  }
  EXPECT_EQ(results[0], results[1]);

  ModelLoadOptions whole;
  whole.complete_wisp_bytes = true;
  auto complete = LoadModelBytes(begin, owned->size(), owned, whole);
  ASSERT_TRUE(complete.ok()) << complete.status().ToString();
  EXPECT_FALSE((*complete)->has_borrowed_data());
  EXPECT_TRUE(Model::Load((*complete)->bytes(), (*complete)->size(), nullptr).ok());

  auto shifted = std::make_shared<std::vector<uint8_t>>(file.size() + 1);
  std::memcpy(shifted->data() + 1, file.data(), file.size());
  auto misaligned = LoadModelBytes(shifted->data() + 1, file.size(), shifted);
  ASSERT_TRUE(misaligned.ok()) << misaligned.status().ToString();
  EXPECT_FALSE((*misaligned)->has_borrowed_data());
}

// An import to be run at once records no hash (a cold-start saving); the model still reports
// the hash a recorded import carries, and the bytes are otherwise identical.
TEST(TfliteImport, UnrecordedSha256IsComputedOnRequest) {
  const std::vector<uint8_t> file = SmallValidFile().Finish();
  auto recorded = ImportTflite(file.data(), file.size());
  ImportOptions deferred_options;
  deferred_options.record_sha256 = false;
  auto deferred = ImportTflite(file.data(), file.size(), deferred_options);
  ASSERT_TRUE(recorded.ok() && deferred.ok());
  ASSERT_EQ(recorded->size(), deferred->size());
  size_t differing = 0;
  for (size_t i = 0; i < recorded->size(); ++i) differing += (*recorded)[i] != (*deferred)[i];
  EXPECT_GT(differing, 0u);  // the hash bytes
  EXPECT_LE(differing, 32u);
  auto a = Model::Load(std::move(recorded).value(), LoadOptions{true});
  auto b = Model::Load(std::move(deferred).value(), LoadOptions{false});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->content_sha256_hex().size(), 64u);
  EXPECT_EQ((*a)->content_sha256_hex(), (*b)->content_sha256_hex());
}

TEST(TfliteImport, ListsEveryUnsupportedOperatorAndDtypeByNameAndIndex) {
  TfliteFile f;
  const int32_t in = f.FloatTensor("in", {1, 4});
  const int32_t a = f.FloatTensor("a", {1, 4});
  const int32_t b = f.FloatTensor("b", {1, 4});
  const int32_t c = f.FloatTensor("c", {1, 4});
  const int32_t out = f.FloatTensor("out", {1, 4});
  f.Tensor("unused_complex", tfl::TensorType::COMPLEX64, {2});
  f.Op(tfl::BuiltinOperator::RELU, {in}, {a});
  f.Op(tfl::BuiltinOperator::ROUND, {a}, {b});
  f.Op(tfl::BuiltinOperator::CUSTOM, {b}, {c}, {}, "TFLite_Detection_PostProcess");
  f.Op(tfl::BuiltinOperator::STABLEHLO_COMPOSITE, {c}, {out});  // a code above 127
  f.graph().inputs = {in};
  f.graph().outputs = {out};
  const std::vector<uint8_t> file = f.Finish();
  auto imported = ImportTflite(file.data(), file.size());
  ASSERT_FALSE(imported.ok());
  EXPECT_EQ(imported.status().code(), StatusCode::kUnsupported);
  const std::string& message = imported.status().message();
  EXPECT_NE(message.find("unsupported operators: #1 ROUND, #2 "
                         "CUSTOM(TFLite_Detection_PostProcess), #3 STABLEHLO_COMPOSITE"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("#5 'unused_complex' COMPLEX64"), std::string::npos) << message;
  EXPECT_EQ(message.find("#0 RELU"), std::string::npos) << message;
}

TEST(TfliteImport, OperatorsCallingOtherSubgraphsAreUnsupported) {
  TfliteFile f;
  const int32_t in = f.FloatTensor("in", {1});
  const int32_t out = f.FloatTensor("out", {1});
  tfl::WhileOptionsT loop;
  loop.cond_subgraph_index = 1;
  loop.body_subgraph_index = 2;
  tfl::BuiltinOptionsUnion options;
  options.Set(std::move(loop));
  f.Op(tfl::BuiltinOperator::WHILE, {in}, {out}, std::move(options));
  f.graph().inputs = {in};
  f.graph().outputs = {out};
  ExpectError(f.Finish(), StatusCode::kUnsupported, {"#0 WHILE (calls subgraph 1 and 2"});
}

TEST(TfliteImport, MapsOptionsAndDefaults) {
  TfliteFile f;
  const int32_t in = f.Tensor("in", tfl::TensorType::INT8, {1, 8, 8, 2});
  f.Quantize(in, {0.5f}, {-3});
  const int32_t filter =
      f.Tensor("filter", tfl::TensorType::INT8, {1, 3, 3, 4}, std::vector<uint8_t>(36, 1));
  f.Quantize(filter, {0.1f, 0.2f, 0.3f, 0.4f}, {0, 0, 0, 0}, /*axis=*/3);
  const int32_t dw = f.Tensor("dw", tfl::TensorType::INT8, {1, 4, 4, 4});
  f.Quantize(dw, {0.25f}, {1});
  const int32_t axis64 =
      f.Tensor("axis", tfl::TensorType::INT64, {2}, Bytes(std::vector<int64_t>{1, 2}));
  const int32_t mean = f.Tensor("mean", tfl::TensorType::INT8, {1, 1, 1, 4});
  f.Quantize(mean, {0.25f}, {1});
  const int32_t soft = f.Tensor("soft", tfl::TensorType::INT8, {1, 1, 1, 4});
  f.Quantize(soft, {1.0f / 256}, {-128});
  const int32_t cat = f.Tensor("cat", tfl::TensorType::INT8, {1, 1, 1, 8});
  f.Quantize(cat, {1.0f / 256}, {-128});

  tfl::DepthwiseConv2DOptionsT dw_options;
  dw_options.padding = tfl::Padding::VALID;
  dw_options.stride_w = 2;
  dw_options.stride_h = 2;
  dw_options.depth_multiplier = 0;  // derived from the shapes instead: 4 / 2
  tfl::BuiltinOptionsUnion dw_union;
  dw_union.Set(std::move(dw_options));
  f.Op(tfl::BuiltinOperator::DEPTHWISE_CONV_2D, {in, filter, -1}, {dw}, std::move(dw_union));
  tfl::ReducerOptionsT mean_options;
  mean_options.keep_dims = true;
  tfl::BuiltinOptionsUnion mean_union;
  mean_union.Set(std::move(mean_options));
  f.Op(tfl::BuiltinOperator::MEAN, {dw, axis64}, {mean}, std::move(mean_union));
  f.Op(tfl::BuiltinOperator::SOFTMAX, {mean}, {soft});  // no options: schema default beta 0
  tfl::ConcatenationOptionsT cat_options;
  cat_options.axis = -1;
  tfl::BuiltinOptionsUnion cat_union;
  cat_union.Set(std::move(cat_options));
  f.Op(tfl::BuiltinOperator::CONCATENATION, {soft, soft}, {cat}, std::move(cat_union));
  f.graph().inputs = {in};
  f.graph().outputs = {cat};

  auto loaded = ImportAndLoad(f.Finish());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Model& m = **loaded;
  EXPECT_EQ(m.Metadata("input_layout"), "NHWC");
  const auto* dwo = m.operators()[0].fb->options_as_DepthwiseConv2DOptions();
  ASSERT_NE(dwo, nullptr);
  EXPECT_EQ(dwo->padding(), fb::Padding::VALID);
  EXPECT_EQ(dwo->stride_w(), 2);
  EXPECT_EQ(dwo->dilation_h(), 1);
  EXPECT_EQ(dwo->depth_multiplier(), 2);
  EXPECT_EQ(m.operators()[0].inputs, (std::vector<int32_t>{in, filter, -1}));
  EXPECT_EQ(m.tensors()[filter].quant.axis, 3);
  // The int64 axis became an int32 constant appended after the TFLite tensors.
  ASSERT_EQ(m.tensors().size(), 8u);
  const int32_t axis32 = m.operators()[1].inputs[1];
  EXPECT_EQ(axis32, 7);
  EXPECT_EQ(m.tensors()[axis32].dtype, DType::INT32);
  int32_t axes[2];
  std::memcpy(axes, m.tensors()[axis32].data, sizeof(axes));
  EXPECT_EQ(axes[0], 1);
  EXPECT_EQ(axes[1], 2);
  EXPECT_TRUE(m.operators()[1].fb->options_as_ReducerOptions()->keep_dims());
  EXPECT_EQ(m.operators()[2].fb->options_as_SoftmaxOptions()->beta(), 0.0f);
  EXPECT_EQ(m.operators()[3].fb->options_as_ConcatenationOptions()->axis(), 3);
}

// An integer LSTM as the converter writes it: 20 inputs, variable states, 5 intermediates.
TEST(TfliteImport, LstmGets24InputsAndKeepsIntermediates) {
  TfliteFile f;
  const int32_t in = f.FloatTensor("in", {1, 2, 3});
  std::vector<int32_t> inputs(20, -1);
  inputs[0] = in;
  for (int k : {2, 3, 4, 6, 7, 8}) {  // input-to-gate and recurrent-to-gate weights (no input gate)
    inputs[k] = f.Tensor("w" + std::to_string(k), tfl::TensorType::FLOAT32, {4, k < 5 ? 3 : 4},
                         std::vector<uint8_t>(4 * (k < 5 ? 3 : 4) * 4, 0));
  }
  for (int k : {13, 14, 15}) {
    inputs[k] = f.Tensor("b" + std::to_string(k), tfl::TensorType::FLOAT32, {4},
                         std::vector<uint8_t>(16, 0));
  }
  inputs[18] = f.FloatTensor("output_state", {1, 4});
  inputs[19] = f.FloatTensor("cell_state", {1, 4});
  f.graph().tensors[inputs[18]]->is_variable = true;
  f.graph().tensors[inputs[19]]->is_variable = true;
  std::vector<int32_t> intermediates;
  for (int k = 0; k < 5; ++k) {
    intermediates.push_back(f.Tensor("gate" + std::to_string(k), tfl::TensorType::INT16, {}));
  }
  const int32_t out = f.FloatTensor("out", {1, 2, 4});
  tfl::UnidirectionalSequenceLSTMOptionsT options;
  options.fused_activation_function = tfl::ActivationFunctionType::TANH;
  options.cell_clip = 10.0f;
  tfl::BuiltinOptionsUnion u;
  u.Set(std::move(options));
  f.Op(tfl::BuiltinOperator::UNIDIRECTIONAL_SEQUENCE_LSTM, inputs, {out}, std::move(u));
  f.graph().operators[0]->intermediates = intermediates;
  f.graph().inputs = {in};
  f.graph().outputs = {out};

  auto loaded = ImportAndLoad(f.Finish());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const OperatorDesc& op = (*loaded)->operators()[0];
  ASSERT_EQ(op.inputs.size(), 24u);
  for (size_t k = 20; k < 24; ++k) EXPECT_EQ(op.inputs[k], -1);
  EXPECT_EQ(op.inputs[18], inputs[18]);
  EXPECT_EQ(op.intermediates, intermediates);
  EXPECT_TRUE((*loaded)->tensors()[inputs[19]].is_variable);
  const auto* lo = op.fb->options_as_LstmOptions();
  ASSERT_NE(lo, nullptr);
  EXPECT_EQ(lo->activation(), fb::Activation::TANH);
  EXPECT_EQ(lo->cell_clip(), 10.0f);
  EXPECT_FALSE(lo->time_major());
}

TEST(TfliteImport, PadV2WithZeroValueBecomesPad) {
  for (int8_t pad_value : {int8_t{5}, int8_t{7}}) {
    TfliteFile f;
    const int32_t in = f.Tensor("in", tfl::TensorType::INT8, {1, 2, 2, 1});
    f.Quantize(in, {0.5f}, {5});
    const int32_t paddings = f.Tensor("paddings", tfl::TensorType::INT32, {4, 2},
                                      Bytes(std::vector<int32_t>{0, 0, 1, 1, 1, 1, 0, 0}));
    const int32_t value =
        f.Tensor("value", tfl::TensorType::INT8, {1}, {static_cast<uint8_t>(pad_value)});
    f.Quantize(value, {0.5f}, {5});
    const int32_t out = f.Tensor("out", tfl::TensorType::INT8, {1, 4, 4, 1});
    f.Quantize(out, {0.5f}, {5});
    f.Op(tfl::BuiltinOperator::PADV2, {in, paddings, value}, {out});
    f.graph().inputs = {in};
    f.graph().outputs = {out};
    if (pad_value == 5) {
      auto loaded = ImportAndLoad(f.Finish());
      ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
      EXPECT_EQ((*loaded)->operators()[0].type, fb::OpType::PAD);
      EXPECT_EQ((*loaded)->operators()[0].inputs, (std::vector<int32_t>{in, paddings}));
    } else {
      ExpectError(f.Finish(), StatusCode::kUnsupported, {"#0 PADV2"});
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Malformed files: every error names what is wrong.

TEST(TfliteImport, RejectsWrongIdentifierAndTinyFiles) {
  std::vector<uint8_t> file = SmallValidFile().Finish();
  EXPECT_TRUE(LooksLikeTflite(file.data(), file.size()));
  file[4] = 'X';
  EXPECT_FALSE(LooksLikeTflite(file.data(), file.size()));
  ExpectError(file, StatusCode::kInvalidModel, {"'TFL3'", "offset 4"});
  ExpectError({}, StatusCode::kInvalidModel, {"too small"});
  EXPECT_FALSE(ImportTflite(nullptr, 0).ok());
}

TEST(TfliteImport, RejectsOutOfRangeIndices) {
  {
    TfliteFile f = SmallValidFile();
    f.graph().operators[1]->inputs[1] = 99;
    ExpectError(f.Finish(), StatusCode::kInvalidModel,
                {"operator #1 (ADD)", "input 1", "tensor 99"});
  }
  {
    TfliteFile f = SmallValidFile();
    f.graph().operators[0]->opcode_index = 7;
    ExpectError(f.Finish(), StatusCode::kInvalidModel, {"operator #0", "opcode index 7"});
  }
  {
    TfliteFile f = SmallValidFile();
    f.graph().tensors[1]->buffer = 1000;
    ExpectError(f.Finish(), StatusCode::kInvalidModel, {"tensor 1 ('w')", "buffer index 1000"});
  }
  {
    TfliteFile f = SmallValidFile();
    f.graph().tensors[1]->shape = {4, 4};  // 64 bytes wanted, 48 stored
    ExpectError(f.Finish(), StatusCode::kInvalidModel, {"tensor 1 ('w')", "48 bytes", "64"});
  }
  {
    TfliteFile f = SmallValidFile();
    f.graph().outputs = {-5};
    ExpectError(f.Finish(), StatusCode::kInvalidModel, {"graph output 0", "tensor -5"});
  }
  {
    TfliteFile f = SmallValidFile();
    f.graph().tensors[1]->shape = {1 << 30, 1 << 30, 1 << 30};
    ExpectError(f.Finish(), StatusCode::kInvalidModel, {"tensor 1 ('w')"});
  }
  {
    TfliteFile f = SmallValidFile();
    f.graph().tensors[0]->shape = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    ExpectError(f.Finish(), StatusCode::kInvalidModel, {"tensor 0 ('in')", "rank 9"});
  }
  {
    TfliteFile f = SmallValidFile();
    f.Quantize(3, {0.0f}, {0});  // float tensor: parameters dropped, not an error
    f.graph().tensors[3]->type = tfl::TensorType::INT8;
    ExpectError(f.Finish(), StatusCode::kInvalidModel, {"tensor 3 ('fc')", "scale[0] = 0"});
  }
  {
    // Per channel: the first bad entry is named, past good ones.
    TfliteFile f = SmallValidFile();
    f.Quantize(3, {0.5f, 0.25f, std::numeric_limits<float>::quiet_NaN()}, {0, 0, 0}, 1);
    f.graph().tensors[3]->type = tfl::TensorType::INT8;
    ExpectError(f.Finish(), StatusCode::kInvalidModel, {"tensor 3 ('fc')", "scale[2] = nan"});
  }
  {
    TfliteFile f = SmallValidFile();
    f.Quantize(3, {0.5f, 0.25f, 0.125f}, {0, 128, 0}, 1);
    f.graph().tensors[3]->type = tfl::TensorType::INT8;
    ExpectError(f.Finish(), StatusCode::kInvalidModel,
                {"tensor 3 ('fc')", "zero point 128 is outside the int8 range"});
  }
}

TEST(TfliteImport, RejectsBrokenDataFlow) {
  {
    TfliteFile f = SmallValidFile();
    f.graph().inputs = {};  // "in" is now read but never written
    ExpectError(f.Finish(), StatusCode::kInvalidModel,
                {"operator #0 (FULLY_CONNECTED)", "input 0", "tensor 0 ('in')", "before"});
  }
  {
    TfliteFile f = SmallValidFile();
    f.graph().operators[1]->outputs = {3};  // writes "fc" a second time
    ExpectError(f.Finish(), StatusCode::kInvalidModel,
                {"operator #1 (ADD)", "output 0", "tensor 3 ('fc')", "already written"});
  }
  {
    TfliteFile f = SmallValidFile();
    f.graph().operators[1]->outputs = {1};  // writes the constant weights
    ExpectError(f.Finish(), StatusCode::kInvalidModel, {"operator #1 (ADD)", "constant"});
  }
  {
    TfliteFile f = SmallValidFile();
    f.graph().operators[1]->inputs = {3, -1};  // ADD's second operand is not optional
    ExpectError(f.Finish(), StatusCode::kInvalidModel, {"operator #1 (ADD)", "input 1"});
  }
}

TEST(TfliteImport, VerificationFailuresNameTheBrokenPart) {
  std::vector<uint8_t> file = SmallValidFile().Finish();
  const tfl::Model* model = tfl::GetModel(file.data());
  const tfl::Tensor* tensor = model->subgraphs()->Get(0)->tensors()->Get(2);
  const size_t tensor_offset = reinterpret_cast<const uint8_t*>(tensor) - file.data();
  // A table starts with the signed offset to its vtable; point it far outside the file.
  const int32_t bad_vtable = -0x40000000;
  std::memcpy(file.data() + tensor_offset, &bad_vtable, sizeof(bad_vtable));
  ExpectError(file, StatusCode::kInvalidModel,
              {"verification failed", "subgraph 0 tensor 2",
               "byte offset " + std::to_string(tensor_offset)});
}

// Models over 2 GiB keep buffers after the FlatBuffer at absolute offsets. The layout is the same
// for a small file, so it is tested with one.
std::vector<uint8_t> FileWithExternalBuffer(uint64_t* offset_field_value, uint64_t* size_value) {
  TfliteFile f = SmallValidFile();
  // Move the weights out of the FlatBuffer; the placeholder offset is patched below.
  tfl::BufferT& weights = *f.model().buffers[f.graph().tensors[1]->buffer];
  const std::vector<uint8_t> data = weights.data;
  weights.data.clear();
  weights.offset = 0x7fffffffffffull;
  weights.size = data.size();
  std::vector<uint8_t> file = f.Finish();
  const size_t offset = (file.size() + 63) / 64 * 64;
  file.resize(offset, 0);
  file.insert(file.end(), data.begin(), data.end());
  tfl::Model* model = tfl::GetMutableModel(file.data());
  tfl::Buffer* buffer = model->mutable_buffers()->GetMutableObject(f.graph().tensors[1]->buffer);
  EXPECT_TRUE(buffer->mutate_offset(offset));
  *offset_field_value = offset;
  *size_value = data.size();
  return file;
}

TEST(TfliteImport, ReadsExternalBuffersAndRejectsAbsurdOffsets) {
  uint64_t offset = 0, size = 0;
  std::vector<uint8_t> file = FileWithExternalBuffer(&offset, &size);
  auto loaded = ImportAndLoad(file);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  float w11;
  std::memcpy(&w11, (*loaded)->tensors()[1].data + 11 * sizeof(float), sizeof(float));
  EXPECT_EQ(w11, 12.0f);

  const uint32_t buffer_index =
      tfl::GetModel(file.data())->subgraphs()->Get(0)->tensors()->Get(1)->buffer();
  auto patch = [&](uint64_t new_offset, uint64_t new_size) {
    std::vector<uint8_t> copy = file;
    tfl::Buffer* b =
        tfl::GetMutableModel(copy.data())->mutable_buffers()->GetMutableObject(buffer_index);
    EXPECT_TRUE(b->mutate_offset(new_offset));
    EXPECT_TRUE(b->mutate_size(new_size));
    return copy;
  };
  ExpectError(patch(uint64_t{1} << 62, size), StatusCode::kInvalidModel,
              {"tensor 1 ('w')", "buffer", "byte offset 4611686018427387904"});
  ExpectError(patch(offset, ~uint64_t{0} - 8), StatusCode::kInvalidModel,
              {"tensor 1 ('w')", "beyond the end"});
  ExpectError(patch(offset + 8, size), StatusCode::kInvalidModel, {"tensor 1 ('w')", "beyond"});
  // A file cut inside the external data.
  std::vector<uint8_t> cut(file.begin(), file.end() - 4);
  ExpectError(cut, StatusCode::kInvalidModel, {"tensor 1 ('w')", "beyond the end"});
}

// ---------------------------------------------------------------------------------------------
// Robustness: truncation and bit flips must produce errors, never crashes or bad output.

std::vector<std::pair<std::string, std::vector<uint8_t>>> RobustnessCorpus() {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> corpus;
  corpus.emplace_back("synthetic", SmallValidFile().Finish());
  // The smallest shared models keep the run short while covering real converter output.
  for (const char* name : {"mlperf_tiny_kws_dscnn_int8.tflite", "keras_lstm_mnist_ptq.tflite"}) {
    auto bytes = testing::ReadFileBytes(testing::SharedPath(std::string("models/") + name));
    if (bytes.ok()) corpus.emplace_back(name, std::move(bytes).value());
  }
  return corpus;
}

TEST(TfliteImport, TruncatedFilesAreRejected) {
  for (const auto& [name, file] : RobustnessCorpus()) {
    SCOPED_TRACE(name);
    std::set<size_t> cuts;
    for (size_t n = 0; n < std::min<size_t>(file.size(), 300); ++n) cuts.insert(n);
    for (size_t k = 0; k < 400; ++k) cuts.insert(file.size() * k / 400);
    for (size_t n = file.size() > 64 ? file.size() - 64 : 0; n < file.size(); ++n) cuts.insert(n);
    size_t accepted = 0;
    for (size_t n : cuts) {
      std::vector<uint8_t> cut(file.begin(), file.begin() + n);
      auto imported = ImportTflite(cut.data(), cut.size());
      if (imported.ok()) {
        // Only possible when the cut removed unreferenced trailing padding; the result must
        // then still be a valid model.
        ++accepted;
        EXPECT_GT(n, file.size() - 16) << "accepted a file cut at " << n;
        EXPECT_TRUE(Model::Load(std::move(imported).value(), LoadOptions{true}).ok());
      } else {
        EXPECT_FALSE(imported.status().message().empty());
      }
    }
    std::cout << "[truncation] " << name << ": " << cuts.size() << " cuts, " << accepted
              << " accepted (trailing padding)\n";
  }
}

TEST(TfliteImport, RandomBitFlipsNeverCrash) {
  std::mt19937_64 rng(20261122);
  for (const auto& [name, file] : RobustnessCorpus()) {
    SCOPED_TRACE(name);
    const int iterations = name == "synthetic" ? 3000 : 400;
    int rejected = 0;
    // Flips concentrated in the FlatBuffer structure (the start of the file: root, vtables,
    // tensor tables) are the interesting ones; weights make up most of a real model's bytes.
    const size_t hot = std::min<size_t>(file.size(), 4096);
    for (int it = 0; it < iterations; ++it) {
      std::vector<uint8_t> copy = file;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int k = 0; k < flips; ++k) {
        const size_t span = (rng() % 2) ? hot : copy.size();
        const size_t pos = static_cast<size_t>(rng() % span);
        copy[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
      }
      auto imported = ImportTflite(copy.data(), copy.size());
      if (!imported.ok()) {
        ++rejected;
        EXPECT_FALSE(imported.status().message().empty());
        continue;
      }
      // Whatever the importer accepts, the .wisp loader must accept too.
      auto loaded = Model::Load(std::move(imported).value(), LoadOptions{true});
      EXPECT_TRUE(loaded.ok()) << "iteration " << it << ": " << loaded.status().ToString();
    }
    std::cout << "[bit flips] " << name << ": " << iterations << " mutants, " << rejected
              << " rejected, " << iterations - rejected << " imported and loaded\n";
  }
}

TEST(TfliteImport, RandomFieldValuesNeverCrash) {
  // Overwrite 32-bit words with extreme values: indices, offsets and sizes beyond any range.
  std::mt19937_64 rng(7);
  const uint32_t kExtremes[] = {0u,          1u,          0x7fffffffu, 0x80000000u,
                                0xffffffffu, 0xfffffff0u, 1000000u};
  const std::vector<uint8_t> file = SmallValidFile().Finish();
  for (int it = 0; it < 3000; ++it) {
    std::vector<uint8_t> copy = file;
    const size_t pos = (rng() % (copy.size() / 4)) * 4;
    const uint32_t value = kExtremes[rng() % (sizeof(kExtremes) / sizeof(kExtremes[0]))];
    std::memcpy(copy.data() + pos, &value, sizeof(value));
    auto imported = ImportTflite(copy.data(), copy.size());
    if (imported.ok()) {
      EXPECT_TRUE(Model::Load(std::move(imported).value(), LoadOptions{true}).ok());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// TFLite Metadata: the "TFLITE_METADATA" buffer and the zip of associated files appended to the
// .tflite, kept in the .wisp (runtime/format/model_metadata.h). Optional information: whatever is
// wrong with it is a warning in the .wisp, never a failed import, a crash or a read out of bounds.

namespace tmd = ::tflite_metadata;

struct ZipFile {
  std::string name;
  std::string contents;
  uint16_t method = 0;  // recorded method; contents are written as given
};

void Put16(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}
void Put32(std::vector<uint8_t>& out, uint32_t v) {
  Put16(out, v & 0xffff);
  Put16(out, v >> 16);
}

// A zip archive (as Python's zipfile writes it when appending to a .tflite: absolute offsets
// when `base` is the length of what precedes it).
std::vector<uint8_t> MakeZip(const std::vector<ZipFile>& files, uint32_t base) {
  std::vector<uint8_t> zip, central;
  for (const ZipFile& f : files) {
    const uint32_t offset = base + static_cast<uint32_t>(zip.size());
    const uint32_t crc =
        Crc32(reinterpret_cast<const uint8_t*>(f.contents.data()), f.contents.size());
    const auto size = static_cast<uint32_t>(f.contents.size());
    Put32(zip, 0x04034b50);
    for (uint32_t v : {20u, 0u, uint32_t{f.method}, 0u, 0u}) Put16(zip, v);
    Put32(zip, crc);
    Put32(zip, size);
    Put32(zip, size);
    Put16(zip, static_cast<uint32_t>(f.name.size()));
    Put16(zip, 0);
    zip.insert(zip.end(), f.name.begin(), f.name.end());
    zip.insert(zip.end(), f.contents.begin(), f.contents.end());
    Put32(central, 0x02014b50);
    for (uint32_t v : {20u, 20u, 0u, uint32_t{f.method}, 0u, 0u}) Put16(central, v);
    Put32(central, crc);
    Put32(central, size);
    Put32(central, size);
    Put16(central, static_cast<uint32_t>(f.name.size()));
    for (uint32_t v : {0u, 0u, 0u, 0u}) Put16(central, v);
    Put32(central, 0);
    Put32(central, offset);
    central.insert(central.end(), f.name.begin(), f.name.end());
  }
  const uint32_t cd_offset = base + static_cast<uint32_t>(zip.size());
  zip.insert(zip.end(), central.begin(), central.end());
  Put32(zip, 0x06054b50);
  Put16(zip, 0);
  Put16(zip, 0);
  Put16(zip, static_cast<uint32_t>(files.size()));
  Put16(zip, static_cast<uint32_t>(files.size()));
  Put32(zip, static_cast<uint32_t>(central.size()));
  Put32(zip, cd_offset);
  Put16(zip, 0);
  return zip;
}

std::unique_ptr<tmd::AssociatedFileT> AssociatedFile(const std::string& name,
                                                     tmd::AssociatedFileType type) {
  auto f = std::make_unique<tmd::AssociatedFileT>();
  f->name = name;
  f->type = type;
  return f;
}

// Metadata for SmallValidFile(): input [1,4] float, output [1,3].
std::vector<uint8_t> MetadataBuffer(const std::vector<float>& mean = {0.0f},
                                    const std::vector<float>& std = {255.0f}) {
  tmd::ModelMetadataT md;
  md.name = "Tiny classifier";
  md.description = "Sorts four numbers into three kinds.";
  md.version = "v7";
  md.author = "Wisp tests";
  md.license = "Apache-2.0";
  md.associated_files.push_back(
      AssociatedFile("readme.txt", tmd::AssociatedFileType::DESCRIPTIONS));
  auto graph = std::make_unique<tmd::SubGraphMetadataT>();
  auto input = std::make_unique<tmd::TensorMetadataT>();
  input->name = "numbers";
  auto unit = std::make_unique<tmd::ProcessUnitT>();
  tmd::NormalizationOptionsT norm;
  norm.mean = mean;
  norm.std = std;
  unit->options.Set(std::move(norm));
  input->process_units.push_back(std::move(unit));
  input->stats = std::make_unique<tmd::StatsT>();
  input->stats->min = {0.0f};
  input->stats->max = {255.0f};
  graph->input_tensor_metadata.push_back(std::move(input));
  auto output = std::make_unique<tmd::TensorMetadataT>();
  output->name = "kinds";
  output->associated_files.push_back(
      AssociatedFile("kinds.txt", tmd::AssociatedFileType::TENSOR_AXIS_LABELS));
  graph->output_tensor_metadata.push_back(std::move(output));
  md.subgraph_metadata.push_back(std::move(graph));
  flatbuffers::FlatBufferBuilder fbb;
  tmd::FinishModelMetadataBuffer(fbb, tmd::ModelMetadata::Pack(fbb, &md));
  return std::vector<uint8_t>(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

// SmallValidFile() with `metadata` as its TFLITE_METADATA buffer and `zip` appended.
std::vector<uint8_t> FileWithMetadata(const std::vector<uint8_t>& metadata,
                                      const std::vector<ZipFile>& zip_files) {
  TfliteFile f = SmallValidFile();
  auto buffer = std::make_unique<tfl::BufferT>();
  buffer->data = metadata;
  f.model().buffers.push_back(std::move(buffer));
  auto entry = std::make_unique<tfl::MetadataT>();
  entry->name = "TFLITE_METADATA";
  entry->buffer = static_cast<uint32_t>(f.model().buffers.size() - 1);
  f.model().metadata.push_back(std::move(entry));
  std::vector<uint8_t> file = f.Finish();
  if (!zip_files.empty()) {
    const std::vector<uint8_t> zip = MakeZip(zip_files, static_cast<uint32_t>(file.size()));
    file.insert(file.end(), zip.begin(), zip.end());
  }
  return file;
}

const std::vector<ZipFile> kTinyZip = {{"readme.txt", "hello\n"}, {"kinds.txt", "ant\nbee\ncat\n"}};

std::string AssetText(const Model& m, const char* name) {
  const Asset* a = m.FindAsset(name);
  return a ? std::string(reinterpret_cast<const char*>(a->data), a->size) : "<absent>";
}

TEST(TfliteMetadata, SyntheticMetadataIsKeptInTheWispFile) {
  auto loaded = ImportAndLoad(FileWithMetadata(MetadataBuffer(), kTinyZip));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Model& m = **loaded;
  EXPECT_EQ(m.Metadata(kDisplayNameKey), "Tiny classifier");
  EXPECT_EQ(m.description(), "Sorts four numbers into three kinds.");
  EXPECT_EQ(m.version(), "v7");
  EXPECT_EQ(m.Metadata(kAuthorKey), "Wisp tests");
  EXPECT_EQ(m.Metadata(kLicenseKey), "Apache-2.0");
  EXPECT_EQ(m.Metadata("input.0.mean"), "0");
  EXPECT_EQ(m.Metadata("input.0.std"), "255");
  EXPECT_EQ(m.Metadata("input.0.range"), "0,1");
  EXPECT_EQ(m.Metadata("input.0.value_range"), "0;255");
  EXPECT_EQ(m.Metadata(kInputRangeKey), "0,1");
  EXPECT_EQ(AssetText(m, kLabelsAsset), "ant\nbee\ncat\n");
  EXPECT_EQ(ModelLabels(m), (std::vector<std::string>{"ant", "bee", "cat"}));
  EXPECT_EQ(m.Metadata(kLabelsSourceKey), "kinds.txt (output 0)");
  EXPECT_EQ(m.Metadata(kAssociatedFilesKey),
            "readme.txt (DESCRIPTIONS, model); kinds.txt (TENSOR_AXIS_LABELS, output 0)");
  EXPECT_EQ(m.Metadata(kMetadataWarningsKey), "");
  const ModelMetadataSummary s = SummarizeMetadata(m);
  EXPECT_EQ(s.name, "Tiny classifier");
  EXPECT_EQ(s.num_labels, 3u);
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].range, "0,1");
}

TEST(TfliteMetadata, ImporterOptionsWinOverTheMetadata) {
  const std::vector<uint8_t> file = FileWithMetadata(MetadataBuffer({127.5f}, {127.5f}), kTinyZip);
  ImportOptions opts;
  opts.description = "mine";
  opts.version = "2";
  opts.labels = "x\ny\nz\n";
  opts.metadata.emplace_back(kInputRangeKey, "0,255");
  auto imported = ImportTflite(file.data(), file.size(), opts);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  auto loaded = Model::Load(std::move(imported).value(), LoadOptions{true});
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Model& m = **loaded;
  EXPECT_EQ(m.description(), "mine");
  EXPECT_EQ(m.version(), "2");
  EXPECT_EQ(m.Metadata("input.0.range"), "-1,1");  // what the metadata says, kept
  EXPECT_EQ(m.Metadata(kInputRangeKey), "0,255");  // what is used: the option
  EXPECT_EQ(AssetText(m, kLabelsAsset), "x\ny\nz\n");
  EXPECT_EQ(m.assets().size(), 1u);
}

void ExpectImportWarns(const std::vector<uint8_t>& file, const std::string& fragment,
                       bool labels_expected = false) {
  auto loaded = ImportAndLoad(file);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const std::string warnings = (*loaded)->Metadata(kMetadataWarningsKey);
  EXPECT_NE(warnings.find(fragment), std::string::npos)
      << "missing '" << fragment << "' in: " << warnings;
  EXPECT_EQ((*loaded)->FindAsset(kLabelsAsset) != nullptr, labels_expected) << warnings;
}

TEST(TfliteMetadata, BadAssociatedFilesAreWarningsNamingTheProblem) {
  const std::vector<uint8_t> md = MetadataBuffer();
  // No zip at all, a file missing from it, a compressed file, too few labels.
  ExpectImportWarns(FileWithMetadata(md, {}), "no zip end-of-central-directory record");
  ExpectImportWarns(FileWithMetadata(md, {{"readme.txt", "hi"}}),
                    "'kinds.txt' is named by the metadata but absent from the appended zip");
  ExpectImportWarns(FileWithMetadata(md, {{"kinds.txt", "ant\nbee\ncat\n", 8}}),
                    "zip entry 'kinds.txt' is compressed (method 8, deflate)");
  ExpectImportWarns(FileWithMetadata(md, {{"kinds.txt", "ant\nbee\n"}}),
                    "labels file 'kinds.txt' has 2 labels but output 0 has 3 classes",
                    /*labels_expected=*/true);

  // Damage inside the zip: directory offset, local header offset, contents (CRC).
  const std::vector<uint8_t> good = FileWithMetadata(md, kTinyZip);
  const size_t eocd = good.size() - 22;
  auto patched = [&](size_t at, uint32_t value) {
    std::vector<uint8_t> copy = good;
    std::memcpy(copy.data() + at, &value, sizeof(value));
    return copy;
  };
  ExpectImportWarns(patched(eocd + 16, 0x7fffffffu), "central directory (offset 2147483647");
  ExpectImportWarns(patched(eocd + 12, 0xffffffffu), "ZIP64");
  // The second central directory entry (kinds.txt): its local header offset is at +42.
  const size_t cd_start = eocd - (46 + 10) - (46 + 9);
  ExpectImportWarns(patched(cd_start + 46 + 10 + 42, 5), "zip entry 'kinds.txt': no local header");
  ExpectImportWarns(patched(cd_start + 46 + 10 + 42, 0x7ffffff0u), "lies past the directory");
  std::vector<uint8_t> flipped = good;
  const std::string needle = "bee";
  auto it = std::search(flipped.begin(), flipped.end(), needle.begin(), needle.end());
  ASSERT_NE(it, flipped.end());
  *it = 'B';
  ExpectImportWarns(flipped, "CRC-32");
}

TEST(TfliteMetadata, BadMetadataBufferIsIgnoredWithAWarning) {
  std::vector<uint8_t> md = MetadataBuffer();
  std::vector<uint8_t> no_id = md;
  std::memcpy(no_id.data() + 4, "XXXX", 4);
  ExpectImportWarns(FileWithMetadata(no_id, kTinyZip), "lacks the metadata identifier 'M001'");
  std::vector<uint8_t> bad_root = md;
  const uint32_t root = 0x7ffffff0u;
  std::memcpy(bad_root.data(), &root, sizeof(root));
  ExpectImportWarns(FileWithMetadata(bad_root, kTinyZip), "does not verify");
  ExpectImportWarns(FileWithMetadata({1, 2, 3}, kTinyZip), "TFLITE_METADATA buffer has 3 bytes");
}

TEST(TfliteMetadata, TruncatedAndMutatedMetadataNeverCrash) {
  const std::vector<uint8_t> good = FileWithMetadata(MetadataBuffer(), kTinyZip);
  const std::vector<uint8_t> plain = SmallValidFile().Finish();
  // Every cut inside the metadata and zip (the graph itself stays whole for most of them).
  size_t imported = 0;
  for (size_t n = plain.size() / 2; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    auto r = ImportTflite(cut.data(), cut.size());
    if (!r.ok()) continue;
    ++imported;
    auto loaded = Model::Load(std::move(r).value(), LoadOptions{true});
    ASSERT_TRUE(loaded.ok()) << n << ": " << loaded.status().ToString();
    // A cut zip never yields labels: the end record (the last 22 bytes) is gone.
    EXPECT_EQ((*loaded)->FindAsset(kLabelsAsset), nullptr) << "cut at " << n;
  }
  EXPECT_GT(imported, 0u);
  std::mt19937_64 rng(13);
  for (int it = 0; it < 3000; ++it) {
    std::vector<uint8_t> copy = good;
    const size_t from = plain.size() / 2;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      const size_t pos = from + static_cast<size_t>(rng() % (copy.size() - from));
      copy[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    auto r = ImportTflite(copy.data(), copy.size());
    if (r.ok()) {
      EXPECT_TRUE(Model::Load(std::move(r).value(), LoadOptions{true}).ok());
    }
  }
}

TEST(TfliteMetadata, SharedModelsKeepNameNormalizationAndLabels) {
  for (const char* name : {"mobilenet_v1_0.25_128_quant", "mobilenet_v2_1.0_224_quant",
                           "tf2_mobilenet_v2_1.0_224_ptq"}) {
    SCOPED_TRACE(name);
    const std::vector<uint8_t> file =
        ReadOrDie(testing::SharedPath(std::string("models/") + name + ".tflite"));
    ASSERT_FALSE(file.empty());
    auto loaded = ImportAndLoad(file);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    const Model& m = **loaded;
    EXPECT_EQ(m.Metadata(kMetadataWarningsKey), "");
    EXPECT_EQ(m.Metadata(kDisplayNameKey), "ImageClassifier");
    EXPECT_EQ(m.description(),
              "Identify the most prominent object in the image from a known set of categories.");
    EXPECT_EQ(m.Metadata("input.0.mean"), "127.5");
    EXPECT_EQ(m.Metadata("input.0.std"), "127.5");
    EXPECT_EQ(m.Metadata("input.0.range"), "-1,1");
    EXPECT_EQ(m.Metadata("input.0.value_range"), "0;255");
    EXPECT_EQ(m.Metadata(kInputRangeKey), "-1,1");
    EXPECT_EQ(m.Metadata(kLabelsSourceKey), "imagenet_labels.txt (output 0)");
    EXPECT_EQ(m.Metadata(kAssociatedFilesKey),
              "imagenet_labels.txt (TENSOR_AXIS_LABELS, output 0)");
    // These files record no version, author or licence.
    EXPECT_EQ(m.Metadata(kAuthorKey), "");
    const std::vector<std::string> labels = ModelLabels(m);
    ASSERT_EQ(m.outputs().size(), 1u);
    const TensorDesc& out = m.tensors()[m.outputs()[0]];
    ASSERT_FALSE(out.shape.empty());
    EXPECT_EQ(static_cast<int64_t>(labels.size()), out.shape.back());
    ASSERT_EQ(labels.size(), 1001u);
    EXPECT_EQ(labels.front(), "background");
    EXPECT_EQ(labels[1], "tench, Tinca tinca");
    EXPECT_EQ(labels.back(), "toilet tissue, toilet paper, bathroom tissue");
  }
}

TEST(ZipReader, ReadsStoredEntriesAndRefusesWhatItCannotRead) {
  const std::vector<uint8_t> prefix(100, 0xab);
  std::vector<uint8_t> file = prefix;
  const std::vector<uint8_t> zip = MakeZip({{"a.txt", "alpha"}, {"b.bin", "\x01\x02", 8}}, 100);
  file.insert(file.end(), zip.begin(), zip.end());
  EXPECT_TRUE(HasZipEndRecord(file.data(), file.size()));
  auto dir = ReadZipDirectory(file.data(), file.size());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(dir->archive_start, 0u);  // absolute offsets, as written
  ASSERT_EQ(dir->entries.size(), 2u);
  const uint8_t* data = nullptr;
  size_t size = 0;
  ASSERT_TRUE(ZipEntryContents(file.data(), file.size(), dir->entries[0], &data, &size).ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(data), size), "alpha");
  Status st = ZipEntryContents(file.data(), file.size(), dir->entries[1], &data, &size);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  EXPECT_EQ(data, nullptr);
  // Offsets relative to the archive start (zip written first, then prepended to): same result.
  std::vector<uint8_t> relative = prefix;
  const std::vector<uint8_t> zip0 = MakeZip({{"a.txt", "alpha"}}, 0);
  relative.insert(relative.end(), zip0.begin(), zip0.end());
  auto dir0 = ReadZipDirectory(relative.data(), relative.size());
  ASSERT_TRUE(dir0.ok()) << dir0.status().ToString();
  EXPECT_EQ(dir0->archive_start, 100u);
  ASSERT_TRUE(
      ZipEntryContents(relative.data(), relative.size(), dir0->entries[0], &data, &size).ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(data), size), "alpha");
  // No end record; every truncation either fails cleanly or reads exactly what is there.
  EXPECT_EQ(ReadZipDirectory(prefix.data(), prefix.size()).status().code(), StatusCode::kNotFound);
  for (size_t n = 0; n < file.size(); ++n) {
    auto d = ReadZipDirectory(file.data(), n);
    if (!d.ok()) {
      EXPECT_FALSE(d.status().message().empty());
      continue;
    }
    for (const ZipEntry& e : d->entries) {
      if (ZipEntryContents(file.data(), n, e, &data, &size).ok()) {
        EXPECT_LE(data + size, file.data() + n);
      }
    }
  }
  EXPECT_EQ(Crc32(reinterpret_cast<const uint8_t*>("123456789"), 9), 0xcbf43926u);
}

}  // namespace
}  // namespace wisp
