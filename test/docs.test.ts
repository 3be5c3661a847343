import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// The docs a user reads: every ts/js code block of README.md and docs/*.md typechecks against the
// package (its sources), every link between them leads somewhere, and the API reference covers
// every entry point and refuses an undocumented export.

const run = promisify(execFile);
const root = resolve('.');
const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const REPOSITORY = 'https://github.com/socket-io-supervisor/socket.io-supervisor/';
const work = resolve('test-results', `docs-${process.pid}`);
afterAll(() => process.env.KEEP_DOCS_WORK || rmSync(work, { recursive: true, force: true }));

/** README.md and every guide in docs/ (docs/api/ is TypeDoc's output, not a guide). */
const documents = [
  'README.md',
  ...readdirSync('docs')
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

interface Block {
  file: string;
  /** The line of the opening fence (1-based). */
  line: number;
  lang: 'ts' | 'js';
  code: string;
  /** Why it is not compiled, when marked `<!-- fragment: why -->`. */
  fragment: string | null;
}

const FENCE = /^```(ts|typescript|js|javascript)\s*$/;
const FRAGMENT = /^<!-- fragment: (.+\S) -->$/;

function blocksOf(file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i]!.match(FENCE);
    if (!open) {
      // skip other fenced blocks whole (a ```text block may contain anything)
      if (lines[i]!.startsWith('```')) while (++i < lines.length && !lines[i]!.startsWith('```'));
      continue;
    }
    const start = i;
    while (++i < lines.length && !lines[i]!.startsWith('```'));
    let before = start - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    blocks.push({
      file,
      line: start + 1,
      lang: open[1]!.startsWith('t') ? 'ts' : 'js',
      code: lines.slice(start + 1, i).join('\n'),
      fragment: lines[before]?.match(FRAGMENT)?.[1] ?? null,
    });
  }
  return blocks;
}

/**
 * What a block may use without defining it: the names its guide's prose gives it (the app's HTTP
 * server, its socket.io server, ...), and the chat room of "testing your hooks"
 * (examples/testing-your-hooks.test.ts has it whole).
 */
const PRELUDE = `import type { Express } from 'express';
import type { Server as HttpServer } from 'node:http';
import type { Server } from 'socket.io';
import type { Socket as ClientSocket } from 'socket.io-client';
import type { Supervisor, SupervisorHooks } from 'socket.io-supervisor';
import type { Supervised } from 'socket.io-supervisor/client';
import type { LifecyclePath, TestSupervisor } from 'socket.io-supervisor/testing';

declare global {
  /** The app's HTTP server. */
  const httpServer: HttpServer;
  /** The app's socket.io server. */
  const io: Server;
  /** An Express app. */
  const app: Express;
  /** The app's supervisor. */
  const supervisor: Supervisor<{ user: string }>;
  /** A client's id, as register() or socket.data gave it. */
  const clientId: string;
  /** The app's own store. */
  const db: {
    sessions: { remove(clientId: string): Promise<void>; deleteOnce(clientId: string, deletionId?: string): Promise<void> };
  };
  /** The signed-in user. */
  const user: string;
  /** In a page: its socket.io-client socket, its credentials, what supervise() returned, its rendering. */
  const socket: ClientSocket;
  const client: Supervised;
  const credentials: { clientId: string; token: string };
  function render(...args: unknown[]): void;
  const banner: HTMLElement;
  interface Window {
    __CREDENTIALS__?: { clientId: string; token: string };
  }
  /** The chat room of "testing your hooks". */
  interface ChatRoom {
    hooks: SupervisorHooks<{ user: string }>;
    members: Map<string, string>;
    announced: string[];
  }
  const room: ChatRoom;
  function createChatRoom(options?: { pause?: () => Promise<void> }): ChatRoom;
  function membersAreTheConnectedClients(room: ChatRoom, t: TestSupervisor<{ user: string }>): void;
  const ada: LifecyclePath<{ user: string }>;
  const adaInAnotherTab: LifecyclePath<{ user: string }>;
}
export {};
`;

/** A block written on purpose to fail: proves the check reports what it should. */
const CONTROL = `import { createSupervisor } from 'socket.io-supervisor';
createSupervisor({ reconectTimeout: 3000 });
export {};
`;

describe('the code in the docs', () => {
  it('should typecheck every ts and js block of README.md and docs/*.md against the package', async () => {
    const blocks = documents.flatMap(blocksOf);
    const fragments = blocks.filter((block) => block.fragment !== null);
    const compiled = blocks.filter((block) => block.fragment === null);
    expect(compiled.length).toBeGreaterThan(20);
    // fragments are the exception, each with its reason
    expect(fragments.length, fragments.map((b) => `${b.file}:${b.line}`).join(', ')).toBeLessThanOrEqual(4);

    const dir = join(work, 'blocks');
    mkdirSync(dir, { recursive: true });
    const names = new Map<string, Block>();
    for (const block of compiled) {
      const name = `${block.file.replace(/[/.]/g, '_')}_L${block.line}.${block.lang}`;
      names.set(name, block);
      // a module of its own (no block sees another's names), whether or not it imports anything
      writeFileSync(join(dir, name), `${block.code}\nexport {};\n`);
    }
    writeFileSync(join(dir, 'prelude.d.ts'), PRELUDE);
    writeFileSync(join(dir, 'control.ts'), CONTROL);
    const entries = Object.keys(manifest.exports).filter((entry) => entry !== './package.json');
    /** `socket.io-supervisor` and its subpaths, mapped into `dir` (`src`, `.ts`; or `dist`, `.d.ts`). */
    const pathsTo = (dir: string, ext: string) =>
      Object.fromEntries(
        entries.map((entry) => [
          entry === '.' ? manifest.name : `${manifest.name}${entry.slice(1)}`,
          [`${dir}${entry === '.' ? '' : entry.slice(1)}/index${ext}`],
        ]),
      );
    const src = relative(join(work, 'blocks'), resolve('src')).replaceAll('\\', '/');
    const dist = relative(join(work, 'blocks'), resolve('dist')).replaceAll('\\', '/');
    const base = JSON.parse(readFileSync('tsconfig.json', 'utf8')).compilerOptions;
    const project = (include: string[], paths: object, loose: object) => ({
      compilerOptions: {
        ...base,
        ...loose,
        noEmit: true,
        declaration: false,
        sourceMap: false,
        rootDir: relative(dir, root),
        allowJs: true,
        checkJs: true,
        types: ['node'],
        paths,
      },
      include,
    });
    // ts blocks with the repository's strict settings, against the sources; js blocks as an editor
    // checks JavaScript (names, imports, the API's signatures; no implicit-any or null checks: a
    // page's plain JS), against the built declarations (dist/ is built from src/ before the tests)
    writeFileSync(join(dir, 'tsconfig.ts.json'), JSON.stringify(project(['*.ts'], pathsTo(src, '.ts'), {})));
    writeFileSync(
      join(dir, 'tsconfig.js.json'),
      JSON.stringify(
        project(['*.js', 'prelude.d.ts'], pathsTo(dist, '.d.ts'), { noImplicitAny: false, strictNullChecks: false }),
      ),
    );
    const tsc = resolve('node_modules/typescript/bin/tsc');
    const outputs = await Promise.all(
      ['tsconfig.ts.json', 'tsconfig.js.json'].map((config) =>
        run(process.execPath, [tsc, '-p', config, '--pretty', 'false'], { cwd: dir }).then(
          ({ stdout }) => stdout,
          (error: { stdout?: string }) => error.stdout ?? '',
        ),
      ),
    );
    const stdout = outputs.join('\n');
    // each error at the markdown line it comes from
    const errors = stdout
      .split('\n')
      .filter((line) => /error TS\d+/.test(line))
      .map((line) => {
        const match = line.match(/^(?:.*[/\\])?([^/\\(]+)\((\d+),\d+\): (.*)$/);
        const block = match ? names.get(match[1]!) : undefined;
        return block && match ? `${block.file}:${block.line + Number(match[2])}: ${match[3]}` : line;
      });
    const control = errors.filter((line) => line.startsWith('control.ts'));
    expect(control, 'the deliberately wrong block must fail').toHaveLength(1);
    expect(control[0]).toMatch(/reconectTimeout/);
    expect(errors.filter((line) => !line.startsWith('control.ts'))).toEqual([]);
    process.stdout.write(
      `docs: ${compiled.length} code blocks typechecked; ${fragments.length} fragments: ${fragments
        .map((b) => `${b.file}:${b.line} (${b.fragment})`)
        .join(', ')}\n`,
    );
  }, 120_000);
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = !fenced && line.match(/^#{1,6} (.+)$/);
    if (!heading) continue;
    const anchor = anchorOf(heading[1]!);
    const count = seen.get(anchor) ?? 0;
    seen.set(anchor, count + 1);
    anchors.add(count === 0 ? anchor : `${anchor}-${count}`);
  }
  return anchors;
}

describe('the links in the docs', () => {
  it('should lead every link between README.md and the guides to a file and heading that exist', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of documents) {
      const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        let local: string;
        if (target!.startsWith(`${REPOSITORY}blob/main/`)) local = target!.slice(`${REPOSITORY}blob/main/`.length);
        else if (target!.startsWith(`${REPOSITORY}tree/main/`)) local = target!.slice(`${REPOSITORY}tree/main/`.length);
        else if (/^[a-z]+:/.test(target!)) continue;
        else local = target!.startsWith('#') ? `${basename(file)}${target}` : target!;
        const [path, anchor] = local.split('#') as [string, string | undefined];
        const resolved = target!.startsWith('#') ? file : target!.startsWith('http') ? path : join(dirname(file), path);
        checked += 1;
        if (!existsSync(resolved)) {
          broken.push(`${file}: ${target} (no ${resolved})`);
          continue;
        }
        if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor)) {
          broken.push(`${file}: ${target} (no heading #${anchor} in ${resolved})`);
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
    expect(broken).toEqual([]);
  });
});

describe('the API reference (TypeDoc)', () => {
  const config = JSON.parse(
    readFileSync('typedoc.json', 'utf8')
      .split('\n')
      .filter((line) => !line.trim().startsWith('//'))
      .join('\n'),
  );

  it("should cover every entry point of package.json's exports, and only those", () => {
    const entries = Object.keys(manifest.exports).filter((entry) => entry !== './package.json');
    const sources = entries.map((entry) => (entry === '.' ? 'src/index.ts' : `src${entry.slice(1)}/index.ts`));
    expect([...config.entryPoints].sort()).toEqual(sources.sort());
    expect(config).toMatchObject({ treatWarningsAsErrors: true, validation: { notDocumented: true } });
    expect(manifest.scripts.test).toMatch(/npm run docs:api/);
    expect(manifest.scripts['docs:api']).toBe('typedoc');
  });

  it('should fail on an exported function without a comment', async () => {
    const dir = join(work, 'typedoc');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'index.ts'),
      '/** Documented. */\nexport const documented = 1;\nexport function forgotten(): void {}\n',
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'NodeNext', target: 'ES2022', types: [] },
        files: ['index.ts'],
      }),
    );
    // the repository's settings, on this one file
    const options = { ...config, entryPoints: ['index.ts'], tsconfig: 'tsconfig.json', out: 'out' };
    writeFileSync(join(dir, 'typedoc.json'), JSON.stringify(options));
    const typedoc = resolve('node_modules/typedoc/bin/typedoc');
    const args = ['--options', join(dir, 'typedoc.json')];
    const result = await run(process.execPath, [typedoc, ...args], { cwd: dir }).then(
      ({ stdout }) => ({ failed: false, output: stdout }),
      (error: { stdout?: string; stderr?: string }) => ({ failed: true, output: `${error.stdout}${error.stderr}` }),
    );
    expect(result.output).toMatch(/forgotten.*does not have any documentation/);
    expect(result.output).not.toMatch(/documented \(Variable\).*does not have any documentation/);
    expect(result.failed).toBe(true);
  }, 60_000);
});
