/**
 * Known SmolVLM models and how a `model` reference resolves: a known name, a hub `repo[:quant]`,
 * or a local .gguf path.
 */
import { existsSync } from 'node:fs';
import { invalid } from './errors.js';
import { parseRepoRef, pullModel } from './hub/index.js';
import type { HubOptions, KnownModel } from './types.js';

/** The SmolVLM family as llama.cpp supports it (ggml-org's GGUF conversions). */
export const KNOWN_MODELS: readonly KnownModel[] = Object.freeze([
  { name: 'SmolVLM-256M-Instruct', repo: 'ggml-org/SmolVLM-256M-Instruct-GGUF', quant: 'Q8_0', quants: ['Q8_0', 'F16'], parameters: '256M', description: 'Smallest SmolVLM; under 1 GB for one image.' },
  { name: 'SmolVLM-500M-Instruct', repo: 'ggml-org/SmolVLM-500M-Instruct-GGUF', quant: 'Q8_0', quants: ['Q8_0', 'F16'], parameters: '500M', description: 'Better answers at about twice the 256M cost.' },
  { name: 'SmolVLM-Instruct', repo: 'ggml-org/SmolVLM-Instruct-GGUF', quant: 'Q4_K_M', quants: ['Q4_K_M', 'Q8_0', 'F16'], parameters: '2.2B', description: 'The original 2.2B SmolVLM.' },
  { name: 'SmolVLM2-2.2B-Instruct', repo: 'ggml-org/SmolVLM2-2.2B-Instruct-GGUF', quant: 'Q4_K_M', quants: ['Q4_K_M', 'Q8_0', 'F16'], parameters: '2.2B', description: 'SmolVLM2, images and video.' },
  { name: 'SmolVLM2-500M-Video-Instruct', repo: 'ggml-org/SmolVLM2-500M-Video-Instruct-GGUF', quant: 'Q8_0', quants: ['Q8_0', 'F16'], parameters: '500M', description: 'SmolVLM2 tuned for video.' },
  { name: 'SmolVLM2-256M-Video-Instruct', repo: 'ggml-org/SmolVLM2-256M-Video-Instruct-GGUF', quant: 'Q8_0', quants: ['Q8_0', 'F16'], parameters: '256M', description: 'Smallest SmolVLM2, tuned for video.' },
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
