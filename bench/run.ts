// npm run bench [-- --quick]: every benchmark, with progress, a table, JSON and an SVG chart.
// Each number is the median of several runs (min–max shown); the headline is always a ratio
// against the baseline (a Map registry) measured in the same run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { type LoopbackResult, runLoopback } from './loopback.js';

const quick = process.argv.includes('--quick');
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
const started = performance.now();
const log = (line: string) => console.log(line);

type Kind = 'supervisor' | 'map';
type Sample = Record<string, number>;
interface Stat {
  median: number;
  min: number;
  max: number;
}

function stat(values: number[]): Stat {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted.at(-1)! };
}

function worker(kind: Kind, n: number, phases: string): Sample {
  const heapMb = n >= 1_000_000 ? 16_000 : 4_000;
  const out = execFileSync(
    process.execPath,
    [
      `--max-old-space-size=${heapMb}`,
      '--expose-gc',
      '--import',
      'tsx',
      'bench/inprocess-worker.ts',
      kind,
      String(n),
      phases,
    ],
    { encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' }, timeout: 900_000 },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as Sample;
}

// ---------------------------------------------------------------- in-process
const sizes: Array<{ n: number; runs: number; phases: string }> = quick
  ? [
      { n: 1_000, runs: 1, phases: 'all' },
      { n: 10_000, runs: 1, phases: 'all' },
    ]
  : [
      { n: 1_000, runs: 3, phases: 'all' },
      { n: 10_000, runs: 3, phases: 'all' },
      // issue 21 asks for min and max of 5 runs at 100,000
      { n: 100_000, runs: 5, phases: 'all' },
      // a million clients: the tight burst, and from rest (with the heap after each), once
      { n: 1_000_000, runs: 1, phases: 'burst,events' },
    ];

const METRICS: Array<{ key: string; label: string; unit: string; higherIsBetter: boolean }> = [
  { key: 'heapHandshaking', label: 'heap per idle handshaking client', unit: 'B', higherIsBetter: false },
  { key: 'heapConnected', label: 'heap per idle connected client', unit: 'B', higherIsBetter: false },
  { key: 'heapDisconnected', label: 'heap per idle disconnected client', unit: 'B', higherIsBetter: false },
  // issue 21's tight burst: register, handshake, disconnect and delete back to back
  { key: 'registerPerSec', label: 'register (tight burst)', unit: '/s', higherIsBetter: true },
  { key: 'handshakePerSec', label: 'handshake events (tight burst)', unit: '/s', higherIsBetter: true },
  { key: 'disconnectPerSec', label: 'disconnects (tight burst)', unit: '/s', higherIsBetter: true },
  { key: 'deletePerSec', label: 'delete, grace timers pending (tight burst)', unit: '/s', higherIsBetter: true },
  { key: 'registerPerSecCpu', label: 'register (tight burst), per CPU second', unit: '/s', higherIsBetter: true },
  {
    key: 'handshakePerSecCpu',
    label: 'handshake events (tight burst), per CPU second',
    unit: '/s',
    higherIsBetter: true,
  },
  { key: 'disconnectPerSecCpu', label: 'disconnects (tight burst), per CPU second', unit: '/s', higherIsBetter: true },
  { key: 'deletePerSecCpu', label: 'delete (tight burst), per CPU second', unit: '/s', higherIsBetter: true },
  // each phase from a registry at rest: for the supervisor, every client passivated first
  { key: 'restHandshakePerSec', label: 'handshake events from rest (passivated)', unit: '/s', higherIsBetter: true },
  { key: 'restDisconnectPerSec', label: 'disconnects from rest (passivated)', unit: '/s', higherIsBetter: true },
  { key: 'restDeletePerSec', label: 'delete from rest (passivated)', unit: '/s', higherIsBetter: true },
  { key: 'lifecyclePerSec', label: 'full lifecycles', unit: '/s', higherIsBetter: true },
  { key: 'closeMs', label: 'close() with N connected', unit: 'ms', higherIsBetter: false },
];

const inprocessFile = `bench/results/inprocess${quick ? '-quick' : ''}.json`;
// --only=loopback reports beside the in-process results of the last run, when there are some
const inprocess: Record<string, Record<Kind, Record<string, Stat>>> = only === 'loopback' && existsSync(inprocessFile)
  ? JSON.parse(readFileSync(inprocessFile, 'utf8'))
  : {};
if (only !== 'loopback') log(`in-process: supervisor vs Map registry (${quick ? 'quick' : 'full'})`);
for (const { n, runs, phases } of only === 'loopback' ? [] : sizes) {
  const samples: Record<Kind, Sample[]> = { supervisor: [], map: [] };
  for (let run = 0; run < runs; run += 1) {
    for (const kind of ['map', 'supervisor'] as const) {
      const t = performance.now();
      samples[kind].push(worker(kind, n, phases));
      log(
        `  ${kind.padEnd(10)} N=${n.toLocaleString('en').padStart(9)} run ${run + 1}/${runs}  ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );
    }
  }
  inprocess[n] = { supervisor: {}, map: {} };
  for (const kind of ['map', 'supervisor'] as const) {
    for (const { key } of METRICS) {
      const values = samples[kind].map((s) => s[key]).filter((v): v is number => v !== undefined);
      if (values.length) inprocess[n]![kind][key] = stat(values);
    }
  }
}

// ---------------------------------------------------------------- loopback
mkdirSync('bench/results', { recursive: true });
if (only !== 'loopback') {
  // written now, so a failure in the loopback part cannot lose minutes of in-process runs
  writeFileSync(inprocessFile, `${JSON.stringify(inprocess, null, 2)}\n`);
}
const loopbackSizes = only === 'inprocess' ? [] : quick ? [500] : [1_000, 10_000];
// an even number of runs: each order below as often
const loopbackRuns = quick ? 1 : 4;
const loopback: Record<string, Record<Kind, Record<string, Stat>>> = {};
log('loopback: socket.io server with a Map registry vs with the supervisor attached');
for (const n of loopbackSizes) {
  const samples: Record<Kind, LoopbackResult[]> = { supervisor: [], map: [] };
  for (let run = 0; run < loopbackRuns; run += 1) {
    // the servers run in child processes, the clients in this one, whose state (its heap, its
    // collector) carries from run to run: the order alternates, so neither server always runs
    // second
    const order = run % 2 === 0 ? (['map', 'supervisor'] as const) : (['supervisor', 'map'] as const);
    for (const kind of order) {
      const t = performance.now();
      const result = await runLoopback(kind, n, log);
      samples[kind].push(result);
      log(
        `  ${kind.padEnd(10)} N=${n.toLocaleString('en').padStart(7)} run ${run + 1}/${loopbackRuns}  ${((performance.now() - t) / 1000).toFixed(1)} s: ${Math.round(result.connectsPerSec).toLocaleString('en')} connects/s, reconnect storm ${Math.round(result.reconnectStormMs)} ms`,
      );
    }
  }
  loopback[n] = { supervisor: {}, map: {} };
  for (const kind of ['map', 'supervisor'] as const) {
    for (const key of Object.keys(samples[kind][0]!) as Array<keyof LoopbackResult>) {
      loopback[n]![kind][key] = stat(samples[kind].map((s) => s[key]));
    }
  }
}

// ---------------------------------------------------------------- report
const fmt = (value: number, unit: string) =>
  unit === '/s'
    ? `${Math.round(value).toLocaleString('en')}/s`
    : unit === 'B'
      ? `${Math.round(value).toLocaleString('en')} B`
      : unit === 'µs'
        ? `${value.toFixed(1)} µs`
        : `${value.toFixed(1)} ms`;
const cell = (s: Stat | undefined, unit: string) =>
  s ? `${fmt(s.median, unit)} (${fmt(s.min, unit)}–${fmt(s.max, unit)})` : '—';
const ratio = (a: Stat | undefined, b: Stat | undefined) => (a && b ? a.median / b.median : Number.NaN);

const rows: string[] = [];
rows.push('| metric | N | supervisor median (min–max) | Map median | ratio supervisor/Map |');
rows.push('|---|---:|---|---|---:|');
for (const { key, label, unit } of METRICS) {
  for (const { n } of sizes) {
    const s = inprocess[n]?.supervisor[key];
    if (!s) continue;
    rows.push(
      `| ${label} | ${n.toLocaleString('en')} | ${cell(s, unit)} | ${cell(inprocess[n]!.map[key], unit)} | ${ratio(s, inprocess[n]!.map[key]).toFixed(2)} |`,
    );
  }
}
const growthRows: string[] = [
  '| operation | N | supervisor cost per op vs N=1,000 | Map cost per op vs N=1,000 |',
  '|---|---:|---:|---:|',
];
for (const { key, label } of METRICS.filter((m) => m.unit === '/s')) {
  for (const { n } of sizes.slice(1)) {
    const growth = (kind: Kind) => {
      const here = inprocess[n]?.[kind][key];
      const first = inprocess[1000]?.[kind][key];
      return here && first ? (first.median / here.median).toFixed(2) : '—';
    };
    if (inprocess[n]?.supervisor[key]) {
      growthRows.push(`| ${label} | ${n.toLocaleString('en')} | ${growth('supervisor')}× | ${growth('map')}× |`);
    }
  }
}
const loopRows: string[] = [
  '| metric | N | supervisor median (min–max) | Map median | ratio supervisor/Map |',
  '|---|---:|---|---|---:|',
];
const LOOP: Array<{ key: keyof LoopbackResult; label: string; unit: string }> = [
  { key: 'connectsPerSec', label: 'connects (handshake included)', unit: '/s' },
  { key: 'disconnectStormMs', label: 'disconnect storm, all processed', unit: 'ms' },
  { key: 'reconnectStormMs', label: 'reconnect storm within grace', unit: 'ms' },
  { key: 'lost', label: 'clients lost in the reconnect storm', unit: '' },
  { key: 'heapPerConnectionAfterConnects', label: 'server heap per connection, right after the connects', unit: 'B' },
  { key: 'heapPerConnection', label: 'server heap per idle connection, at rest', unit: 'B' },
  { key: 'rssPerConnection', label: 'server RSS per idle connection', unit: 'B' },
  { key: 'connectCpuUs', label: 'server CPU per connect', unit: 'µs' },
  { key: 'stormCpuUs', label: 'server CPU per client, disconnect + reconnect storms', unit: 'µs' },
];
for (const { key, label, unit } of LOOP) {
  for (const n of loopbackSizes) {
    const s = loopback[n]!.supervisor[key];
    const m = loopback[n]!.map[key];
    const show = (v: Stat | undefined) => (unit === '' ? String(v?.median ?? '—') : cell(v, unit));
    loopRows.push(
      `| ${label} | ${n.toLocaleString('en')} | ${show(s)} | ${show(m)} | ${unit === '' ? '' : ratio(s, m).toFixed(2)} |`,
    );
  }
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const machine = `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const report = [
  `machine: ${machine}${quick ? ' (quick mode)' : ''}`,
  '',
  '### In-process',
  '',
  ...rows,
  '',
  '### Growth (cost per operation at N relative to N=1,000; 1.00 = flat)',
  '',
  ...growthRows,
  '',
  '### Over loopback',
  '',
  ...loopRows,
].join('\n');
log(`\n${report}`);

// ---------------------------------------------------------------- files
mkdirSync('bench/results', { recursive: true });
const suffix = quick ? '-quick' : '';
writeFileSync(
  `bench/results/results${suffix}.json`,
  `${JSON.stringify({ machine, quick, date: new Date().toISOString(), inprocess, loopback }, null, 2)}\n`,
);
writeFileSync(`bench/results/results${suffix}.md`, `${report}\n`);
writeFileSync(`bench/results/chart${suffix}.svg`, chart());
log(
  `\nwrote bench/results/results${suffix}.json, .md and chart${suffix}.svg in ${((performance.now() - started) / 1000).toFixed(0)} s`,
);

// ---------------------------------------------------------------- the inspector's cost, the heap per actor
if (only === undefined) {
  const script = (args: string[], timeout: number) => {
    log('');
    execFileSync(process.execPath, ['--import', 'tsx', ...args], {
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: 'production' },
      timeout,
    });
  };
  script(['bench/inspector-cost.ts', ...(quick ? ['--quick'] : [])], 600_000);
  script(['--expose-gc', 'bench/actor-heap.ts'], 300_000);
  script(['bench/delivery.ts', ...(quick ? ['--quick'] : [])], 600_000);
  script(['--expose-gc', 'bench/passivation.ts', ...(quick ? ['--quick'] : [])], 600_000);
  log(`\nall benchmarks done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

/** Supervisor/Map ratios per metric and N, as grouped bars on a log scale. */
function chart(): string {
  const bars: Array<{ label: string; values: Array<{ n: string; r: number }> }> = [];
  for (const { key, label } of METRICS) {
    const values = sizes
      .map(({ n }) => ({
        n: n >= 1e6 ? '1M' : n >= 1e3 ? `${n / 1e3}k` : String(n),
        r: ratio(inprocess[n]?.supervisor[key], inprocess[n]?.map[key]),
      }))
      .filter((v) => Number.isFinite(v.r));
    if (values.length) bars.push({ label, values });
  }
  for (const { key, label } of LOOP.filter((l) => l.unit !== '')) {
    const values = loopbackSizes.map((n) => ({
      n: `${n / 1e3}k`,
      r: ratio(loopback[n]!.supervisor[key], loopback[n]!.map[key]),
    }));
    bars.push({ label: `loopback: ${label}`, values });
  }
  const width = 900;
  const rowH = 26;
  const left = 290;
  const height = 60 + bars.length * rowH;
  const x = (r: number) => left + ((Math.log10(r) + 2) / 4) * (width - left - 20); // 0.01 … 100
  const colors = ['#4f7cc8', '#58a55c', '#d08a2b', '#b0463c'];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="600">supervisor ÷ Map registry (same run; log scale; 1 = same as the Map)</text>`,
  ];
  for (const tick of [0.01, 0.1, 1, 10, 100]) {
    parts.push(
      `<line x1="${x(tick)}" y1="32" x2="${x(tick)}" y2="${height - 10}" stroke="${tick === 1 ? '#333' : '#ddd'}"/>`,
    );
    parts.push(`<text x="${x(tick)}" y="30" text-anchor="middle" fill="#555">${tick}×</text>`);
  }
  bars.forEach((bar, i) => {
    const y = 40 + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${bar.label}</text>`);
    const h = (rowH - 6) / bar.values.length;
    bar.values.forEach((v, j) => {
      const x0 = x(1);
      const x1 = x(Math.min(100, Math.max(0.01, v.r)));
      parts.push(
        `<rect x="${Math.min(x0, x1)}" y="${y + 2 + j * h}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${h - 1}" fill="${colors[j % colors.length]}"><title>${bar.label} N=${v.n}: ${v.r.toFixed(2)}×</title></rect>`,
      );
      parts.push(
        `<text x="${Math.max(x0, x1) + 4}" y="${y + 2 + j * h + h - 2}" font-size="10" fill="#333">${v.n} ${v.r.toFixed(2)}×</text>`,
      );
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
