/** `smolvlm models`: the cached models and their sizes. */
import type { Command } from 'commander';
import { listCached } from '../hub/index.js';
import { DEFAULT_MODEL, KNOWN_MODELS } from '../registry.js';

async function models(): Promise<void> {
  const cached = await listCached();
  const rows = cached.map((c) => ({
    model: KNOWN_MODELS.find((m) => m.repo === c.repo)?.name ?? c.repo,
    repo: c.repo,
    files: c.files.map((f) => f.path).join(', '),
    size: `${(c.sizeBytes / 1e6).toFixed(1)} MB`,
  }));
  if (rows.length === 0) process.stdout.write(`no models cached yet: try 'smolvlm pull ${DEFAULT_MODEL}'\n`);
  else for (const r of rows) process.stdout.write(`${r.model}\t${r.size}\t${r.files}\n`);
}

export function register(program: Command): void {
  program.command('models').description('cached models and sizes').action(models);
}
