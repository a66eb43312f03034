#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/util/sha256.h"

namespace wisp {
namespace {

std::string OpenSslSha256Hex(const uint8_t* data, size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EXPECT_EQ(EVP_Digest(data, size, digest, &length, EVP_sha256(), nullptr), 1);
  Sha256::Digest d{};
  for (unsigned int i = 0; i < length && i < d.size(); ++i) d[i] = digest[i];
  return DigestToHex(d);
}

// FIPS 180-2 / NIST example vectors.
TEST(Sha256, FipsVectors) {
  EXPECT_EQ(Sha256Hex(std::string("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(std::string("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex(std::string("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                                  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, MillionAsStreamed) {
  Sha256 hasher;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) hasher.Update(chunk.data(), chunk.size());
  EXPECT_EQ(DigestToHex(hasher.Final()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, MatchesOpenSslOnRandomBuffersOfManySizes) {
  std::mt19937 rng(42);
  std::vector<uint8_t> buffer(70000);
  for (uint8_t& b : buffer) b = static_cast<uint8_t>(rng());
  std::vector<size_t> sizes;
  for (size_t n = 0; n <= 260; ++n) sizes.push_back(n);  // every padding boundary case
  for (size_t n : {511, 512, 513, 1023, 1024, 4095, 4096, 65535, 65536, 70000}) sizes.push_back(n);
  for (int i = 0; i < 50; ++i) sizes.push_back(rng() % buffer.size());
  for (size_t n : sizes) {
    ASSERT_EQ(Sha256Hex(buffer.data(), n), OpenSslSha256Hex(buffer.data(), n)) << "size " << n;
  }
}

TEST(Sha256, StreamingInRandomPiecesEqualsOneShot) {
  std::mt19937 rng(3);
  std::vector<uint8_t> buffer(20000);
  for (uint8_t& b : buffer) b = static_cast<uint8_t>(rng());
  const std::string expected = OpenSslSha256Hex(buffer.data(), buffer.size());
  for (int trial = 0; trial < 20; ++trial) {
    Sha256 hasher;
    size_t pos = 0;
    while (pos < buffer.size()) {
      const size_t piece = std::min<size_t>(buffer.size() - pos, rng() % (trial < 10 ? 70 : 3000));
      hasher.Update(buffer.data() + pos, piece);
      pos += piece;
    }
    ASSERT_EQ(DigestToHex(hasher.Final()), expected) << "trial " << trial;
  }
}

TEST(Sha256, FinalResetsForReuse) {
  Sha256 hasher;
  hasher.Update("abc", 3);
  (void)hasher.Final();
  hasher.Update("abc", 3);
  EXPECT_EQ(DigestToHex(hasher.Final()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace wisp
