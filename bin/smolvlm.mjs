#!/usr/bin/env node
import { main } from '../dist/cli/index.js';

// `smolvlm ... | head`: a reader that goes away ends the output, not with a stack trace
for (const s of [process.stdout, process.stderr]) s.on('error', (err) => { if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw err; });

process.exitCode = await main(process.argv.slice(2));
