/**
 * MathVista without its GPT judge (`vlmeval/dataset/utils/mathvista.py`). VLMEvalKit first tries
 * `post_check(line, prefetch=True)` on the raw answer (an option letter by `can_infer`, or an
 * integer / float equal to the answer) and asks the judge only when that fails. Here the prefetch
 * is all there is: a row it cannot settle counts as wrong, so the numbers are a lower bound of
 * VLMEvalKit's. The table is `MathVista_acc`'s (tot, prefetch, hit, rates per task and skill).
 */
import { invalid } from '../../errors.js';
import { PyNumber, pyFloat, pyInt, pyLiteral, pyStr } from '../pylike.js';
import type { Table } from '../table.js';
import { canInfer } from './mcq.js';
import { flatten, type Scores } from './table.js';

/** A value as Python holds it here: a str, an int, a float, or False. */
type Py = string | bigint | number | false;

function truthy(v: Py): boolean {
  return v !== false && v !== '' && v !== 0n && v !== 0;
}

/** `int(x)` of a cell text or an earlier result; undefined where Python raises ValueError. */
function toInt(v: Py): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : undefined;
  return typeof v === 'string' ? pyInt(v) : undefined;
}

function toFloat(v: Py): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return typeof v === 'string' ? pyFloat(v) : undefined;
}

/** The letter -> choice map of `list_to_dict(eval(line['choices']))`. */
function choiceMap(t: Table, r: number): Map<string, string> {
  const v = pyLiteral(t.str(r, 'choices'));
  if (!Array.isArray(v)) throw invalid(`MathVista row ${t.str(r, 'index')}: 'choices' is not a Python list`);
  return new Map(v.map((x, i) => [String.fromCharCode(65 + i), pyStr(x)]));
}

/** `post_check`: with `prefetch`, the settled value or false; otherwise whether `response` is right. */
export function postCheck(t: Table, r: number, response: Py, prefetch: boolean): Py | boolean {
  let res: Py | undefined | null = null;
  let ans: Py | PyNumber | null = t.str(r, 'answer');
  const qtype = t.str(r, 'question_type');
  if (qtype === 'multi_choice') {
    ans = t.str(r, 'answer_option');
    res = canInfer(typeof response === 'string' ? response : String(response), choiceMap(t, r));
    if (prefetch) return res;
  } else {
    const atype = t.str(r, 'answer_type');
    if (atype === 'integer') {
      const a = toInt(response);
      const b = toInt(t.str(r, 'answer'));
      if (a !== undefined) res = a;
      if (a !== undefined && b !== undefined) ans = b;
    } else if (atype === 'float') {
      const a = toFloat(response);
      const b = toFloat(t.str(r, 'answer'));
      if (a !== undefined) res = a;
      if (a !== undefined && b !== undefined) ans = b;
    } else {
      res = 'None'; // str(res) of the initial None: a text answer never matches
    }
  }
  const equal = res !== null && res !== undefined && typeof res === typeof ans && res === ans;
  if (equal) return prefetch ? (res as Py) : true;
  return false;
}

/** Scores MathVista predictions by the prefetch alone. */
export function scoreMathVista(t: Table): Scores {
  for (const c of ['prediction', 'answer', 'question_type', 'answer_type', 'task', 'skills']) {
    if (!t.has(c)) throw invalid(`MathVista scoring needs a '${c}' column`);
  }
  const tot = new Map<string, number>();
  const fetch = new Map<string, number>();
  const hit = new Map<string, number>();
  const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (let r = 0; r < t.rows.length; r++) {
    const cate = t.str(r, 'task');
    add(tot, 'Overall');
    const sk = pyLiteral(t.str(r, 'skills'));
    const skills = Array.isArray(sk) ? sk.map((x) => pyStr(x)) : [t.str(r, 'skills')];
    for (const s of skills) add(tot, s);
    add(tot, cate);
    const pre = postCheck(t, r, t.str(r, 'prediction'), true) as Py;
    const prefetched = truthy(pre);
    const res: Py = prefetched ? pre : '';
    if (prefetched) for (const k of ['Overall', cate, ...skills]) add(fetch, k);
    if (postCheck(t, r, res, false) === true) for (const k of ['Overall', cate, ...skills]) add(hit, k);
  }
  const rows = [...tot].map(([k, n]) => [k, n, fetch.get(k) ?? 0, hit.get(k) ?? 0, ((fetch.get(k) ?? 0) / n) * 100, ((hit.get(k) ?? 0) / n) * 100]);
  const table = { columns: ['Task&Skill', 'tot', 'prefetch', 'hit', 'prefetch_rate', 'acc'], rows, intColumns: ['tot', 'prefetch', 'hit'] };
  return {
    table,
    overall: rows[0]?.[5] as number | undefined,
    overallLabel: 'Overall acc (exact-match prefetch, no judge)',
    metrics: flatten(table, true),
    note: 'VLMEvalKit scores MathVista with a GPT judge; this is its exact-matching prefetch alone (rows the judge would settle count as wrong)',
  };
}
