// Shared by the Node and the in-page benchmark: median latency of model.run() on one golden input.
import { Wisp } from '../src/wisp.mjs';

export async function benchModel({ modelSource, input, threads, warmup = 3, minRuns = 10, maxRuns = 200, minMs = 2000, maxMs = 30000 }) {
  const t0 = performance.now();
  const rt = await Wisp.create({ threads });
  const initMs = performance.now() - t0;
  try {
    const t1 = performance.now();
    const model = await rt.load(modelSource);
    const loadMs = performance.now() - t1;
    for (let i = 0; i < warmup; i++) await model.run(input);
    const times = [];
    const start = performance.now();
    while (times.length < maxRuns && (times.length < minRuns || performance.now() - start < minMs) && performance.now() - start < maxMs) {
      const a = performance.now();
      await model.run(input);
      times.push(performance.now() - a);
    }
    times.sort((x, y) => x - y);
    const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
    model.dispose();
    return {
      variant: rt.variant.name, numThreads: rt.variant.numThreads, fallback: rt.variant.fallback,
      initMs, loadMs, runs: times.length,
      median: times.length % 2 ? times[times.length >> 1] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2,
      min: times[0], max: times.at(-1), p90: q(0.9),
    };
  } finally {
    rt.dispose();
  }
}

// Per-operator profile (model.profile) of one model on one input, after warm-up runs. The engine
// compiles lazily with its baseline tier and optimizes hot functions in the background, which
// takes a second or two: warm up by time, not by count.
export async function profileModel({ modelSource, input, threads = 1, simd = 'auto', isa, runs = 30, warmupMs = 2500 }) {
  const rt = await Wisp.create({ threads, simd, isa });
  try {
    const model = await rt.load(modelSource);
    const t0 = performance.now();
    for (let i = 0; i < 10000 && (i < 10 || performance.now() - t0 < warmupMs); i++) model.runSync(input);
    const profile = await model.profile({ inputs: input, runs });
    model.dispose();
    return { variant: rt.variant.name, isa: rt.variant.isa, numThreads: rt.variant.numThreads, ...profile };
  } finally {
    rt.dispose();
  }
}
