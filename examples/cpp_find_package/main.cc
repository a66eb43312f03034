// Loads a .wisp or .tflite, runs it once on zeros (or on the raw input bytes given) and prints
// each output's shape and its largest value: the smallest complete use of an installed Wisp.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "native/platform/mapped_file.h"
#include "runtime/api/load_model.h"
#include "runtime/core/shape.h"
#include "runtime/interpreter/interpreter.h"

namespace {

// Real value of element i of a tensor (dequantized for the 8-bit types).
double ValueAt(const wisp::TensorDesc& t, const uint8_t* data, int64_t i) {
  const float scale = t.quant.empty() ? 1.0f : t.quant.scale[0];
  const int32_t zero = t.quant.empty() ? 0 : t.quant.zero_point[0];
  switch (t.dtype) {
    case wisp::DType::FLOAT32:
      return reinterpret_cast<const float*>(data)[i];
    case wisp::DType::INT8:
      return scale * (reinterpret_cast<const int8_t*>(data)[i] - zero);
    case wisp::DType::UINT8:
      return scale * (data[i] - zero);
    default:
      return 0;
  }
}

int Fail(const wisp::Status& status) {
  std::fprintf(stderr, "wisp_example: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: wisp_example MODEL(.wisp|.tflite) [INPUT.bin]\n");
    return 2;
  }
  auto file = wisp::MappedFile::Open(argv[1]);
  if (!file.ok()) return Fail(file.status());
  // The mapping stays alive as long as the model: a .wisp is used in place, not copied.
  auto model = wisp::LoadModelBytes((*file)->data(), (*file)->size(), *file);
  if (!model.ok()) return Fail(model.status());
  auto interpreter = wisp::Interpreter::Create(*model);
  if (!interpreter.ok()) return Fail(interpreter.status());
  wisp::Interpreter& in = **interpreter;

  for (size_t i = 0; i < in.num_inputs(); ++i) {
    std::vector<uint8_t> bytes(in.input(i).bytes, 0);
    if (argc == 3 && i == 0) {
      std::ifstream f(argv[2], std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    wisp::Status s = in.SetInput(i, bytes.data(), bytes.size());
    if (!s.ok()) return Fail(s);
  }
  wisp::Status s = in.Invoke();
  if (!s.ok()) return Fail(s);

  for (size_t o = 0; o < in.num_outputs(); ++o) {
    const wisp::TensorDesc& t = in.output(o);
    int64_t best = 0;
    for (int64_t i = 1; i < t.num_elements; ++i) {
      if (ValueAt(t, in.output_data(o), i) > ValueAt(t, in.output_data(o), best)) best = i;
    }
    std::printf("output %zu '%s' %s %s: max %.6g at %lld\n", o, t.name.c_str(),
                wisp::DTypeName(t.dtype), wisp::ShapeToString(t.shape).c_str(),
                ValueAt(t, in.output_data(o), best), static_cast<long long>(best));
  }
  return 0;
}
