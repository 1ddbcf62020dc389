/** The benchmark runner: VLMEvalKit's datasets, prompts and scores (see evaluate.ts). */
export { evaluate, EVAL_DEFAULTS, FAIL_MSG } from './evaluate.js';
export type { EvaluateOptions, EvaluateResult, EvalRow } from './evaluate.js';
export { score } from './rescore.js';
export type { ScoreOptions, ScoreResult } from './rescore.js';
export { KNOWN_DATASETS, knownDataset, fetchDataset, datasetCacheDir } from './datasets.js';
export type { DatasetDownloadOptions, DatasetSpec, DownloadFn, Metric } from './datasets.js';
export type { Scores, ScoreTable } from './score/index.js';
export { evalCommand, formatScores } from './command.js';
export type { EvalFlags } from './command.js';
