import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { SRC } from './helpers/imports.js';

// Each entry's public surface, pinned: a name added to or removed from an entry fails here, so
// the change is a decision (and the README/TSDoc follow), not a side effect of a refactoring.

const ENTRIES = {
  '.': 'index.ts',
  './client': 'client/index.ts',
  './inspector': 'inspector/index.ts',
  './metrics': 'metrics/index.ts',
  './testing': 'testing/index.ts',
  './cluster': 'cluster/index.ts',
} as const;

type Entry = keyof typeof ENTRIES;

/** Every name an entry exports, values (present at runtime) and types (erased), as TypeScript sees them. */
function exportsOf(): Record<Entry, { values: string[]; types: string[]; undocumented: string[] }> {
  const files = Object.values(ENTRIES).map((file) => join(SRC, file));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const result = {} as ReturnType<typeof exportsOf>;
  for (const [entry, file] of Object.entries(ENTRIES) as Array<[Entry, string]>) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(join(SRC, file))!)!;
    const values: string[] = [];
    const types: string[] = [];
    const undocumented: string[] = [];
    for (const exported of checker.getExportsOfModule(module)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      (target.flags & ts.SymbolFlags.Value ? values : types).push(exported.name);
      if (target.getDocumentationComment(checker).length === 0) undocumented.push(exported.name);
    }
    result[entry] = { values: values.sort(), types: types.sort(), undocumented: undocumented.sort() };
  }
  return result;
}

describe('the entries’ export lists', () => {
  const found = exportsOf();

  it('should export exactly these names from socket.io-supervisor', async () => {
    expect(found['.'].values).toEqual([
      'REJECT_CODES',
      'SERVER_EVENTS',
      'SupervisorError',
      'clientMachine',
      'createSupervisor',
      'defaultOptions',
      'isSupervisorError',
    ]);
    expect(found['.'].types).toEqual([
      'AttachOptions',
      'AttachTarget',
      'ClientActor',
      'ClientContext',
      'ClientCounts',
      'ClientEvent',
      'ClientMachineInput',
      'ClientSnapshot',
      'ClientState',
      'ClientView',
      'ConnectContext',
      'DeleteReason',
      'DisconnectReason',
      'HookName',
      'IgnoredWhy',
      'LifecycleEvent',
      'LifecycleEventType',
      'LiveState',
      'Logger',
      'OwnershipContext',
      'RateLimit',
      'RateLimitOptions',
      'RegisterOptions',
      'Registration',
      'RejectCode',
      'ReleaseWhy',
      'ServerEventName',
      'SupervisedSocketData',
      'Supervisor',
      'SupervisorActor',
      'SupervisorDisconnectReason',
      'SupervisorErrorCode',
      'SupervisorEvent',
      'SupervisorHealth',
      'SupervisorHooks',
      'SupervisorOptions',
      'SupervisorStats',
    ]);
    expect(Object.keys(await import('../src/index.js')).sort()).toEqual(found['.'].values);
  });

  it('should export exactly these names from socket.io-supervisor/client', async () => {
    expect(found['./client'].values).toEqual([
      'CLIENT_EVENTS',
      'CLIENT_GONE_CODES',
      'REFUSED_CODES',
      'REJECT_CODES',
      'RETRY_LATER_CODES',
      'SERVER_EVENTS',
      'memoryStorage',
      'supervise',
    ]);
    expect(found['./client'].types).toEqual([
      'CredentialStorage',
      'Credentials',
      'MessageHandler',
      'RejectCode',
      'SuperviseOptions',
      'Supervised',
      'SupervisedDetail',
      'SupervisedState',
    ]);
    expect(Object.keys(await import('../src/client/index.js')).sort()).toEqual(found['./client'].values);
  });

  it('should export exactly these names from socket.io-supervisor/inspector', async () => {
    expect(found['./inspector'].values).toEqual(['filterInspection', 'mountInspector', 'statechartModel']);
    expect(found['./inspector'].types).toEqual([
      'ChartModel',
      'ChartState',
      'ChartTransition',
      'ClientRow',
      'InspectionFilter',
      'Inspector',
      'InspectorOptions',
    ]);
    expect(Object.keys(await import('../src/inspector/index.js')).sort()).toEqual(found['./inspector'].values);
  });

  it('should export exactly these names from socket.io-supervisor/metrics', async () => {
    expect(found['./metrics'].values).toEqual(['collectMetrics']);
    expect(found['./metrics'].types).toEqual(['MetricsOptions']);
    expect(Object.keys(await import('../src/metrics/index.js')).sort()).toEqual(found['./metrics'].values);
  });

  it('should export exactly these names from socket.io-supervisor/testing', async () => {
    expect(found['./testing'].values).toEqual([
      'DESIGN_CELLS',
      'HookFailedError',
      'LifecyclePathError',
      'createFakeClock',
      'createTestSupervisor',
      'hookOrderings',
      'lifecyclePaths',
      'recordingToTest',
    ]);
    expect(found['./testing'].types).toEqual([
      'CheckPoint',
      'ConnectOptions',
      'DesignCell',
      'FakeClock',
      'HookCall',
      'HookErrorEvent',
      'HookOrderingsOptions',
      'HookOrderingsReport',
      'LifecyclePath',
      'LifecyclePathsOptions',
      'LifecycleStep',
      'OrderingApp',
      'OrderingTools',
      'PathCheck',
      'RecordingToTestOptions',
      'TestClient',
      'TestSupervisor',
      'TestSupervisorOptions',
      'TestTimings',
    ]);
    expect(Object.keys(await import('../src/testing/index.js')).sort()).toEqual(found['./testing'].values);
  });

  // what an application uses: the Redis layer (the store, its keys, scripts and results) stays
  // internal, reached by the tests through its paths
  it('should export exactly these names from socket.io-supervisor/cluster', async () => {
    expect(found['./cluster'].values).toEqual([
      'clusterClientOptions',
      'createClusterSupervisor',
      'defaultClusterOptions',
      'migrateToPartitions',
    ]);
    expect(found['./cluster'].types).toEqual([
      'ClusterChannel',
      'ClusterClientView',
      'ClusterCounts',
      'ClusterEvent',
      'ClusterHealth',
      'ClusterHookContext',
      'ClusterHooks',
      'ClusterListFilter',
      'ClusterListOptions',
      'ClusterListPage',
      'ClusterNode',
      'ClusterNodeHealth',
      'ClusterSupervisor',
      'ClusterSupervisorOptions',
      'LostWhy',
      'MigrateToPartitionsOptions',
      'MigrationSummary',
      'NodeRedisClient',
    ]);
    expect(Object.keys(await import('../src/cluster/index.js')).sort()).toEqual(found['./cluster'].values);
  });

  it('should document every export of every entry (TSDoc)', () => {
    for (const entry of ['.', './client', './inspector', './metrics', './testing', './cluster'] as const) {
      expect(found[entry].undocumented, entry).toEqual([]);
    }
  });
});
