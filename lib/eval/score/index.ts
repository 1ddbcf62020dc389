/**
 * Scoring a predictions table with the metric its dataset uses in VLMEvalKit.
 */
import { invalid } from '../../errors.js';
import type { DatasetSpec } from '../datasets.js';
import type { Table } from '../table.js';
import { scoreMathVista } from './mathvista.js';
import { scoreMcq } from './mcq.js';
import type { Scores } from './table.js';
import { scoreVqa } from './vqa.js';
import { scoreYorn } from './yorn.js';

export type { Scores, ScoreTable } from './table.js';
export { scoreCsv } from './table.js';

/** The columns the dataset's scoring reads (checked before a run, so a long run cannot fail at its end). */
export function scoreColumns(spec: DatasetSpec): string[] {
  switch (spec.metric.kind) {
    case 'mcq':
    case 'vqa':
      return ['answer'];
    case 'yorn':
      return ['answer', ...(spec.metric.rating === 'MME' ? ['category', 'image_path'] : spec.metric.rating === 'Hallusion' ? ['l2-category'] : [])];
    case 'mathvista':
      return ['answer', 'question_type', 'answer_type', 'task', 'skills'];
  }
}

/**
 * Scores `preds` (a predictions table: the dataset's columns plus `prediction`). MCQ sets take
 * their answers from `meta` (the dataset) when given, as VLMEvalKit does, else from `preds`.
 */
export function scoreTable(spec: DatasetSpec, preds: Table, meta?: Table): Scores {
  if (!preds.has('prediction')) throw invalid("the predictions file has no 'prediction' column");
  let scores: Scores;
  switch (spec.metric.kind) {
    case 'mcq': {
      const source = meta ?? preds;
      if (!source.has('answer') || !source.has('index')) throw invalid(`${spec.name}: MCQ scoring needs 'index' and 'answer' columns`);
      const answers = new Map(source.rows.map((_, r) => [source.str(r, 'index'), source.str(r, 'answer')]));
      if (meta) {
        for (let r = 0; r < preds.rows.length; r++) {
          const i = preds.str(r, 'index');
          if (!answers.has(i)) throw invalid(`${spec.name}: the predictions' index ${i} is not in the dataset (the file must be the dataset or a subset of it)`);
        }
      }
      scores = scoreMcq(preds, answers, spec.metric);
      break;
    }
    case 'vqa':
      scores = scoreVqa(preds, spec.metric.method);
      break;
    case 'yorn':
      scores = scoreYorn(preds, spec.metric.rating);
      break;
    case 'mathvista':
      scores = scoreMathVista(preds);
      break;
  }
  const note = [spec.note, scores.note].filter(Boolean).join('; ');
  return note ? { ...scores, note } : scores;
}
