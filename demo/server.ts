// npm start: the demo server with the supervisor embedded.
import { startDemo } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const demo = await startDemo({
  port,
  host: process.env.HOST ?? '127.0.0.1',
  ...(process.env.INSPECTOR_TOKEN ? { inspectorToken: process.env.INSPECTOR_TOKEN } : {}),
});
demo.supervisor.events$.subscribe((event) => {
  const detail = event.type === 'ignored' ? event.why : event.type === 'deleted' ? event.reason : '';
  console.log(
    `${new Date(event.at).toISOString().slice(11, 23)}  ${event.type.padEnd(15)} ${event.clientId} ${detail}`,
  );
});
console.log(`socket.io-supervisor demo on ${demo.url}`);
console.log(`  open ${demo.url}/ in a few tabs, reload one, close another`);
console.log(`  clients (with the inspector token as a Bearer header): ${demo.url}/supervisor/clients`);
console.log(`  inspector: ${demo.inspectorUrl}`);
console.log(`  metrics: ${demo.url}/metrics`);
console.log('  Ctrl-C to stop');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: closing (every client is deleted with reason shutdown)...`);
    demo.close().then(() => {
      console.log('closed');
      process.exit(0);
    });
  });
}
