// The helpers the server shares with the client and the CLI: digests, signatures, gzip, times and
// the delta-update chunker (native/common) and files (native/platform), named unqualified in
// wisp::server.
#pragma once

#include "native/common/chunker.h"
#include "native/common/util.h"
#include "native/platform/file_io.h"

namespace wisp::server {

using common::Base64Decode;
using common::Base64Encode;
using common::Chunk;
using common::ChunkData;
using common::ConstantTimeEquals;
using common::ContentEtag;
using common::Ed25519Key;
using common::Ed25519Verify;
using common::FileDigest;
using common::GzipCompress;
using common::GzipDecompress;
using common::HashFile;
using common::HexDecode;
using common::HexEncode;
using common::IsValidUtf8;
using common::kChunkingAlgorithm;
using common::NowRfc3339;
using common::ParseDuration;
using common::ParseRfc3339;
using common::RandomHex;
using common::Rfc3339;
using common::Sha256Hex;
using common::Sha256Raw;
using common::Sha256Stream;

}  // namespace wisp::server
