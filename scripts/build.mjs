// npm run build: dist/ from src/ with tsc, from scratch, so no file of a moved or deleted
// module is left behind to be packed.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = new URL('../dist/', import.meta.url);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });

// The browser helper is served as a directory (dist/client/, see the README), so it cannot reach
// the wire protocol one level up: it gets a copy of it beside index.js. dist/protocol.js imports
// nothing, so the copy is the same module; only its source map's path to src/ moves one level.
const client = new URL('client/', dist);
writeFileSync(new URL('protocol.js', client), readFileSync(new URL('protocol.js', dist)));
const map = JSON.parse(readFileSync(new URL('protocol.js.map', dist), 'utf8'));
map.sources = map.sources.map((source) => `../${source}`);
writeFileSync(new URL('protocol.js.map', client), JSON.stringify(map));
for (const name of readdirSync(client)) {
  if (!name.endsWith('.js') || name === 'protocol.js') continue;
  const file = new URL(name, client);
  const code = readFileSync(file, 'utf8');
  const rewritten = code.replaceAll("from '../protocol.js'", "from './protocol.js'");
  if (/from '\.\.\//.test(rewritten)) throw new Error(`dist/client/${name} imports outside dist/client/`);
  writeFileSync(file, rewritten);
}
