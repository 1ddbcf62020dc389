/**
 * Memory figures: totals of a native memory report (an estimate from llama.cpp's allocation-free
 * dry run, or the live breakdown), and byte sizes ('1.5GB'). Fitting a load to a budget is fit.ts.
 */
import type { NativeMemoryReport } from './binding.js';
import { invalid } from './errors.js';
import type { DeviceMemory, MemoryEstimate } from './types.js';

/** A native memory report with its totals. */
export function withTotals(r: NativeMemoryReport): MemoryEstimate {
  const sum = (f: (d: DeviceMemory) => number, list = r.devices) => list.reduce((a, d) => a + f(d), 0);
  const totals = {
    model: sum((d) => d.model),
    context: sum((d) => d.context),
    compute: sum((d) => d.compute),
    projector: sum((d) => d.model, r.projector),
    lora: r.lora,
    all: 0,
  };
  totals.all = totals.model + totals.context + totals.compute + totals.projector + totals.lora;
  return { devices: r.devices, projector: r.projector, totals, ...(r.layers !== undefined ? { layers: r.layers } : {}) };
}

const UNITS: Record<string, number> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4, k: 1024, m: 1024 ** 2, g: 1024 ** 3,
};

/** Bytes from a number or a string like `'1.5GB'`, `'512 MiB'`, `'800M'`. */
export function parseBytes(value: number | string, name = 'memoryLimit'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) throw invalid(`${name} must be a positive number of bytes`);
    return Math.floor(value);
  }
  const m = /^\s*([\d.]+)\s*([a-z]*)\s*$/i.exec(String(value));
  const unit = m ? UNITS[(m[2] || 'b').toLowerCase()] : undefined;
  if (!m || unit === undefined || !Number.isFinite(Number(m[1])) || Number(m[1]) <= 0) {
    throw invalid(`${name} must be bytes or a size like '1.5GB' or '512MiB', got ${JSON.stringify(value)}`);
  }
  return Math.floor(Number(m[1]) * unit);
}
