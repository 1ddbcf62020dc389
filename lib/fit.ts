/**
 * Fitting a load to memory, before anything is allocated: the context under `memoryLimit`, and
 * the GPU layers (projector included) under each GPU's free memory. Every figure comes from
 * llama.cpp's allocation-free dry run (`estimateMemory`), not from a formula of ours.
 */
import type { NativeAddon, NativeEngineOptions, NativeLoadOptions } from './binding.js';
import { InsufficientMemoryError } from './errors.js';
import { withTotals } from './memory.js';
import type { DeviceMemory, MemoryEstimate } from './types.js';

/** Smallest context worth loading under a memory limit. */
export const MIN_FIT_CONTEXT = 512;

/**
 * Headroom under every limit: a real allocation can exceed its dry run by buffer alignment (32
 * bytes were seen on a host compute buffer), and a fit can land exactly on the limit.
 */
const SLACK = 1024 * 1024;

/** Left free on each GPU by `gpu: 'auto'` (llama.cpp's own `--fit` leaves the same). */
export const GPU_RESERVE = 1024 ** 3;

export interface GpuBudget {
  /** Use at most this many bytes of each GPU (capped by its free memory); else free minus `reserve`. */
  memory?: number;
  reserve: number;
}

export interface Plan {
  load: NativeLoadOptions;
  engine: NativeEngineOptions;
  /** The dry run of the plan: what loading it allocates. */
  estimate: MemoryEstimate;
}

type Estimator = (load: NativeLoadOptions, engine: NativeEngineOptions) => Promise<MemoryEstimate>;

/** GPU-like devices: layers can be offloaded there (an `accel` device such as BLAS takes none). */
export function isGpu(d: { type: string }): boolean {
  return d.type === 'gpu' || d.type === 'igpu';
}

/** Where a load puts the model: GPU layers (repeating + output layer) and the projector. */
export function placement(load: NativeLoadOptions, layers: number, gpuPresent: boolean): { gpuLayers: number; projectorOnGpu: boolean } {
  const gpu = gpuPresent && load.useGpu !== false;
  return {
    gpuLayers: !gpu ? 0 : load.gpuLayers === -1 ? layers + 1 : Math.min(Math.max(load.gpuLayers ?? 0, 0), layers + 1),
    projectorOnGpu: gpu && !!load.mmproj && (load.mmprojGpu ?? true),
  };
}

/** Bytes a plan puts on a device: its share of the model, KV cache and compute, and of the projector. */
export function deviceUse(est: MemoryEstimate, device: string): number {
  const own = est.devices.filter((d) => d.device === device).reduce((a, d) => a + d.model + d.context + d.compute, 0);
  return own + est.projector.filter((d) => d.device === device).reduce((a, d) => a + d.model, 0);
}

function gpuLimit(d: DeviceMemory, budget: GpuBudget): number {
  return (budget.memory !== undefined ? Math.min(budget.memory, d.free) : d.free - budget.reserve) - SLACK;
}

function fitsGpus(est: MemoryEstimate, budget: GpuBudget): boolean {
  return est.devices.every((d) => !isGpu(d) || deviceUse(est, d.device) <= gpuLimit(d, budget));
}

function fmt(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Contexts the fit tries below the one asked for: multiples of this. */
const CONTEXT_STEP = 256;

/**
 * The largest context (multiple of 256, at most the one asked for) whose total fits `limit`,
 * assuming memory does not shrink as the context grows. KV memory grows linearly with the
 * context, so the two ends give a first guess; compute buffers can grow in large steps, which puts
 * the guess off either way, so dry runs around it (the guess, its neighbour, then bisection over
 * the multiples of 256) settle the exact context: at most about log2(asked / 256) + 2 more.
 */
async function fitContext(at: Estimator, load: NativeLoadOptions, engine: NativeEngineOptions, memoryLimit: number): Promise<Plan> {
  const limit = memoryLimit - SLACK;
  const wanted = engine.contextSize;
  const with_ = async (ctx: number): Promise<Plan> => {
    const e = { ...engine, contextSize: ctx };
    return { load, engine: e, estimate: await at(load, e) };
  };
  const full = await with_(wanted);
  if (full.estimate.totals.all <= limit) return full;
  const low = Math.min(MIN_FIT_CONTEXT, wanted);
  const small = await with_(low);
  if (small.estimate.totals.all > limit) {
    const t = small.estimate.totals;
    const err = new InsufficientMemoryError(
      'ERR_INSUFFICIENT_MEMORY',
      `the model needs ${fmt(t.all)} with a context of ${low} tokens (weights ${fmt(t.model)}, KV cache ${fmt(t.context)}, ` +
        `compute ${fmt(t.compute)}, projector ${fmt(t.projector)}); memoryLimit is ${fmt(memoryLimit)}`,
    );
    err.estimate = small.estimate;
    err.required = t.all;
    err.limit = memoryLimit;
    throw err;
  }
  const perToken = (full.estimate.totals.all - small.estimate.totals.all) / (wanted - low);
  const guess = Math.floor((low + (limit - small.estimate.totals.all) / perToken) / CONTEXT_STEP) * CONTEXT_STEP;
  // invariant: `lo` fits (`best` is its plan), `hi` does not; the candidates are the multiples of
  // 256 strictly between them. The guess is usually exact, so its neighbour is tried next.
  const above = (c: number): number => (Math.floor(c / CONTEXT_STEP) + 1) * CONTEXT_STEP; // next multiple above c
  const below = (c: number): number => (Math.ceil(c / CONTEXT_STEP) - 1) * CONTEXT_STEP; // next multiple below c
  let lo = low, hi = wanted, best = small, lastFit = false;
  for (let step = 0; above(lo) < hi; step++) {
    const mid = Math.max(above(lo), below(Math.floor((lo + hi) / 2) + 1)); // a multiple of 256 in (lo, hi)
    let probe = step === 0 ? Math.min(Math.max(guess, above(lo)), below(hi)) : step === 1 ? (lastFit ? above(lo) : below(hi)) : mid;
    if (probe <= lo || probe >= hi) probe = mid;
    const p = await with_(probe);
    lastFit = p.estimate.totals.all <= limit;
    if (lastFit) (lo = probe), (best = p);
    else hi = probe;
  }
  return best;
}

/**
 * The most GPU layers that fit every GPU's budget with the projector where the options put it;
 * if even none do, the projector moves to the CPU. Layer memory is close to linear in the layer
 * count: the two ends give a first guess, dry runs around it settle the exact count.
 */
async function fitGpuLayers(at: Estimator, plan: Plan, budget: GpuBudget): Promise<Plan> {
  const with_ = async (gpuLayers: number, mmprojGpu: boolean): Promise<Plan> => {
    const load = { ...plan.load, gpuLayers, mmprojGpu };
    return { load, engine: plan.engine, estimate: await at(load, plan.engine) };
  };
  let projector = !!plan.load.mmproj && (plan.load.mmprojGpu ?? true);
  let full = plan.load.gpuLayers === -1 ? plan : await with_(-1, projector);
  if (fitsGpus(full.estimate, budget)) return full;
  let zero = await with_(0, projector);
  if (!fitsGpus(zero.estimate, budget) && projector) {
    projector = false;
    zero = await with_(0, false);
    full = await with_(-1, false);
    if (fitsGpus(full.estimate, budget)) return full;
  }
  if (!fitsGpus(zero.estimate, budget)) {
    // GPU compute buffers alone exceed it: the CPU alone
    const load = { ...plan.load, gpuLayers: 0, mmprojGpu: false, useGpu: false };
    return { load, engine: plan.engine, estimate: await at(load, plan.engine) };
  }
  const n = (full.estimate.layers ?? 0) + 1; // repeating layers + the output layer
  let guess = n - 1;
  for (const d of full.estimate.devices) {
    if (!isGpu(d)) continue;
    const z = deviceUse(zero.estimate, d.device);
    const perLayer = (deviceUse(full.estimate, d.device) - z) / n;
    if (perLayer > 0) guess = Math.min(guess, Math.floor((gpuLimit(d, budget) - z) / perLayer));
  }
  // invariant: `lo` layers fit (`best` is their plan), `hi` do not. The guess is usually exact,
  // so its neighbour is tried next; bisection after that.
  let lo = 0, hi = n, best = zero, lastFit = false;
  for (let step = 0; hi - lo > 1; step++) {
    let probe = step === 0 ? guess : step === 1 ? (lastFit ? lo + 1 : hi - 1) : Math.floor((lo + hi) / 2);
    if (probe <= lo || probe >= hi) probe = Math.floor((lo + hi) / 2);
    const p = await with_(probe, projector);
    lastFit = fitsGpus(p.estimate, budget);
    if (lastFit) (lo = probe), (best = p);
    else hi = probe;
  }
  return best;
}

/**
 * What loading will allocate: the context shrunk to `memoryLimit` when one is set, the GPU layers
 * fitted when `gpu` is a budget (`'auto'` or `{ memory }`), then the context shrunk again if the
 * layers moved memory past the limit.
 */
export async function planLoad(
  addon: NativeAddon,
  load: NativeLoadOptions,
  engine: NativeEngineOptions,
  fit: { memoryLimit?: number; gpu?: GpuBudget },
): Promise<Plan> {
  const at: Estimator = async (l, e) => withTotals(await addon.estimateMemory(l, e));
  let plan: Plan =
    fit.memoryLimit !== undefined ? await fitContext(at, load, engine, fit.memoryLimit) : { load, engine, estimate: await at(load, engine) };
  if (fit.gpu && plan.estimate.devices.some(isGpu)) {
    plan = await fitGpuLayers(at, plan, fit.gpu);
    if (fit.memoryLimit !== undefined && plan.estimate.totals.all > fit.memoryLimit - SLACK) plan = await fitContext(at, plan.load, plan.engine, fit.memoryLimit);
  }
  return plan;
}
