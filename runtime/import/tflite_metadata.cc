#include "runtime/import/tflite_metadata.h"

#include <cmath>
#include <cstring>

#include "flatbuffers/flatbuffers.h"
#include "runtime/import/zip_reader.h"
#include "schemas/tflite_metadata_generated.h"

namespace wisp {
namespace {

namespace tmd = ::tflite_metadata;

constexpr size_t kMaxTextBytes = 4096;
constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxChannels = 64;
constexpr size_t kMaxLabelsBytes = size_t{16} << 20;

std::string Text(const flatbuffers::String* s, size_t max_len = kMaxTextBytes) {
  std::string out;
  if (!s) return out;
  for (size_t i = 0; i < s->size() && out.size() < max_len; ++i) {
    const unsigned char c = static_cast<unsigned char>(s->c_str()[i]);
    out += (c >= 0x20 && c < 0x7f) || c == '\n' ? static_cast<char>(c) : '?';
  }
  return out;
}

std::vector<float> Floats(const flatbuffers::Vector<float>* v) {
  std::vector<float> out;
  if (!v) return out;
  for (flatbuffers::uoffset_t i = 0; i < v->size() && i < kMaxChannels; ++i) {
    out.push_back(v->Get(i));
  }
  return out;
}

std::string FileTypeName(tmd::AssociatedFileType type) {
  if (type >= tmd::AssociatedFileType::MIN && type <= tmd::AssociatedFileType::MAX) {
    const char* name = tmd::EnumNameAssociatedFileType(type);
    if (name && *name) return name;
  }
  return StrFormat("TYPE_%d", static_cast<int>(type));
}

using Files = flatbuffers::Vector<flatbuffers::Offset<tmd::AssociatedFile>>;

void AddFiles(const Files* files, const std::string& owner, TfliteMetadata* out) {
  if (!files) return;
  for (const tmd::AssociatedFile* f : *files) {
    out->files.push_back({Text(f->name(), kMaxNameBytes), FileTypeName(f->type()), owner});
  }
}

TfliteTensorMetadata ReadTensor(const tmd::TensorMetadata* t) {
  TfliteTensorMetadata out;
  out.name = Text(t->name(), kMaxNameBytes);
  out.description = Text(t->description());
  if (const auto* units = t->process_units()) {
    for (const tmd::ProcessUnit* unit : *units) {
      const tmd::NormalizationOptions* norm = unit->options_as_NormalizationOptions();
      if (norm == nullptr || !out.mean.empty()) continue;
      out.mean = Floats(norm->mean());
      out.std = Floats(norm->std());
    }
  }
  if (const tmd::Stats* stats = t->stats()) {
    out.min = Floats(stats->min());
    out.max = Floats(stats->max());
  }
  return out;
}

// Reads the labels named by the metadata from the zip appended to the .tflite.
void ReadLabels(const uint8_t* file, size_t file_size, TfliteMetadata* md) {
  auto dir = ReadZipDirectory(file, file_size);
  if (!dir.ok()) {
    md->warnings.push_back("labels file '" + md->labels_file +
                           "' not read: " + dir.status().message());
    return;
  }
  for (const ZipEntry& entry : dir->entries) {
    if (entry.name != md->labels_file) continue;
    const uint8_t* data = nullptr;
    size_t size = 0;
    Status st = ZipEntryContents(file, file_size, entry, &data, &size);
    if (st.ok() && size > kMaxLabelsBytes) {
      st = Unsupported("zip entry '%s' has %zu bytes; labels files are read up to %zu",
                       entry.name.c_str(), size, kMaxLabelsBytes);
    }
    if (!st.ok()) {
      md->warnings.push_back("labels not read: " + st.message());
      return;
    }
    md->labels.assign(reinterpret_cast<const char*>(data), size);
    return;
  }
  md->warnings.push_back("labels file '" + md->labels_file +
                         "' is named by the metadata but absent from the appended zip");
}

}  // namespace

std::string NormalizedPixelRange(const std::vector<float>& mean, const std::vector<float>& std) {
  if (mean.empty() || std.empty()) return "";
  for (float m : mean) {
    if (m != mean[0] || !std::isfinite(m)) return "";
  }
  for (float s : std) {
    if (s != std[0] || !std::isfinite(s) || !(s > 0.0f)) return "";
  }
  const double lo = (0.0 - mean[0]) / std[0];
  const double hi = (255.0 - mean[0]) / std[0];
  return StrFormat("%.6g,%.6g", lo, hi);
}

Result<TfliteMetadata> ReadTfliteMetadata(const uint8_t* buffer, size_t buffer_size,
                                          const uint8_t* file, size_t file_size) {
  if (buffer_size < 8 || buffer_size > (size_t{1} << 30)) {
    return InvalidModel("%s buffer has %zu bytes", kTfliteMetadataEntry, buffer_size);
  }
  if (!tmd::ModelMetadataBufferHasIdentifier(buffer)) {
    return InvalidModel("%s buffer lacks the metadata identifier 'M001' at byte 4",
                        kTfliteMetadataEntry);
  }
  // FlatBuffers reads scalars in place: copy to 8-byte aligned memory.
  std::vector<uint64_t> aligned((buffer_size + 7) / 8);
  std::memcpy(aligned.data(), buffer, buffer_size);
  const auto* bytes = reinterpret_cast<const uint8_t*>(aligned.data());
  flatbuffers::Verifier verifier(bytes, buffer_size, /*max_depth=*/32, /*max_tables=*/100000);
  if (!tmd::VerifyModelMetadataBuffer(verifier)) {
    return InvalidModel(
        "%s buffer (%zu bytes) does not verify as a TFLite Metadata FlatBuffer (a table, "
        "vector or string offset points outside it)",
        kTfliteMetadataEntry, buffer_size);
  }
  const tmd::ModelMetadata* m = tmd::GetModelMetadata(bytes);
  TfliteMetadata md;
  md.name = Text(m->name(), kMaxNameBytes);
  md.description = Text(m->description());
  md.version = Text(m->version(), kMaxNameBytes);
  md.author = Text(m->author(), kMaxNameBytes);
  md.license = Text(m->license());
  md.min_parser_version = Text(m->min_parser_version(), kMaxNameBytes);
  AddFiles(m->associated_files(), "model", &md);
  const auto* graphs = m->subgraph_metadata();
  if (graphs && graphs->size() > 0) {
    const tmd::SubGraphMetadata* g = graphs->Get(0);
    AddFiles(g->associated_files(), "subgraph", &md);
    if (const auto* inputs = g->input_tensor_metadata()) {
      for (flatbuffers::uoffset_t i = 0; i < inputs->size(); ++i) {
        md.inputs.push_back(ReadTensor(inputs->Get(i)));
        AddFiles(inputs->Get(i)->associated_files(), StrFormat("input %u", i), &md);
      }
    }
    if (const auto* outputs = g->output_tensor_metadata()) {
      for (flatbuffers::uoffset_t i = 0; i < outputs->size(); ++i) {
        const Files* files = outputs->Get(i)->associated_files();
        AddFiles(files, StrFormat("output %u", i), &md);
        if (!files || md.labels_output >= 0) continue;
        for (const tmd::AssociatedFile* f : *files) {
          if (f->type() != tmd::AssociatedFileType::TENSOR_AXIS_LABELS || !f->name()) continue;
          md.labels_output = static_cast<int>(i);
          md.labels_file = Text(f->name(), kMaxNameBytes);
          break;
        }
      }
    }
  }
  if (md.labels_output >= 0) ReadLabels(file, file_size, &md);
  return md;
}

}  // namespace wisp
