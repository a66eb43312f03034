// THE preprocessing test: every golden case's input tensor is rebuilt from its source (decoded
// image -> ResizeBilinearHalfPixel -> dtype rule, or the LCG; float models through their int8
// twin's input quantization) and must be byte-identical to the golden's input0.bin.
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "native/image/image_decode.h"
#include "runtime/preprocess/tensor_from_image.h"
#include "runtime/util/sha256.h"
#include "tests/support/golden_manifest.h"
#include "tests/support/shared_data.h"

namespace wisp {
namespace {

using testing::FindInt8Twin;
using testing::GoldenCase;
using testing::GoldenTensor;

const std::vector<GoldenCase>& Cases() {
  static const std::vector<GoldenCase>* cases = [] {
    auto loaded = testing::LoadGoldenCases();
    return new std::vector<GoldenCase>(loaded.ok() ? std::move(loaded).value()
                                                   : std::vector<GoldenCase>{});
  }();
  return *cases;
}

std::optional<InputDType> ParseDType(const std::string& dtype) {
  if (dtype == "uint8") return InputDType::kU8;
  if (dtype == "int8") return InputDType::kI8;
  if (dtype == "float32") return InputDType::kF32;
  return std::nullopt;
}

// "same bytes" with a readable first difference instead of a megabyte dump.
::testing::AssertionResult SameBytes(const std::vector<uint8_t>& actual,
                                     const std::vector<uint8_t>& expected) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << "size " << actual.size() << " != golden " << expected.size();
  }
  size_t mismatches = 0, first = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (actual[i] != expected[i] && mismatches++ == 0) first = i;
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << mismatches << " bytes differ; first at byte " << first << ": " << int{actual[first]}
         << " vs golden " << int{expected[first]};
}

TEST(GoldenManifest, LoadsEveryCase) {
  auto manifest = testing::LoadGoldenManifest();
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_GE(manifest->cases.size(), 30u);
  EXPECT_NE(manifest->resize_spec.find("half-pixel"), std::string::npos);
  for (const GoldenCase& c : manifest->cases) {
    EXPECT_FALSE(c.inputs.empty()) << c.id;
    EXPECT_TRUE(!c.source_image.empty() || c.lcg_seed.has_value()) << c.id;
    if (c.is_float_model()) {
      EXPECT_NE(FindInt8Twin(manifest->cases, c), nullptr) << c.id;
    }
  }
  const GoldenCase* parrot =
      testing::FindGoldenCase(manifest->cases, "mobilenet_v2_1.0_224_quant/parrot");
  ASSERT_NE(parrot, nullptr);
  EXPECT_NE(parrot->decoded_image.find("decoded_images/parrot.ppm"), std::string::npos);
  ASSERT_EQ(parrot->top5_indices.size(), 5u);
}

class GoldenInputTest : public ::testing::TestWithParam<size_t> {};

TEST_P(GoldenInputTest, RebuiltInputIsByteIdentical) {
  ASSERT_LT(GetParam(), Cases().size());
  const GoldenCase& c = Cases()[GetParam()];
  ASSERT_EQ(c.inputs.size(), 1u) << c.id;
  const GoldenTensor& golden = c.inputs[0];

  auto expected = testing::ReadFileBytes(golden.file);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  ASSERT_EQ(expected->size(), golden.bytes);
  EXPECT_EQ(Sha256Hex(*expected), golden.sha256)
      << "golden file does not match its manifest digest";

  const std::optional<InputDType> dtype = ParseDType(golden.dtype);
  ASSERT_TRUE(dtype.has_value()) << "input dtype " << golden.dtype;
  const InputTensorTarget target{*dtype, golden.shape};

  std::optional<TwinQuantization> twin;
  if (c.is_float_model()) {
    const GoldenCase* int8_case = FindInt8Twin(Cases(), c);
    ASSERT_NE(int8_case, nullptr) << "no int8 twin for " << c.id;
    const GoldenTensor& twin_input = int8_case->inputs.at(0);
    ASSERT_TRUE(twin_input.quantized);
    const std::optional<InputDType> twin_dtype = ParseDType(twin_input.dtype);
    ASSERT_TRUE(twin_dtype.has_value());
    twin = TwinQuantization{*twin_dtype, twin_input.scale, twin_input.zero_point};
  }

  if (c.lcg_seed.has_value()) {
    auto actual = TensorFromLcg(*c.lcg_seed, target, twin);
    ASSERT_TRUE(actual.ok()) << actual.status().ToString();
    EXPECT_TRUE(SameBytes(*actual, *expected)) << c.id << " (LCG seed " << *c.lcg_seed << ")";
    return;
  }

  // From the original file with our own decoders (BMP, and JPEG via libjpeg-turbo ISLOW).
  auto image = DecodeImageFile(c.source_image);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  auto actual = TensorFromImage(*image, target, twin);
  ASSERT_TRUE(actual.ok()) << actual.status().ToString();
  EXPECT_TRUE(SameBytes(*actual, *expected)) << c.id << " from " << c.source_image;

  // And, when the manifest keeps the exact decoded pixels (JPEGs), from those as well.
  if (!c.decoded_image.empty()) {
    auto decoded = DecodeImageFile(c.decoded_image);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->pixels, image->pixels) << "our JPEG decode differs from " << c.decoded_image;
    auto from_ppm = TensorFromImage(*decoded, target, twin);
    ASSERT_TRUE(from_ppm.ok()) << from_ppm.status().ToString();
    EXPECT_TRUE(SameBytes(*from_ppm, *expected)) << c.id << " from " << c.decoded_image;
  }
}

std::string CaseName(const ::testing::TestParamInfo<size_t>& info) {
  std::string name = info.param < Cases().size() ? Cases()[info.param].id : "missing";
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

std::vector<size_t> CaseIndices() {
  std::vector<size_t> indices(Cases().size());
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  return indices;
}

INSTANTIATE_TEST_SUITE_P(AllCases, GoldenInputTest, ::testing::ValuesIn(CaseIndices()), CaseName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GoldenInputTest);  // GoldenManifest.* reports why

}  // namespace
}  // namespace wisp
