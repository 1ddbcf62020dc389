// Hub names and settings (lib/hub/refs.ts, lib/hub/context.ts, lib/hub/api.ts's path check):
// repository references, cache folder names, the cache root and a call's options over the
// environment. No network, no addon.
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { InvalidArgumentError } from '../../dist/errors.js';
import { isSafeRelPath } from '../../dist/hub/api.js';
import { cacheRoot, context, hubCacheDir } from '../../dist/hub/context.js';
import { folderRepo, isValidRepo, parseRepoRef, repoArgs, repoFolder } from '../../dist/hub/refs.js';

const REPO = 'ggml-org/SmolVLM-256M-Instruct-GGUF';

describe('repository references', () => {
  test('org/name and org/name:quant', () => {
    assert.deepEqual(parseRepoRef(REPO), { repo: REPO });
    assert.deepEqual(parseRepoRef(`${REPO}:Q8_0`), { repo: REPO, quant: 'Q8_0' });
    assert.deepEqual(parseRepoRef(`  ${REPO}:f16 `), { repo: REPO, quant: 'f16' }, 'trimmed');
    assert.deepEqual(parseRepoRef('HuggingFaceTB/SmolVLM2-2.2B-Instruct'), { repo: 'HuggingFaceTB/SmolVLM2-2.2B-Instruct' });
    assert.deepEqual(parseRepoRef('a_b.c/d_e-f.g:IQ4_XS'), { repo: 'a_b.c/d_e-f.g', quant: 'IQ4_XS' });
    assert.deepEqual(parseRepoRef('o/n:Q4_K_M-v2.1'), { repo: 'o/n', quant: 'Q4_K_M-v2.1' }, 'dots and dashes inside a quant');
  });

  test('what is not one', () => {
    const bad = [
      '', ' ', 'noslash', 'a/b/c', '/x', 'a/', '/', 'a//b', 'a/b:', 'a/b:c:d', 'a/../b', '../a/b', './a', 'a/b:Q8 0', '-a/b', 'a-/b',
      'a--b/c', 'a/b..c', 'a.-b/c', 'a/b c', 'a\\b', 'a/b:-x', 'a/b:.x', 'a/b:Q8/0', 'C:/x', 'https://huggingface.co/a/b', 'a/b@main',
    ];
    for (const ref of bad) assert.equal(parseRepoRef(ref), undefined, JSON.stringify(ref));
    for (const v of [undefined, null, 42, {}, ['a/b']]) assert.equal(parseRepoRef(v), undefined, String(v));
  });

  test('at most 256 characters', () => {
    const long = `${'o'.repeat(100)}/${'n'.repeat(155)}`;
    assert.equal(long.length, 256);
    assert.ok(isValidRepo(long));
    assert.ok(!isValidRepo(`${long}n`));
  });

  test('pullModel arguments: a quant in the reference or beside it, not two different ones', () => {
    assert.deepEqual(repoArgs(REPO, undefined), { repo: REPO });
    assert.deepEqual(repoArgs(REPO, null), { repo: REPO });
    assert.deepEqual(repoArgs(REPO, 'Q8_0'), { repo: REPO, quant: 'Q8_0' });
    assert.deepEqual(repoArgs(`${REPO}:Q8_0`, undefined), { repo: REPO, quant: 'Q8_0' });
    assert.deepEqual(repoArgs(`${REPO}:q8_0`, 'Q8_0'), { repo: REPO, quant: 'Q8_0' }, 'the same one twice, any case');
    assert.throws(() => repoArgs(`${REPO}:Q8_0`, 'F16'), (e) => e instanceof InvalidArgumentError && /two quantizations/.test(e.message));
    assert.throws(() => repoArgs('not a repo', undefined), (e) => e instanceof InvalidArgumentError && e.code === 'ERR_INVALID_ARGUMENT');
    assert.throws(() => repoArgs(REPO, 'Q8 0'), (e) => e instanceof InvalidArgumentError && /not a quantization/.test(e.message));
    assert.throws(() => repoArgs(REPO, 8), InvalidArgumentError);
    assert.throws(() => repoArgs(42, undefined), InvalidArgumentError);
  });
});

describe('cache folder names', () => {
  test('models--{org}--{name}, and back', () => {
    assert.equal(repoFolder(REPO), 'models--ggml-org--SmolVLM-256M-Instruct-GGUF');
    assert.equal(repoFolder('a.b/c_d'), 'models--a.b--c_d');
    for (const repo of [REPO, 'a.b/c_d', 'x-y/z-w', 'HuggingFaceTB/SmolVLM2-2.2B-Instruct']) assert.equal(folderRepo(repoFolder(repo)), repo);
  });

  test('folders that are not a model repository', () => {
    for (const f of ['datasets--a--b', 'spaces--a--b', 'models--a', 'models--a--b--c', 'models--', 'models----b', 'a--b', '.locks', 'models--a--b.smolvlm-1f.tmp/x']) {
      assert.equal(folderRepo(f), undefined, f);
    }
  });
});

describe('the cache root', () => {
  test('SMOLVLM_MODELS_DIR, HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, home: in that order', () => {
    const env = { HOME: '/home/u', XDG_CACHE_HOME: '/xdg', HF_HOME: '/hfhome', HUGGINGFACE_HUB_CACHE: '/legacy', HF_HUB_CACHE: '/hubcache', SMOLVLM_MODELS_DIR: '/mine' };
    assert.equal(hubCacheDir(env), resolve('/mine'));
    delete env.SMOLVLM_MODELS_DIR;
    assert.equal(hubCacheDir(env), resolve('/hubcache'));
    delete env.HF_HUB_CACHE;
    assert.equal(hubCacheDir(env), resolve('/legacy'));
    delete env.HUGGINGFACE_HUB_CACHE;
    assert.equal(hubCacheDir(env), join(resolve('/hfhome'), 'hub'));
    delete env.HF_HOME;
    assert.equal(hubCacheDir(env), join(resolve('/xdg'), 'huggingface', 'hub'));
    delete env.XDG_CACHE_HOME;
    assert.equal(hubCacheDir(env), join('/home/u', '.cache', 'huggingface', 'hub'));
  });

  test('blank values do not count; ~ is the home folder; relative paths are made absolute', () => {
    assert.equal(hubCacheDir({ HOME: '/home/u', SMOLVLM_MODELS_DIR: '  ', HF_HUB_CACHE: '' }), join('/home/u', '.cache', 'huggingface', 'hub'));
    assert.equal(hubCacheDir({ HOME: '/home/u', SMOLVLM_MODELS_DIR: '~/models' }), join('/home/u', 'models'));
    assert.equal(hubCacheDir({ HOME: '/home/u', HF_HOME: '~' }), join('/home/u', 'hub'));
    assert.equal(hubCacheDir({ HOME: '/home/u', HF_HUB_CACHE: 'rel/cache' }), resolve('rel/cache'));
    assert.equal(hubCacheDir({ HOME: '', USERPROFILE: '/profile' }), join('/profile', '.cache', 'huggingface', 'hub'));
  });

  test('a cacheDir option wins over the environment', () => {
    assert.equal(cacheRoot({ cacheDir: '/opt/models' }), resolve('/opt/models'));
    assert.equal(cacheRoot({ cacheDir: ' ' }), hubCacheDir());
    assert.equal(cacheRoot(undefined), hubCacheDir());
  });
});

describe('a call\'s settings', () => {
  const KEYS = ['MODEL_ENDPOINT', 'HF_ENDPOINT', 'HF_TOKEN', 'HF_HUB_OFFLINE'];
  const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
  const clear = () => {
    for (const k of KEYS) delete process.env[k];
  };
  afterEach(() => {
    for (const k of KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  test('defaults: the Hugging Face hub, online, no token, 30 s', () => {
    clear();
    const ctx = context({});
    assert.equal(ctx.endpoint, 'https://huggingface.co');
    assert.equal(ctx.offline, false);
    assert.equal(ctx.token, undefined);
    assert.equal(ctx.timeoutMs, 30_000);
    assert.equal(ctx.cacheDir, hubCacheDir());
  });

  test('the environment, and options over it', () => {
    clear();
    Object.assign(process.env, { HF_ENDPOINT: 'http://mirror.local:8080/', HF_TOKEN: ' hf_abc ', HF_HUB_OFFLINE: 'TRUE' });
    let ctx = context({});
    assert.equal(ctx.endpoint, 'http://mirror.local:8080', 'trailing slash dropped');
    assert.equal(ctx.token, 'hf_abc', 'trimmed');
    assert.equal(ctx.offline, true);
    process.env.MODEL_ENDPOINT = 'https://models.example/base//';
    assert.equal(context({}).endpoint, 'https://models.example/base', 'MODEL_ENDPOINT before HF_ENDPOINT');
    ctx = context({ endpoint: 'https://other.example', token: 'tok', offline: false, timeoutMs: 5 });
    assert.deepEqual([ctx.endpoint, ctx.token, ctx.offline, ctx.timeoutMs], ['https://other.example', 'tok', false, 5]);
    for (const v of ['0', 'no', 'off', '']) {
      process.env.HF_HUB_OFFLINE = v;
      assert.equal(context({}).offline, false, v);
    }
  });

  test('bad options are InvalidArgumentError', () => {
    clear();
    for (const bad of [{ endpoint: 'ftp://x' }, { endpoint: 'not a url' }, { timeoutMs: 0 }, { timeoutMs: -1 }, { timeoutMs: 2 ** 31 }, { timeoutMs: '5' },
      { timeoutMs: NaN }, { onProgress: 'yes' }]) {
      assert.throws(() => context(bad), InvalidArgumentError, JSON.stringify(bad));
    }
    assert.throws(() => context(null), InvalidArgumentError);
    assert.throws(() => context('x'), InvalidArgumentError);
  });
});

describe('paths from the hub', () => {
  test('only relative paths that stay inside the snapshot', () => {
    for (const p of ['model.gguf', 'dir/sub/mmproj-F16.gguf', '.gitattributes', 'a..b/c']) assert.ok(isSafeRelPath(p), p);
    for (const p of ['', '/etc/passwd', '../x', 'a/../b', 'a/./b', './a', 'a//b', 'a/', 'a\\b', 'C:x', 'c:/x', 'a\0b', '..']) assert.ok(!isSafeRelPath(p), JSON.stringify(p));
  });
});
