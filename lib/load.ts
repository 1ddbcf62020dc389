/**
 * Loading: options -> checked (options.ts) -> the model reference resolved to files, a hub
 * download when needed (registry.ts) -> mapped to native options (options.ts) -> fitted to
 * `memoryLimit` and the GPUs (fit.ts) -> loaded off the JS thread into a {@link SmolVLM}.
 * `estimateMemory` takes the same path up to the fit, so an estimate describes exactly what a
 * load allocates.
 */
import type { NativeAddon, NativeEngine, NativeEngineOptions, NativeLoadOptions, NativeModel } from './binding.js';
import { native } from './binding.js';
import { abortError, fromNative, invalid } from './errors.js';
import { GPU_RESERVE, isGpu, placement, planLoad, type GpuBudget } from './fit.js';
import { parseBytes, withTotals } from './memory.js';
import { SmolVLM } from './model.js';
import { checkedLoadOptions, DEFAULTS, nativeOptions } from './options.js';
import { resolveModelFiles } from './registry.js';
import type { LoadEstimate, LoadModelOptions, MemoryEstimate } from './types.js';

interface PreparedLoad {
  load: NativeLoadOptions;
  engine: NativeEngineOptions;
  /** The context asked for (the fit may shrink `engine.contextSize`). */
  requestedContext: number;
  /** The fit's dry run of `load` + `engine`, when there was a fit. */
  estimate?: MemoryEstimate;
  gpuPresent: boolean;
}

/**
 * Loads a model (and its projector) off the JS thread and prepares an engine for it.
 * @throws ModelLoadError, ProjectorMismatchError, AbortError, InvalidArgumentError
 */
export async function loadModel(input: LoadModelOptions): Promise<SmolVLM> {
  const callSite = new Error();
  const options = checked(input, 'loadModel', callSite);
  const signal = options.signal;
  if (signal?.aborted) throw fromNative(abortError('model load aborted before it started'), callSite);
  const started = performance.now();
  const addon = native();
  const { load, engine: engineOptions, requestedContext, gpuPresent } = await prepareLoad(options, 'loadModel', addon, callSite);
  const onProgress = options.onProgress;
  const task = addon.loadModel(
    load,
    onProgress
      ? (p) => {
          try {
            onProgress(p);
          } catch {
            /* a throwing callback must not take the process down (it runs from a native callback) */
          }
        }
      : undefined,
  );
  const onAbort = () => task.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let nativeModel: NativeModel;
  try {
    nativeModel = await task.promise;
  } catch (err) {
    throw fromNative(err, callSite);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  let engine: NativeEngine;
  try {
    if (signal?.aborted) throw abortError('model load aborted');
    engine = await nativeModel.createEngine(engineOptions);
  } catch (err) {
    await nativeModel.dispose();
    throw fromNative(err, callSite);
  }
  return new SmolVLM(nativeModel, engine, {
    cpuVariant: addon.backendInfo().cpuVariant,
    loadTimeMs: performance.now() - started,
    requestedContextSize: engineOptions.contextSize !== requestedContext ? requestedContext : undefined,
    ...placement(load, nativeModel.info().layers, gpuPresent),
  });
}

/**
 * What loading `options` would take, per device: weights, KV cache, compute buffers, projector,
 * from llama.cpp's own allocation-free dry run, with each device's free and total memory.
 */
export async function estimateMemory(input: LoadModelOptions): Promise<LoadEstimate> {
  const callSite = new Error();
  const options = checked(input, 'estimateMemory', callSite);
  if (options.rpc !== undefined && options.rpc.length > 0) {
    throw fromNative(invalid('estimateMemory does not take rpc: its dry run sees only this machine\'s devices'), callSite);
  }
  const addon = native();
  const { load, engine, estimate } = await prepareLoad(options, 'estimateMemory', addon, callSite);
  try {
    const est = estimate ?? withTotals(await addon.estimateMemory(load, engine));
    return { ...est, contextSize: engine.contextSize, ...placement(load, est.layers ?? 0, est.devices.some(isGpu)) };
  } catch (err) {
    throw fromNative(err, callSite);
  }
}

/** The options checked and copied (options.ts), or the typed error at the caller's site. */
function checked(input: LoadModelOptions, fn: string, callSite: Error): LoadModelOptions {
  try {
    return checkedLoadOptions(input, fn);
  } catch (err) {
    throw fromNative(err, callSite);
  }
}

/** What loadModel and estimateMemory share (on checked options): resolve, map, fit. */
async function prepareLoad(options: LoadModelOptions, fn: string, addon: NativeAddon, callSite: Error): Promise<PreparedLoad> {
  try {
    const files = await resolveModelFiles(options.model, options.mmproj, { signal: options.signal, ...options.hub });
    const gpuPresent = addon.backendInfo().devices.some(isGpu);
    const { load, engine } = nativeOptions({ ...options, ...files }, gpuPresent);
    const requestedContext = engine.contextSize;
    const gpu = options.gpu ?? DEFAULTS.gpu;
    // with rpc-servers llama.cpp splits the layers over the remote and local devices itself
    const gpuFit: GpuBudget | undefined = !gpuPresent || load.rpc.length > 0
      ? undefined
      : gpu === 'auto'
        ? { reserve: GPU_RESERVE }
        : typeof gpu === 'object' && 'memory' in gpu
          ? { memory: parseBytes(gpu.memory, 'gpu.memory'), reserve: 0 }
          : undefined;
    const memoryLimit = options.memoryLimit === undefined ? undefined : parseBytes(options.memoryLimit);
    if (memoryLimit === undefined && !gpuFit) return { load, engine, requestedContext, gpuPresent };
    return { ...(await planLoad(addon, load, engine, { memoryLimit, gpu: gpuFit })), requestedContext, gpuPresent };
  } catch (err) {
    throw fromNative(err, callSite);
  }
}
