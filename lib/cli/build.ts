/**
 * `smolvlm build [--cuda|--vulkan|--metal] [--portable] [--jobs N] [--out DIR]`: compiles the addon
 * from source (scripts/build.mjs). bin/smolvlm.mjs runs that script before this CLI loads (the
 * CLI's modules need the addon, and a clone may have no dist/ yet); it is registered here so that
 * `smolvlm --help` lists it and `main(['build', ...])` works too.
 */
import type { Command } from 'commander';

/** scripts/build.mjs, two folders above dist/cli/ (and lib/cli/). */
const SCRIPT = new URL('../../scripts/build.mjs', import.meta.url).href;

export function register(program: Command): void {
  program
    .command('build')
    .description("compile the native addon from source for this machine's CPU (when no prebuilt package fits)")
    .option('--cuda', 'also build the CUDA backend (the CUDA toolkit must be installed)')
    .option('--vulkan', 'also build the Vulkan backend (the Vulkan SDK must be installed)')
    .option('--metal', 'also build the Metal backend (macOS)')
    .option('--portable', 'every CPU variant (what the prebuilt packages ship), not only this CPU')
    .option('--jobs <n>', 'parallel compile jobs (default: CMAKE_BUILD_PARALLEL_LEVEL or all cores)')
    .option('--out <dir>', 'put the addon elsewhere (then set SMOLVLM_BINARY=<dir>/smolvlm.node)')
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const argv: string[] = [];
      for (const [k, v] of Object.entries(opts)) {
        if (v === true) argv.push(`--${k}`);
        else if (typeof v === 'string') argv.push(`--${k}`, v);
      }
      const { cli } = (await import(SCRIPT)) as { cli: (argv: string[]) => Promise<number> };
      const code = await cli(argv);
      if (code !== 0) process.exitCode = code;
    });
}
