// SHA-256 (FIPS 180-4), small and dependency-free so that the core can verify model and data
// digests in the WebAssembly build too, where OpenSSL is not available.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace wisp {

class Sha256 {
 public:
  static constexpr size_t kDigestSize = 32;
  using Digest = std::array<uint8_t, kDigestSize>;

  Sha256() { Reset(); }

  void Reset();
  // Feeds more message bytes; may be called any number of times with any sizes.
  void Update(const void* data, size_t size);
  // Pads, returns the digest and resets, so the object can hash another message.
  Digest Final();

 private:
  void Compress(const uint8_t* block);

  std::array<uint32_t, 8> state_{};
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;       // bytes waiting in buffer_ (< 64)
  uint64_t total_bytes_ = 0;  // message length so far
};

// Lower-case hexadecimal of a digest (64 characters).
std::string DigestToHex(const Sha256::Digest& digest);

// One-shot helpers.
Sha256::Digest Sha256Digest(const void* data, size_t size);
std::string Sha256Hex(const void* data, size_t size);
inline std::string Sha256Hex(const std::string& bytes) {
  return Sha256Hex(bytes.data(), bytes.size());
}
inline std::string Sha256Hex(const std::vector<uint8_t>& bytes) {
  return Sha256Hex(bytes.data(), bytes.size());
}

}  // namespace wisp
