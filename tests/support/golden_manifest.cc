#include "tests/support/golden_manifest.h"

#include <exception>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "tests/support/shared_data.h"

namespace wisp::testing {

namespace {

using nlohmann::json;

constexpr char kFloatSuffix[] = "_float";
constexpr char kInt8Suffix[] = "_int8";

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

GoldenTensor ParseTensor(const json& j, const std::string& goldens_dir) {
  GoldenTensor t;
  t.file = goldens_dir + "/" + j.at("file").get<std::string>();
  t.name = j.at("name").get<std::string>();
  t.tensor_index = j.value("tensor_index", -1);
  t.dtype = j.at("dtype").get<std::string>();
  t.shape = j.at("shape").get<std::vector<int64_t>>();
  const json& q = j.at("quantization");
  if (!q.is_null()) {
    const auto scales = q.at("scale").get<std::vector<double>>();
    const auto zero_points = q.at("zero_point").get<std::vector<int64_t>>();
    if (scales.size() != 1 || zero_points.size() != 1) {
      throw std::runtime_error("tensor " + t.name + ": per-channel quantization is unexpected");
    }
    t.quantized = true;
    // The JSON holds the float32 value printed as a double, so this conversion is exact.
    t.scale = static_cast<float>(scales[0]);
    t.zero_point = static_cast<int32_t>(zero_points[0]);
  }
  t.bytes = j.at("bytes").get<size_t>();
  t.sha256 = j.value("sha256", "");
  return t;
}

GoldenCase ParseCase(const json& j, const json& decoded_images, const std::string& root) {
  const std::string goldens_dir = root + "/goldens";
  GoldenCase c;
  c.id = j.at("id").get<std::string>();
  const std::string model = j.at("model").get<std::string>();
  c.model_path = root + "/" + model;
  std::string base = model.substr(model.find_last_of('/') + 1);
  if (EndsWith(base, ".tflite")) base.resize(base.size() - 7);
  c.model_name = base;
  c.model_sha256 = j.value("model_sha256", "");
  c.case_name = j.at("case").get<std::string>();
  c.preprocessing = j.value("preprocessing", "");
  const json& source = j.at("source");
  if (source.contains("image")) {
    const std::string image = source.at("image").get<std::string>();
    c.source_image = root + "/images/" + image;
    if (decoded_images.is_object() && decoded_images.contains(image)) {
      c.decoded_image = goldens_dir + "/" + decoded_images.at(image).at("file").get<std::string>();
    }
  }
  if (source.contains("lcg_seed")) c.lcg_seed = source.at("lcg_seed").get<uint32_t>();
  for (const json& t : j.at("inputs")) c.inputs.push_back(ParseTensor(t, goldens_dir));
  for (const json& t : j.at("outputs")) c.outputs.push_back(ParseTensor(t, goldens_dir));
  if (j.contains("top5") && j.at("top5").is_array()) {
    for (const json& e : j.at("top5")) {
      GoldenTop5Entry entry;
      entry.index = e.at("index").get<int>();
      entry.label = e.value("label", "");
      entry.raw = e.value("raw", 0.0);
      entry.score = e.value("score", 0.0);
      c.top5.push_back(entry);
      c.top5_indices.push_back(entry.index);
    }
  }
  return c;
}

}  // namespace

bool GoldenCase::is_float_model() const { return EndsWith(model_name, kFloatSuffix); }

Result<GoldenManifest> LoadGoldenManifest() {
  return LoadGoldenManifest(SharedPath("goldens/manifest.json"));
}

Result<GoldenManifest> LoadGoldenManifest(const std::string& manifest_path) {
  Result<std::vector<uint8_t>> bytes = ReadFileBytes(manifest_path);
  if (!bytes.ok()) return bytes.status();
  // The shared root is two levels above the manifest (<root>/goldens/manifest.json).
  std::string root = manifest_path.substr(0, manifest_path.find_last_of('/'));
  root = root.substr(0, root.find_last_of('/'));
  if (root.empty()) root = ".";
  try {
    const json j = json::parse(bytes->begin(), bytes->end());
    GoldenManifest manifest;
    manifest.resize_spec = j.value("resize_spec", "");
    manifest.lcg_spec = j.value("lcg_spec", "");
    const json decoded = j.contains("decoded_images") ? j.at("decoded_images") : json::object();
    for (const json& c : j.at("cases")) manifest.cases.push_back(ParseCase(c, decoded, root));
    return manifest;
  } catch (const std::exception& e) {
    return InvalidArgument("%s: %s", manifest_path.c_str(), e.what());
  }
}

Result<std::vector<GoldenCase>> LoadGoldenCases() {
  Result<GoldenManifest> manifest = LoadGoldenManifest();
  if (!manifest.ok()) return manifest.status();
  return std::move(manifest->cases);
}

const GoldenCase* FindGoldenCase(const std::vector<GoldenCase>& cases, const std::string& id) {
  for (const GoldenCase& c : cases) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

const GoldenCase* FindInt8Twin(const std::vector<GoldenCase>& cases, const GoldenCase& c) {
  if (!c.is_float_model()) return nullptr;
  const std::string twin_model =
      c.model_name.substr(0, c.model_name.size() - (sizeof(kFloatSuffix) - 1)) + kInt8Suffix;
  return FindGoldenCase(cases, twin_model + "/" + c.case_name);
}

}  // namespace wisp::testing
