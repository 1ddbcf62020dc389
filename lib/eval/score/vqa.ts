/**
 * Open-answer (VQA) scoring as VLMEvalKit's `ImageVQADataset.evaluate` does it
 * (`vlmeval/dataset/utils/vqa_eval.py`, `process_punctuation` in `vlmeval/smp/misc.py`):
 * TextVQA's VQA accuracy over its ten answers after the official normalisation, ChartQA's
 * relaxed accuracy (numbers within 5%), OCRVQA's exact match, DocVQA/InfoVQA's ANLS (0.5
 * threshold), and the normalised exact match VLMEvalKit falls back to.
 */
import { invalid } from '../../errors.js';
import { pyFloat, pyLen, pyLiteral, pyRstrip, pySplit, pyStr, pyStrip } from '../pylike.js';
import type { Table } from '../table.js';
import { flatten, mean, type Scores } from './table.js';

export type VqaMethod = 'vqa_score' | 'relaxed_accuracy' | 'accuracy' | 'anls' | 'exact';

const PUNCT = [';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!'];
const COMMA_STRIP = /(\p{Nd})(,)(\p{Nd})/u;
const PERIOD_STRIP = /(?<!\p{Nd})\.(?!\p{Nd})/gu;

/** `process_punctuation` (including its `re.sub(..., re.UNICODE)` that removes at most 32 periods). */
export function processPunctuation(inText: string): string {
  let out = inText;
  const commaNumber = COMMA_STRIP.test(inText);
  for (const p of PUNCT) {
    if (inText.includes(`${p} `) || inText.includes(` ${p}`) || commaNumber) out = out.replaceAll(p, '');
    else out = out.replaceAll(p, ' ');
  }
  let n = 0;
  return out.replace(PERIOD_STRIP, (m) => (n++ < 32 ? '' : m));
}

const MANUAL_MAP: Record<string, string> = {
  none: '0', zero: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9', ten: '10',
};
const ARTICLES = new Set(['a', 'an', 'the']);
// The official VQA contraction table, as vqa_eval.py has it (its capitalised keys never match lower-cased text).
const CONTRACTIONS: Record<string, string> = {
  aint: "ain't", arent: "aren't", cant: "can't", couldve: "could've", couldnt: "couldn't", "couldn'tve": "couldn't've",
  "couldnt've": "couldn't've", didnt: "didn't", doesnt: "doesn't", dont: "don't", hadnt: "hadn't", "hadnt've": "hadn't've",
  "hadn'tve": "hadn't've", hasnt: "hasn't", havent: "haven't", hed: "he'd", "hed've": "he'd've", "he'dve": "he'd've", hes: "he's",
  howd: "how'd", howll: "how'll", hows: "how's", "Id've": "I'd've", "I'dve": "I'd've", Im: "I'm", Ive: "I've", isnt: "isn't",
  itd: "it'd", "itd've": "it'd've", "it'dve": "it'd've", itll: "it'll", "let's": "let's", maam: "ma'am", mightnt: "mightn't",
  "mightnt've": "mightn't've", "mightn'tve": "mightn't've", mightve: "might've", mustnt: "mustn't", mustve: "must've",
  neednt: "needn't", notve: "not've", oclock: "o'clock", oughtnt: "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
  "'ow'sat": "'ow's'at", shant: "shan't", "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's", shouldve: "should've",
  shouldnt: "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've", "somebody'd": 'somebodyd',
  "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've", somebodyll: "somebody'll", somebodys: "somebody's",
  someoned: "someone'd", "someoned've": "someone'd've", "someone'dve": "someone'd've", someonell: "someone'll",
  someones: "someone's", somethingd: "something'd", "somethingd've": "something'd've", "something'dve": "something'd've",
  somethingll: "something'll", thats: "that's", thered: "there'd", "thered've": "there'd've", "there'dve": "there'd've",
  therere: "there're", theres: "there's", theyd: "they'd", "theyd've": "they'd've", "they'dve": "they'd've", theyll: "they'll",
  theyre: "they're", theyve: "they've", twas: "'twas", wasnt: "wasn't", "wed've": "we'd've", "we'dve": "we'd've", weve: "we've",
  werent: "weren't", whatll: "what'll", whatre: "what're", whats: "what's", whatve: "what've", whens: "when's", whered: "where'd",
  wheres: "where's", whereve: "where've", whod: "who'd", "whod've": "who'd've", "who'dve": "who'd've", wholl: "who'll",
  whos: "who's", whove: "who've", whyll: "why'll", whyre: "why're", whys: "why's", wont: "won't", wouldve: "would've",
  wouldnt: "wouldn't", "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", yall: "y'all", "yall'll": "y'all'll",
  "y'allll": "y'all'll", "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've", youd: "you'd",
  "youd've": "you'd've", "you'dve": "you'd've", youll: "you'll", youre: "you're", youve: "you've",
};

/** `_process_digit_article`: number words to digits, articles dropped, contractions restored. */
export function processDigitArticle(inText: string): string {
  const out: string[] = [];
  for (let word of pySplit(inText.toLowerCase())) {
    word = Object.hasOwn(MANUAL_MAP, word) ? MANUAL_MAP[word] : word;
    if (!ARTICLES.has(word)) out.push(word);
  }
  return out.map((w) => (Object.hasOwn(CONTRACTIONS, w) ? CONTRACTIONS[w] : w)).join(' ');
}

/** `process_answer`: the VQA normalisation of one answer. */
export function processAnswer(answer: string): string {
  return processDigitArticle(processPunctuation(pyStrip(answer.replaceAll('\n', ' ').replaceAll('\t', ' '))));
}

function toFloat(text: string): number | undefined {
  return text.endsWith('%') ? (v => (v === undefined ? undefined : v / 100))(pyFloat(pyRstrip(text, '%'))) : pyFloat(text);
}

/** `relaxed_correctness`: numbers within 5% of a non-zero target, otherwise case-insensitive equality. */
export function relaxedCorrectness(target: string, prediction: string, maxRelativeChange = 0.05): boolean {
  const p = toFloat(prediction);
  const t = toFloat(target);
  if (p !== undefined && t !== undefined && t !== 0) return Math.abs(p - t) / Math.abs(t) <= maxRelativeChange;
  return prediction.toLowerCase() === target.toLowerCase();
}

/** `levenshtein_distance` over code points. */
export function levenshtein(a: string, b: string): number {
  let s1 = [...a];
  let s2 = [...b];
  if (s1.length > s2.length) [s1, s2] = [s2, s1];
  let dist = Array.from({ length: s1.length + 1 }, (_, i) => i);
  for (let i2 = 0; i2 < s2.length; i2++) {
    const next = [i2 + 1];
    for (let i1 = 0; i1 < s1.length; i1++) {
      next.push(s1[i1] === s2[i2] ? dist[i1] : 1 + Math.min(dist[i1], dist[i1 + 1], next[next.length - 1]));
    }
    dist = next;
  }
  return dist[dist.length - 1];
}

/** `anls_compute`: normalised edit distance (0 = equal), over the longer original length. */
export function anlsCompute(groundtruth: string, prediction: string): number {
  const gt = pySplit(pyStrip(groundtruth).toLowerCase()).join(' ');
  const det = pySplit(pyStrip(prediction).toLowerCase()).join(' ');
  const dist = levenshtein(gt, det);
  const length = Math.max(pyLen(groundtruth.toUpperCase()), pyLen(prediction.toUpperCase()));
  return length === 0 ? 0 : dist / length;
}

/** The answers of a cell: a Python list literal holds several (`istype(answer, list)`). */
export function answerList(answer: string): string[] {
  const v = pyLiteral(answer);
  return Array.isArray(v) ? v.map((x) => pyStr(x)) : [answer];
}

/** `process_line`: one row's per-answer matches. */
export function processLine(answer: string, prediction: string, method: VqaMethod): number[] {
  const answers = answerList(answer);
  switch (method) {
    case 'vqa_score': {
      const gt = answers.map(processAnswer);
      const pred = processAnswer(prediction);
      return gt.map((_, i) => Math.min(1, gt.filter((g, j) => j !== i && g === pred).length / 3));
    }
    case 'anls':
      return answers.map((x) => anlsCompute(x, prediction));
    case 'relaxed_accuracy':
      return answers.map((x) => (relaxedCorrectness(x, pyStrip(prediction)) ? 1 : 0));
    case 'accuracy':
      return answers.map((x) => (pyStrip(x).toLowerCase() === pyStrip(prediction).toLowerCase() ? 1 : 0));
    case 'exact': {
      const pred = processAnswer(prediction);
      return answers.map((x) => (processAnswer(x) === pred ? 1 : 0));
    }
  }
}

/** `hit_calculate`: a row's score from its matches. */
export function hitOf(match: number[], method: VqaMethod, anlsThreshold = 0.5): number {
  if (method === 'anls') {
    const m = 1 - Math.min(...match);
    return m < anlsThreshold ? 0 : m;
  }
  if (method === 'relaxed_accuracy' || method === 'accuracy') return Math.max(...match);
  return mean(match);
}

/** Scores VQA predictions: Overall and per split, or Overall and per category (x 100). */
export function scoreVqa(preds: Table, method: VqaMethod): Scores {
  for (const c of ['answer', 'prediction']) if (!preds.has(c)) throw invalid(`the predictions need an '${c}' column`);
  const hits = preds.rows.map((_, r) => hitOf(processLine(preds.str(r, 'answer'), preds.str(r, 'prediction'), method), method));
  const ret = new Map<string, number>();
  const groupBy = (column: string) => {
    const keys = [...new Set(preds.rows.map((_, r) => preds.str(r, column)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const k of keys) ret.set(k, mean(hits.filter((_, r) => preds.str(r, column) === k)) * 100);
  };
  if (preds.has('split')) {
    groupBy('split');
    ret.set('Overall', mean(hits) * 100);
  } else {
    ret.set('Overall', mean(hits) * 100);
    if (preds.has('category')) groupBy('category');
  }
  const table = { columns: [...ret.keys()], rows: [[...ret.values()]] };
  return { table, overall: ret.get('Overall'), overallLabel: 'Overall', metrics: flatten(table, false) };
}
