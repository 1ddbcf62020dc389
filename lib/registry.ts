/**
 * Known SmolVLM models and how a `model` reference resolves: a known name, a hub `repo[:quant]`,
 * or a local .gguf path.
 */
import { existsSync } from 'node:fs';
import { invalid } from './errors.js';
import { parseRepoRef, pullModel } from './hub/index.js';
import type { HubOptions, KnownModel } from './types.js';

/**
 * The prompt layouts the test fixtures have (test/unit/registry.test.mjs checks each against
 * test/fixtures/synth.mjs): what a model's vocabulary makes of the image markers, and its tiling.
 */
const LAYOUT_256M = '49280-token vocabulary, <global-img> and <row_R_col_C> are tokens; 512-pixel tiles, 16-pixel patches, scale factor 4: 64 tokens per tile';
const LAYOUT_2_2B = '49155-token vocabulary, <global-img> and <row_R_col_C> are text; 384-pixel tiles, 14-pixel patches, scale factor 3: 81 tokens per tile';

/**
 * The SmolVLM family as llama.cpp supports it (ggml-org's GGUF conversions). `verified` names the
 * fixture whose layout is the model's: SmolVLM-500M-Instruct has the 256M's vocabulary and vision
 * tower (only its text model is wider). The '256m' fixture is the 256M's exact shape, compared
 * with llama-mtmd-cli in the slow suite (SMOLVLM_SLOW_TESTS=1); every run checks its vocabulary's
 * prompt layout on 'tiny' (same vocabulary, 128-pixel tiles) and SmolVLM-Instruct's on
 * 'tiny-2.2b' (test/model/instruct.test.mjs). The SmolVLM2 models' layouts are not confirmed here.
 */
export const KNOWN_MODELS: readonly KnownModel[] = Object.freeze([
  { name: 'SmolVLM-256M-Instruct', repo: 'ggml-org/SmolVLM-256M-Instruct-GGUF', quant: 'Q8_0', quants: ['Q8_0', 'F16'], parameters: '256M', description: 'Smallest SmolVLM; under 1 GB for one image.', verified: { fixture: '256m', layout: LAYOUT_256M } },
  { name: 'SmolVLM-500M-Instruct', repo: 'ggml-org/SmolVLM-500M-Instruct-GGUF', quant: 'Q8_0', quants: ['Q8_0', 'F16'], parameters: '500M', description: 'Better answers at about twice the 256M cost.', verified: { fixture: '256m', layout: LAYOUT_256M } },
  { name: 'SmolVLM-Instruct', repo: 'ggml-org/SmolVLM-Instruct-GGUF', quant: 'Q4_K_M', quants: ['Q4_K_M', 'Q8_0', 'F16'], parameters: '2.2B', description: 'The original 2.2B SmolVLM.', verified: { fixture: 'tiny-2.2b', layout: LAYOUT_2_2B } },
  { name: 'SmolVLM2-2.2B-Instruct', repo: 'ggml-org/SmolVLM2-2.2B-Instruct-GGUF', quant: 'Q4_K_M', quants: ['Q4_K_M', 'Q8_0', 'F16'], parameters: '2.2B', description: 'SmolVLM2, images and video.', verified: null },
  { name: 'SmolVLM2-500M-Video-Instruct', repo: 'ggml-org/SmolVLM2-500M-Video-Instruct-GGUF', quant: 'Q8_0', quants: ['Q8_0', 'F16'], parameters: '500M', description: 'SmolVLM2 tuned for video.', verified: null },
  { name: 'SmolVLM2-256M-Video-Instruct', repo: 'ggml-org/SmolVLM2-256M-Video-Instruct-GGUF', quant: 'Q8_0', quants: ['Q8_0', 'F16'], parameters: '256M', description: 'Smallest SmolVLM2, tuned for video.', verified: null },
]);

export const DEFAULT_MODEL = 'SmolVLM-256M-Instruct';

/** A known model by name (case-insensitive), or undefined. */
export function findKnownModel(name: string): KnownModel | undefined {
  const n = name.toLowerCase();
  return KNOWN_MODELS.find((m) => m.name.toLowerCase() === n || m.repo.toLowerCase() === n);
}

function isLocalPath(ref: string): boolean {
  return /\.gguf$/i.test(ref) || ref.startsWith('.') || ref.startsWith('/') || /^[a-z]:[\\/]/i.test(ref) || existsSync(ref);
}

/** Where `ref` points: local files as they are; a known name or `repo[:quant]` through the hub. */
export async function resolveModelFiles(ref: string, mmproj: string | undefined, hub: HubOptions = {}): Promise<{ model: string; mmproj?: string; repo?: string }> {
  if (typeof ref !== 'string' || ref.length === 0) throw invalid('model must be a known name, a hub repo[:quant] or a .gguf path');
  if (isLocalPath(ref)) return { model: ref, mmproj };
  const [name, tag] = ref.split(':');
  const known = findKnownModel(name);
  const parsed = known ? { repo: known.repo, quant: tag ?? known.quant } : parseRepoRef(ref);
  if (!parsed) {
    throw invalid(`unknown model '${ref}': use one of ${KNOWN_MODELS.map((m) => m.name).join(', ')}, a hub repo like 'org/name[:quant]', or a .gguf path`);
  }
  const pulled = await pullModel(parsed.repo, parsed.quant, hub);
  return { model: pulled.model.localPath, mmproj: mmproj ?? pulled.mmproj?.localPath, repo: pulled.repo };
}
