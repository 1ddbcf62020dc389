/**
 * Yes/No scoring as VLMEvalKit's `ImageYORNDataset.evaluate` does it without a judge
 * (`vlmeval/dataset/utils/yorn.py`): `YOrN_Extraction` reads "yes" or "no" from the answer
 * (Unknown counts as wrong), then MME's rating (per category, accuracy + accuracy+ over the image
 * pairs, summed into perception and reasoning), HallusionBench's aAcc / fAcc / qAcc, POPE's F1,
 * or the default accuracy per category.
 */
import { invalid } from '../../errors.js';
import { pySplit } from '../pylike.js';
import type { Table } from '../table.js';
import { processPunctuation } from './vqa.js';
import { flatten, mean, type Scores, type ScoreTable } from './table.js';

/** `YOrN_Extraction`. */
export function yornExtract(output: string): 'Yes' | 'No' | 'Unknown' {
  const words = pySplit(processPunctuation(output.toLowerCase()));
  const yes = words.includes('yes');
  const no = words.includes('no');
  if (yes && !no) return 'Yes';
  if (!yes && no) return 'No';
  return 'Unknown';
}

interface Row {
  r: number;
  score: boolean;
}

const sortedKeys = (xs: Iterable<string>) => [...new Set(xs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

const MME_SUPER: Record<string, string[]> = {
  perception: ['OCR', 'artwork', 'celebrity', 'color', 'count', 'existence', 'landmark', 'position', 'posters', 'scene'],
  reasoning: ['code_reasoning', 'commonsense_reasoning', 'numerical_calculation', 'text_translation'],
};

/** `MME_rating`. A category missing from the predictions (a `limit` run) is left out of its sum. */
function mmeRating(t: Table, rows: Row[]): { table: ScoreTable; missing: string[] } {
  const stats = new Map<string, Map<string, boolean[]>>();
  for (const { r, score } of rows) {
    const cat = t.str(r, 'category');
    const img = t.str(r, 'image_path');
    if (!stats.has(cat)) stats.set(cat, new Map());
    const m = stats.get(cat)!;
    if (!m.has(img)) m.set(img, []);
    m.get(img)!.push(score);
  }
  const scores = new Map<string, number>();
  for (const [cat, images] of stats) {
    const normal = [...images.values()].flat().map(Number);
    // accuracy+: both questions on an image right (val[0] * val[1]; an image with one question left counts it alone)
    const plus = [...images.values()].map((v) => Number(v[0]) * Number(v.length > 1 ? v[1] : 1));
    scores.set(cat, mean(normal) * 100 + mean(plus) * 100);
  }
  const ret = new Map<string, number>();
  const missing: string[] = [];
  for (const [sc, cats] of Object.entries(MME_SUPER)) {
    let base = 0;
    for (const c of cats) {
      if (scores.has(c)) base += scores.get(c)!;
      else missing.push(c);
    }
    ret.set(sc, base);
  }
  for (const [k, v] of scores) ret.set(k, v);
  return { table: { columns: [...ret.keys()], rows: [[...ret.values()]] }, missing };
}

/** `Hallusion_rating`: rows Overall, then each category and l2-category. */
function hallusionRating(t: Table, rows: Row[]): ScoreTable {
  const ids = rows.map(({ r }) => {
    const parts = t.str(r, 'index').split('_');
    if (parts.length < 6) throw invalid(`HallusionBench rating: index '${t.str(r, 'index')}' is not of the form <a>_<b>_<c>_<set>_<figure>_<question>`);
    return { set: parts[3], figure: parts[4], question: parts[5] };
  });
  const calc = (sel: number[]) => {
    const aAcc = mean(sel.map((i) => Number(rows[i].score))) * 100;
    const group = (key: (i: number) => string) => {
      const g = new Map<string, boolean[]>();
      for (const i of sel) {
        const k = key(i);
        if (!g.has(k)) g.set(k, []);
        g.get(k)!.push(rows[i].score);
      }
      return mean([...g.values()].map((v) => Number(v.every(Boolean)))) * 100;
    };
    const l2 = (i: number) => t.str(rows[i].r, 'l2-category');
    return [aAcc, group((i) => `${l2(i)}_${ids[i].set}_${ids[i].figure}`), group((i) => `${l2(i)}_${ids[i].set}_${ids[i].question}`)];
  };
  const all = rows.map((_, i) => i);
  const out: (string | number)[][] = [['Overall', ...calc(all)]];
  for (const c of ['category', 'l2-category']) {
    if (!t.has(c)) continue;
    for (const v of sortedKeys(rows.map(({ r }) => t.str(r, c)))) out.push([v, ...calc(all.filter((i) => t.str(rows[i].r, c) === v))]);
  }
  return { columns: ['split', 'aAcc', 'fAcc', 'qAcc'], rows: out };
}

/** `POPE_rating`: F1 (Overall), accuracy, precision and recall, also per category (categories split at ','). */
function popeRating(t: Table, rows: (Row & { extracted: string })[]): ScoreTable {
  const exploded = rows.flatMap((x) => (t.na(x.r, 'category') ? [{ ...x, cat: null as string | null }] : t.str(x.r, 'category').split(',').map((cat) => ({ ...x, cat }))));
  const calc = (sel: typeof exploded) => {
    const yt = sel.map((x) => t.raw(x.r, 'answer') === 'Yes');
    const yp = sel.map((x) => x.extracted === 'Yes');
    let tp = 0, fp = 0, fn = 0;
    yt.forEach((y, i) => {
      if (y && yp[i]) tp++;
      if (!y && yp[i]) fp++;
      if (y && !yp[i]) fn++;
    });
    const precision = tp + fp ? tp / (tp + fp) : 0;
    const recall = tp + fn ? tp / (tp + fn) : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return [f1 * 100, mean(sel.map((x) => Number(x.score))) * 100, precision * 100, recall * 100];
  };
  const out: (string | number)[][] = [['Overall', ...calc(exploded)]];
  if (t.has('category')) {
    for (const c of sortedKeys(exploded.filter((x) => x.cat !== null).map((x) => x.cat!))) out.push([c, ...calc(exploded.filter((x) => x.cat === c))]);
  }
  return { columns: ['split', 'Overall', 'acc', 'precision', 'recall'], rows: out };
}

/** `default_rating`: Overall, then per category and per l2-category. */
function defaultRating(t: Table, rows: Row[]): ScoreTable {
  const ret = new Map<string, number>([['Overall', mean(rows.map((x) => Number(x.score))) * 100]]);
  for (const c of ['category', 'l2-category']) {
    if (!t.has(c)) continue;
    const present = rows.filter((x) => !t.na(x.r, c));
    for (const v of sortedKeys(present.map((x) => t.str(x.r, c)))) ret.set(v, mean(present.filter((x) => t.str(x.r, c) === v).map((x) => Number(x.score))) * 100);
  }
  return { columns: [...ret.keys()], rows: [[...ret.values()]] };
}

/** Scores Y/N predictions with the dataset's rating. */
export function scoreYorn(t: Table, rating: 'MME' | 'Hallusion' | 'POPE' | 'default'): Scores {
  for (const c of ['answer', 'prediction']) if (!t.has(c)) throw invalid(`the predictions need an '${c}' column`);
  const need = rating === 'MME' ? ['category', 'image_path'] : rating === 'Hallusion' ? ['index', 'l2-category'] : [];
  for (const c of need) if (!t.has(c)) throw invalid(`the ${rating} rating needs a '${c}' column`);
  const rows = t.rows.map((_, r) => {
    const extracted = yornExtract(t.str(r, 'prediction'));
    return { r, extracted, score: t.raw(r, 'answer') === extracted };
  });
  if (rating === 'MME') {
    const { table, missing } = mmeRating(t, rows);
    const p = table.rows[0][0] as number;
    const q = table.rows[0][1] as number;
    return {
      table, overall: p + q, overallLabel: 'perception + reasoning (MME score, 0-2800)', metrics: flatten(table, false),
      ...(missing.length ? { note: `categories without predictions, left out of their sums: ${missing.join(', ')}` } : {}),
    };
  }
  if (rating === 'Hallusion') {
    const table = hallusionRating(t, rows);
    const [, a, f, q] = table.rows[0] as number[];
    return { table, overall: (a + f + q) / 3, overallLabel: 'mean of Overall aAcc, fAcc, qAcc', metrics: flatten(table, true) };
  }
  if (rating === 'POPE') {
    const table = popeRating(t, rows);
    return { table, overall: table.rows[0][1] as number, overallLabel: 'Overall F1 x 100', metrics: flatten(table, true) };
  }
  const table = defaultRating(t, rows);
  return { table, overall: table.rows[0][0] as number, overallLabel: 'Overall', metrics: flatten(table, false) };
}
