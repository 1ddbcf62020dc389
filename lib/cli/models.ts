/** `smolvlm models`: the cached models and their sizes, then the known models and what verifies each. */
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
  process.stdout.write('\nknown models (verified: the test fixture that has the model\'s prompt layout):\n');
  for (const m of KNOWN_MODELS) {
    const v = m.verified ? `verified on fixture ${m.verified.fixture}\t${m.verified.layout}` : 'not verified\tno test fixture has its layout';
    process.stdout.write(`${m.name}\t${m.parameters}\t${v}\n`);
  }
}

export function register(program: Command): void {
  program.command('models').description('cached models and sizes; known models and which are verified on which layout').action(models);
}
