// The C API the JS package calls (web/src/wisp.mjs). Deliberately small and flat: handles are
// pointers, strings are NUL-terminated UTF-8 owned by the runtime, failures return 0 / nonzero
// and leave a message (naming the tensor, operator or byte offset) in wisp_last_error().
// No embind, no exceptions: the .wasm stays small.
#include <emscripten/emscripten.h>

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "runtime/api/load_model.h"
#include "runtime/api/warm_up.h"
#include "runtime/core/dtype.h"
#include "runtime/import/tflite_importer.h"
#include "runtime/interpreter/interpreter.h"
#include "runtime/interpreter/profile.h"
#include "runtime/kernels/microkernels/config.h"
#include "runtime/preprocess/image.h"
#include "runtime/util/sha256.h"
#include "wasm/thread_pool_wasm.h"

namespace {

// One error slot per module instance (the JS side calls from one thread at a time).
std::string g_last_error;

// The synthetic networks the warm-up has run in this instance, and its invoke count: a model load
// with flag bit 2 runs the ones its model needs and the warm-up has not.
unsigned g_warmed_up_dtypes = 0;
int g_warm_up_invokes = 0;

void SetError(const wisp::Status& status) { g_last_error = status.ToString(); }
void SetError(const char* message) { g_last_error = message; }

struct WispModel {
  std::shared_ptr<const wisp::Model> model;
  std::unique_ptr<wisp::Interpreter> interpreter;
  std::string scratch;  // backs strings returned to JS
};

const wisp::TensorDesc* Io(WispModel* m, int is_output, int index) {
  if (m == nullptr || index < 0) return nullptr;
  if (is_output) {
    if (static_cast<size_t>(index) >= m->interpreter->num_outputs()) return nullptr;
    return &m->interpreter->output(index);
  }
  if (static_cast<size_t>(index) >= m->interpreter->num_inputs()) return nullptr;
  return &m->interpreter->input(index);
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE int wisp_abi_version() { return 1; }

EMSCRIPTEN_KEEPALIVE const char* wisp_last_error() { return g_last_error.c_str(); }

// Threads for the operators that parallelize. Returns the count in effect (1 in the
// single-threaded variant). Must be called before models are loaded.
EMSCRIPTEN_KEEPALIVE int wisp_set_num_threads(int n) { return wisp::wasm::SetNumThreads(n); }
EMSCRIPTEN_KEEPALIVE int wisp_num_threads() { return wisp::wasm::NumThreads(); }
EMSCRIPTEN_KEEPALIVE int wisp_threads_supported() { return wisp::wasm::ThreadsSupported() ? 1 : 0; }

// The microkernel ISA level in use ("wasmrelaxed", "wasmsimd", "scalar"): relaxed only where the
// engine computes the relaxed dot product in a way an exact kernel exists for.
EMSCRIPTEN_KEEPALIVE const char* wisp_microkernel_isa() {
  static std::string isa;
  isa = wisp::Microkernels().isa;
  return isa.c_str();
}
// Caps the ISA level for models loaded afterwards ("" for none); 0 for an unknown name.
EMSCRIPTEN_KEEPALIVE int wisp_set_isa_limit(const char* isa) {
  return wisp::SetMicrokernelIsaLimit(isa ? isa : "") ? 1 : 0;
}

// Checks that the pool really runs tasks in parallel: each of two tasks arrives, then waits (up to
// 5 s) for the other to arrive too, which can only happen meanwhile on another thread (a thread
// that runs both in turn waits in vain in the first). Symmetric, because the pool lets any thread
// take either task (the caller claims from the front, workers from the back). Returns 1 when both
// met on different threads, 0 otherwise (always 0 in the single-threaded variant, without
// waiting).
EMSCRIPTEN_KEEPALIVE int wisp_parallel_selftest() {
  wisp::ThreadPool* pool = wisp::wasm::Pool();
  if (pool == nullptr || pool->num_threads() < 2) return 0;
  std::atomic<int> arrived{0};
  pthread_t ids[2] = {};
  bool met[2] = {false, false};
  wisp::ParallelFor(pool, 2, [&](int task) {
    ids[task] = pthread_self();
    arrived.fetch_add(1, std::memory_order_acq_rel);
    const double t0 = emscripten_get_now();
    while (arrived.load(std::memory_order_acquire) < 2 && emscripten_get_now() - t0 < 5000) {
    }
    met[task] = arrived.load(std::memory_order_acquire) == 2;
  });
  return met[0] && met[1] && !pthread_equal(ids[0], ids[1]) ? 1 : 0;
}

// Runs the kernels on tiny synthetic networks (runtime/api/warm_up.h) so that the engine starts
// optimizing them before a large model is loaded and first run; `dtypes` is a mask of
// wisp::WarmUpDtypes. Returns 1, or 0 with wisp_last_error().
EMSCRIPTEN_KEEPALIVE int wisp_warm_up(int invokes, unsigned dtypes) {
  const wisp::Status s = wisp::WarmUpKernels(invokes, dtypes);
  if (!s.ok()) SetError(s);
  g_warmed_up_dtypes |= dtypes;
  g_warm_up_invokes = invokes;
  return s.ok() ? 1 : 0;
}

// Loads a model from `size` bytes at `bytes`, which must come from malloc: ownership passes to
// the runtime in every case (success or failure). A .wisp is used in place (no copy; freed with
// the model); a .tflite is imported into a new buffer and the original is freed right away.
// Flags: bit 0 = verify the recorded sha256; bit 1 = keep variable state (LSTM) from one invoke
// to the next, as TFLite does (default: every invoke starts from zero state); bit 2 = complete the
// warm-up (wisp_warm_up, run while the model downloaded, guessed which kernels it needs) with the
// networks of the model's dtypes before its weights are packed. Returns a handle, or 0 with
// wisp_last_error().
EMSCRIPTEN_KEEPALIVE WispModel* wisp_model_load(uint8_t* bytes, size_t size, int flags,
                                                const char* name) {
  g_last_error.clear();
  if (bytes == nullptr) {
    SetError("invalid argument: no model bytes");
    return nullptr;
  }
  std::shared_ptr<const void> keepalive(bytes,
                                        [](const void* p) { std::free(const_cast<void*>(p)); });
  wisp::ModelLoadOptions options;
  options.verify_sha256 = (flags & 1) != 0;
  if (name != nullptr) options.name = name;
  auto model = wisp::LoadModelBytes(bytes, size, std::move(keepalive), options);
  if (!model.ok()) {
    SetError(model.status());
    return nullptr;
  }
  if ((flags & 4) != 0 && g_warm_up_invokes > 0) {
    const unsigned missing = wisp::WarmUpDtypesFor(**model) & ~g_warmed_up_dtypes;
    if (missing != 0) {
      // Only an optimisation: a failure is ignored (and would fail the load below anyway).
      (void)wisp::WarmUpKernels(g_warm_up_invokes, missing);
      g_warmed_up_dtypes |= missing;
    }
  }
  wisp::InterpreterOptions interp_options;
  interp_options.thread_pool = wisp::wasm::Pool();
  interp_options.reset_variables_each_invoke = (flags & 2) == 0;
  auto interpreter = wisp::Interpreter::Create(*model, interp_options);
  if (!interpreter.ok()) {
    SetError(interpreter.status());
    return nullptr;
  }
  auto* m = new WispModel;
  m->model = std::move(*model);
  m->interpreter = std::move(*interpreter);
  return m;
}

EMSCRIPTEN_KEEPALIVE void wisp_model_free(WispModel* m) { delete m; }

EMSCRIPTEN_KEEPALIVE int wisp_model_invoke(WispModel* m) {
  if (m == nullptr) {
    SetError("invalid argument: model was disposed");
    return 1;
  }
  wisp::Status s = m->interpreter->Invoke();
  if (!s.ok()) {
    SetError(s);
    return 1;
  }
  return 0;
}

// Runs the model `runs` times on its current inputs with per-operator timing and returns the
// report as JSON (runtime/interpreter/profile.h), or "" with wisp_last_error() on failure.
EMSCRIPTEN_KEEPALIVE const char* wisp_model_profile(WispModel* m, int runs) {
  if (m == nullptr) {
    SetError("invalid argument: model was disposed");
    return "";
  }
  m->interpreter->SetProfiling(true);
  for (int i = 0; i < runs; ++i) {
    wisp::Status s = m->interpreter->Invoke();
    if (!s.ok()) {
      m->interpreter->SetProfiling(false);
      SetError(s);
      return "";
    }
  }
  m->scratch = wisp::ProfileJson(wisp::ProfileRows(*m->interpreter), runs);
  m->interpreter->SetProfiling(false);
  return m->scratch.c_str();
}

EMSCRIPTEN_KEEPALIVE int wisp_model_num_io(WispModel* m, int is_output) {
  if (m == nullptr) return 0;
  return static_cast<int>(is_output ? m->interpreter->num_outputs() : m->interpreter->num_inputs());
}

EMSCRIPTEN_KEEPALIVE double wisp_model_arena_bytes(WispModel* m) {
  return m ? static_cast<double>(m->interpreter->arena_bytes()) : 0;
}
EMSCRIPTEN_KEEPALIVE double wisp_model_size_bytes(WispModel* m) {
  return m ? static_cast<double>(m->model->size()) : 0;
}

// The content sha256, lowercase hex: recorded in a .wisp, or computed (a pass over the model)
// for a .tflite imported in memory, which records none.
EMSCRIPTEN_KEEPALIVE const char* wisp_model_sha256(WispModel* m) {
  if (m == nullptr) return "";
  m->scratch = m->model->content_sha256_hex();
  return m->scratch.c_str();
}

// The model's description strings in one buffer: key and value pairs ("name", "version",
// "description", "producer", then "meta:<key>" for each metadata entry in file order), each
// string as a little-endian uint32 byte length and its bytes, ended by a zero-length key. One
// call where the package made about twenty, each an allocation, a call and a decode (0.2-0.4 ms
// of a cold start in Chromium).
EMSCRIPTEN_KEEPALIVE const char* wisp_model_info(WispModel* m) {
  if (m == nullptr) return nullptr;
  const wisp::Model& model = *m->model;
  std::string& out = m->scratch;
  out.clear();
  auto put = [&out](const std::string& text) {
    const uint32_t n = static_cast<uint32_t>(text.size());
    out.append(reinterpret_cast<const char*>(&n), sizeof(n));  // WebAssembly is little-endian
    out += text;
  };
  const std::pair<const char*, std::string> fields[] = {{"name", model.name()},
                                                        {"version", model.version()},
                                                        {"description", model.description()},
                                                        {"producer", model.producer()}};
  for (const auto& [key, value] : fields) {
    put(key);
    put(value);
  }
  if (const auto* entries = model.fb().metadata()) {
    for (const wisp::fb::KeyValue* kv : *entries) {
      if (kv->key() == nullptr || kv->key()->size() == 0) continue;
      put("meta:" + kv->key()->str());
      put(kv->value() ? kv->value()->str() : std::string());
    }
  }
  put(std::string());
  return out.data();
}

EMSCRIPTEN_KEEPALIVE int wisp_model_num_assets(WispModel* m) {
  return m ? static_cast<int>(m->model->assets().size()) : 0;
}
EMSCRIPTEN_KEEPALIVE const char* wisp_model_asset_name(WispModel* m, int i) {
  if (m == nullptr || i < 0 || static_cast<size_t>(i) >= m->model->assets().size()) return "";
  return m->model->assets()[i].name.c_str();
}
EMSCRIPTEN_KEEPALIVE const uint8_t* wisp_model_asset_data(WispModel* m, int i) {
  if (m == nullptr || i < 0 || static_cast<size_t>(i) >= m->model->assets().size()) return nullptr;
  return m->model->assets()[i].data;
}
EMSCRIPTEN_KEEPALIVE double wisp_model_asset_size(WispModel* m, int i) {
  if (m == nullptr || i < 0 || static_cast<size_t>(i) >= m->model->assets().size()) return 0;
  return static_cast<double>(m->model->assets()[i].size);
}

// Tensor metadata of input/output `i` (is_output selects the list).
EMSCRIPTEN_KEEPALIVE const char* wisp_io_name(WispModel* m, int is_output, int i) {
  const wisp::TensorDesc* t = Io(m, is_output, i);
  return t ? t->name.c_str() : "";
}
EMSCRIPTEN_KEEPALIVE int wisp_io_dtype(WispModel* m, int is_output, int i) {
  const wisp::TensorDesc* t = Io(m, is_output, i);
  return t ? static_cast<int>(t->dtype) : -1;
}
EMSCRIPTEN_KEEPALIVE int wisp_io_rank(WispModel* m, int is_output, int i) {
  const wisp::TensorDesc* t = Io(m, is_output, i);
  return t ? static_cast<int>(t->shape.size()) : 0;
}
EMSCRIPTEN_KEEPALIVE double wisp_io_dim(WispModel* m, int is_output, int i, int d) {
  const wisp::TensorDesc* t = Io(m, is_output, i);
  if (t == nullptr || d < 0 || static_cast<size_t>(d) >= t->shape.size()) return 0;
  return static_cast<double>(t->shape[d]);
}
EMSCRIPTEN_KEEPALIVE double wisp_io_bytes(WispModel* m, int is_output, int i) {
  const wisp::TensorDesc* t = Io(m, is_output, i);
  return t ? static_cast<double>(t->bytes) : 0;
}
// Input buffers may be written before invoke; output buffers hold the results after it.
EMSCRIPTEN_KEEPALIVE uint8_t* wisp_io_data(WispModel* m, int is_output, int i) {
  if (Io(m, is_output, i) == nullptr) return nullptr;
  return is_output ? const_cast<uint8_t*>(m->interpreter->output_data(i))
                   : m->interpreter->input_data(i);
}
EMSCRIPTEN_KEEPALIVE int wisp_io_quant_count(WispModel* m, int is_output, int i) {
  const wisp::TensorDesc* t = Io(m, is_output, i);
  return t ? static_cast<int>(t->quant.scale.size()) : 0;
}
EMSCRIPTEN_KEEPALIVE float wisp_io_quant_scale(WispModel* m, int is_output, int i, int k) {
  const wisp::TensorDesc* t = Io(m, is_output, i);
  if (t == nullptr || k < 0 || static_cast<size_t>(k) >= t->quant.scale.size()) return 0;
  return t->quant.scale[k];
}
EMSCRIPTEN_KEEPALIVE int wisp_io_quant_zero_point(WispModel* m, int is_output, int i, int k) {
  const wisp::TensorDesc* t = Io(m, is_output, i);
  if (t == nullptr || k < 0 || static_cast<size_t>(k) >= t->quant.zero_point.size()) return 0;
  return t->quant.zero_point[k];
}
EMSCRIPTEN_KEEPALIVE int wisp_io_quant_axis(WispModel* m, int is_output, int i) {
  const wisp::TensorDesc* t = Io(m, is_output, i);
  return t ? t->quant.axis : 0;
}

// Converts a .tflite to .wisp bytes (the `wisp convert` of the CLI). Returns a malloc'd buffer the
// caller frees, its size in *out_size; 0 with wisp_last_error() on failure. The input stays
// owned by the caller. `labels` (may be empty) is embedded as the asset "labels.txt".
EMSCRIPTEN_KEEPALIVE uint8_t* wisp_convert_tflite(const uint8_t* bytes, size_t size,
                                                  const char* name, const char* labels,
                                                  size_t* out_size) {
  g_last_error.clear();
  if (bytes == nullptr || out_size == nullptr) {
    SetError("invalid argument: no model bytes");
    return nullptr;
  }
  wisp::ImportOptions options;
  if (name != nullptr) options.name = name;
  if (labels != nullptr) options.labels = labels;
  auto wisp_bytes = wisp::ImportTflite(bytes, size, options);
  if (!wisp_bytes.ok()) {
    SetError(wisp_bytes.status());
    return nullptr;
  }
  auto* out = static_cast<uint8_t*>(std::malloc(wisp_bytes->size()));
  if (out == nullptr) {
    SetError("resource exhausted: out of memory for the converted model");
    return nullptr;
  }
  std::memcpy(out, wisp_bytes->data(), wisp_bytes->size());
  *out_size = wisp_bytes->size();
  return out;
}

// The core's integer half-pixel bilinear resize (the goldens' resize_spec), on interleaved 8-bit
// pixels: src is w*h*c bytes, dst receives ow*oh*c bytes. Returns 0 on success.
EMSCRIPTEN_KEEPALIVE int wisp_resize_bilinear_u8(const uint8_t* src, int w, int h, int c,
                                                 uint8_t* dst, int ow, int oh) {
  if (src == nullptr || dst == nullptr || w <= 0 || h <= 0 || c <= 0 || c > 4) {
    SetError("invalid argument: resize needs positive dimensions and 1..4 channels");
    return 1;
  }
  wisp::Image in;
  in.width = w;
  in.height = h;
  in.channels = c;
  in.pixels.assign(src, src + static_cast<size_t>(w) * h * c);
  wisp::Image out = wisp::ResizeBilinearHalfPixel(in, ow, oh);
  if (out.width == 0) {
    SetError("invalid argument: resize target out of range");
    return 1;
  }
  std::memcpy(dst, out.pixels.data(), out.pixels.size());
  return 0;
}

// sha256 of data[0, size) as 64 lower-case hex characters + NUL into out_hex (65 bytes). The JS
// package uses it to verify downloads where SubtleCrypto is unavailable (insecure origins).
EMSCRIPTEN_KEEPALIVE void wisp_sha256_hex(const uint8_t* data, size_t size, char* out_hex) {
  const std::string hex = wisp::Sha256Hex(data, size);
  std::memcpy(out_hex, hex.c_str(), hex.size() + 1);
}

}  // extern "C"
