#!/usr/bin/env bash
# Installs the build into a fresh prefix, builds examples/cpp_find_package against it from a
# fresh folder (nothing of the source or build tree on its include path: only find_package), and
# runs it on a shared model. Usage: find_package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
src="$2"
shared="${WISP_SHARED:?WISP_SHARED must name the shared data folder}"
tmp="$(mktemp -d /tmp/wisp_find_package_XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
for f in lib/cmake/Wisp/WispConfig.cmake lib/cmake/Wisp/WispConfigVersion.cmake \
         include/wisp/runtime/api/load_model.h include/wisp/schemas/wisp_generated.h bin/wisp; do
  [[ -e "$tmp/prefix/$f" ]] || { echo "FAIL: $f is not installed"; exit 1; }
done

# A copy of the example, so the project cannot reach the repository by a relative path.
cp -r "$src/examples/cpp_find_package" "$tmp/example"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$tmp/example" -B "$tmp/example/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/configure.log" ||
  { cat "$tmp/configure.log"; echo "FAIL: configuring the example against the install"; exit 1; }
cmake --build "$tmp/example/build" >"$tmp/build.log" ||
  { cat "$tmp/build.log"; echo "FAIL: building the example against the install"; exit 1; }

# The client component: Wisp::client links with its own dependencies (Boost, OpenSSL, zlib).
mkdir -p "$tmp/client"
cat >"$tmp/client/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.22)
project(client_use LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(Wisp 0.1 REQUIRED COMPONENTS client)
add_executable(client_use main.cc)
target_link_libraries(client_use PRIVATE Wisp::client)
CMAKE
cat >"$tmp/client/main.cc" <<'CC'
#include <cstdio>
#include "native/client/client.h"
int main() {
  auto parsed = wisp::client::ServerUrl::Parse("https://models.example:8443/r");
  if (!parsed.ok()) return 1;
  const wisp::client::ServerUrl& url = parsed.value();
  std::printf("%s %s %s\n", url.host.c_str(), url.port.c_str(), url.base_path.c_str());
  return 0;
}
CC
{ cmake -S "$tmp/client" -B "$tmp/client/build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$tmp/prefix" &&
  cmake --build "$tmp/client/build"; } >"$tmp/client.log" 2>&1 ||
  { cat "$tmp/client.log"; echo "FAIL: building against Wisp::client"; exit 1; }
[[ "$("$tmp/client/build/client_use")" == "models.example 8443 /r" ]] ||
  { echo "FAIL: Wisp::client example printed something else"; exit 1; }

# A version the package is not compatible with must be refused by the version file.
mkdir -p "$tmp/too_new"
cat >"$tmp/too_new/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.22)
project(too_new LANGUAGES CXX)
find_package(Wisp 9.0 REQUIRED)
CMAKE
if cmake -S "$tmp/too_new" -B "$tmp/too_new/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
     >"$tmp/too_new.log" 2>&1; then
  echo "FAIL: find_package(Wisp 9.0) accepted version $(cat "$tmp/prefix/lib/cmake/Wisp/WispConfigVersion.cmake" | grep -m1 PACKAGE_VERSION)"
  exit 1
fi

# mobilenet_v1_0.25_128 (uint8, 1001 classes) on the golden cat input: the top class and its
# probability must be the golden output's (argmax of its bytes, lowest index on ties; scale 1/256).
golden="$shared/goldens/mobilenet_v1_0.25_128_quant/cat"
out="$("$tmp/example/build/wisp_example" "$shared/models/mobilenet_v1_0.25_128_quant.tflite" \
  "$golden.input0.bin")"
echo "$out"
want="$(od -An -tu1 -v -w1 "$golden.output0.bin" |
  awk '{ if (NR == 1 || $1 > max) { max = $1; at = NR - 1 } } END { printf "max %.6g at %d", max / 256, at }')"
[[ "$out" == "output 0 "*" uint8 [1,1001]: $want" ]] ||
  { echo "FAIL: expected output 0 ... uint8 [1,1001]: $want"; exit 1; }

# An error is a message naming the file and a non-zero exit, not a crash.
if "$tmp/example/build/wisp_example" "$tmp/missing.wisp" 2>"$tmp/err.txt"; then
  echo "FAIL: a missing model succeeded"; exit 1
fi
grep -q "missing.wisp" "$tmp/err.txt" || { cat "$tmp/err.txt"; echo "FAIL: error names no file"; exit 1; }
echo "PASS: find_package(Wisp) example built against $tmp/prefix and ran"
