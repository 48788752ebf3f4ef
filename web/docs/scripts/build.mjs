// Builds dist/docs.js: Redoc's standalone bundle (from the pinned npm package, with its license
// notices in front) followed by src/main.js, minified by esbuild. The output depends only on
// the sources and the locked dependencies, so CI can rebuild it and compare it with the
// committed file. Prints the size. With --check it writes nothing and fails when the committed
// dist/docs.js is not exactly what the sources build (make test runs that).
//
// The standalone bundle is used as Redoc publishes it, with one change: its sidebar logo is
// an <img> loaded from Redocly's CDN, and the page at /docs must load nothing from another
// origin, so the build empties that one src (the image then hides itself, as it does when the
// CDN is unreachable). The build fails when the bundle no longer holds that URL exactly once,
// or holds another CDN URL, so an upgrade of Redoc is checked again.
import { build } from 'esbuild';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const redocDir = join(root, 'node_modules/redoc');
const version = JSON.parse(readFileSync(join(redocDir, 'package.json'), 'utf8')).version;
const licenses = readFileSync(join(redocDir, 'bundles/redoc.standalone.js.LICENSE.txt'), 'utf8');
let redoc = readFileSync(join(redocDir, 'bundles/redoc.standalone.js'), 'utf8');

// The first line only points at the license file, whose text goes in front instead.
const pointer = '/*! For license information please see redoc.standalone.js.LICENSE.txt */\n';
if (!redoc.startsWith(pointer)) fail('redoc.standalone.js does not start with its license pointer');
redoc = redoc.slice(pointer.length);

const logo = 'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"';
if (redoc.split(logo).length !== 2) fail(`redoc.standalone.js ${version} does not hold ${logo} exactly once`);
redoc = redoc.replace(logo, 'src:""');
// A source map the package ships but this server does not serve.
const map = '\n//# sourceMappingURL=redoc.standalone.js.map';
if (!redoc.trimEnd().endsWith(map.trim())) fail('redoc.standalone.js does not end with its source map comment');
redoc = redoc.trimEnd().slice(0, -map.trim().length).trimEnd();
for (const cdn of ['cdn.redoc.ly', 'cdn.jsdelivr', 'unpkg.com', 'fonts.googleapis', 'fonts.gstatic']) {
  if (redoc.includes(cdn)) fail(`redoc.standalone.js ${version} still names ${cdn}`);
}

const init = await build({
  absWorkingDir: root,
  entryPoints: ['src/main.js'],
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  write: false,
});
const main = init.outputFiles[0].text;

const out =
  `/*! Switchboard API reference page: Redoc ${version} (MIT License; https://github.com/Redocly/redoc) and the notices of what it bundles, below. */\n` +
  licenses.trimEnd() + '\n' + redoc.trimEnd() + '\n' + main;
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(join(root, 'dist/docs.js'), 'utf8');
  } catch {}
  if (committed !== out) fail('dist/docs.js is not a fresh build of its sources: run make apidocs and commit it');
  console.log('dist/docs.js is a fresh build of its sources');
  process.exit(0);
}
mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(join(root, 'dist/docs.js'), out);

const gz = gzipSync(Buffer.from(out), { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(1) + ' KB';
console.log(`dist/docs.js: ${kb(out.length)} raw, ${kb(gz)} gzipped (Redoc ${version})`);

function fail(msg) {
  console.error(msg);
  process.exit(1);
}
