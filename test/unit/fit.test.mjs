// The fit search of lib/fit.ts (GPU layers and the projector under a GPU budget, the context under
// memoryLimit), driven by a fake addon whose estimateMemory stands in for llama.cpp's dry run with
// made-up, slightly nonlinear figures. No addon, no GPU.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InsufficientMemoryError } from '../../dist/errors.js';
import { deviceUse, GPU_RESERVE, isGpu, MIN_FIT_CONTEXT, placement, planLoad } from '../../dist/fit.js';

const MB = 1e6;
const SLACK = 2 ** 20; // the headroom fit.ts keeps under every limit
const LAYERS = 30;

/**
 * A model of LAYERS repeating layers and an output layer, on one GPU (when the load uses it) and
 * the CPU. Not quite linear in the layer count: the output layer is bigger, the GPU's compute
 * buffers grow in steps, and a split model needs larger host compute buffers; KV memory is linear
 * in the context, compute grows in small steps (`concave`: compute grows fast up to 2048 tokens, then
 * not at all; `stepped`: compute grows by 150 MB at every 1024 tokens, as large graphs' buffers can).
 */
function fakeAddon({ free = 1500 * MB, type = 'gpu', projector = 200 * MB, linear = false, concave = false, stepped = false } = {}) {
  const calls = [];
  const addon = {
    calls,
    async estimateMemory(load, engine) {
      calls.push({ load: { ...load }, engine: { ...engine } });
      const ctx = engine.contextSize ?? 4096;
      const onGpu = load.useGpu !== false;
      const n = !onGpu ? 0 : load.gpuLayers === -1 ? LAYERS + 1 : load.gpuLayers;
      const repeating = Math.min(n, LAYERS);
      const output = linear ? 10 * MB : 60 * MB;
      const weights = repeating * 10 * MB + (n > LAYERS ? output : 0);
      const kv = (layers) => layers * ctx * 2048;
      // a model split between GPU and CPU needs larger host compute buffers
      const split = onGpu && n <= LAYERS;
      const gpuCompute = linear ? 100 * MB : 100 * MB + Math.floor(n / 8) * 3 * MB;
      const gpu = { device: 'GPU0', type, model: weights, context: kv(repeating), compute: onGpu ? gpuCompute : 0, free, total: 2000 * MB };
      const cpu = {
        device: 'CPU', type: 'cpu', model: LAYERS * 10 * MB + output - weights, context: kv(LAYERS - repeating),
        compute: 50 * MB + (linear ? 0 : Math.ceil(ctx / 1024) * MB + (split ? 40 * MB : 0)) + (concave ? Math.min(ctx, 2048) * 40_000 : 0) +
          (stepped ? Math.floor(ctx / 1024) * 150 * MB : 0),
        free: 1e12, total: 1e12,
      };
      const devices = onGpu ? [gpu, cpu] : [cpu];
      const proj = load.mmproj ? [{ ...(onGpu && load.mmprojGpu !== false ? gpu : cpu), model: projector, context: 0, compute: 0 }] : [];
      return { devices, projector: proj, lora: 0, layers: LAYERS };
    },
  };
  return addon;
}

/** What the fake puts on the GPU, and in all, for a load. */
async function usage(load, engine = { contextSize: 2048 }, opts) {
  const r = await fakeAddon(opts).estimateMemory(load, engine);
  const total = r.devices.reduce((a, d) => a + d.model + d.context + d.compute, 0) + r.projector.reduce((a, d) => a + d.model, 0);
  return { gpu: deviceUse(r, 'GPU0'), total };
}

const layersOf = (load) => (load.useGpu === false ? 0 : load.gpuLayers === -1 ? LAYERS + 1 : load.gpuLayers);
const LOAD = { model: 'm.gguf', mmproj: 'p.gguf', gpuLayers: -1, mmprojGpu: true };
const ENGINE = { contextSize: 2048 };

describe('placement and device use', () => {
  test('placement: layers on the GPU (output layer counted) and where the projector goes', () => {
    assert.deepEqual(placement({ gpuLayers: -1, mmproj: 'p' }, 30, true), { gpuLayers: 31, projectorOnGpu: true });
    assert.deepEqual(placement({ gpuLayers: 12, mmproj: 'p' }, 30, true), { gpuLayers: 12, projectorOnGpu: true });
    assert.deepEqual(placement({ gpuLayers: 99 }, 30, true), { gpuLayers: 31, projectorOnGpu: false }, 'clamped; no projector');
    assert.deepEqual(placement({ gpuLayers: -5, mmproj: 'p' }, 30, true), { gpuLayers: 0, projectorOnGpu: true });
    assert.deepEqual(placement({ mmproj: 'p' }, 30, true), { gpuLayers: 0, projectorOnGpu: true });
    assert.deepEqual(placement({ gpuLayers: -1, mmproj: 'p', mmprojGpu: false }, 30, true), { gpuLayers: 31, projectorOnGpu: false });
    assert.deepEqual(placement({ gpuLayers: -1, mmproj: 'p', useGpu: false }, 30, true), { gpuLayers: 0, projectorOnGpu: false });
    assert.deepEqual(placement({ gpuLayers: -1, mmproj: 'p' }, 30, false), { gpuLayers: 0, projectorOnGpu: false }, 'no GPU present');
  });

  test('isGpu and deviceUse', () => {
    assert.deepEqual(['gpu', 'igpu', 'accel', 'cpu'].map((type) => isGpu({ type })), [true, true, false, false]);
    const est = {
      devices: [{ device: 'GPU0', model: 5, context: 7, compute: 11 }, { device: 'CPU', model: 100, context: 100, compute: 100 }],
      projector: [{ device: 'GPU0', model: 13, context: 999, compute: 999 }],
    };
    assert.equal(deviceUse(est, 'GPU0'), 5 + 7 + 11 + 13, 'the projector counts with its weights and compute in `model`');
    assert.equal(deviceUse(est, 'CPU'), 300);
    assert.equal(deviceUse(est, 'GPU1'), 0);
  });
});

describe('GPU layers under a budget', () => {
  test('the largest count that fits, one more does not, for any budget; few dry runs', async () => {
    for (let budget = 50 * MB; budget <= 800 * MB; budget += 7 * MB) {
      const addon = fakeAddon();
      const plan = await planLoad(addon, LOAD, ENGINE, { gpu: { memory: budget, reserve: 0 } });
      const limit = budget - SLACK;
      const at = `at ${budget / MB} MB`;
      assert.ok(addon.calls.length <= 12, `${addon.calls.length} dry runs ${at}`);
      assert.deepEqual(plan.estimate, await planLoad(fakeAddon(), plan.load, ENGINE, {}).then((p) => p.estimate), `the plan's estimate is its dry run ${at}`);
      if (plan.load.useGpu === false) {
        assert.ok((await usage({ ...LOAD, gpuLayers: 0, mmprojGpu: false })).gpu > limit, `CPU only ${at} though no layer would fit`);
        assert.deepEqual([plan.load.gpuLayers, plan.load.mmprojGpu], [0, false]);
        continue;
      }
      const chosen = layersOf(plan.load);
      const here = { ...LOAD, gpuLayers: chosen, mmprojGpu: plan.load.mmprojGpu };
      assert.ok((await usage(here)).gpu <= limit, `fits ${at}`);
      if (chosen <= LAYERS) assert.ok((await usage({ ...here, gpuLayers: chosen + 1 })).gpu > limit, `largest ${at}: ${chosen}`);
    }
  });

  test('the projector leaves the GPU only when it does not fit even with no layer', async () => {
    for (let budget = 80 * MB; budget <= 800 * MB; budget += 11 * MB) {
      const plan = await planLoad(fakeAddon(), LOAD, ENGINE, { gpu: { memory: budget, reserve: 0 } });
      if (plan.load.useGpu === false) continue;
      const projectorFits = (await usage({ ...LOAD, gpuLayers: 0 })).gpu <= budget - SLACK;
      assert.equal(plan.load.mmprojGpu, projectorFits, `at ${budget / MB} MB`);
    }
    // 250 MB: compute (100) + projector (200) do not fit, compute and some layers do
    const tight = await planLoad(fakeAddon(), LOAD, ENGINE, { gpu: { memory: 250 * MB, reserve: 0 } });
    assert.equal(tight.load.mmprojGpu, false);
    assert.ok(tight.load.gpuLayers > 0, `${tight.load.gpuLayers} layers`);
    assert.ok(tight.estimate.projector.every((d) => d.device === 'CPU'));
  });

  test('a projector kept off the GPU by the options stays off, and leaves room for more layers', async () => {
    const budget = { memory: 500 * MB, reserve: 0 };
    const withProjector = await planLoad(fakeAddon(), LOAD, ENGINE, { gpu: budget });
    const without = await planLoad(fakeAddon(), { ...LOAD, mmprojGpu: false }, ENGINE, { gpu: budget });
    assert.equal(withProjector.load.mmprojGpu, true);
    assert.equal(without.load.mmprojGpu, false);
    assert.ok(layersOf(without.load) > layersOf(withProjector.load), `${layersOf(without.load)} > ${layersOf(withProjector.load)}`);
    const noProjector = await planLoad(fakeAddon(), { model: 'm.gguf', gpuLayers: -1 }, ENGINE, { gpu: budget });
    assert.equal(layersOf(noProjector.load), layersOf(without.load), 'a model without projector fits the same');
  });

  test('too little for the GPU\'s own compute buffers: the CPU alone', async () => {
    const plan = await planLoad(fakeAddon(), LOAD, ENGINE, { gpu: { memory: 90 * MB, reserve: 0 } });
    assert.deepEqual([plan.load.useGpu, plan.load.gpuLayers, plan.load.mmprojGpu], [false, 0, false]);
    assert.equal(plan.estimate.devices.find((d) => d.device === 'GPU0'), undefined);
  });

  test('linear memory: the first guess is exact, four dry runs', async () => {
    for (let budget = 320 * MB; budget <= 600 * MB; budget += 13 * MB) {
      const addon = fakeAddon({ linear: true });
      const plan = await planLoad(addon, LOAD, ENGINE, { gpu: { memory: budget, reserve: 0 } });
      const chosen = layersOf(plan.load);
      assert.ok((await usage({ ...plan.load }, ENGINE, { linear: true })).gpu <= budget - SLACK);
      assert.ok((await usage({ ...plan.load, gpuLayers: chosen + 1 }, ENGINE, { linear: true })).gpu > budget - SLACK);
      assert.equal(addon.calls.length, 4, `all, none, the guess and one more at ${budget / MB} MB`);
    }
  });

  test('everything fits: one dry run, the load as asked', async () => {
    const addon = fakeAddon();
    const plan = await planLoad(addon, LOAD, ENGINE, { gpu: { memory: 1400 * MB, reserve: 0 } });
    assert.deepEqual(plan.load, LOAD);
    assert.equal(addon.calls.length, 1);
  });

  test("'auto': free memory less the reserve; a budget above free memory is capped by it", async () => {
    // 1500 MB free less 1 GiB leaves about 426 MB, less than all layers take
    const auto = await planLoad(fakeAddon(), LOAD, ENGINE, { gpu: { reserve: GPU_RESERVE } });
    const n = layersOf(auto.load);
    const limit = 1500 * MB - GPU_RESERVE - SLACK;
    assert.ok(n > 0 && n <= LAYERS, `auto: ${n}`);
    assert.ok((await usage(auto.load)).gpu <= limit);
    assert.ok((await usage({ ...auto.load, gpuLayers: n + 1 })).gpu > limit);
    const capped = await planLoad(fakeAddon({ free: 400 * MB }), LOAD, ENGINE, { gpu: { memory: 4000 * MB, reserve: 0 } });
    const same = await planLoad(fakeAddon({ free: 400 * MB }), LOAD, ENGINE, { gpu: { memory: 400 * MB, reserve: 0 } });
    assert.deepEqual(capped.load, same.load);
  });

  test('no GPU among the devices (an accel device such as BLAS is not one): nothing to fit', async () => {
    const accel = fakeAddon({ type: 'accel' });
    assert.deepEqual((await planLoad(accel, LOAD, ENGINE, { gpu: { reserve: GPU_RESERVE } })).load, LOAD);
    assert.equal(accel.calls.length, 1);
  });
});

describe('the context under memoryLimit', () => {
  const CPU_LOAD = { model: 'm.gguf', mmproj: 'p.gguf', gpuLayers: 0, useGpu: false };
  /** The largest context the search may return (the one asked for, or a multiple of 256) that fits. */
  async function largestFitting(limit, wanted, load = CPU_LOAD, opts = {}) {
    for (let c = wanted; c >= MIN_FIT_CONTEXT; c = c === wanted ? Math.ceil(wanted / 256) * 256 - 256 : c - 256) {
      if ((await usage(load, { contextSize: c }, opts)).total <= limit - SLACK) return c;
    }
    return undefined;
  }

  test('the largest context that fits, at most the one asked for, in a few dry runs', async () => {
    const smallest = (await usage(CPU_LOAD, { contextSize: MIN_FIT_CONTEXT })).total;
    for (const wanted of [4096, 3000, 8192]) {
      for (let limit = smallest + SLACK; limit <= smallest + 600 * MB; limit += 9.7 * MB) {
        const addon = fakeAddon();
        const plan = await planLoad(addon, CPU_LOAD, { contextSize: wanted, batchSize: 512 }, { memoryLimit: limit });
        const c = plan.engine.contextSize;
        assert.equal(c, await largestFitting(limit, wanted), `limit ${limit / MB} MB, asked ${wanted}`);
        assert.ok(plan.estimate.totals.all <= limit - SLACK);
        assert.equal(plan.engine.batchSize, 512, 'the other engine options pass through');
        assert.ok(addon.calls.length <= 4, `${addon.calls.length} dry runs`);
      }
    }
  });

  test('a first guess too high (memory grows faster below 2048 tokens): it steps down to the largest that fits', async () => {
    const opts = { concave: true };
    const smallest = (await usage(CPU_LOAD, { contextSize: MIN_FIT_CONTEXT }, opts)).total;
    let steppedDown = 0;
    for (let limit = smallest + SLACK; limit <= smallest + 300 * MB; limit += 6.1 * MB) {
      const addon = fakeAddon(opts);
      const plan = await planLoad(addon, CPU_LOAD, { contextSize: 4096 }, { memoryLimit: limit });
      assert.equal(plan.engine.contextSize, await largestFitting(limit, 4096, CPU_LOAD, opts), `limit ${limit / MB} MB`);
      assert.ok(addon.calls.length <= 2 + (4096 - MIN_FIT_CONTEXT) / 256, `${addon.calls.length} dry runs`);
      if (addon.calls.length > 4) steppedDown++;
    }
    assert.ok(steppedDown > 0, 'some limits need more than the guess and its neighbour');
  });

  test('compute that grows in large steps: a first guess too low climbs to the largest that fits', async () => {
    // the steps make the two ends' slope steeper than memory grows between steps, so the linear
    // guess lands below the largest fitting context for most limits; a search that only steps down
    // from the guess returns it
    const opts = { stepped: true };
    for (const wanted of [4096, 8192, 5000]) {
      const smallest = (await usage(CPU_LOAD, { contextSize: MIN_FIT_CONTEXT }, opts)).total;
      const most = (await usage(CPU_LOAD, { contextSize: wanted }, opts)).total;
      let climbed = 0;
      for (let limit = smallest + SLACK; limit < most + SLACK; limit += 7.3 * MB) {
        const addon = fakeAddon(opts);
        const plan = await planLoad(addon, CPU_LOAD, { contextSize: wanted }, { memoryLimit: limit });
        const c = plan.engine.contextSize;
        assert.equal(c, await largestFitting(limit, wanted, CPU_LOAD, opts), `limit ${limit / MB} MB, asked ${wanted}`);
        assert.ok(plan.estimate.totals.all <= limit - SLACK);
        assert.deepEqual(plan.estimate, (await planLoad(fakeAddon(opts), CPU_LOAD, plan.engine, {})).estimate, "the plan's estimate is its dry run");
        // the two ends, the guess, its neighbour, then bisection over the multiples of 256
        const bound = 4 + Math.ceil(Math.log2((wanted - MIN_FIT_CONTEXT) / 256));
        assert.ok(addon.calls.length <= bound, `${addon.calls.length} dry runs (at most ${bound})`);
        const guess = addon.calls[2]?.engine.contextSize;
        if (guess !== undefined && c > guess) climbed++;
      }
      assert.ok(climbed > 0, `asked ${wanted}: some limits need a context above the first guess`);
    }
  });

  test('a context that fits is kept, with one dry run', async () => {
    const addon = fakeAddon();
    const plan = await planLoad(addon, CPU_LOAD, { contextSize: 4096 }, { memoryLimit: 10_000 * MB });
    assert.equal(plan.engine.contextSize, 4096);
    assert.equal(addon.calls.length, 1);
  });

  test('nothing fits: InsufficientMemoryError with the smallest context\'s figures', async () => {
    const need = await usage(CPU_LOAD, { contextSize: MIN_FIT_CONTEXT });
    const limit = need.total - 5 * MB;
    const err = await planLoad(fakeAddon(), CPU_LOAD, { contextSize: 4096 }, { memoryLimit: limit }).catch((e) => e);
    assert.ok(err instanceof InsufficientMemoryError, String(err));
    assert.equal(err.code, 'ERR_INSUFFICIENT_MEMORY');
    assert.equal(err.required, need.total);
    assert.equal(err.limit, limit);
    assert.equal(err.estimate.totals.all, need.total);
    assert.match(err.message, /with a context of 512 tokens/);
    // asked for less than the minimum: that is the smallest tried
    const small = await planLoad(fakeAddon(), CPU_LOAD, { contextSize: 256 }, { memoryLimit: 1 * MB }).catch((e) => e);
    assert.ok(small instanceof InsufficientMemoryError);
    assert.match(small.message, /with a context of 256 tokens/);
  });

  test('with a GPU budget too: layers first, then the context again if the total grew past the limit', async () => {
    // all layers on the GPU fit the limit at 4096; split between GPU and CPU, the model needs more
    const limit = (await usage(LOAD, { contextSize: 4096 })).total + 10 * MB;
    const budget = { memory: 400 * MB, reserve: 0 };
    const contextOnly = await planLoad(fakeAddon(), LOAD, { contextSize: 4096 }, { memoryLimit: limit });
    assert.equal(contextOnly.engine.contextSize, 4096);
    const plan = await planLoad(fakeAddon(), LOAD, { contextSize: 4096 }, { memoryLimit: limit, gpu: budget });
    assert.ok(plan.estimate.totals.all <= limit - SLACK, 'total within memoryLimit');
    assert.ok(deviceUse(plan.estimate, 'GPU0') <= budget.memory - SLACK, 'GPU within its budget');
    assert.ok(layersOf(plan.load) > 0 && layersOf(plan.load) <= LAYERS, `${layersOf(plan.load)} layers`);
    assert.ok(plan.engine.contextSize < 4096 && plan.engine.contextSize >= MIN_FIT_CONTEXT, `context ${plan.engine.contextSize}`);
    assert.equal(plan.engine.contextSize, await largestFitting(limit, 4096, plan.load), 'the largest for those layers');
  });
});
