// npm test: type-checks the sources, compiles test/*.test.ts with esbuild into .test-build/
// and runs them with Node's test runner.
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
try {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root], { stdio: 'inherit' });
} catch {
  process.exit(1);
}

const outdir = join(root, '.test-build');
rmSync(outdir, { recursive: true, force: true });
const tests = readdirSync(join(root, 'test')).filter((f) => f.endsWith('.test.ts'));
await build({
  absWorkingDir: root,
  entryPoints: tests.map((f) => join('test', f)),
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
const files = tests.map((f) => join(outdir, f.replace(/\.ts$/, '.mjs')));
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
