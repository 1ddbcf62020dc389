/**
 * The prompts VLMEvalKit gives SmolVLM, as data. Two layers, as there:
 * 1. the dataset's `build_prompt` turns a row into a message (images and text parts):
 *    {@link datasetMessage};
 * 2. SmolVLM's builder for the dataset (`vlmeval/vlm/smolvlm.py`, `build_prompt_*`) renders the
 *    message into one hand-written prompt: {@link SMOL_TEMPLATES}, {@link renderPrompt}.
 * The result is used in raw prompt mode: their strings exactly, with the engine's media marker
 * where their `<image>` token goes.
 */
import { invalid } from '../errors.js';
import type { DatasetPrompt, SmolPrompt } from './datasets.js';
import { pyStrip } from './pylike.js';
import type { RowView } from './table.js';

/** One part of a VLMEvalKit message: an image (by its position among the row's images) or text. */
export type MessagePart = { type: 'image'; image: number } | { type: 'text'; value: string };

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The option columns of a row, as `ImageMCQDataset.build_prompt` collects them. */
export function rowOptions(row: RowView): [string, string][] {
  return [...LETTERS].filter((c) => row.has(c) && !row.na(c)).map((c) => [c, row.str(c)]);
}

/** `ImageMCQDataset.build_prompt`'s text: hint, question, options and the instruction. */
export function mcqText(row: RowView): string {
  const options = rowOptions(row);
  let prompt = '';
  if (row.has('hint') && !row.na('hint')) prompt += `Hint: ${row.str('hint')}\n`;
  prompt += `Question: ${row.str('question')}\n`;
  if (options.length > 0) {
    prompt += 'Options:\n';
    for (const [k, v] of options) prompt += `${k}. ${v}\n`;
    prompt += 'Please select the correct answer from the options above. \n';
  }
  return prompt;
}

/** `MMMUDataset.split_MMMU`: the images go where the text says `<image k>`. */
function splitMMMU(parts: MessagePart[], where: string): MessagePart[] {
  const images = parts.filter((p) => p.type === 'image');
  const text = parts.find((p) => p.type === 'text')!.value;
  const segs = text.split('<image ');
  if (segs.length === 1) return parts;
  const out: MessagePart[] = [{ type: 'text', value: segs[0] }];
  for (const seg of segs.slice(1)) {
    if (!/^\d>/.test(seg)) throw invalid(`${where}: '<image ${seg.slice(0, 3)}' is not an image reference MMMU's split_MMMU accepts`);
    let k = Number(seg[0]) - 1;
    if (k < 0) k += images.length; // Python's images[-1]
    const image = images[k];
    if (!image) throw invalid(`${where}: the text refers to <image ${seg[0]}> but the row has ${images.length} image(s)`);
    out.push(image, { type: 'text', value: seg.slice(2) });
  }
  return out;
}

/**
 * The message the dataset class builds for a row with `imageCount` images (VLMEvalKit's
 * `build_prompt`: image parts first, then the text).
 */
export function datasetMessage(kind: DatasetPrompt, row: RowView, imageCount: number, where = 'row'): MessagePart[] {
  const images: MessagePart[] = Array.from({ length: imageCount }, (_, image) => ({ type: 'image', image }));
  switch (kind) {
    case 'base':
      return [...images, { type: 'text', value: row.str('question') }];
    case 'vqa':
      return [...images, { type: 'text', value: `${row.str('question')}\nAnswer the question using a single word or phrase.` }];
    case 'mcq':
      return [...images, { type: 'text', value: mcqText(row) }];
    case 'mmmu':
      return splitMMMU([...images, { type: 'text', value: mcqText(row) }], where);
  }
}

/** A SmolVLM prompt builder of VLMEvalKit, as data. `<image>` is where an image's tokens go. */
export interface SmolTemplate {
  /** Opening text. A `<image>` here is the row's only image (the builder takes exactly one). */
  head: string;
  /** MMMU: one line per image part, after the head (`{n}` = the image's number). */
  imageIndex?: string;
  /** The text an image part adds where it occurs (`{n}` = its number); '' when the head holds the image. */
  image: string;
  /** Applied in order (Python `str.replace`, all occurrences) to each text part after `strip()`. */
  replace: readonly (readonly [string, string])[];
  /** `strip()` the text part again after the replacements. */
  restrip?: boolean;
  /** MMBench: "Hint: h\nQuestion: q\nChoices: c" becomes "Question: q\nh\nChoices: c". */
  hintAfterQuestion?: boolean;
  /** Closing text. */
  tail: string;
  /** Added at the very end when the prompt contains both "A." and "B.". */
  optionCue?: string;
}

const USER = '<|im_start|>User:';
const END = '<end_of_utterance>\nAssistant:';
const SELECT = 'Please select the correct answer from the options above.';

function chartqa(apostrophe: string): SmolTemplate {
  return {
    head:
      `${USER}<image>For the question below, follow the following instructions:\n` +
      '-The answer should contain as few words as possible.\n' +
      `-Don${apostrophe}t paraphrase or reformat the text you see in the image.\n` +
      '-Answer a binary question with Yes or No.\n' +
      '-When asked to give a numerical value, provide a number like 2 instead of Two.\n' +
      '-If the final answer has two or more items, provide it in the list format like [1, 2].\n' +
      '-When asked to give a ratio, give out the decimal value like 0.25 instead of 1:4.\n' +
      '-When asked to give a percentage, give out the whole value like 17 instead of decimal like 0.17%.\n' +
      `-Don${apostrophe}t include any units in the answer.\n` +
      '-Do not include any full stops at the end of the answer.\n' +
      '-Try to include the full label from the graph when asked about an entity.\n' +
      'Question: ',
    image: '',
    replace: [],
    tail: END,
  };
}

const BASE: Record<Exclude<SmolPrompt, 'chartqa'>, SmolTemplate> = {
  default: { head: USER, image: '<image>', replace: [], tail: END },
  brief: { head: USER, image: '<image>', replace: [], tail: `\nGive a very brief answer.${END}` },
  yesno: { head: USER, image: '<image>', replace: [], tail: `\nAnswer yes or no.${END}` },
  puremcq: {
    head: USER,
    image: '<image>',
    replace: [['\nOptions:', '\nChoices:'], [SELECT, 'Answer with the letter.']],
    tail: `${END} Answer:`,
  },
  mmbench: {
    head: `${USER}<image>`,
    image: '',
    replace: [['\nOptions:', '\nChoices:'], [SELECT, 'Answer with a letter.']],
    hintAfterQuestion: true,
    tail: `${END} Answer:`,
  },
  mmmu: {
    head: '<|im_start|>User: Question: ',
    imageIndex: '<image {n}>:<image>\n',
    image: ' <image {n}> ',
    replace: [['Question:', ''], [SELECT, 'Answer with the letter.'], ['\nOptions:', '\nChoices:']],
    restrip: true,
    tail: END,
    optionCue: ' Answer:',
  },
  mathvista: {
    head: `${USER}<image>`,
    image: '',
    replace: [...[...'ABCDEFGH'].map((c) => [`(${c}) `, `${c}. `] as const), ['\nOptions:', '\nChoices:'], ['Hint: ', '']],
    restrip: true,
    tail: END,
    optionCue: ' Answer:',
  },
  docvqa: {
    head:
      `${USER}<image>Give a short and terse answer to the following question. ` +
      'Do not paraphrase or reformat the text you see in the image. Do not include any full stops. ' +
      'Just give the answer without additional explanation. Question: ',
    image: '',
    replace: [],
    tail: END,
  },
  textvqa: {
    head:
      `${USER}<image>Answer the following question about the image using as few words as possible. ` +
      'Follow these additional instructions:\n' +
      '-Always answer a binary question with Yes or No.\n' +
      '-When asked what time it is, reply with the time seen in the image.\n' +
      '-Do not put any full stops at the end of the answer.\n' +
      '-Do not put quotation marks around the answer.\n' +
      '-An answer with one or two words is favorable.\n' +
      '-Do not apply common sense knowledge. The answer can be found in the image.\n' +
      'Question: ',
    image: '',
    replace: [],
    tail: END,
  },
};

/**
 * The prompt builders of VLMEvalKit's `SmolVLM` class (SmolVLM, -256M, -500M) and of its
 * `SmolVLM2` class: they differ only in ChartQA's apostrophes (’ vs ').
 */
export const SMOL_TEMPLATES: Record<'SmolVLM' | 'SmolVLM2', Record<SmolPrompt, SmolTemplate>> = {
  SmolVLM: { ...BASE, chartqa: chartqa('\u2019') },
  SmolVLM2: { ...BASE, chartqa: chartqa("'") },
};

/** The VLMEvalKit model class whose prompts fit a model name: SmolVLM2 for SmolVLM2 models. */
export function promptStyleFor(modelName: string): 'SmolVLM' | 'SmolVLM2' {
  return /smolvlm2/i.test(modelName) ? 'SmolVLM2' : 'SmolVLM';
}

const IMAGE = '<image>';

/**
 * Renders a message with a SmolVLM template. `marker` replaces each `<image>` the template
 * inserts (text of the question is never touched).
 * @returns the prompt and, for each marker in order, which of the row's images it is
 * @throws InvalidArgumentError where VLMEvalKit's builder fails on the row (one-image builders
 *   given several images, an MMBench hint it cannot move)
 */
export function renderPrompt(t: SmolTemplate, message: MessagePart[], marker: string, where = 'row'): { prompt: string; images: number[] } {
  const images: number[] = [];
  const sub = (s: string, n?: number) => (n === undefined ? s : s.replaceAll('{n}', String(n))).replaceAll(IMAGE, marker);
  let prompt = sub(t.head);
  const headImages = t.head.split(IMAGE).length - 1;
  const imageParts = message.filter((p): p is { type: 'image'; image: number } => p.type === 'image');
  if (headImages > 0) {
    if (imageParts.length !== headImages) {
      throw invalid(`${where}: ${imageParts.length} images, but VLMEvalKit's SmolVLM prompt for this dataset holds ${headImages} (the processor rejects such a row)`);
    }
    images.push(...imageParts.map((p) => p.image));
  }
  if (t.imageIndex) imageParts.forEach((_, i) => (prompt += sub(t.imageIndex!, i + 1)));
  let n = 0;
  for (const part of message) {
    if (part.type === 'image') {
      n++;
      prompt += sub(t.image, n);
      if (headImages === 0) images.push(part.image);
      continue;
    }
    let text = pyStrip(part.value);
    for (const [from, to] of t.replace) text = text.replaceAll(from, to);
    if (t.hintAfterQuestion && text.startsWith('Hint:')) {
      const hq = text.split('\nQuestion:');
      const qc = hq.length === 2 ? hq[1].split('\nChoices:') : [];
      if (qc.length !== 2) throw invalid(`${where}: VLMEvalKit's SmolVLM MMBench prompt cannot move this hint (it needs one "\\nQuestion:" and one "\\nChoices:")`);
      text = `Question:${qc[0]}\n${hq[0]}\nChoices:${qc[1]}`;
    }
    if (t.restrip) text = pyStrip(text);
    prompt += text;
  }
  prompt += t.tail;
  if (t.optionCue && prompt.includes('A.') && prompt.includes('B.')) prompt += t.optionCue;
  return { prompt, images };
}
