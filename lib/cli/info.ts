/** `smolvlm info [model]`: metadata, tokens per tile, placement and the memory estimate. */
import type { Command } from 'commander';
import { estimateMemory, loadModel } from '../load.js';
import { resolveModelFiles } from '../registry.js';
import { backendInfo } from '../system.js';
import { loadOptions, setup, withCommon, withDownloads, type CommonFlags } from './common.js';

async function info(model: string | undefined, flags: CommonFlags & { json?: boolean }): Promise<void> {
  setup(flags);
  const base = loadOptions({ ...flags, model: model ?? flags.model });
  // resolve (and download) once; the estimate and the load then read the same local files
  const files = await withDownloads(flags, (hub) => resolveModelFiles(base.model, base.mmproj, hub));
  const options = { ...base, model: files.model, mmproj: files.mmproj };
  const estimate = await estimateMemory(options);
  const vlm = await loadModel({ ...options, warmup: false });
  try {
    const i = vlm.info;
    const out = {
      name: i.name, architecture: i.architecture, parameters: i.parameters, sizeBytes: i.sizeBytes, contextLength: i.contextLength,
      embeddingLength: i.embeddingLength, layers: i.layers, vocabSize: i.vocabSize, vision: i.vision ?? null,
      memory: { contextSize: i.contextSize, gpuLayers: estimate.gpuLayers, projectorOnGpu: estimate.projectorOnGpu, ...estimate.totals },
      addon: backendInfo().addon, gpuHints: backendInfo().gpuHints,
    };
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return;
    }
    const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
    const lines = [
      `name            ${i.name}`,
      `architecture    ${i.architecture}, ${(i.parameters / 1e6).toFixed(0)}M parameters, ${i.layers} layers, ${mb(i.sizeBytes)}`,
      `context         trained ${i.contextLength}, this load ${i.contextSize}`,
      i.vision ? `vision          ${i.vision.projectorType}, ${i.vision.imageSize}px tiles of ${i.vision.tokensPerTile} tokens, images scaled to ${i.vision.longestEdge}px` : 'vision          none (no projector)',
      `placement       ${estimate.gpuLayers ? `${estimate.gpuLayers} of ${i.layers + 1} layers on the GPU` : 'CPU'}, projector on the ${estimate.projectorOnGpu ? 'GPU' : 'CPU'}`,
      `memory          weights ${mb(estimate.totals.model)}, KV cache ${mb(estimate.totals.context)}, compute ${mb(estimate.totals.compute)}, projector ${mb(estimate.totals.projector)}: total ${mb(estimate.totals.all)}`,
      `addon           ${out.addon.package ? `${out.addon.package}@${out.addon.version}` : out.addon.source} (${out.addon.path}), CPU variant ${i.cpuVariant}`,
      ...out.gpuHints.map((h) => `gpu             ${h}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await vlm.dispose();
  }
}

export function register(program: Command): void {
  withCommon(program.command('info').description('metadata, tokens per tile and memory estimate').argument('[model]', 'known name, repo[:quant] or .gguf path'))
    .option('--json', 'as JSON')
    .action(info);
}
