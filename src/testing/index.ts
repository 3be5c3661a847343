export {
  type ConnectOptions,
  createTestSupervisor,
  type HookCall,
  type HookErrorEvent,
  HookFailedError,
  type TestClient,
  type TestSupervisor,
  type TestSupervisorOptions,
  type TestTimings,
} from './createTestSupervisor.js';
export { createFakeClock, type FakeClock } from './fakeClock.js';
export {
  type HookOrderingsOptions,
  type HookOrderingsReport,
  hookOrderings,
  type OrderingApp,
  type OrderingTools,
} from './hookOrderings.js';
export { DESIGN_CELLS, type DesignCell } from './lifecycleModel.js';
export {
  type CheckPoint,
  type LifecyclePath,
  LifecyclePathError,
  type LifecyclePathsOptions,
  type LifecycleStep,
  lifecyclePaths,
  type PathCheck,
} from './lifecyclePaths.js';
export { type RecordingToTestOptions, recordingToTest } from './recordingToTest.js';
