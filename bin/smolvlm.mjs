#!/usr/bin/env node
// `smolvlm ... | head`: a reader that goes away ends the output, not with a stack trace
for (const s of [process.stdout, process.stderr]) s.on('error', (err) => { if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw err; });

// `smolvlm build` compiles the addon from source: dispatched before the CLI's modules load, since
// they are what needs the addon (and dist/ may not exist yet in a clone).
if (process.argv[2] === 'build') {
  const { cli } = await import('../scripts/build.mjs');
  process.exitCode = await cli(process.argv.slice(3));
} else {
  const { main } = await import('../dist/cli/index.js');
  process.exitCode = await main(process.argv.slice(2));
}
