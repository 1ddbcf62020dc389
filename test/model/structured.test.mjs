// Structured output: jsonSchema and raw GBNF grammars constrain decoding. The tiny fixture has
// random weights (it babbles), so every well-formed answer here is the grammar's doing; ajv, a real
// validator, checks each answer against its schema.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import { loadTiny, userMessage } from '../helpers.mjs';
import { assertSameAnswers } from '../same-greedy.mjs';

const ajv = new Ajv2020({ strict: false, validateFormats: true });
// the formats the schemas below use (ajv-formats is not a dependency; these are RFC 3339's shapes)
ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
ajv.addFormat('time', /^\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/);
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/);
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);

/** The README's example: the two dates of an invoice. */
const INVOICE = {
  type: 'object',
  properties: { dueDate: { type: 'string', format: 'date' }, invoiceDate: { type: 'string', format: 'date' } },
  required: ['dueDate', 'invoiceDate'],
  additionalProperties: false,
};

// Ten shapes the converter supports. Strings are bounded (maxLength, formats, patterns): a
// babbling model would otherwise fill a free string up to maxTokens.
const SCHEMAS = {
  invoice: INVOICE,
  person: {
    type: 'object',
    properties: { name: { type: 'string', maxLength: 8 }, age: { type: 'integer', minimum: 0, maximum: 150 } },
    required: ['name', 'age'],
  },
  enums: { type: 'object', properties: { color: { enum: ['red', 'green', 'blue'] }, size: { enum: [1, 2, 3, null] } }, required: ['color', 'size'] },
  consts: { type: 'object', properties: { kind: { const: 'invoice' }, version: { const: 2 } }, required: ['kind', 'version'] },
  array: { type: 'array', items: { type: 'integer', minimum: -5, maximum: 5 }, minItems: 2, maxItems: 4 },
  formats: {
    type: 'object',
    properties: { id: { type: 'string', format: 'uuid' }, at: { type: 'string', format: 'date-time' }, t: { type: 'string', format: 'time' } },
    required: ['id', 'at', 't'],
  },
  numbers: {
    type: 'object',
    properties: { price: { type: 'number' }, qty: { type: 'integer', minimum: 1, maximum: 9 }, ok: { type: 'boolean' } },
    required: ['price', 'qty', 'ok'],
  },
  anyOf: { type: 'object', properties: { value: { anyOf: [{ type: 'integer' }, { type: 'boolean' }, { type: 'null' }] } }, required: ['value'] },
  refs: {
    $defs: { point: { type: 'object', properties: { x: { type: 'integer' }, y: { type: 'integer' } }, required: ['x', 'y'], additionalProperties: false } },
    type: 'object',
    properties: { from: { $ref: '#/$defs/point' }, to: { $ref: '#/$defs/point' } },
    required: ['from', 'to'],
  },
  nested: {
    type: 'object',
    properties: {
      lines: {
        type: 'array',
        items: { type: 'object', properties: { sku: { type: 'string', pattern: '^[A-Z]{3}[0-9]{2}$' }, n: { type: 'integer', minimum: 1, maximum: 99 } }, required: ['sku', 'n'] },
        minItems: 1,
        maxItems: 2,
      },
    },
    required: ['lines'],
  },
};
const NAMES = Object.keys(SCHEMAS);
const MAX_TOKENS = 400;

let vlm;
before(async () => {
  vlm = await loadTiny({ parallel: 4 });
});
after(() => vlm?.dispose());

/** One request for schema `name`; `i` varies the prompt so answers differ. */
function request(name, temperature, i = 0) {
  return { messages: userMessage(null, `Extract the fields (${name}, ${i}).`), jsonSchema: SCHEMAS[name], maxTokens: MAX_TOKENS, temperature, seed: 7 + i, tokens: true, logprobs: true };
}

/** The answer ended on its own, `json` is `text` parsed, and ajv accepts it. */
function assertValid(name, r) {
  assert.equal(r.finishReason, 'stop', `${name}: ${JSON.stringify(r.text)}`);
  assert.deepEqual(r.json, JSON.parse(r.text), name);
  const validate = ajv.compile(SCHEMAS[name]);
  assert.ok(validate(r.json), `${name}: ${JSON.stringify(r.json)} ${ajv.errorsText(validate.errors)}`);
}

const greedyAlone = {};

test('10 schemas, one at a time, greedy: output parses and validates', async () => {
  for (const name of NAMES) {
    const r = await vlm.generate(request(name, 0));
    assertValid(name, r);
    greedyAlone[name] = r;
  }
  assert.ok(new Set(Object.values(greedyAlone).map((r) => r.text)).size === NAMES.length, 'every schema shapes its own answer');
});

test('10 schemas, one at a time, temperature 1: output parses and validates', async () => {
  for (const [i, name] of NAMES.entries()) assertValid(name, await vlm.generate(request(name, 1, i)));
});

test('4 in parallel with different schemas, greedy: each keeps its own grammar (valid, and equal to alone)', async (t) => {
  for (let start = 0; start < NAMES.length; start += 4) {
    const group = [0, 1, 2, 3].map((k) => NAMES[(start + k) % NAMES.length]);
    const greedy = await Promise.all(group.map((name) => vlm.generate(request(name, 0))));
    group.forEach((name, k) => assertValid(name, greedy[k]));
    // equal to alone (those the first test ran), up to a floating-point near-tie (test/same-greedy.mjs)
    const known = group.flatMap((name, k) => (greedyAlone[name] ? [k] : []));
    assertSameAnswers(t, known.map((k) => greedy[k]), known.map((k) => greedyAlone[group[k]]), (j) => `${group[known[j]]}: parallel greedy against alone`);
  }
});

test('4 in parallel with different schemas, temperature 1: output parses and validates', async () => {
  for (const start of [2, 6]) {
    const group = [0, 1, 2, 3].map((k) => NAMES[start + k]);
    const sampled = await Promise.all(group.map((name, k) => vlm.generate(request(name, 1, 100 + start + k))));
    group.forEach((name, k) => assertValid(name, sampled[k]));
  }
});

test("the README's invoice example: dueDate and invoiceDate as dates", async () => {
  const { json } = await vlm.generate({ messages: userMessage(null, 'What are the due date and the invoice date?'), jsonSchema: INVOICE });
  assert.deepEqual(Object.keys(json).sort(), ['dueDate', 'invoiceDate']);
  for (const v of Object.values(json)) assert.match(v, /^\d{4}-\d{2}-\d{2}$/);
});

test('stream() streams the JSON text; its result carries json', async () => {
  const s = vlm.stream(request('enums', 0));
  let text = '';
  let chunks = 0;
  for await (const c of s) (text += c.text), chunks++;
  const r = await s.result;
  assert.ok(chunks > 1);
  assert.equal(text, r.text);
  assertValid('enums', r);
});

test('raw GBNF constrains the text; no json without a schema', async () => {
  const grammar = 'root ::= ("yes" | "no") ", " [0-9] [0-9]? "!"';
  for (const temperature of [0, 1]) {
    const r = await vlm.generate({ messages: userMessage(null, 'Answer.'), grammar, temperature, maxTokens: 50 });
    assert.equal(r.finishReason, 'stop');
    assert.match(r.text, /^(yes|no), [0-9][0-9]?!$/);
    assert.equal('json' in r, false);
  }
});

test('maxTokens too small: finishReason length, no json, never a partial value', async () => {
  const r = await vlm.generate({ ...request('invoice', 0), maxTokens: 4 });
  assert.equal(r.finishReason, 'length');
  assert.equal('json' in r, false);
  assert.throws(() => JSON.parse(r.text), 'precondition: the text is cut inside the JSON');
});

test('bad schemas, bad grammars and conflicting options are InvalidArgumentErrors naming the problem', async () => {
  const base = { messages: userMessage(null, 'x'), maxTokens: 4 };
  const cyclic = { type: 'object', properties: {} };
  cyclic.properties.self = cyclic;
  const cases = [
    [{ jsonSchema: { $ref: '#/$defs/missing' } }, /jsonSchema is not supported.*\$defs/s],
    [{ jsonSchema: { type: 'object', properties: { a: { $ref: 'https://example.com/a.json' } } } }, /jsonSchema\.properties\.a\.\$ref 'https:\/\/example\.com\/a\.json' is not supported/],
    [{ jsonSchema: { type: 'string', pattern: '[a-z]+' } }, /jsonSchema\.pattern '\[a-z\]\+' is not supported: patterns must be anchored/],
    [{ jsonSchema: 'not an object' }, /jsonSchema must be a JSON Schema object/],
    [{ jsonSchema: [1, 2] }, /jsonSchema must be a JSON Schema object/],
    [{ jsonSchema: { type: 'integer', minimum: 10n } }, /jsonSchema cannot be written as JSON/],
    [{ jsonSchema: cyclic }, /refers back to itself/],
    [{ grammar: 'root ::= undefined-rule' }, /invalid GBNF grammar/],
    [{ grammar: 'root ::= "unterminated' }, /invalid GBNF grammar/],
    [{ grammar: 'start ::= "a"' }, /invalid GBNF grammar.*root/],
    [{ grammar: '' }, /grammar must be a non-empty GBNF string/],
    [{ grammar: 'root ::= "a"', jsonSchema: INVOICE }, /cannot be combined/],
    [{ jsonSchema: INVOICE, ignoreEos: true }, /ignoreEos cannot be combined with jsonSchema/],
    [{ grammar: 'root ::= "a"', ignoreEos: true }, /ignoreEos cannot be combined with grammar/],
    [{ jsonSchema: INVOICE, stop: ['}'] }, /stop cannot be combined with jsonSchema/],
  ];
  for (const [extra, message] of cases) {
    await assert.rejects(vlm.generate({ ...base, ...extra }), (e) => {
      assert.equal(e.name, 'InvalidArgumentError', `${Object.keys(extra).join(', ')} ${String(message)}: ${e.message}`);
      assert.equal(e.code, 'ERR_INVALID_ARGUMENT');
      assert.match(e.message, message);
      return true;
    });
  }
  // nothing was queued: the model still answers
  assertValid('consts', await vlm.generate(request('consts', 0)));
});
