/**
 * JSON schemas of the request bodies, checked by ajv without type coercion (a string where a number
 * belongs is a 400, as in OpenAI's API). They check types and ranges only; fields they do not name
 * are ignored, and which values the server supports is decided in openai.ts with clear messages.
 */

const nullable = (schema: object) => ({ anyOf: [schema, { type: 'null' }] });
const stop = nullable({ anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 16 }] });
const penalty = nullable({ type: 'number', minimum: -2, maximum: 2 });

/** Sampling fields shared by chat and raw completions (llama-server's extensions included). */
const sampling = {
  model: { type: 'string' },
  stream: nullable({ type: 'boolean' }),
  stream_options: nullable({ type: 'object', properties: { include_usage: { type: 'boolean' } } }),
  max_tokens: nullable({ type: 'integer', minimum: 1 }),
  temperature: nullable({ type: 'number', minimum: 0, maximum: 2 }),
  top_p: nullable({ type: 'number', minimum: 0, maximum: 1 }),
  top_k: nullable({ type: 'integer', minimum: 0 }),
  min_p: nullable({ type: 'number', minimum: 0, maximum: 1 }),
  repeat_penalty: nullable({ type: 'number', minimum: 0.01, maximum: 100 }),
  ignore_eos: nullable({ type: 'boolean' }),
  seed: nullable({ type: 'integer' }),
  stop,
  frequency_penalty: penalty,
  presence_penalty: penalty,
  n: nullable({ type: 'integer', minimum: 1 }),
  logit_bias: nullable({ type: 'object' }),
  user: { type: 'string' },
  // llama-server's per-request LoRA adapters: id = the adapter's id or its index in --lora order
  lora: nullable({
    type: 'array',
    maxItems: 64,
    items: {
      type: 'object',
      required: ['id'],
      properties: { id: { anyOf: [{ type: 'string' }, { type: 'integer', minimum: 0 }] }, scale: { type: 'number', minimum: -100, maximum: 100 } },
    },
  }),
} as const;

const imageUrl = {
  anyOf: [
    { type: 'string' },
    {
      type: 'object',
      required: ['url'],
      properties: { url: { type: 'string' }, detail: { type: 'string', enum: ['auto', 'low', 'high'] } },
    },
  ],
};

const contentPart = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string' }, text: { type: 'string' }, image_url: imageUrl },
};

export const chatSchema = {
  type: 'object',
  required: ['messages'],
  properties: {
    ...sampling,
    messages: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['role'],
        properties: {
          role: { type: 'string' },
          content: nullable({ anyOf: [{ type: 'string' }, { type: 'array', items: contentPart }] }),
          name: { type: 'string' },
        },
      },
    },
    max_completion_tokens: nullable({ type: 'integer', minimum: 1 }),
    logprobs: nullable({ type: 'boolean' }),
    top_logprobs: nullable({ type: 'integer', minimum: 0, maximum: 20 }),
    response_format: nullable({ type: 'object', required: ['type'], properties: { type: { type: 'string' } } }),
    tools: nullable({ type: 'array' }),
    modalities: nullable({ type: 'array', items: { type: 'string' } }),
  },
} as const;

export const completionSchema = {
  type: 'object',
  required: ['prompt'],
  properties: {
    ...sampling,
    prompt: { anyOf: [{ type: 'string' }, { type: 'array' }] },
    logprobs: nullable({ type: 'integer', minimum: 0, maximum: 5 }),
    echo: nullable({ type: 'boolean' }),
    suffix: nullable({ type: 'string' }),
    best_of: nullable({ type: 'integer', minimum: 1 }),
  },
} as const;
