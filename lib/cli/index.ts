/**
 * The `smolvlm` command: describe, chat, pull, models, rm, info, bench, eval, serve, build (one file each here).
 * Exit codes: 0 success, 1 other failure, 2 usage, 3 model missing, 4 bad image, 5 out of memory.
 */
import { Command, CommanderError } from 'commander';
import { register as bench } from './bench.js';
import { register as build } from './build.js';
import { register as chat } from './chat.js';
import { EXIT, UsageError } from './common.js';
import { register as describe } from './describe.js';
import { register as evaluate } from './eval.js';
import { register as info } from './info.js';
import { register as models } from './models.js';
import { register as pull } from './pull.js';
import { register as rm } from './rm.js';
import { register as serve } from './serve.js';

export { EXIT };

/** The exit code for an error. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || (err instanceof CommanderError && err.exitCode !== 0)) return EXIT.usage;
  const code = (err as { code?: string })?.code;
  if (code === 'ERR_INVALID_ARGUMENT') return EXIT.usage;
  if (code === 'ERR_MODEL_NOT_FOUND' || code === 'ERR_OFFLINE' || code === 'ERR_HUB_UNAUTHORIZED' || code === 'ERR_DOWNLOAD_FAILED') return EXIT.modelMissing;
  if (code === 'ERR_IMAGE_INVALID') return EXIT.badImage;
  if (code === 'ERR_INSUFFICIENT_MEMORY' || code === 'ERR_OUT_OF_MEMORY') return EXIT.outOfMemory;
  return EXIT.failure;
}

export function program(): Command {
  const p = new Command('smolvlm')
    .description('Run SmolVLM vision-language models locally (llama.cpp)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');
  for (const register of [describe, chat, pull, models, rm, info, bench, evaluate, serve, build]) register(p);
  return p;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    await program().parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage; // commander printed it
    const e = err as Error & { code?: string };
    process.stderr.write(verbose && e.stack ? `${e.stack}\n` : `smolvlm: ${e.message}${e.code ? ` (${e.code})` : ''}\n`);
    return exitCodeOf(err);
  }
}
