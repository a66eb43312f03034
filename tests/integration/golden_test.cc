// Every golden case in the shared manifest: import the .tflite, run it on the golden input, and
// compare with the reference runtime's output: quantized and integer outputs bit for bit, floats
// within a tolerance, classifiers on the golden top-1. The exact-match figures are printed per
// case. CMake registers the cases once per microkernel ISA level (WISP_ISA), and once more built
// with WISP_GOLDEN_XNNPACK, where the XNNPACK backend (native/xnnpack) is offered every operator.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include <gtest/gtest.h>

#include "runtime/api/load_model.h"
#include "runtime/interpreter/interpreter.h"
#include "runtime/kernels/microkernels/config.h"
#include "tests/support/golden_manifest.h"
#include "tests/support/shared_data.h"

#ifdef WISP_GOLDEN_XNNPACK
#include "native/xnnpack/xnnpack_provider.h"
#endif

namespace wisp {
namespace {

using testing::GoldenCase;

const std::vector<GoldenCase>& Cases() {
  static const std::vector<GoldenCase>* cases = [] {
    auto loaded = testing::LoadGoldenCases();
    if (!loaded.ok()) {
      std::fprintf(stderr, "cannot load the golden manifest: %s\n",
                   loaded.status().ToString().c_str());
      return new std::vector<GoldenCase>();
    }
    return new std::vector<GoldenCase>(std::move(*loaded));
  }();
  return *cases;
}

// Models are imported once per model, not per case.
std::shared_ptr<const Model> ModelFor(const GoldenCase& c, std::string* error) {
  static std::map<std::string, std::shared_ptr<const Model>> cache;
  auto it = cache.find(c.model_path);
  if (it != cache.end()) return it->second;
  auto bytes = testing::ReadFileBytes(c.model_path);
  if (!bytes.ok()) {
    *error = bytes.status().ToString();
    return nullptr;
  }
  auto owned = std::make_shared<std::vector<uint8_t>>(std::move(*bytes));
  ModelLoadOptions options;
  options.name = c.model_name;
  auto model = LoadModelBytes(owned->data(), owned->size(), owned, options);
  if (!model.ok()) {
    *error = model.status().ToString();
    return nullptr;
  }
  cache[c.model_path] = *model;
  return *model;
}

double Element(const std::string& dtype, const uint8_t* p, size_t i) {
  if (dtype == "int8") return static_cast<int8_t>(p[i]);
  if (dtype == "uint8") return p[i];
  if (dtype == "float32") {
    float v;
    std::memcpy(&v, p + 4 * i, 4);
    return v;
  }
  if (dtype == "int64") {
    int64_t v;
    std::memcpy(&v, p + 8 * i, 8);
    return static_cast<double>(v);
  }
  if (dtype == "int32") {
    int32_t v;
    std::memcpy(&v, p + 4 * i, 4);
    return v;
  }
  return NAN;
}

size_t DTypeBytes(const std::string& dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "int64") return 8;
  return 1;
}

// The backend offered every operator first: XNNPACK in the golden_xnnpack_tests binary, none
// (Wisp's own kernels) otherwise.
KernelProvider* Backend() {
#ifdef WISP_GOLDEN_XNNPACK
  static XnnpackProvider* provider = [] {
    auto created = XnnpackProvider::Create(1);
    if (!created.ok()) {
      std::fprintf(stderr, "XNNPACK backend: %s\n", created.status().ToString().c_str());
      return static_cast<XnnpackProvider*>(nullptr);
    }
    return created->release();
  }();
  return provider;
#else
  return nullptr;
#endif
}

class GoldenTest : public ::testing::TestWithParam<size_t> {};

TEST_P(GoldenTest, MatchesReferenceRuntime) {
  const GoldenCase& c = Cases()[GetParam()];
  std::string error;
  std::shared_ptr<const Model> model = ModelFor(c, &error);
  ASSERT_TRUE(model) << c.id << ": " << error;
  // Stateful models (LSTM state in variable tensors): the reference golden was taken from a
  // TFLite interpreter after warm-up runs, and TFLite carries variable state from one invoke to
  // the next. Reproduce that procedure: keep state and invoke until the output is steady.
  bool stateful = false;
  for (const TensorDesc& t : model->tensors()) stateful |= t.is_variable;
  InterpreterOptions options;
  options.reset_variables_each_invoke = !stateful;
  options.kernels.provider = Backend();
  auto interp = Interpreter::Create(model, options);
  ASSERT_TRUE(interp.ok()) << c.id << ": " << interp.status().ToString();
  Interpreter& it = **interp;
  if (options.kernels.provider != nullptr) {
    const char* name = options.kernels.provider->name();
    const size_t taken = it.num_ops_on_backend(name);
    std::printf("[golden] %-48s %s runs %zu of %zu operators\n", c.id.c_str(), name, taken,
                model->operators().size());
  }
  ASSERT_EQ(it.num_inputs(), c.inputs.size());
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    auto bytes = testing::ReadFileBytes(c.inputs[i].file);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    Status s = it.SetInput(i, bytes->data(), bytes->size());
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  Status s = it.Invoke();
  ASSERT_TRUE(s.ok()) << c.id << ": " << s.ToString();
  if (stateful) {
    std::vector<uint8_t> previous;
    for (int run = 0; run < 20; ++run) {
      std::vector<uint8_t> now(it.output_data(0), it.output_data(0) + it.output(0).bytes);
      if (now == previous) break;
      previous = std::move(now);
      s = it.Invoke();
      ASSERT_TRUE(s.ok()) << c.id << ": " << s.ToString();
    }
  }

  ASSERT_EQ(it.num_outputs(), c.outputs.size());
  for (size_t o = 0; o < c.outputs.size(); ++o) {
    const testing::GoldenTensor& g = c.outputs[o];
    auto golden = testing::ReadFileBytes(g.file);
    ASSERT_TRUE(golden.ok()) << golden.status().ToString();
    const TensorDesc& t = it.output(o);
    ASSERT_STREQ(DTypeName(t.dtype), g.dtype.c_str()) << c.id << " output " << o;
    ASSERT_EQ(t.bytes, golden->size()) << c.id << " output " << o;
    const size_t n = golden->size() / DTypeBytes(g.dtype);
    const uint8_t* ours = it.output_data(o);

    size_t exact = 0, within_one = 0;
    double max_abs = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; ++i) {
      const double a = Element(g.dtype, ours, i), b = Element(g.dtype, golden->data(), i);
      const double d = std::fabs(a - b);
      exact += d == 0;
      within_one += d <= 1;
      max_abs = std::max(max_abs, d);
      lo = std::min(lo, b);
      hi = std::max(hi, b);
    }
    std::printf("[golden] %-48s out%zu %-7s %7zu/%-7zu exact (%6.2f%%)  max|diff| %.3g\n",
                c.id.c_str(), o, g.dtype.c_str(), exact, n, 100.0 * exact / n, max_abs);
    RecordProperty("exact_" + std::to_string(o), static_cast<int>(exact));
    if (g.dtype == "float32") {
      const double tol = 1e-5 * std::max(1.0, hi - lo);
      EXPECT_LE(max_abs, tol) << c.id << " output " << o << ": float outputs beyond tolerance";
    } else {
      // Quantized and integer outputs: bit for bit (every reference configuration agreed).
      EXPECT_EQ(exact, n) << c.id << " output " << o << ": " << (n - exact) << " elements differ, "
                          << (n - within_one) << " by more than 1";
    }
    if (!c.top5_indices.empty() && o == 0) {
      size_t best = 0;
      for (size_t i = 1; i < n; ++i) {
        if (Element(g.dtype, ours, i) > Element(g.dtype, ours, best)) best = i;
      }
      EXPECT_EQ(static_cast<int>(best), c.top5_indices[0]) << c.id << ": top-1 differs";
    }
  }
}

std::string CaseName(const ::testing::TestParamInfo<size_t>& info) {
  std::string name = Cases()[info.param].id;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(SharedModels, GoldenTest, ::testing::Range<size_t>(0, Cases().size()),
                         CaseName);

TEST(GoldenManifest, HasCases) { EXPECT_GE(Cases().size(), 14u); }

#ifdef WISP_GOLDEN_XNNPACK
// The XNNPACK run means something only if XNNPACK ran operators: the shared int8 and uint8
// convolution models give it plenty (ctest runs each test alone, so this one loads every case).
TEST(GoldenXnnpack, BackendRunsOperators) {
  ASSERT_NE(Backend(), nullptr) << "XNNPACK failed to initialize";
  size_t taken = 0;
  for (const GoldenCase& c : Cases()) {
    std::string error;
    std::shared_ptr<const Model> model = ModelFor(c, &error);
    ASSERT_TRUE(model) << c.id << ": " << error;
    InterpreterOptions options;
    options.kernels.provider = Backend();
    auto interp = Interpreter::Create(model, options);
    ASSERT_TRUE(interp.ok()) << c.id << ": " << interp.status().ToString();
    taken += (*interp)->num_ops_on_backend("xnnpack");
  }
  std::printf("[golden] xnnpack ran %zu operators over %zu cases\n", taken, Cases().size());
  EXPECT_GT(taken, 0u);
}
#endif

// A forced level (WISP_ISA, as CMake sets it per registration) is the one in use.
TEST(GoldenManifest, RunsTheRequestedMicrokernelLevel) {
  const char* isa = std::getenv("WISP_ISA");
  std::printf("[golden] microkernels: %s (WISP_ISA=%s)\n", Microkernels().isa.c_str(),
              isa ? isa : "unset");
  if (isa == nullptr || *isa == '\0') return;
  // A level this CPU cannot run (AVX-VNNI on AMD Zen 4, say) falls back to the best level below
  // it; one it can run must be the one selected.
  const std::vector<std::string> levels = MicrokernelIsaLevels();
  auto position = [&](const std::string& name) {
    return std::find(levels.begin(), levels.end(), name) - levels.begin();
  };
  auto runnable = [](const std::string& level) {
    for (const MicrokernelEntry<GemmKernelInfo>& e : AllGemmKernels()) {
      if (e.isa == level && e.runnable) return true;
    }
    return false;
  };
  const auto requested = position(isa), selected = position(Microkernels().isa);
  ASSERT_LT(requested, static_cast<std::ptrdiff_t>(levels.size())) << "unknown WISP_ISA " << isa;
  ASSERT_LT(selected, static_cast<std::ptrdiff_t>(levels.size())) << Microkernels().isa;
  if (runnable(isa)) {
    EXPECT_EQ(Microkernels().isa, isa);
    return;
  }
  std::printf("[golden] %s is not runnable here; the best level below it runs\n", isa);
  EXPECT_LT(selected, requested);
  EXPECT_TRUE(runnable(Microkernels().isa));
  for (auto i = selected + 1; i < requested; ++i) {
    EXPECT_FALSE(runnable(levels[static_cast<size_t>(i)])) << levels[static_cast<size_t>(i)];
  }
}

}  // namespace
}  // namespace wisp
