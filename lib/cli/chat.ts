/** `smolvlm chat [image...]`: a conversation on stdin/stdout; `/image <path>` attaches an image. */
import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import type { ChatMessage, ContentPart } from '../types.js';
import { open, sampling, setup, withCommon, withImageFlags, type CommonFlags } from './common.js';

async function chat(images: string[], flags: CommonFlags): Promise<void> {
  setup(flags);
  const params = sampling(flags);
  const vlm = await open(flags);
  let failed: unknown;
  const tty = !!process.stdin.isTTY;
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty });
  const history: ChatMessage[] = [];
  let pending: string[] = [...images];
  if (tty) {
    process.stdout.write(`${vlm.info.name || 'SmolVLM'}: /image <path> attaches an image, /clear, /exit\n`);
    rl.setPrompt('> ');
    rl.prompt();
  }
  try {
    for await (const raw of rl) {  // ends when stdin does
      const line = raw.trim();
      if (line === '/exit' || line === '/quit') break;
      if (line === '/clear') {
        history.length = 0;
        pending = [];
      } else if (line.startsWith('/image ')) {
        pending.push(line.slice(7).trim());
      } else if (line) {
        const content: ContentPart[] = pending.map((image) => ({ type: 'image', image }));
        content.push({ type: 'text', text: line });
        pending = [];
        history.push({ role: 'user', content });
        let answer = '';
        try {
          for await (const chunk of vlm.stream({ messages: history, ...params })) {
            const text = answer ? chunk.text : chunk.text.trimStart();
            process.stdout.write(text);
            answer += text;
          }
          process.stdout.write('\n');
          history.push({ role: 'assistant', content: answer });
        } catch (err) {
          history.pop();
          failed = err;
          process.stderr.write(`error: ${(err as Error).message}\n`);
        }
      }
      if (tty) rl.prompt();
    }
    if (flags.verbose) {
      const s = vlm.imageCacheStats();
      process.stderr.write(`[image encodes: ${s.encodes}, cache hits: ${s.hits}]\n`);
    }
  } finally {
    rl.close();
    await vlm.dispose();
  }
  // A script on stdin whose turn failed must not look like a success.
  if (failed && !tty) throw failed;
}

export function register(program: Command): void {
  withImageFlags(withCommon(program.command('chat').description('interactive chat; /image <path> attaches an image').argument('[image...]', 'images for the first message'))).action(chat);
}
