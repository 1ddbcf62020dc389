// Each expected prompt is what VLMEvalKit's own code builds for the row (open-compass/VLMEvalKit at
// e8e78f05: ImageBaseDataset / ImageMCQDataset.build_prompt, MMMUDataset.split_MMMU, the VQA suffix
// of ImageVQADataset.build_prompt, then SmolVLM's / SmolVLM2's build_prompt_* from
// vlmeval/vlm/smolvlm.py), run under Python 3.11 with load_image stubbed to return the image path;
// the image list is the order in which their builder collects the images.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { datasetMessage, renderPrompt, SMOL_TEMPLATES } from '../../dist/eval/prompts.js';
import { Table } from '../../dist/eval/table.js';
import { imageList } from '../../dist/eval/tsv.js';

const ROWS = {
  mcq_hint: { index: '1', image_path: 'a.jpg', question: 'What is shown?', hint: 'Look at the top left.', A: 'A cat', B: 'A dog', C: '2.0', D: null },
  mcq_nohint: { index: '2', image_path: 'a.jpg', question: 'Which animal is it?', hint: null, A: 'cat', B: 'dog' },
  mmmu_refs: { index: '3', image_path: "['x.png', 'y.png']", question: 'Compare <image 1> and <image 2>. Which is larger?', A: '<image 1>', B: '<image 2>' },
  mmmu_open: { index: '4', image_path: 'a.png', question: 'What is the value of x?', A: null, B: null },
  mathvista: { index: '5', image_path: 'm.png', question: 'Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.\nQuestion: What fraction is blue?\nChoices:\n(A) 3/11\n(B) 8/11\n(C) 6/11' },
  mathvista_free: { index: '6', image_path: 'm.png', question: 'Hint: Please answer the question requiring an integer answer.\nQuestion: How many cubes are there?' },
  vqa: { index: '7', image_path: 'v.png', question: 'What is written on the sign?' },
  yorn: { index: '8', image_path: 'y.png', question: 'Is there a red car in the image? Please answer yes or no.' },
};

// case -> [row, dataset build_prompt, SmolVLM builder, class]
const CASES = {
  mcq_puremcq: ['mcq_hint', 'mcq', 'puremcq'], mcq_mmbench_hint: ['mcq_hint', 'mcq', 'mmbench'], mcq_mmbench_nohint: ['mcq_nohint', 'mcq', 'mmbench'],
  mcq_default: ['mcq_hint', 'mcq', 'default'], mmmu_refs: ['mmmu_refs', 'mmmu', 'mmmu'], mmmu_open: ['mmmu_open', 'mmmu', 'mmmu'],
  mathvista: ['mathvista', 'base', 'mathvista'], mathvista_free: ['mathvista_free', 'base', 'mathvista'],
  chartqa_SmolVLM: ['vqa', 'vqa', 'chartqa', 'SmolVLM'], chartqa_SmolVLM2: ['vqa', 'vqa', 'chartqa', 'SmolVLM2'], docvqa: ['vqa', 'vqa', 'docvqa'],
  textvqa: ['vqa', 'vqa', 'textvqa'], brief_vqa: ['vqa', 'vqa', 'brief'], brief_yorn: ['yorn', 'base', 'brief'], yesno: ['yorn', 'base', 'yesno'],
  default_yorn: ['yorn', 'base', 'default'],
};

// [prompt, images] from VLMEvalKit
const EXPECTED = {
 "mcq_puremcq": [
  "<|im_start|>User:<image>Hint: Look at the top left.\nQuestion: What is shown?\nChoices:\nA. A cat\nB. A dog\nC. 2.0\nAnswer with the letter.<end_of_utterance>\nAssistant: Answer:",
  [
   "a.jpg"
  ]
 ],
 "mcq_mmbench_hint": [
  "<|im_start|>User:<image>Question: What is shown?\nHint: Look at the top left.\nChoices:\nA. A cat\nB. A dog\nC. 2.0\nAnswer with a letter.<end_of_utterance>\nAssistant: Answer:",
  [
   "a.jpg"
  ]
 ],
 "mcq_mmbench_nohint": [
  "<|im_start|>User:<image>Question: Which animal is it?\nChoices:\nA. cat\nB. dog\nAnswer with a letter.<end_of_utterance>\nAssistant: Answer:",
  [
   "a.jpg"
  ]
 ],
 "mcq_default": [
  "<|im_start|>User:<image>Hint: Look at the top left.\nQuestion: What is shown?\nOptions:\nA. A cat\nB. A dog\nC. 2.0\nPlease select the correct answer from the options above.<end_of_utterance>\nAssistant:",
  [
   "a.jpg"
  ]
 ],
 "mmmu_refs": [
  "<|im_start|>User: Question: <image 1>:<image>\n<image 2>:<image>\n<image 3>:<image>\n<image 4>:<image>\nCompare <image 1> and <image 2> . Which is larger?\nChoices:\nA. <image 3> B. <image 4> Answer with the letter.<end_of_utterance>\nAssistant: Answer:",
  [
   "x.png",
   "y.png",
   "x.png",
   "y.png"
  ]
 ],
 "mmmu_open": [
  "<|im_start|>User: Question: <image 1>:<image>\n <image 1> What is the value of x?<end_of_utterance>\nAssistant:",
  [
   "a.png"
  ]
 ],
 "mathvista": [
  "<|im_start|>User:<image>Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.\nQuestion: What fraction is blue?\nChoices:\nA. 3/11\nB. 8/11\nC. 6/11<end_of_utterance>\nAssistant: Answer:",
  [
   "m.png"
  ]
 ],
 "mathvista_free": [
  "<|im_start|>User:<image>Please answer the question requiring an integer answer.\nQuestion: How many cubes are there?<end_of_utterance>\nAssistant:",
  [
   "m.png"
  ]
 ],
 "chartqa_SmolVLM": [
  "<|im_start|>User:<image>For the question below, follow the following instructions:\n-The answer should contain as few words as possible.\n-Don’t paraphrase or reformat the text you see in the image.\n-Answer a binary question with Yes or No.\n-When asked to give a numerical value, provide a number like 2 instead of Two.\n-If the final answer has two or more items, provide it in the list format like [1, 2].\n-When asked to give a ratio, give out the decimal value like 0.25 instead of 1:4.\n-When asked to give a percentage, give out the whole value like 17 instead of decimal like 0.17%.\n-Don’t include any units in the answer.\n-Do not include any full stops at the end of the answer.\n-Try to include the full label from the graph when asked about an entity.\nQuestion: What is written on the sign?\nAnswer the question using a single word or phrase.<end_of_utterance>\nAssistant:",
  [
   "v.png"
  ]
 ],
 "chartqa_SmolVLM2": [
  "<|im_start|>User:<image>For the question below, follow the following instructions:\n-The answer should contain as few words as possible.\n-Don't paraphrase or reformat the text you see in the image.\n-Answer a binary question with Yes or No.\n-When asked to give a numerical value, provide a number like 2 instead of Two.\n-If the final answer has two or more items, provide it in the list format like [1, 2].\n-When asked to give a ratio, give out the decimal value like 0.25 instead of 1:4.\n-When asked to give a percentage, give out the whole value like 17 instead of decimal like 0.17%.\n-Don't include any units in the answer.\n-Do not include any full stops at the end of the answer.\n-Try to include the full label from the graph when asked about an entity.\nQuestion: What is written on the sign?\nAnswer the question using a single word or phrase.<end_of_utterance>\nAssistant:",
  [
   "v.png"
  ]
 ],
 "docvqa": [
  "<|im_start|>User:<image>Give a short and terse answer to the following question. Do not paraphrase or reformat the text you see in the image. Do not include any full stops. Just give the answer without additional explanation. Question: What is written on the sign?\nAnswer the question using a single word or phrase.<end_of_utterance>\nAssistant:",
  [
   "v.png"
  ]
 ],
 "textvqa": [
  "<|im_start|>User:<image>Answer the following question about the image using as few words as possible. Follow these additional instructions:\n-Always answer a binary question with Yes or No.\n-When asked what time it is, reply with the time seen in the image.\n-Do not put any full stops at the end of the answer.\n-Do not put quotation marks around the answer.\n-An answer with one or two words is favorable.\n-Do not apply common sense knowledge. The answer can be found in the image.\nQuestion: What is written on the sign?\nAnswer the question using a single word or phrase.<end_of_utterance>\nAssistant:",
  [
   "v.png"
  ]
 ],
 "brief_vqa": [
  "<|im_start|>User:<image>What is written on the sign?\nAnswer the question using a single word or phrase.\nGive a very brief answer.<end_of_utterance>\nAssistant:",
  [
   "v.png"
  ]
 ],
 "brief_yorn": [
  "<|im_start|>User:<image>Is there a red car in the image? Please answer yes or no.\nGive a very brief answer.<end_of_utterance>\nAssistant:",
  [
   "y.png"
  ]
 ],
 "yesno": [
  "<|im_start|>User:<image>Is there a red car in the image? Please answer yes or no.\nAnswer yes or no.<end_of_utterance>\nAssistant:",
  [
   "y.png"
  ]
 ],
 "default_yorn": [
  "<|im_start|>User:<image>Is there a red car in the image? Please answer yes or no.<end_of_utterance>\nAssistant:",
  [
   "y.png"
  ]
 ]
};

function build(rowName, dp, sp, style = 'SmolVLM', marker = '<image>') {
  const r = ROWS[rowName];
  const cols = Object.keys(r);
  const t = new Table(cols, [cols.map((c) => r[c])]);
  const names = imageList(r.image_path);
  const { prompt, images } = renderPrompt(SMOL_TEMPLATES[style][sp], datasetMessage(dp, t.row(0), names.length), marker);
  return [prompt, images.map((i) => names[i])];
}

for (const [name, [rowName, dp, sp, style]] of Object.entries(CASES)) {
  test(`prompt ${name} equals VLMEvalKit's SmolVLM prompt`, () => {
    assert.deepEqual(build(rowName, dp, sp, style), EXPECTED[name]);
  });
}

test('the media marker replaces only the images the template inserts', () => {
  const [prompt, images] = build('mmmu_refs', 'mmmu', 'mmmu', 'SmolVLM', '<__media__>');
  assert.equal(prompt, EXPECTED.mmmu_refs[0].replaceAll('<image>', '<__media__>'));
  assert.equal(prompt.split('<__media__>').length - 1, images.length);
  assert.ok(prompt.includes('Compare <image 1> and <image 2> .'));
});

test('a one-image builder refuses a row with two images, as the processor does', () => {
  const t = new Table(['index', 'question'], [['1', 'q']]);
  assert.throws(() => renderPrompt(SMOL_TEMPLATES.SmolVLM.mmbench, datasetMessage('mcq', t.row(0), 2), '<m>', 'row 1'), { code: 'ERR_INVALID_ARGUMENT', message: /row 1: 2 images/ });
});
