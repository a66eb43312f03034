#include "runtime/kernels/float_winograd.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "runtime/kernels/microkernels/config.h"
#include "runtime/kernels/parallel.h"
#include "runtime/kernels/shared_weights.h"

namespace wisp {
namespace {

constexpr int kPositions = 16;  // values of a transformed 4x4 tile
constexpr int kMaxMr = 8;
// Tiles per pass: the pass's transformed inputs and GEMM products take about this many bytes,
// so that they stay in L2 between the three steps.
constexpr size_t kPassBytes = 128 << 10;
constexpr int32_t kMaxPassTiles = 64;

// The transforms run on 4 channels at a time (GNU vectors: SSE on x86, SIMD128 in WebAssembly),
// and on 1 for the channels left over, with the same code.
typedef float F32x4 __attribute__((vector_size(16)));

template <typename V>
inline V LoadV(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <typename V>
inline void StoreV(float* p, V v) {
  std::memcpy(p, &v, sizeof(v));
}
typedef int32_t I32x4 __attribute__((vector_size(16)));

// min(max(v, lo), hi) as std::max and std::min compute it, with a compare and a select per bound
// (a lane-by-lane std::min / std::max loop became scalar code in WebAssembly: the output
// transform took 13x longer).
inline F32x4 Clamp(F32x4 v, F32x4 lo, F32x4 hi) {
  const I32x4 below = v < lo;
  v = reinterpret_cast<F32x4>((reinterpret_cast<I32x4>(lo) & below) |
                              (reinterpret_cast<I32x4>(v) & ~below));
  const I32x4 above = hi < v;
  return reinterpret_cast<F32x4>((reinterpret_cast<I32x4>(hi) & above) |
                                 (reinterpret_cast<I32x4>(v) & ~above));
}
inline float Clamp(float v, float lo, float hi) { return std::min(std::max(v, lo), hi); }
inline F32x4 Splat(float x, F32x4*) { return F32x4{x, x, x, x}; }
inline float Splat(float x, float*) { return x; }

// V = B^T d B for the channels [c, c + lanes) of one tile, with
//   B^T = | 1  0 -1  0 |
//         | 0  1  1  0 |
//         | 0 -1  1  0 |
//         | 0  1  0 -1 |
// d[i * 4 + j] is the patch's pixel (row i, column j), or the zero pixel outside the image;
// position p of the result goes to out[p] + c.
template <typename V>
inline void InputTransform(const float* const d[kPositions], size_t c,
                           float* const out[kPositions]) {
  V t[kPositions];  // B^T d
  for (int j = 0; j < 4; ++j) {
    const V d0 = LoadV<V>(d[j] + c), d1 = LoadV<V>(d[4 + j] + c);
    const V d2 = LoadV<V>(d[8 + j] + c), d3 = LoadV<V>(d[12 + j] + c);
    t[j] = d0 - d2;
    t[4 + j] = d1 + d2;
    t[8 + j] = d2 - d1;
    t[12 + j] = d1 - d3;
  }
  for (int i = 0; i < 4; ++i) {
    const V* r = t + 4 * i;
    StoreV(out[4 * i] + c, r[0] - r[2]);
    StoreV(out[4 * i + 1] + c, r[1] + r[2]);
    StoreV(out[4 * i + 2] + c, r[2] - r[1]);
    StoreV(out[4 * i + 3] + c, r[1] - r[3]);
  }
}

// Y = A^T m A + bias for the channels [c, c + lanes) of one tile, clamped to the activation, with
//   A^T = | 1  1  1  0 |
//         | 0  1 -1 -1 |
// m[p] + c holds position p of the products; y[r * 2 + s] is output pixel (r, s) of the tile, or
// null where the tile reaches past the output.
template <typename V>
inline void OutputTransform(const float* const m[kPositions], size_t c, const float* bias,
                            const F32MinMax& act, float* const y[4]) {
  V s0[4], s1[4];  // A^T m
  for (int j = 0; j < 4; ++j) {
    const V m0 = LoadV<V>(m[j] + c), m1 = LoadV<V>(m[4 + j] + c);
    const V m2 = LoadV<V>(m[8 + j] + c), m3 = LoadV<V>(m[12 + j] + c);
    s0[j] = m0 + m1 + m2;
    s1[j] = m1 - m2 - m3;
  }
  const V b = LoadV<V>(bias + c);
  const V out[4] = {s0[0] + s0[1] + s0[2] + b, s0[1] - s0[2] - s0[3] + b, s1[0] + s1[1] + s1[2] + b,
                    s1[1] - s1[2] - s1[3] + b};
  for (int k = 0; k < 4; ++k) {
    if (y[k] != nullptr) {
      StoreV(y[k] + c, Clamp(out[k], Splat(act.min, static_cast<V*>(nullptr)),
                             Splat(act.max, static_cast<V*>(nullptr))));
    }
  }
}

// U = G g G^T for one 3x3 filter g (row-major), with
//   G = |  1    0    0  |
//       | 1/2  1/2  1/2 |
//       | 1/2 -1/2  1/2 |
//       |  0    0    1  |
// in double, rounded once.
void FilterTransform(const double g[9], float u[kPositions]) {
  double t[4][3];  // G g
  for (int j = 0; j < 3; ++j) {
    t[0][j] = g[j];
    t[1][j] = 0.5 * (g[j] + g[3 + j] + g[6 + j]);
    t[2][j] = 0.5 * (g[j] - g[3 + j] + g[6 + j]);
    t[3][j] = g[6 + j];
  }
  for (int i = 0; i < 4; ++i) {
    u[4 * i] = static_cast<float>(t[i][0]);
    u[4 * i + 1] = static_cast<float>(0.5 * (t[i][0] + t[i][1] + t[i][2]));
    u[4 * i + 2] = static_cast<float>(0.5 * (t[i][0] - t[i][1] + t[i][2]));
    u[4 * i + 3] = static_cast<float>(t[i][2]);
  }
}

// Floats from one position's rows to the next in the scratch: a pass's rows plus one cache line,
// so that the 16 streams a transform reads or writes are not a whole number of 4 KB pages apart
// (64 tiles of 16 channels would be), where they would all fall into the same L1 sets.
size_t PositionStride(int32_t tiles, int32_t channels) {
  return static_cast<size_t>(tiles) * channels + 16;
}

}  // namespace

bool F32WinogradPlan::Applies(const ConvGeometry& g) {
  return g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 &&
         g.dilation_h == 1 && g.dilation_w == 1 && g.in_c >= 8 && g.out_c >= 8 && g.out_h >= 2 &&
         g.out_w >= 2;
}

size_t F32WinogradPlan::TaskScratchFloats() const {
  return kPositions *
         (PositionStride(block_tiles_, g_.in_c) + PositionStride(block_tiles_, g_.out_c));
}

void F32WinogradPlan::Prepare(KernelContext& ctx, const ConvGeometry& g, const FloatFilter& f) {
  g_ = g;
  const F32GemmKernelInfo* k = Microkernels().f32_gemm;
  fn_ = k->fn;
  mr_ = std::min(k->mr, kMaxMr);
  name_ = std::string("winograd_2x2_3x3+") + k->name;
  params_ = {f.act_min, f.act_max};
  const size_t in_c = static_cast<size_t>(g.in_c), out_c = static_cast<size_t>(g.out_c);
  bias_.assign(out_c, 0.0f);
  if (f.bias != nullptr) std::copy(f.bias, f.bias + out_c, bias_.begin());
  zero_.assign(in_c, 0.0f);
  packed_stride_ = (out_c + k->nr - 1) / k->nr * k->nr * (1 + in_c);  // PackF32Gemm, ks = 1
  packed_ = Shared<std::vector<float>>(ctx, name_, [&] {
    // u[p][co][ci]: position p of the transformed filter of channels (co, ci).
    std::vector<float> u(kPositions * out_c * in_c);
    for (size_t co = 0; co < out_c; ++co) {
      for (size_t ci = 0; ci < in_c; ++ci) {
        double taps[9];
        for (int t = 0; t < 9; ++t) taps[t] = f.weights[(co * 9 + t) * in_c + ci];
        float tile[kPositions];
        FilterTransform(taps, tile);
        for (int p = 0; p < kPositions; ++p) u[(p * out_c + co) * in_c + ci] = tile[p];
      }
    }
    std::vector<float> all;
    all.reserve(packed_stride_ * kPositions);
    for (int p = 0; p < kPositions; ++p) {
      const std::vector<float> one =
          PackF32Gemm(k->nr, out_c, 1, in_c, u.data() + p * out_c * in_c, nullptr);
      all.insert(all.end(), one.begin(), one.end());
    }
    return all;
  });
  tiles_h_ = (g.out_h + 1) / 2;
  tiles_w_ = (g.out_w + 1) / 2;
  const size_t per_tile = kPositions * (in_c + out_c) * sizeof(float);
  const int32_t fit = static_cast<int32_t>(std::min<size_t>(kPassBytes / per_tile, kMaxPassTiles));
  block_tiles_ = std::max(mr_, fit / mr_ * mr_);
  // Few, large tasks (a pass is already hundreds of thousands of multiply-adds), and one when
  // there is no pool: the scratch is per task.
  max_tasks_ = MaxTasks(ctx) > 1 ? 2 * MaxTasks(ctx) : 1;
  scratch_ = ctx.RequestScratch(TaskScratchFloats() * sizeof(float) * max_tasks_);
}

void F32WinogradPlan::Run(const KernelContext& ctx, const float* input, float* output) const {
  const int64_t tiles_per_image = static_cast<int64_t>(tiles_h_) * tiles_w_;
  const int64_t tiles = tiles_per_image * g_.batch;
  // With threads, passes small enough for every thread to get two (down to one GEMM row block
  // each): a small layer is a single pass of block_tiles_.
  const int threads = ctx.thread_pool() != nullptr ? ctx.thread_pool()->num_threads() : 1;
  int32_t pass_tiles = block_tiles_;
  if (threads > 1) {
    const int64_t share = (tiles + 2 * threads - 1) / (2 * threads);
    pass_tiles = static_cast<int32_t>(
        std::min<int64_t>(block_tiles_, std::max<int64_t>(mr_, (share + mr_ - 1) / mr_ * mr_)));
  }
  const int64_t passes = (tiles + pass_tiles - 1) / pass_tiles;
  const size_t in_c = static_cast<size_t>(g_.in_c), out_c = static_cast<size_t>(g_.out_c);
  const int tasks = Tasks(ctx.thread_pool(), passes,
                          tiles * kPositions * static_cast<int64_t>(in_c * out_c), max_tasks_);
  float* scratch = static_cast<float*>(ctx.scratch(scratch_));
  const size_t image_floats = static_cast<size_t>(g_.in_h) * g_.in_w * in_c;
  const size_t out_image_floats = static_cast<size_t>(g_.out_h) * g_.out_w * out_c;
  const F32MinMax unbounded = {-INFINITY, INFINITY};
  const size_t v_stride = PositionStride(block_tiles_, g_.in_c);
  const size_t m_stride = PositionStride(block_tiles_, g_.out_c);
  ParallelFor(ctx.thread_pool(), tasks, [&](int t) {
    float* v = scratch + TaskScratchFloats() * t;  // [p][tile][in_c], positions v_stride apart
    float* m = v + kPositions * v_stride;          // [p][tile][out_c], m_stride apart
    for (int64_t pass = passes * t / tasks; pass < passes * (t + 1) / tasks; ++pass) {
      const int64_t tile0 = pass * pass_tiles;
      const int32_t count = static_cast<int32_t>(std::min<int64_t>(pass_tiles, tiles - tile0));
      // Where tile i of the pass lies: its image, and its top-left output pixel.
      auto locate = [&](int32_t i, int64_t* b, int32_t* oy, int32_t* ox) {
        const int64_t tile = tile0 + i;
        *b = tile / tiles_per_image;
        const int32_t r = static_cast<int32_t>(tile % tiles_per_image);
        *oy = r / tiles_w_ * 2;
        *ox = r % tiles_w_ * 2;
      };
      for (int32_t i = 0; i < count; ++i) {
        int64_t b;
        int32_t oy, ox;
        locate(i, &b, &oy, &ox);
        const float* image = input + image_floats * b;
        const float* d[kPositions];
        for (int y = 0; y < 4; ++y) {
          const int32_t iy = oy - g_.pad_top + y;
          for (int x = 0; x < 4; ++x) {
            const int32_t ix = ox - g_.pad_left + x;
            d[4 * y + x] = iy >= 0 && iy < g_.in_h && ix >= 0 && ix < g_.in_w
                               ? image + (static_cast<size_t>(iy) * g_.in_w + ix) * in_c
                               : zero_.data();
          }
        }
        float* out[kPositions];
        for (int p = 0; p < kPositions; ++p) {
          out[p] = v + v_stride * p + i * in_c;
        }
        size_t c = 0;
        for (; c + 4 <= in_c; c += 4) InputTransform<F32x4>(d, c, out);
        for (; c < in_c; ++c) InputTransform<float>(d, c, out);
      }
      const float* rows[kMaxMr];
      F32Window windows[kMaxMr];
      for (int r = 0; r < kMaxMr; ++r) windows[r] = &rows[r];
      for (int p = 0; p < kPositions; ++p) {
        const float* packed = packed_->data() + packed_stride_ * p;
        const float* vp = v + v_stride * p;
        float* mp = m + m_stride * p;
        for (int32_t i = 0; i < count; i += mr_) {
          const size_t n = static_cast<size_t>(std::min(mr_, count - i));
          for (size_t r = 0; r < n; ++r) rows[r] = vp + (i + r) * in_c;
          fn_(n, out_c, in_c, 1, windows, packed, mp + i * out_c, out_c, &unbounded);
        }
      }
      for (int32_t i = 0; i < count; ++i) {
        int64_t b;
        int32_t oy, ox;
        locate(i, &b, &oy, &ox);
        float* y[4];
        for (int r = 0; r < 2; ++r) {
          for (int s = 0; s < 2; ++s) {
            y[2 * r + s] = oy + r < g_.out_h && ox + s < g_.out_w
                               ? output + out_image_floats * b +
                                     (static_cast<size_t>(oy + r) * g_.out_w + ox + s) * out_c
                               : nullptr;
          }
        }
        const float* mm[kPositions];
        for (int p = 0; p < kPositions; ++p) {
          mm[p] = m + m_stride * p + i * out_c;
        }
        size_t c = 0;
        for (; c + 4 <= out_c; c += 4) OutputTransform<F32x4>(mm, c, bias_.data(), params_, y);
        for (; c < out_c; ++c) OutputTransform<float>(mm, c, bias_.data(), params_, y);
      }
    }
  });
}

}  // namespace wisp
