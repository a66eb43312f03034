#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "native/cli/backend.h"
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
  std::string backend = "wisp";  // wisp, xnnpack or both
};

// One interpreter of the model on one backend, and its timings.
struct Side {
  std::string backend;
  std::unique_ptr<KernelProvider> provider;  // outlives interp (declared first)
  std::unique_ptr<Interpreter> interp;
  std::vector<double> ms;
  double median = 0;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

int RunBench(const BenchArgs& args) {
  const auto load0 = std::chrono::steady_clock::now();
  auto loaded = LoadModelFile(args.model, false);
  if (!loaded.ok()) return Fail(loaded.status().message());
  std::unique_ptr<NativeThreadPool> pool;
  if (args.threads > 1) pool = std::make_unique<NativeThreadPool>(args.threads);
  std::vector<std::string> backends = {args.backend};
  if (args.backend == "both") backends = {"wisp", "xnnpack"};
  if (args.reference && backends != std::vector<std::string>{"wisp"}) {
    return Fail("--reference runs Wisp's reference kernels: it takes no other --backend");
  }
  std::vector<Side> sides(backends.size());
  for (size_t b = 0; b < backends.size(); ++b) {
    Side& side = sides[b];
    side.backend = backends[b];
    auto provider = MakeBackend(side.backend, args.threads);
    if (!provider.ok()) return Fail(provider.status().message());
    side.provider = std::move(*provider);
    InterpreterOptions options;
    options.kernels.reference_only = args.reference;
    options.kernels.provider = side.provider.get();
    options.thread_pool = pool.get();
    auto interp = Interpreter::Create(*loaded, options);
    if (!interp.ok()) return Fail(interp.status().message());
    side.interp = std::move(*interp);
  }
  const auto load1 = std::chrono::steady_clock::now();

  InputSpec spec;
  spec.seed = 1;
  auto inputs = BuildInputs(**loaded, spec);
  if (!inputs.ok()) return Fail(inputs.status().message());
  for (Side& side : sides) {
    for (size_t i = 0; i < inputs->size(); ++i) {
      Status s = side.interp->SetInput(i, (*inputs)[i].data(), (*inputs)[i].size());
      if (!s.ok()) return Fail(s.message());
    }
    for (int i = 0; i < args.warmup; ++i) {
      Status s = side.interp->Invoke();
      if (!s.ok()) return Fail(s.message());
    }
    side.ms.reserve(static_cast<size_t>(args.runs));
  }
  // With two backends the runs alternate, so that a noisy neighbour slows both alike.
  for (int i = 0; i < args.runs; ++i) {
    for (Side& side : sides) {
      const auto t0 = std::chrono::steady_clock::now();
      Status s = side.interp->Invoke();
      const auto t1 = std::chrono::steady_clock::now();
      if (!s.ok()) return Fail(s.message());
      side.ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
  }
  // Both backends must compute the same outputs bit for bit (on this random input).
  bool identical = true;
  for (size_t o = 0; o < sides[0].interp->num_outputs(); ++o) {
    for (const Side& side : sides) {
      identical &= std::memcmp(side.interp->output_data(o), sides[0].interp->output_data(o),
                               side.interp->output(o).bytes) == 0;
    }
  }
  if (args.profile) {
    // A separate pass, so the clock reads between operators do not bias the latency above.
    for (Side& side : sides) {
      side.interp->SetProfiling(true);
      for (int i = 0; i < args.runs; ++i) {
        Status s = side.interp->Invoke();
        if (!s.ok()) return Fail(s.message());
      }
    }
  }
  for (Side& side : sides) {
    side.median = Median(side.ms);
    std::sort(side.ms.begin(), side.ms.end());
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  const double load_ms = std::chrono::duration<double, std::milli>(load1 - load0).count();
  if (args.json) {
    // One line per backend; with two, the second also carries its ratio to the first.
    for (const Side& side : sides) {
      const Interpreter& it = *side.interp;
      const std::string profile =
          args.profile ? ",\"profile\":" + ProfileJson(ProfileRows(it), args.runs) : "";
      const std::string ratio =
          &side != &sides[0] ? StrFormat(",\"ratio_to_%s\":%.4f,\"outputs_identical\":%s",
                                         sides[0].backend.c_str(), side.median / sides[0].median,
                                         identical ? "true" : "false")
                             : "";
      std::printf(
          "{\"model\":\"%s\",\"runs\":%d,\"threads\":%d,\"isa\":\"%s\",\"backend\":\"%s\","
          "\"ops\":%zu,\"ops_on_backend\":%zu,\"median_ms\":%.4f,\"min_ms\":%.4f,"
          "\"max_ms\":%.4f,\"load_ms\":%.3f,\"arena_bytes\":%zu,\"peak_rss_kib\":%ld%s%s}\n",
          args.model.c_str(), args.runs, args.threads, Microkernels().isa.c_str(),
          side.backend.c_str(), it.model().operators().size(),
          side.backend == "wisp" ? it.model().operators().size()
                                 : it.num_ops_on_backend(side.backend.c_str()),
          side.median, side.ms.front(), side.ms.back(), load_ms, it.arena_bytes(), usage.ru_maxrss,
          ratio.c_str(), profile.c_str());
    }
    return 0;
  }
  std::printf("model        %s\n", args.model.c_str());
  std::printf("runs         %d (after %d warm-up)%s, threads %d%s\n", args.runs, args.warmup,
              sides.size() > 1 ? " per backend, alternating" : "", args.threads,
              args.reference ? ", reference kernels" : "");
  std::printf("microkernels %s\n", IsaLine().c_str());
  for (const Side& side : sides) {
    std::printf("backend      %s\n", BackendSummary(*side.interp, side.backend).c_str());
    std::printf("latency ms   %-8s median %.3f   min %.3f   max %.3f\n", side.backend.c_str(),
                side.median, side.ms.front(), side.ms.back());
  }
  if (sides.size() > 1) {
    std::printf("ratio        %s / %s median %.3f\n", sides[1].backend.c_str(),
                sides[0].backend.c_str(), sides[1].median / sides[0].median);
    std::printf("outputs      %s\n",
                identical ? "identical on both backends" : "DIFFER between the backends");
  }
  std::printf("load+prepare %.1f ms\n", load_ms);
  for (const Side& side : sides) {
    std::printf("arena        %zu bytes%s%s\n", side.interp->arena_bytes(),
                sides.size() > 1 ? " " : "", sides.size() > 1 ? side.backend.c_str() : "");
  }
  std::printf("peak RSS     %ld KiB\n", usage.ru_maxrss);
  if (args.profile) {
    for (const Side& side : sides) {
      std::printf("\nper operator on %s (mean of %d profiled runs, sorted by time):\n",
                  side.backend.c_str(), args.runs);
      std::fputs(ProfileTable(ProfileRows(*side.interp)).c_str(), stdout);
    }
  }
  return identical ? 0 : Fail("the backends' outputs differ");
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
  // xnnpack is accepted even when not built, so that MakeBackend can say why it is missing.
  cmd->add_option("--backend", args->backend,
                  "kernels: wisp, xnnpack (built with WISP_XNNPACK), or both, alternating")
      ->check(CLI::IsMember({"wisp", "xnnpack", "both"}));
  cmd->add_flag("--profile", args->profile,
                "per-operator table: op, type, shape, microkernel, time, share");
  cmd->callback([args] { ExitCode() = RunBench(*args); });
}

}  // namespace wisp::cli
