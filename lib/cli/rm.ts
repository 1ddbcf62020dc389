/** `smolvlm rm <model>`: remove a cached model. */
import type { Command } from 'commander';
import { SmolVLMError } from '../errors.js';
import { removeCached } from '../hub/index.js';
import { findKnownModel } from '../registry.js';

async function rm(model: string): Promise<void> {
  const repo = findKnownModel(model.split(':')[0])?.repo ?? model.split(':')[0];
  if (!(await removeCached(repo))) throw new SmolVLMError('ERR_MODEL_NOT_FOUND', `${model} is not in the cache`);
  process.stdout.write(`removed ${repo}\n`);
}

export function register(program: Command): void {
  program.command('rm').description('remove a cached model').argument('<model>', 'known name or repo').action(rm);
}
