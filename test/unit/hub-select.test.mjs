// Which files a hub request `repo[:quant]` selects (lib/hub/select.ts), on made-up listings shaped
// like ggml-org's GGUF repositories. No network, no addon.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DownloadError } from '../../dist/errors.js';
import {
  describeWanted, findBestModel, findBestSibling, isModelGguf, quantBits, requireFiles, selectedFiles, selectFiles, splitInfo, splitParts,
} from '../../dist/hub/select.js';

/** A listing as the tree API gives it (paths and sizes; the rest does not matter to the choice). */
const listing = (...paths) => paths.map((path, i) => ({ path, size: 1000 + i }));
const paths = (files) => files.map((f) => f.path);
const pick = (files, quant) => {
  const s = selectFiles(files, quant);
  return s && { model: s.primary.path, parts: paths(s.parts), mmproj: s.mmproj?.path };
};

const SMOLVLM2 = listing(
  '.gitattributes',
  'README.md',
  'SmolVLM2-2.2B-Instruct-F16.gguf',
  'SmolVLM2-2.2B-Instruct-Q4_K_M.gguf',
  'SmolVLM2-2.2B-Instruct-Q8_0.gguf',
  'mmproj-SmolVLM2-2.2B-Instruct-F16.gguf',
  'mmproj-SmolVLM2-2.2B-Instruct-Q8_0.gguf',
);

describe('model and projector for a quant', () => {
  test('no quant: Q4_K_M first, with the projector closest in bits (Q8_0 over F16)', () => {
    assert.deepEqual(pick(SMOLVLM2), {
      model: 'SmolVLM2-2.2B-Instruct-Q4_K_M.gguf',
      parts: ['SmolVLM2-2.2B-Instruct-Q4_K_M.gguf'],
      mmproj: 'mmproj-SmolVLM2-2.2B-Instruct-Q8_0.gguf',
    });
  });

  test('each published quant picks its own model; the projector follows its bits', () => {
    assert.deepEqual(pick(SMOLVLM2, 'Q8_0'), { model: 'SmolVLM2-2.2B-Instruct-Q8_0.gguf', parts: ['SmolVLM2-2.2B-Instruct-Q8_0.gguf'], mmproj: 'mmproj-SmolVLM2-2.2B-Instruct-Q8_0.gguf' });
    assert.deepEqual(pick(SMOLVLM2, 'F16'), { model: 'SmolVLM2-2.2B-Instruct-F16.gguf', parts: ['SmolVLM2-2.2B-Instruct-F16.gguf'], mmproj: 'mmproj-SmolVLM2-2.2B-Instruct-F16.gguf' });
    assert.deepEqual(pick(SMOLVLM2, 'Q4_K_M'), pick(SMOLVLM2));
  });

  test('the quant matches case-insensitively', () => {
    assert.deepEqual(pick(SMOLVLM2, 'f16'), pick(SMOLVLM2, 'F16'));
    assert.deepEqual(pick(SMOLVLM2, 'q4_k_m'), pick(SMOLVLM2, 'Q4_K_M'));
    const lower = listing('SmolVLM-256M-Instruct-f16.gguf', 'SmolVLM-256M-Instruct-Q8_0.gguf', 'mmproj-SmolVLM-256M-Instruct-f16.gguf', 'mmproj-SmolVLM-256M-Instruct-Q8_0.gguf');
    assert.deepEqual(pick(lower, 'F16'), { model: 'SmolVLM-256M-Instruct-f16.gguf', parts: ['SmolVLM-256M-Instruct-f16.gguf'], mmproj: 'mmproj-SmolVLM-256M-Instruct-f16.gguf' });
  });

  test('no quant and no Q4_K_M: Q8_0; neither: the first model in the listing', () => {
    const q8 = listing('SmolVLM-256M-Instruct-F16.gguf', 'SmolVLM-256M-Instruct-Q8_0.gguf', 'mmproj-SmolVLM-256M-Instruct-F16.gguf');
    assert.equal(pick(q8).model, 'SmolVLM-256M-Instruct-Q8_0.gguf');
    assert.equal(pick(q8).mmproj, 'mmproj-SmolVLM-256M-Instruct-F16.gguf', 'the only projector there is');
    const other = listing('mmproj-model-BF16.gguf', 'model-Q6_K.gguf', 'model-BF16.gguf');
    assert.equal(pick(other).model, 'model-Q6_K.gguf');
    assert.equal(pick(other).mmproj, 'mmproj-model-BF16.gguf');
  });

  test('a quant is a whole tag: Q4_K does not take Q4_K_M, Q8 does not take Q8_0', () => {
    assert.equal(pick(SMOLVLM2, 'Q4_K'), undefined);
    assert.equal(pick(SMOLVLM2, 'Q8'), undefined);
    assert.equal(findBestModel(listing('m-Q4_K.gguf', 'm-Q4_K_M.gguf'), 'Q4_K').path, 'm-Q4_K.gguf');
    // the tag may also end at a dot (model.Q4_K_M.gguf) or before a split suffix
    assert.equal(findBestModel(listing('model.Q4_K_M.gguf'), 'Q4_K_M').path, 'model.Q4_K_M.gguf');
  });

  test('projectors, imatrix files and draft models are never the model', () => {
    const files = listing(
      'mmproj-SmolVLM2-2.2B-Instruct-Q4_K_M.gguf',
      'imatrix-Q4_K_M.gguf',
      'mtp-SmolVLM2-Q4_K_M.gguf',
      'eagle3-SmolVLM2-Q4_K_M.gguf',
      'SmolVLM2-2.2B-Instruct-Q8_0.gguf',
    );
    assert.equal(pick(files, 'Q4_K_M'), undefined);
    assert.equal(pick(files).model, 'SmolVLM2-2.2B-Instruct-Q8_0.gguf');
    assert.deepEqual(['a.gguf', 'dir/mmproj.gguf', 'x-imatrix.gguf', 'README.md', 'model.gguf.part'].map(isModelGguf), [true, false, false, false, false]);
  });

  test('no projector in the repository: none chosen', () => {
    assert.equal(pick(listing('SmolLM2-135M-Q8_0.gguf')).mmproj, undefined);
    assert.deepEqual(paths(selectedFiles(selectFiles(listing('SmolLM2-135M-Q8_0.gguf')))), ['SmolLM2-135M-Q8_0.gguf']);
  });

  test('the projector is looked for in the model\'s folder first, then above, never beside or below', () => {
    const files = listing(
      'mmproj-F16.gguf',
      'Q8_0/SmolVLM-Q8_0.gguf',
      'Q8_0/mmproj-F16.gguf',
      'Q8_0/mmproj-Q8_0.gguf',
      'F16/SmolVLM-F16.gguf',
      'Q4_K_M/SmolVLM-Q4_K_M.gguf',
      'Q4_K_M/sub/mmproj-Q4_K_M.gguf',
    );
    assert.equal(pick(files, 'Q8_0').mmproj, 'Q8_0/mmproj-Q8_0.gguf', 'same folder, closest bits');
    assert.equal(pick(files, 'F16').mmproj, 'mmproj-F16.gguf', 'the root, not Q8_0/');
    assert.equal(pick(files, 'Q4_K_M').mmproj, 'mmproj-F16.gguf', 'not the folder below the model');
    assert.equal(findBestSibling(listing('a/m-Q8_0.gguf', 'b/mmproj-Q8_0.gguf'), 'a/m-Q8_0.gguf', 'mmproj'), undefined);
  });

  test('equally close projectors: the first listed wins', () => {
    const files = listing('m-Q6_K.gguf', 'mmproj-Q4_0.gguf', 'mmproj-Q8_0.gguf');
    assert.equal(pick(files).mmproj, 'mmproj-Q4_0.gguf');
    assert.equal(pick([files[0], files[2], files[1]]).mmproj, 'mmproj-Q8_0.gguf');
  });
});

describe('split models', () => {
  const SPLIT = listing(
    'README.md',
    'SmolVLM2-2.2B-Instruct-F16-00003-of-00003.gguf',
    'SmolVLM2-2.2B-Instruct-F16-00001-of-00003.gguf',
    'SmolVLM2-2.2B-Instruct-F16-00002-of-00003.gguf',
    'SmolVLM2-2.2B-Instruct-Q8_0-00002-of-00002.gguf',
    'SmolVLM2-2.2B-Instruct-Q8_0-00001-of-00002.gguf',
    'SmolVLM2-2.2B-Instruct-F16-00001-of-00002.gguf',
    'mmproj-SmolVLM2-2.2B-Instruct-F16.gguf',
    'mmproj-SmolVLM2-2.2B-Instruct-Q8_0.gguf',
  );

  test('a split model is all its parts, in order, from the first part', () => {
    assert.deepEqual(pick(SPLIT, 'F16'), {
      model: 'SmolVLM2-2.2B-Instruct-F16-00001-of-00003.gguf',
      parts: [
        'SmolVLM2-2.2B-Instruct-F16-00001-of-00003.gguf',
        'SmolVLM2-2.2B-Instruct-F16-00002-of-00003.gguf',
        'SmolVLM2-2.2B-Instruct-F16-00003-of-00003.gguf',
      ],
      mmproj: 'mmproj-SmolVLM2-2.2B-Instruct-F16.gguf',
    });
    assert.deepEqual(pick(SPLIT), {
      model: 'SmolVLM2-2.2B-Instruct-Q8_0-00001-of-00002.gguf',
      parts: ['SmolVLM2-2.2B-Instruct-Q8_0-00001-of-00002.gguf', 'SmolVLM2-2.2B-Instruct-Q8_0-00002-of-00002.gguf'],
      mmproj: 'mmproj-SmolVLM2-2.2B-Instruct-Q8_0.gguf',
    });
  });

  test('parts of another split (same prefix, other count) do not join; a later part is never the model', () => {
    const stray = SPLIT.find((f) => f.path.endsWith('F16-00001-of-00002.gguf'));
    assert.deepEqual(paths(splitParts(SPLIT, stray)), ['SmolVLM2-2.2B-Instruct-F16-00001-of-00002.gguf'], 'its own group only');
    const noFirst = SPLIT.filter((f) => !f.path.includes('Q8_0-00001'));
    assert.equal(pick(noFirst, 'Q8_0'), undefined, 'without part 1 there is no Q8_0 model');
  });

  test('the selection needs every part and then the projector', () => {
    assert.deepEqual(paths(selectedFiles(selectFiles(SPLIT, 'F16'))), [
      'SmolVLM2-2.2B-Instruct-F16-00001-of-00003.gguf',
      'SmolVLM2-2.2B-Instruct-F16-00002-of-00003.gguf',
      'SmolVLM2-2.2B-Instruct-F16-00003-of-00003.gguf',
      'mmproj-SmolVLM2-2.2B-Instruct-F16.gguf',
    ]);
  });

  test('splitInfo: prefix, tag, part number and count', () => {
    assert.deepEqual(splitInfo('SmolVLM2-2.2B-Instruct-F16-00002-of-00003.gguf'), { prefix: 'SmolVLM2-2.2B-Instruct-F16', tag: 'F16', index: 2, count: 3 });
    assert.deepEqual(splitInfo('dir/SmolVLM-256M-Instruct-q8_0.gguf'), { prefix: 'dir/SmolVLM-256M-Instruct-q8_0', tag: 'Q8_0', index: 1, count: 1 });
    assert.deepEqual(splitInfo('model.Q4_K_M.gguf'), { prefix: 'model.Q4_K_M', tag: 'Q4_K_M', index: 1, count: 1 });
    assert.deepEqual(splitInfo('README.md'), { prefix: '', tag: '', index: 0, count: 0 });
    assert.equal(splitInfo('m-Q8_0-0001-of-0002.gguf').count, 1, 'four digits are not a split suffix');
  });

  test('quantBits', () => {
    assert.deepEqual(['Q4_0', 'Q4_K_M', 'F16', 'BF16', 'Q8_K_M', 'IQ2_XXS', 'F32', 'GGUF', ''].map(quantBits), [4, 4, 16, 16, 8, 2, 32, 0, 0]);
  });
});

describe('nothing matches', () => {
  test('a quant the repository lacks: ERR_MODEL_NOT_FOUND naming it and the GGUF files there are', () => {
    const err = (() => {
      try {
        requireFiles(SMOLVLM2, 'ggml-org/SmolVLM2-2.2B-Instruct-GGUF', 'Q5_K_M');
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof DownloadError);
    assert.equal(err.code, 'ERR_MODEL_NOT_FOUND');
    assert.match(err.message, /quantization 'Q5_K_M' in ggml-org\/SmolVLM2-2\.2B-Instruct-GGUF/);
    for (const f of SMOLVLM2.filter((x) => x.path.endsWith('.gguf'))) assert.ok(err.message.includes(f.path), f.path);
    assert.ok(!err.message.includes('README.md'));
  });

  test('a repository without any model: ERR_MODEL_NOT_FOUND, files listed as none', () => {
    assert.throws(() => requireFiles(listing('README.md', 'config.json'), 'org/empty', undefined),
      (e) => e instanceof DownloadError && e.code === 'ERR_MODEL_NOT_FOUND' && /no GGUF model file in org\/empty; its GGUF files: none/.test(e.message));
    assert.equal(selectFiles(listing('mmproj-only-F16.gguf'), undefined), undefined);
  });

  test('a selection that exists is returned as is', () => {
    assert.deepEqual(requireFiles(SMOLVLM2, 'r/x', 'Q8_0'), selectFiles(SMOLVLM2, 'Q8_0'));
  });

  test('what was wanted, in words', () => {
    assert.match(describeWanted('Q8_0'), /matching Q8_0 and its projector/);
    assert.match(describeWanted(undefined), /matching Q4_K_M or Q8_0/);
  });
});
