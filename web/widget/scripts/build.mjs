// Builds dist/widget.js: one minified, self-contained IIFE. The output depends only on the
// sources and the locked dependencies (no timestamps, no absolute paths), so CI can rebuild
// it and compare with the committed file. Prints the size and fails over the budget.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUDGET_GZIP = 35 * 1024;
const markedVersion = JSON.parse(readFileSync(join(root, 'node_modules/marked/package.json'), 'utf8')).version;

await build({
  absWorkingDir: root,
  entryPoints: ['src/main.ts'],
  outfile: 'dist/widget.js',
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
  legalComments: 'none',
  banner: {
    // The directive first: esbuild's own "use strict" no longer leads the file after a banner.
    js:
      '"use strict";\n' +
      `/*! Switchboard widget. Bundles marked ${markedVersion} (MIT License; Copyright (c) 2018+, MarkedJS; Copyright (c) 2011-2018, Christopher Jeffrey; https://github.com/markedjs/marked). */\n` +
      // bench/widget measures from here to the launcher being ready.
      'self.performance&&performance.mark&&performance.mark("switchboard:script");',
  },
  charset: 'utf8',
  logLevel: 'warning',
});

const out = readFileSync(join(root, 'dist/widget.js'));
const gz = gzipSync(out, { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(1) + ' KB';
console.log(`dist/widget.js: ${kb(out.length)} raw, ${kb(gz)} gzipped (budget ${kb(BUDGET_GZIP)} gzipped)`);
if (gz > BUDGET_GZIP) {
  console.error('the widget is over its size budget');
  process.exit(1);
}
