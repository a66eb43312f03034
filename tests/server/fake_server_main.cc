// TEST-ONLY: the real wisp-server program (flags, signals, storage, HTTP) with FakeModelEngine in
// place of the runtime. Used by tests that need a separate process (kill -9, SIGTERM).
#include <memory>

#include "native/server/server.h"
#include "tests/server/fake_model_engine.h"

int main(int argc, char** argv) {
  return wisp::server::RunServerMain(argc, argv,
                                     std::make_unique<wisp::server::testing::FakeModelEngine>());
}
