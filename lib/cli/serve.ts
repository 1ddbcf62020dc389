/** `smolvlm serve`: an OpenAI-compatible HTTP server for the model (lib/server). */
import type { Command } from 'commander';
import { resolveModelFiles } from '../registry.js';
import { addServeOptions, serveCommand, serverOptions, type ServeFlags } from '../server/command.js';
import { loadOptions, setup, withCommon, withDownloads, type CommonFlags } from './common.js';

async function serve(flags: CommonFlags & ServeFlags): Promise<void> {
  setup(flags);
  const load = loadOptions(flags);
  await serverOptions(flags); // a bad flag is refused before a download starts
  // a download shows its progress before the server listens; then the files are local
  const files = await withDownloads(flags, (hub) => resolveModelFiles(load.model, load.mmproj, hub));
  await serveCommand(flags, { ...load, model: files.model, mmproj: files.mmproj });
}

export function register(program: Command): void {
  addServeOptions(withCommon(program.command('serve').description("serve the model over HTTP with OpenAI's chat-completions API"))).action(serve);
}
