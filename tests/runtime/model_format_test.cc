#include <cstring>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "runtime/format/model.h"
#include "runtime/format/model_builder.h"
#include "runtime/format/quant_arrays.h"

namespace wisp {
namespace {

ModelBuilder TinyBuilder() {
  ModelBuilder b;
  b.SetName("tiny");
  b.SetVersion("3");
  b.SetMetadata("author", "tests");
  const int32_t in = b.AddTensor("in", DType::FLOAT32, {1, 4});
  std::vector<float> w = {1, 2, 3, 4, 5, 6, 7, 8};
  const int32_t weights = b.AddConstant("w", DType::FLOAT32, {2, 4}, w);
  const int32_t out = b.AddTensor("out", DType::FLOAT32, {1, 2});
  b.AddOperator(fb::OpType::FULLY_CONNECTED, {in, weights, -1}, {out});
  b.SetInputs({in});
  b.SetOutputs({out});
  const char labels[] = "a\nb\n";
  b.AddAsset("labels.txt", "text/plain", labels, sizeof(labels) - 1);
  return b;
}

std::vector<uint8_t> TinyModel() { return TinyBuilder().Finish(); }

// Finishing a builder that is given up (in place, as the importer does) writes the same bytes as
// finishing a copy, with and without room reserved, hashed or not.
TEST(ModelFormat, FinishingInPlaceWritesTheSameBytes) {
  for (bool hash : {true, false}) {
    for (size_t reserve : {size_t{0}, size_t{1} << 16}) {
      ModelBuilder b = TinyBuilder();
      b.ReserveData(reserve);
      const std::vector<uint8_t> copied = b.Finish(hash);
      const std::vector<uint8_t> moved = std::move(b).Finish(hash);
      EXPECT_EQ(copied, moved) << "hash " << hash << " reserve " << reserve;
      EXPECT_TRUE(Model::Load(moved, LoadOptions{hash}).ok());
    }
  }
}

// A borrowed constant (an in-memory TFLite import's weights left in place) resolves only through
// the table Model::Load is given, entry by entry and size by size; a file on its own has no such
// data, and its load fails naming the tensor.
TEST(ModelFormat, BorrowedConstantsResolveOnlyThroughTheirTable) {
  alignas(16) static const float kWeights[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  ModelBuilder b;
  const int32_t in = b.AddTensor("in", DType::FLOAT32, {4});
  const int32_t w = b.AddBorrowedConstant("w", DType::FLOAT32, {4}, kWeights, sizeof(kWeights));
  const int32_t out = b.AddTensor("out", DType::FLOAT32, {4});
  b.AddOperator(fb::OpType::ADD, {in, w}, {out});
  b.SetInputs({in});
  b.SetOutputs({out});
  const std::vector<BorrowedBytes> table = b.borrowed();
  ASSERT_EQ(table.size(), 1u);
  const std::vector<uint8_t> bytes = std::move(b).Finish();

  auto alone = Model::Load(bytes);
  ASSERT_FALSE(alone.ok());
  EXPECT_NE(alone.status().message().find("tensor 1 ('w')"), std::string::npos)
      << alone.status().ToString();
  EXPECT_NE(alone.status().message().find("exceeds the data section"), std::string::npos);

  const std::vector<BorrowedBytes> wrong_size = {{reinterpret_cast<const uint8_t*>(kWeights), 12}};
  auto wrong = Model::Load(bytes, LoadOptions{}, wrong_size, nullptr, nullptr);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("borrowed data entry 0"), std::string::npos)
      << wrong.status().ToString();

  auto good = Model::Load(bytes, LoadOptions{}, table, nullptr, nullptr);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_TRUE((*good)->has_borrowed_data());
  EXPECT_EQ((*good)->tensors()[static_cast<size_t>(w)].data,
            reinterpret_cast<const uint8_t*>(kWeights));
}

TEST(ModelFormat, RoundTripsThroughBuilderAndLoader) {
  auto loaded = Model::Load(TinyModel(), LoadOptions{/*verify_sha256=*/true});
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Model& m = **loaded;
  EXPECT_EQ(m.name(), "tiny");
  EXPECT_EQ(m.version(), "3");
  EXPECT_EQ(m.Metadata("author"), "tests");
  ASSERT_EQ(m.tensors().size(), 3u);
  EXPECT_TRUE(m.tensors()[1].is_constant());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(m.tensors()[1].data) % 8, 0u);
  float w5;
  std::memcpy(&w5, m.tensors()[1].data + 5 * 4, 4);
  EXPECT_EQ(w5, 6.0f);
  ASSERT_NE(m.FindAsset("labels.txt"), nullptr);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.FindAsset("labels.txt")->data),
                        m.FindAsset("labels.txt")->size),
            "a\nb\n");
  EXPECT_EQ(m.content_sha256_hex().size(), 64u);
  // The data section starts 64-byte aligned within the file.
  EXPECT_EQ(m.fb().data_offset() % 64, 0u);
}

TEST(ModelFormat, DetectsContentTampering) {
  std::vector<uint8_t> bytes = TinyModel();
  bytes[bytes.size() - 3] ^= 0x10;  // inside the weights
  auto loaded = Model::Load(bytes, LoadOptions{true});
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("sha256"), std::string::npos);
  // Without verification the (still well-formed) file loads.
  EXPECT_TRUE(Model::Load(bytes, LoadOptions{false}).ok());
}

TEST(ModelFormat, RejectsWrongIdentifier) {
  std::vector<uint8_t> bytes = TinyModel();
  bytes[4] = 'X';
  auto loaded = Model::Load(bytes);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("identifier"), std::string::npos);
}

TEST(ModelFormat, TruncationAtEveryOffsetIsAnError) {
  const std::vector<uint8_t> bytes = TinyModel();
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    auto loaded = Model::Load(cut, LoadOptions{false});
    EXPECT_FALSE(loaded.ok()) << "truncated to " << n << " bytes loaded";
  }
}

TEST(ModelFormat, RandomBitFlipsNeverCrash) {
  const std::vector<uint8_t> bytes = TinyModel();
  std::mt19937 rng(7);
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<uint8_t> mutated = bytes;
    const int flips = 1 + trial % 4;
    for (int f = 0; f < flips; ++f) {
      mutated[rng() % mutated.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    auto loaded = Model::Load(mutated, LoadOptions{false});
    if (!loaded.ok()) {
      ++rejected;
      EXPECT_FALSE(loaded.status().message().empty());
    }
  }
  // Most flips land in structure and must be caught; flips inside weight bytes stay valid.
  EXPECT_GT(rejected, 100);
}

TEST(ModelFormat, HashVerificationCatchesEveryFlip) {
  const std::vector<uint8_t> bytes = TinyModel();
  for (size_t i = 0; i < bytes.size(); i += 7) {
    std::vector<uint8_t> mutated = bytes;
    mutated[i] ^= 0x01;
    EXPECT_FALSE(Model::Load(mutated, LoadOptions{true}).ok()) << "flip at " << i;
  }
}

// Every per-channel scale must be positive and finite and every zero point within its dtype: the
// first bad entry is named, past good ones.
TEST(ModelFormat, RejectsBadQuantizationEntriesByIndex) {
  const struct {
    std::vector<float> scale;
    std::vector<int32_t> zero_point;
    const char* expected;
  } cases[] = {
      {{0.5f, 0.25f, -1.0f}, {0, 0, 0}, "scale[2] = -1"},
      {{0.5f, std::numeric_limits<float>::infinity(), 1.0f}, {0, 0, 0}, "scale[1] = inf"},
      {{0.5f, 0.25f, 1.0f}, {0, 0, -129}, "zero point -129 outside the int8 range"},
  };
  for (const auto& c : cases) {
    ModelBuilder b;
    const int32_t in =
        b.AddTensor("in", DType::INT8, {1, 3}, QuantParams{c.scale, c.zero_point, 1});
    b.SetInputs({in});
    b.SetOutputs({in});
    auto loaded = Model::Load(b.Finish());
    ASSERT_FALSE(loaded.ok()) << c.expected;
    EXPECT_NE(loaded.status().message().find("'in'"), std::string::npos);
    EXPECT_NE(loaded.status().message().find(c.expected), std::string::npos)
        << loaded.status().message();
  }
}

// FlatBuffers 2.0's verifier lets an int64 vector start at 4 mod 8 (the fuzzer built such a
// .wisp): zero points are read byte-wise, which the sanitizer build checks here.
TEST(ModelFormat, ReadsZeroPointsStoredAtFourModEight) {
  alignas(8) uint8_t bytes[4 + 3 * sizeof(int64_t)];
  const int64_t zps[3] = {-128, 5, 300};
  std::memcpy(bytes + 4, zps, sizeof zps);
  const float scales[3] = {0.5f, 0.25f, 0.125f};
  float scale_out[3];
  int32_t zp_out[3];
  EXPECT_EQ(ZeroPointAt(bytes + 4, 2), 300);
  // int8 range: the third entry is the first outside it
  EXPECT_EQ(CopyQuantArrays(scales, bytes + 4, 3, -128, 127, scale_out, zp_out), 2u);
  EXPECT_EQ(zp_out[0], -128);
  EXPECT_EQ(zp_out[1], 5);
  EXPECT_EQ(scale_out[1], 0.25f);
  EXPECT_EQ(CopyQuantArrays(scales, bytes + 4, 3, -1000, 1000, scale_out, zp_out), 3u);
  EXPECT_EQ(zp_out[2], 300);
}

TEST(ModelFormat, RejectsAbsurdShapesAndDataRanges) {
  {
    ModelBuilder b;
    const int32_t in = b.AddTensor("in", DType::FLOAT32, {1 << 30, 1 << 30, 1 << 30});
    b.SetInputs({in});
    b.SetOutputs({in});
    auto loaded = Model::Load(b.Finish());
    ASSERT_FALSE(loaded.ok());
    EXPECT_NE(loaded.status().message().find("'in'"), std::string::npos);
  }
  {
    ModelBuilder b;
    const int32_t in = b.AddTensor("in", DType::FLOAT32, {-3, 2});
    b.SetInputs({in});
    b.SetOutputs({in});
    EXPECT_FALSE(Model::Load(b.Finish()).ok());
  }
  {
    // A constant whose byte size disagrees with its shape.
    ModelBuilder b;
    std::vector<float> w(3, 1.0f);
    const int32_t c = b.AddConstant("w", DType::FLOAT32, {4}, w);
    const int32_t in = b.AddTensor("in", DType::FLOAT32, {4});
    const int32_t out = b.AddTensor("out", DType::FLOAT32, {4});
    b.AddOperator(fb::OpType::ADD, {in, c}, {out});
    b.SetInputs({in});
    b.SetOutputs({out});
    auto loaded = Model::Load(b.Finish());
    ASSERT_FALSE(loaded.ok());
    EXPECT_NE(loaded.status().message().find("'w'"), std::string::npos);
  }
  {
    // An operator reading a tensor nobody wrote, and an index beyond the tensor table.
    ModelBuilder b;
    const int32_t in = b.AddTensor("in", DType::FLOAT32, {4});
    const int32_t ghost = b.AddTensor("ghost", DType::FLOAT32, {4});
    const int32_t out = b.AddTensor("out", DType::FLOAT32, {4});
    b.AddOperator(fb::OpType::ADD, {in, ghost}, {out});
    b.SetInputs({in});
    b.SetOutputs({out});
    auto loaded = Model::Load(b.Finish());
    ASSERT_FALSE(loaded.ok());
    EXPECT_NE(loaded.status().message().find("ghost"), std::string::npos);

    ModelBuilder b2;
    const int32_t in2 = b2.AddTensor("in", DType::FLOAT32, {4});
    const int32_t out2 = b2.AddTensor("out", DType::FLOAT32, {4});
    b2.AddOperator(fb::OpType::ADD, {in2, 99}, {out2});
    b2.SetInputs({in2});
    b2.SetOutputs({out2});
    auto loaded2 = Model::Load(b2.Finish());
    ASSERT_FALSE(loaded2.ok());
    EXPECT_NE(loaded2.status().message().find("tensor 99"), std::string::npos);
  }
}

}  // namespace
}  // namespace wisp
