#!/usr/bin/env node
// `smolvlm build` compiles the addon from source: dispatched before the CLI's modules load, since
// they are what needs the addon (and dist/ may not exist yet in a clone).
if (process.argv[2] === 'build') {
  const { cli } = await import('../scripts/build.mjs');
  process.exitCode = await cli(process.argv.slice(3));
} else {
  const { main } = await import('../dist/cli.js');
  process.exitCode = await main(process.argv.slice(2));
}
