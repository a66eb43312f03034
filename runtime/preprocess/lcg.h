// The golden manifest's `lcg_spec`: deterministic pseudo-random inputs for models whose input is
// not an image (keyword spotting, anomaly detection). Portable, no OS calls.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wisp {

// 32-bit linear congruential generator with the Numerical Recipes constants:
// s = (1664525 * s + 1013904223) mod 2^32. The state is advanced BEFORE each element is drawn
// and an element is the top byte of the new state, so element k uses the state after k+1 steps.
class Lcg32 {
 public:
  explicit Lcg32(uint32_t seed) : state_(seed) {}

  uint32_t NextState() {
    state_ = 1664525u * state_ + 1013904223u;  // unsigned wrap-around is the "mod 2^32"
    return state_;
  }
  uint8_t NextByte() { return static_cast<uint8_t>(NextState() >> 24); }
  uint32_t state() const { return state_; }

 private:
  uint32_t state_;
};

// uint8 tensors: q_k = b_k.
void FillLcgUint8(uint32_t seed, uint8_t* dst, size_t count);
// int8 tensors: q_k = b_k - 128.
void FillLcgInt8(uint32_t seed, int8_t* dst, size_t count);

// The float32 "twin" rule: x = float(q - zero_point) * scale, one float32 multiply of an exact
// integer (so it is bit-exact everywhere; no FMA can be contracted into it).
inline float DequantizeTwin(int32_t q, float scale, int32_t zero_point) {
  return static_cast<float>(q - zero_point) * scale;
}

// Float inputs of a float model whose int8 twin would have received FillLcgInt8(seed): the int8
// values dequantized with the twin's input (scale, zero_point).
void FillLcgFloatTwin(uint32_t seed, float scale, int32_t zero_point, float* dst, size_t count);

}  // namespace wisp
