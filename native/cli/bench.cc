#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "native/cli/commands.h"
#include "native/cli/inputs.h"
#include "native/cli/model_file.h"
#include "native/cli/output_format.h"
#include "native/platform/thread_pool.h"
#include "runtime/interpreter/interpreter.h"
#include "runtime/interpreter/profile.h"
#include "runtime/kernels/microkernels/config.h"

namespace wisp::cli {
namespace {

struct BenchArgs {
  std::string model;
  int runs = 50;
  int warmup = 5;
  int threads = 1;
  bool reference = false;
  bool json = false;
  bool profile = false;
};

int RunBench(const BenchArgs& args) {
  const auto load0 = std::chrono::steady_clock::now();
  auto loaded = LoadModelFile(args.model, false);
  if (!loaded.ok()) return Fail(loaded.status().message());
  std::unique_ptr<NativeThreadPool> pool;
  InterpreterOptions options;
  options.kernels.reference_only = args.reference;
  if (args.threads > 1) {
    pool = std::make_unique<NativeThreadPool>(args.threads);
    options.thread_pool = pool.get();
  }
  auto interp = Interpreter::Create(*loaded, options);
  if (!interp.ok()) return Fail(interp.status().message());
  const auto load1 = std::chrono::steady_clock::now();

  InputSpec spec;
  spec.seed = 1;
  auto inputs = BuildInputs(**loaded, spec);
  if (!inputs.ok()) return Fail(inputs.status().message());
  for (size_t i = 0; i < inputs->size(); ++i) {
    Status s = (*interp)->SetInput(i, (*inputs)[i].data(), (*inputs)[i].size());
    if (!s.ok()) return Fail(s.message());
  }
  for (int i = 0; i < args.warmup; ++i) {
    Status s = (*interp)->Invoke();
    if (!s.ok()) return Fail(s.message());
  }
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(args.runs));
  for (int i = 0; i < args.runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    Status s = (*interp)->Invoke();
    const auto t1 = std::chrono::steady_clock::now();
    if (!s.ok()) return Fail(s.message());
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  if (args.profile) {
    // A separate pass, so the clock reads between operators do not bias the latency above.
    (*interp)->SetProfiling(true);
    for (int i = 0; i < args.runs; ++i) {
      Status s = (*interp)->Invoke();
      if (!s.ok()) return Fail(s.message());
    }
  }
  std::sort(ms.begin(), ms.end());
  const double median =
      ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  const double load_ms = std::chrono::duration<double, std::milli>(load1 - load0).count();
  if (args.json) {
    const std::string profile =
        args.profile ? ",\"profile\":" + ProfileJson(ProfileRows(**interp), args.runs) : "";
    std::printf(
        "{\"model\":\"%s\",\"runs\":%d,\"threads\":%d,\"isa\":\"%s\",\"median_ms\":%.4f,"
        "\"min_ms\":%.4f,\"max_ms\":%.4f,\"load_ms\":%.3f,\"arena_bytes\":%zu,"
        "\"peak_rss_kib\":%ld%s}\n",
        args.model.c_str(), args.runs, args.threads, Microkernels().isa.c_str(), median, ms.front(),
        ms.back(), load_ms, (*interp)->arena_bytes(), usage.ru_maxrss, profile.c_str());
  } else {
    std::printf("model        %s\n", args.model.c_str());
    std::printf("runs         %d (after %d warm-up), threads %d%s\n", args.runs, args.warmup,
                args.threads, args.reference ? ", reference kernels" : "");
    std::printf("microkernels %s\n", IsaLine().c_str());
    std::printf("latency ms   median %.3f   min %.3f   max %.3f\n", median, ms.front(), ms.back());
    std::printf("load+prepare %.1f ms\n", load_ms);
    std::printf("arena        %zu bytes\n", (*interp)->arena_bytes());
    std::printf("peak RSS     %ld KiB\n", usage.ru_maxrss);
    if (args.profile) {
      std::printf("\nper operator (mean of %d profiled runs, sorted by time):\n", args.runs);
      std::fputs(ProfileTable(ProfileRows(**interp)).c_str(), stdout);
    }
  }
  return 0;
}

}  // namespace

void AddBenchCommand(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure invoke latency, arena and peak memory");
  cmd->add_option("model", args->model, ".wisp or .tflite")->required()->check(CLI::ExistingFile);
  cmd->add_option("--runs", args->runs, "timed runs")->check(CLI::Range(1, 1000000));
  cmd->add_option("--warmup", args->warmup, "untimed runs first")->check(CLI::Range(0, 100000));
  cmd->add_option("--threads", args->threads, "worker threads")->check(CLI::Range(1, 256));
  cmd->add_flag("--reference", args->reference, "use only the reference kernels");
  cmd->add_flag("--json", args->json, "one JSON line");
  cmd->add_flag("--profile", args->profile,
                "per-operator table: op, type, shape, microkernel, time, share");
  cmd->callback([args] { ExitCode() = RunBench(*args); });
}

}  // namespace wisp::cli
