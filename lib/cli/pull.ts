/** `smolvlm pull <model>`: download a model and its projector into the cache; prints their paths. */
import type { Command } from 'commander';
import { resolveModelFiles } from '../registry.js';
import { withCommon, withDownloads, type CommonFlags } from './common.js';

async function pull(model: string, flags: CommonFlags): Promise<void> {
  const files = await withDownloads(flags, (hub) => resolveModelFiles(model, undefined, hub));
  process.stdout.write(`${files.model}\n${files.mmproj ?? ''}\n`);
}

export function register(program: Command): void {
  withCommon(program.command('pull').description('download a model and its projector into the cache').argument('<model>', 'known name or repo[:quant]')).action(pull);
}
