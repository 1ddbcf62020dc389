/**
 * Multiple-choice scoring as VLMEvalKit does it without a judge (`model='exact_matching'`):
 * the answer letter is found by `can_infer` (`vlmeval/utils/matching_util.py`): a lone option
 * letter near the end, "answer is X", or else exactly one option's text; unmatched counts as
 * wrong. `mcq_vanilla_eval` scores each row, `mcq_circular_eval` (MMBench, CCBench) a question
 * only when all its rotated copies are right; `report_acc` averages per split, l2-category and
 * category (`vlmeval/dataset/utils/multiple_choice.py`).
 */
import { invalid } from '../../errors.js';
import { pyLen, pySplit } from '../pylike.js';
import type { RowView, Table } from '../table.js';
import { flatten, mean, type Scores, type ScoreTable } from './table.js';

/** Option letter -> option text, in letter order. */
export type Choices = Map<string, string>;

const REJECT = [
  "Sorry, I can't help with images of people yet.",
  "I can't process this file.",
  "I'm sorry, but without the image provided",
  'Cannot determine the answer',
];
const VERBOSE_ANSWER = /(?:correct\s+)?answer\s+is\s+\**([ABCD])\**/i;

/** `can_infer_option`: the option letter the answer names, 'Z' for a refusal, or false. */
export function canInferOption(answer: string, choices: Choices): string | false {
  if (answer.includes('Failed to obtain answer via API')) return false;
  for (const err of REJECT) if (answer.includes(err)) return 'Z';
  let mod = answer;
  for (const c of '.()[],:;!*#{}') mod = mod.replaceAll(c, ' ');
  const splits = pySplit(mod);
  const count = (set: Iterable<string>) => {
    let n = 0;
    for (const c of set) if (splits.includes(c)) n++;
    return n;
  };
  const n = count(choices.keys());
  if (n === 1) {
    for (const ch of choices.keys()) {
      if (splits.includes(ch) && splits.indexOf(ch) > splits.length - 5) return ch;
    }
  } else if (n === 0 && count(['Z', '']) === 1) {
    return 'Z';
  }
  const m = VERBOSE_ANSWER.exec(answer);
  if (m && choices.has(m[1].toUpperCase())) return m[1].toUpperCase();
  return false;
}

/** `can_infer_text`: the one option whose text (lower-cased) occurs in the answer, or false. */
export function canInferText(answer: string, choices: Choices): string | false {
  const a = answer.toLowerCase();
  let total = 0;
  for (const v of choices.values()) total += pyLen(v);
  if (pyLen(a) > 2 * total) return false;
  const cands = [...choices].filter(([, v]) => a.includes(v.toLowerCase())).map(([k]) => k);
  return cands.length === 1 ? cands[0] : false;
}

/** `can_infer`: by letter first, then by option text. */
export function canInfer(answer: string, choices: Choices): string | false {
  return canInferOption(answer, choices) || canInferText(answer, choices);
}

const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];

/** `build_choices`: every letter column present and not NaN, as `str()`. */
export function buildChoices(row: RowView, override?: Map<string, string>): Choices {
  const out: Choices = new Map();
  for (const c of LETTERS) {
    if (override?.has(c)) out.set(c, override.get(c)!);
    else if (row.has(c) && !row.na(c)) out.set(c, row.str(c));
  }
  return out;
}

/** MMBench's ability abbreviations in the report (`MMB_abbrs`). */
const MMB_ABBRS: Record<string, string> = {
  coarse_perception: 'CP',
  'finegrained_perception (instance-level)': 'FP-S',
  'finegrained_perception (cross-instance)': 'FP-C',
  logic_reasoning: 'LR',
  relation_reasoning: 'RR',
  attribute_reasoning: 'AR',
};

interface Scored {
  split: string;
  groups: Record<string, string | undefined>;
  hit: number;
}

/** Python's `sorted()` of strings: by code point. */
function pySorted(xs: Iterable<string>): string[] {
  return [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `report_acc`: Overall and per l2-category / category, one row per split (splits sorted here; a set there). */
export function reportAcc(rows: Scored[]): ScoreTable {
  const splits = pySorted(new Set(rows.map((r) => r.split)));
  const cols = new Map<string, number[]>();
  cols.set('Overall', splits.map((sp) => mean(rows.filter((r) => r.split === sp).map((r) => r.hit))));
  for (const group of ['l2-category', 'category']) {
    if (!rows.some((r) => group in r.groups)) continue;
    for (const ab of pySorted(new Set(rows.map((r) => r.groups[group] ?? 'nan')))) {
      const sub = rows.filter((r) => (r.groups[group] ?? 'nan') === ab);
      cols.set(MMB_ABBRS[ab] ?? ab, splits.map((sp) => mean(sub.filter((r) => r.split === sp).map((r) => r.hit))));
    }
  }
  return { columns: ['split', ...cols.keys()], rows: splits.map((sp, i) => [sp, ...[...cols.values()].map((v) => v[i])]) };
}

/** The column a prediction table has under VLMEvalKit's lower-casing (`A`..`Z` keep their case). */
function col(table: Table, name: string): string | undefined {
  return table.columns.find((c) => (LETTERS.includes(c) ? c : c.toLowerCase()) === name);
}

/**
 * Scores MCQ predictions. `answers` maps an index to the dataset's answer (VLMEvalKit takes it
 * from the dataset, not from the predictions file).
 */
export function scoreMcq(preds: Table, answers: Map<string, string>, opts: { circular: boolean; mmmu: boolean }): Scores {
  const predCol = col(preds, 'prediction');
  const indexCol = col(preds, 'index');
  if (!predCol || !indexCol) throw invalid("the predictions need columns 'index' and 'prediction'");
  const gt = new Map(answers);
  if (opts.mmmu) for (const [k, v] of gt) if (!(v.length === 1 && LETTERS.includes(v))) gt.set(k, 'A');
  const groupCols = Object.fromEntries(['split', 'l2-category', 'category'].map((g) => [g, col(preds, g)]));
  const scored: (Scored & { index: string; row: number })[] = [];
  for (let r = 0; r < preds.rows.length; r++) {
    const index = preds.str(r, indexCol);
    if (!gt.has(index)) continue;
    const row = preds.row(r);
    // MMMU_preproc: an open question becomes "A. <answer>" / "B. Other Answers"
    const override = opts.mmmu && row.na('A') ? new Map([['A', col(preds, 'answer') ? row.str(col(preds, 'answer')!) : 'nan'], ['B', 'Other Answers']]) : undefined;
    const choice = canInfer(row.str(predCol), buildChoices(row, override));
    const groups: Record<string, string | undefined> = {};
    for (const g of ['l2-category', 'category']) if (groupCols[g]) groups[g] = row.na(groupCols[g]!) ? undefined : row.str(groupCols[g]!);
    const split = groupCols.split ? (row.na(groupCols.split) ? 'nan' : row.str(groupCols.split)) : 'none';
    scored.push({ index, row: r, split, groups, hit: choice !== false && choice === gt.get(index) ? 1 : 0 });
  }
  let rows: Scored[] = scored;
  if (opts.circular) {
    const gIndexCol = col(preds, 'g_index');
    const groups = new Map<string, Scored[]>();
    for (const s of scored) {
      if (!/^-?\d+$/.test(s.index)) throw invalid(`circular evaluation needs integer indices, not '${s.index}'`);
      const g = gIndexCol ? preds.str(s.row, gIndexCol) : String(BigInt(s.index) % 1_000_000n);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g)!.push(s);
    }
    rows = scored.filter((s) => {
      const g = gIndexCol ? preds.str(s.row, gIndexCol) : String(BigInt(s.index) % 1_000_000n);
      return g === s.index;
    }).map((main) => ({ ...main, hit: groups.get(main.index)!.every((x) => x.hit === 1) ? 1 : 0 }));
  }
  const table = reportAcc(rows);
  const overall = primaryOverall(table);
  return { table, metrics: flatten(table, true), ...overall };
}

/** VLMEvalKit's primary metric: Overall of the split it prefers (test > validation > val > dev), x 100. */
function primaryOverall(table: ScoreTable): { overall?: number; overallLabel?: string } {
  if (table.rows.length === 0) return {};
  const rank = (s: string) => ({ test: 4, validation: 3, val: 2, dev: 1 })[s.toLowerCase()] ?? 0;
  const best = [...table.rows].sort((a, b) => rank(String(b[0])) - rank(String(a[0])))[0];
  const v = best[1];
  if (typeof v !== 'number') return {};
  return { overall: v * 100, overallLabel: table.rows.length > 1 || best[0] !== 'none' ? `Overall (split ${best[0]}) x 100` : 'Overall x 100' };
}
