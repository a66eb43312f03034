#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_wisp.h"
#include "tests/support/golden_manifest.h"
#include "tests/support/shared_data.h"

namespace wisp {
namespace {

using testing::CommandResult;

std::string TempDir() { return testing::CliTempDir(); }

CommandResult Wisp(const std::string& args) { return testing::RunWisp(args); }

std::string Shared(const std::string& rel) { return testing::SharedPath(rel); }

TEST(Cli, TopOneOfCatMatchesGoldenForTf2MobileNetV2) {
  auto cases = testing::LoadGoldenCases();
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  const testing::GoldenCase* golden =
      testing::FindGoldenCase(*cases, "tf2_mobilenet_v2_1.0_224_ptq/cat");
  ASSERT_NE(golden, nullptr);
  CommandResult r = Wisp("run " + Shared("models/tf2_mobilenet_v2_1.0_224_ptq.tflite") +
                         " --image " + Shared("images/cat.bmp") + " --labels " +
                         Shared("labels/imagenet_labels.txt") + " --top 5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // First result line: "  <index>  <score>  <label>"
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(\n\s+(\d+)\s+([0-9.]+)\s+(.*)\n)")))
      << r.out;
  EXPECT_EQ(std::stoi(m[1]), golden->top5[0].index);
  EXPECT_EQ(m[3].str(), golden->top5[0].label);
}

TEST(Cli, EveryModelConvertsRunsAndPlansASmallerArena) {
  auto cases = testing::LoadGoldenCases();
  ASSERT_TRUE(cases.ok());
  std::set<std::string> models;
  for (const auto& c : *cases) models.insert(c.model_path);
  ASSERT_GE(models.size(), 14u);
  for (const std::string& model : models) {
    const std::string out = TempDir() + "/m.wisp";
    CommandResult conv = Wisp("convert " + model + " " + out + " --version 7");
    ASSERT_EQ(conv.exit_code, 0) << model << ": " << conv.err;
    CommandResult insp = Wisp("inspect --json " + out);
    ASSERT_EQ(insp.exit_code, 0) << model << ": " << insp.err;
    auto j = nlohmann::json::parse(insp.out);
    EXPECT_EQ(j["version"], "7");
    EXPECT_EQ(j["sha256"].get<std::string>().size(), 64u);
    const size_t arena = j["arena_bytes"], naive = j["intermediate_bytes_naive"];
    EXPECT_LT(arena, naive) << model;
    std::printf("[arena] %-60s arena %10zu  naive %10zu  (%.1f%%)\n", model.c_str(), arena, naive,
                100.0 * static_cast<double>(arena) / static_cast<double>(naive));
    CommandResult run = Wisp("run " + out + " --random 1");
    EXPECT_EQ(run.exit_code, 0) << model << ": " << run.err;
  }
}

TEST(Cli, SaveOutputsWritesGoldenLayout) {
  const std::string dir = TempDir() + "/outs";
  const std::string in = Shared("goldens/mlperf_tiny_ad01_int8/lcg_seed1.input0.bin");
  CommandResult r = Wisp("run " + Shared("models/mlperf_tiny_ad01_int8.tflite") + " --input " + in +
                         " --save-outputs " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ours = testing::ReadFileBytes(dir + "/output0.bin");
  auto golden =
      testing::ReadFileBytes(Shared("goldens/mlperf_tiny_ad01_int8/lcg_seed1.output0.bin"));
  ASSERT_TRUE(ours.ok() && golden.ok());
  EXPECT_EQ(*ours, *golden);
}

TEST(Cli, RandomSeedReproducesLcgGoldenInput) {
  // --random 1 must generate exactly the goldens' LCG input, so outputs match the golden.
  const std::string dir = TempDir() + "/lcg";
  CommandResult r = Wisp("run " + Shared("models/mlperf_tiny_kws_dscnn_int8.tflite") +
                         " --random 1 --save-outputs " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ours = testing::ReadFileBytes(dir + "/output0.bin");
  auto golden =
      testing::ReadFileBytes(Shared("goldens/mlperf_tiny_kws_dscnn_int8/lcg_seed1.output0.bin"));
  ASSERT_TRUE(ours.ok() && golden.ok());
  EXPECT_EQ(*ours, *golden);
}

TEST(Cli, BenchReportsLatencyArenaAndRss) {
  CommandResult r =
      Wisp("bench " + Shared("models/mlperf_tiny_vww_96_int8.tflite") + " --runs 5 --warmup 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("median"), std::string::npos);
  EXPECT_NE(r.out.find("arena"), std::string::npos);
  EXPECT_NE(r.out.find("peak RSS"), std::string::npos);
  EXPECT_NE(r.out.find("microkernels "), std::string::npos);
}

TEST(Cli, InspectAndBenchNameTheMicrokernelIsa) {
  const std::string model = Shared("models/mlperf_tiny_vww_96_int8.tflite");
  CommandResult insp = Wisp("inspect --json " + model);
  ASSERT_EQ(insp.exit_code, 0) << insp.err;
  const nlohmann::json j = nlohmann::json::parse(insp.out);
  const std::string isa = j["microkernel_isa"];
  const std::vector<std::string> levels = j["microkernel_isa_levels"];
  EXPECT_NE(std::find(levels.begin(), levels.end(), isa), levels.end()) << isa;
  CommandResult bench = Wisp("bench " + model + " --runs 2 --warmup 0 --json");
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  EXPECT_EQ(nlohmann::json::parse(bench.out)["isa"], isa);
}

// `--backend both` runs Wisp's kernels and XNNPACK alternately on one input and checks that their
// outputs agree; a build without XNNPACK says so instead.
TEST(Cli, BenchComparesBackends) {
  const std::string model = Shared("models/mlperf_tiny_resnet8_int8.tflite");
#if WISP_CLI_HAS_XNNPACK
  CommandResult bench = Wisp("bench " + model + " --backend both --runs 3 --warmup 1 --json");
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  std::istringstream lines(bench.out);
  std::string wisp_line, xnn_line;
  ASSERT_TRUE(std::getline(lines, wisp_line) && std::getline(lines, xnn_line)) << bench.out;
  const nlohmann::json w = nlohmann::json::parse(wisp_line), x = nlohmann::json::parse(xnn_line);
  EXPECT_EQ(w["backend"], "wisp");
  EXPECT_EQ(x["backend"], "xnnpack");
  EXPECT_EQ(x["outputs_identical"], true);
  EXPECT_GT(x["ops_on_backend"].get<int>(), 0);
  EXPECT_LT(x["ops_on_backend"].get<int>(), x["ops"].get<int>());  // ADD and SOFTMAX stay Wisp's
  CommandResult insp = Wisp("inspect " + model + " --backend xnnpack");
  ASSERT_EQ(insp.exit_code, 0) << insp.err;
  EXPECT_NE(insp.out.find("xnnpack qc8 conv"), std::string::npos) << insp.out;
#else
  CommandResult bench = Wisp("bench " + model + " --backend xnnpack --runs 1");
  EXPECT_NE(bench.exit_code, 0);
  EXPECT_NE(bench.err.find("WISP_XNNPACK=OFF"), std::string::npos) << bench.err;
#endif
}

// Inputs that do not fit the model are errors naming both sides, never a silent run: a photo
// given to the keyword-spotting model (a [1,49,10,1] spectrogram), ImageNet's labels on the
// 2-class person detector.
TEST(Cli, ImageAndLabelsMustFitTheModel) {
  CommandResult audio = Wisp("run " + Shared("models/mlperf_tiny_kws_dscnn_int8.tflite") +
                             " --image " + Shared("images/cat.bmp"));
  EXPECT_NE(audio.exit_code, 0);
  EXPECT_NE(audio.err.find("is not an image"), std::string::npos) << audio.err;
  EXPECT_NE(audio.err.find("[1,49,10,1]"), std::string::npos) << audio.err;
  CommandResult labels =
      Wisp("run " + Shared("models/mlperf_tiny_vww_96_int8.tflite") + " --image " +
           Shared("images/cat.bmp") + " --labels " + Shared("labels/imagenet_labels.txt"));
  EXPECT_NE(labels.exit_code, 0);
  EXPECT_NE(labels.err.find("1001 labels"), std::string::npos) << labels.err;
  EXPECT_NE(labels.err.find("has 2 classes"), std::string::npos) << labels.err;
  // Grayscale [1,28,28] is an image; 1001 labels fit a 1001-class output.
  EXPECT_EQ(Wisp("run " + Shared("models/keras_lstm_mnist_ptq.tflite") + " --image " +
                 Shared("images/mnist_nine.bmp"))
                .exit_code,
            0);
  CommandResult fits =
      Wisp("run " + Shared("models/mobilenet_v1_0.25_128_quant.tflite") + " --image " +
           Shared("images/cat.bmp") + " --labels " + Shared("labels/imagenet_labels.txt"));
  EXPECT_EQ(fits.exit_code, 0) << fits.err;
}

// A float model's pixel range is never guessed: --input-range, or the range `wisp convert
// --input-range` recorded, else an error saying how to give it.
TEST(Cli, FloatImageRangeIsExplicitOrRecorded) {
  const std::string model = Shared("models/mlperf_tiny_resnet8_float.tflite");
  const std::string image = " --image " + Shared("images/cat.bmp");
  CommandResult guess = Wisp("run " + model + image);
  EXPECT_NE(guess.exit_code, 0);
  EXPECT_NE(guess.err.find("--input-range"), std::string::npos) << guess.err;
  CommandResult given = Wisp("run " + model + image + " --input-range 0,255 --top 1");
  ASSERT_EQ(given.exit_code, 0) << given.err;
  const std::string out = TempDir() + "/range.wisp";
  ASSERT_EQ(Wisp("convert " + model + " " + out + " --input-range 0,255").exit_code, 0);
  CommandResult recorded = Wisp("run " + out + image + " --top 1");
  ASSERT_EQ(recorded.exit_code, 0) << recorded.err;
  EXPECT_EQ(recorded.out, given.out);
  // An explicit range wins over the recorded one.
  CommandResult other = Wisp("run " + out + image + " --input-range 0,1 --top 1");
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_NE(other.out, recorded.out);
  EXPECT_EQ(Wisp("run " + model + " --input-range 0,2 --random 1").exit_code, 2);
}

// TFLite Metadata is read and used: the labels embedded in the .tflite name the classes without
// --labels (also after `wisp convert`), and inspect shows what the metadata says.
TEST(Cli, MetadataLabelsAndDescriptionAreUsed) {
  auto cases = testing::LoadGoldenCases();
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  const testing::GoldenCase* golden =
      testing::FindGoldenCase(*cases, "tf2_mobilenet_v2_1.0_224_ptq/cat");
  ASSERT_NE(golden, nullptr);
  const std::string model = Shared("models/tf2_mobilenet_v2_1.0_224_ptq.tflite");
  const std::string converted = TempDir() + "/with_metadata.wisp";
  ASSERT_EQ(Wisp("convert " + model + " " + converted).exit_code, 0);
  for (const std::string& m : {model, converted}) {
    SCOPED_TRACE(m);
    CommandResult r = Wisp("run " + m + " --image " + Shared("images/cat.bmp") + " --top 3");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::smatch match;
    ASSERT_TRUE(std::regex_search(r.out, match, std::regex(R"(\n\s+(\d+)\s+([0-9.]+)\s+(.*)\n)")))
        << r.out;
    EXPECT_EQ(std::stoi(match[1]), golden->top5[0].index);
    EXPECT_EQ(match[3].str(), golden->top5[0].label);
    CommandResult text = Wisp("inspect " + m);
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("labels      1001 from imagenet_labels.txt (output 0)"),
              std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find("display_name = ImageClassifier"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("input.0.mean = 127.5"), std::string::npos) << text.out;
    CommandResult json = Wisp("inspect --json " + m);
    ASSERT_EQ(json.exit_code, 0) << json.err;
    const nlohmann::json j = nlohmann::json::parse(json.out);
    EXPECT_EQ(j["model_metadata"]["name"], "ImageClassifier");
    EXPECT_EQ(j["model_metadata"]["labels"], 1001);
    EXPECT_EQ(j["model_metadata"]["input_range"], "-1,1");
    EXPECT_EQ(j["model_metadata"]["inputs"][0]["std"], "127.5");
  }
  // An explicit --labels still wins (and still has to fit).
  CommandResult mine = Wisp("run " + model + " --image " + Shared("images/cat.bmp") + " --labels " +
                            Shared("labels/imagenet_labels.txt"));
  EXPECT_EQ(mine.exit_code, 0) << mine.err;
}

// A bare `wisp` prints usage and exits 2 like every usage error (as getopt tools do), not with
// CLI11's internal codes; --help and --version succeed.
TEST(Cli, UsageVersionAndUsageErrors) {
  CommandResult bare = Wisp("");
  EXPECT_EQ(bare.exit_code, 2);
  EXPECT_NE(bare.err.find("Usage: wisp"), std::string::npos) << bare.err;
  EXPECT_NE(bare.err.find("bench"), std::string::npos) << bare.err;
  CommandResult help = Wisp("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Usage: wisp"), std::string::npos) << help.out;
  CommandResult version = Wisp("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("wisp ", 0), 0u) << version.out;
  EXPECT_EQ(Wisp("no-such-command").exit_code, 2);
  CommandResult missing = Wisp("bench");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("model"), std::string::npos) << missing.err;
}

TEST(Cli, ErrorsAreActionableAndNonZero) {
  {
    CommandResult r = Wisp("run /nonexistent/model.wisp --random 1");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("/nonexistent/model.wisp"), std::string::npos) << r.err;
  }
  {
    // A truncated model.
    auto bytes = testing::ReadFileBytes(Shared("models/mlperf_tiny_vww_96_int8.tflite"));
    ASSERT_TRUE(bytes.ok());
    const std::string cut = TempDir() + "/cut.tflite";
    std::ofstream(cut, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes->data()), bytes->size() / 3);
    CommandResult r = Wisp("run " + cut + " --random 1");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("cut.tflite"), std::string::npos) << r.err;
  }
  {
    // Input file of the wrong size names the input and both sizes.
    const std::string bad = TempDir() + "/bad.bin";
    std::ofstream(bad, std::ios::binary).write("abc", 3);
    CommandResult r =
        Wisp("run " + Shared("models/mlperf_tiny_vww_96_int8.tflite") + " --input " + bad);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("27648"), std::string::npos) << r.err;
  }
  {
    CommandResult r = Wisp("run " + Shared("models/mlperf_tiny_vww_96_int8.tflite"));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("--image"), std::string::npos) << r.err;
  }
  {
    CommandResult r = Wisp("convert " + Shared("images/cat.bmp") + " " + TempDir() + "/x.wisp");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("TFL3"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace wisp
