/**
 * `smolvlm eval --data NAME|file.tsv...`: scores a model on VLMEvalKit's datasets (lib/eval), or
 * re-scores a predictions file with `--score`.
 */
import type { Command } from 'commander';
import { evalCommand } from '../eval/command.js';
import { EVAL_DEFAULTS } from '../eval/evaluate.js';
import { DEFAULTS } from '../options.js';
import { downloadBars, int, loadOptions, setup, withCommon, withImageFlags, type CommonFlags } from './common.js';

interface EvalCliFlags extends CommonFlags {
  data?: string[];
  workDir?: string;
  limit?: string;
  parallel?: string;
  modelName?: string;
  score?: string;
  skipErrors?: boolean;
}

async function run(flags: EvalCliFlags): Promise<void> {
  setup(flags);
  const base = flags.score ? undefined : loadOptions(flags);
  const quiet = !!flags.quiet || !process.stderr.isTTY;
  const hub = flags.offline ? { offline: true } : {};
  const common = {
    data: flags.data ?? [],
    workDir: flags.workDir,
    limit: int('limit', flags.limit, 1),
    parallel: int('parallel', flags.parallel, 1),
    maxTokens: int('max-tokens', flags.maxTokens, 1),
    longestEdge: int('longest-edge', flags.longestEdge, 1),
    tiling: flags.tiling,
    skipErrors: flags.skipErrors,
    score: flags.score,
    downloadBars: () => downloadBars(quiet),
  };
  if (!base) {
    await evalCommand({ ...common, load: { hub } });
    return;
  }
  const { model, mmproj, contextSize, threads, ...load } = base;
  await evalCommand({ ...common, model, mmproj, contextSize, threads, modelName: flags.modelName ?? modelLabel(model), load: { ...load, hub } });
}

/** The folder name for a model: its file name without .gguf, or the reference as given. */
function modelLabel(model: string): string {
  const base = model.split(/[\\/]/).pop() ?? model;
  return base.replace(/\.gguf$/i, '').replace(/[:]/g, '_');
}

export function register(program: Command): void {
  const cmd = withImageFlags(withCommon(program.command('eval').description("score a model on VLMEvalKit's benchmarks (MCQ, Y/N, VQA), or re-score predictions")))
    .option('--data <name|file.tsv...>', 'dataset names (MMStar, MMMU_DEV_VAL, ...) or local VLMEvalKit .tsv files')
    .option('--work-dir <dir>', 'where predictions and scores go, as <dir>/<model>/<model>_<dataset>.tsv (default ./outputs)')
    .option('--limit <n>', 'only the first n rows of each dataset (a quick look)')
    .option('--parallel <n>', `rows answered at once through the engine (default ${EVAL_DEFAULTS.parallel})`)
    .option('--model-name <name>', 'the model name in file names (default: from --model)')
    .option('--score <predictions.tsv|.xlsx>', 're-score a predictions file (ours, or VLMEvalKit\'s .xlsx or .tsv) instead of running a model')
    .option('--skip-errors', 'record a failing row as an error and go on (as VLMEvalKit\'s SKIP_ERR=1)')
    .addHelpText('after', `\nGreedy decoding; --max-tokens defaults to ${EVAL_DEFAULTS.maxTokens}, VLMEvalKit's max_new_tokens for SmolVLM (the leaderboard's setting); --ctx defaults to ${DEFAULTS.contextSize} per parallel row.`)
    .action(run);
  // the common flag's default is the other commands' (256); here it is VLMEvalKit's
  const maxTokens = cmd.options.find((o) => o.long === '--max-tokens');
  if (maxTokens) maxTokens.description = `tokens per answer at most (default ${EVAL_DEFAULTS.maxTokens}, as VLMEvalKit's SmolVLM)`;
}
