// Every golden case in the shared manifest, run through the built package in Node (the
// single-threaded variant): the same criteria as the native golden test, with the exact-match
// figure printed per case. Set WISP_GOLDEN_THREADS=2 to run them on the threaded variant.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Wisp } from '../../src/node.mjs';
import { SHARED, haveShared, loadManifest, readTensor, compareOutput, argmax } from '../shared.mjs';

const threads = Number(process.env.WISP_GOLDEN_THREADS || 1);
const only = process.env.WISP_GOLDEN_ONLY ? process.env.WISP_GOLDEN_ONLY.split(',') : null;

if (!haveShared()) {
  test('golden cases', { skip: `no shared data at ${SHARED} (set WISP_SHARED)` }, () => {});
} else {
  const manifest = loadManifest();
  const cases = manifest.cases.filter((c) => !only || only.some((o) => c.id.startsWith(o)));
  const rt = await Wisp.create({ threads });
  after(() => rt.dispose());
  const models = new Map();  // model path -> Promise<Model>, loaded once, disposed after its last case
  const remaining = new Map();
  for (const c of cases) remaining.set(c.model, (remaining.get(c.model) ?? 0) + 1);

  test('manifest has cases', () => assert.ok(manifest.cases.length >= 14, `${manifest.cases.length} cases`));

  for (const c of cases) {
    test(c.id, { timeout: 600000 }, async (t) => {
      try {
        if (!models.has(c.model)) {
          const name = path.basename(c.model).replace(/\.tflite$/, '');
          // keepState: the reference golden of a stateful model (LSTM) was taken after warm-up runs of
          // a TFLite interpreter, which carries state between invokes; run until the output is steady.
          models.set(c.model, rt.load(path.join(SHARED, c.model), { name, keepState: true }));
        }
        const model = await models.get(c.model);
        assert.equal(model.inputs.length, c.inputs.length, 'number of inputs');
        const inputs = c.inputs.map((g, i) => {
          assert.equal(model.inputs[i].dtype, g.dtype, `input ${i} dtype`);
          assert.deepEqual(model.inputs[i].shape, g.shape, `input ${i} shape`);
          return readTensor(g.file, g.dtype);
        });
        let outputs = await model.run(inputs);
        for (let run = 0; run < 20; run++) {
          const again = await model.run(inputs);
          const same = again.every((o, i) => Buffer.compare(Buffer.from(o.data.buffer, o.data.byteOffset, o.data.byteLength),
            Buffer.from(outputs[i].data.buffer, outputs[i].data.byteOffset, outputs[i].data.byteLength)) === 0);
          outputs = again;
          if (same) break;
        }
        assert.equal(outputs.length, c.outputs.length, 'number of outputs');
        const failures = [];
        c.outputs.forEach((g, o) => {
          const out = outputs[o];
          assert.equal(out.dtype, g.dtype, `output ${o} dtype`);
          const golden = readTensor(g.file, g.dtype);
          assert.equal(out.data.length, golden.length, `output ${o} element count`);
          const r = compareOutput(out.data, golden, g.dtype);
          const line = `[golden] ${c.id.padEnd(48)} out${o} ${g.dtype.padEnd(7)} ${String(r.exact).padStart(7)}/${String(r.n).padEnd(7)} exact (${(100 * r.exact / r.n).toFixed(2).padStart(6)}%)  max|diff| ${r.maxAbs.toPrecision(3)}`;
          t.diagnostic(line);
          if (!r.ok) failures.push(`${c.id} output ${o}: ${r.why}`);
          if (c.top5 && o === 0) {
            const top1 = argmax(out.data);
            if (top1 !== c.top5[0].index) failures.push(`${c.id}: top-1 ${top1} != golden ${c.top5[0].index}`);
          }
        });
        assert.deepEqual(failures, []);
      } finally {
        const left = remaining.get(c.model) - 1;
        remaining.set(c.model, left);
        if (left === 0 && models.has(c.model)) {
          models.get(c.model).then((m) => m.dispose(), () => {});
          models.delete(c.model);
        }
      }
    });
  }
}
