#include "native/server/model_engine.h"
#include "native/server/server.h"

int main(int argc, char** argv) {
  return wisp::server::RunServerMain(argc, argv, wisp::server::MakeDefaultModelEngine());
}
