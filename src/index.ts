export { isSupervisorError, SupervisorError } from './errors.js';
export type { ClientContext, ClientEvent, ClientMachineInput } from './machines/client.machine.js';
export { clientMachine } from './machines/client.machine.js';
export type { SupervisorActor, SupervisorEvent } from './machines/supervisor.machine.js';
export { supervisorMachine } from './machines/supervisor.machine.js';
export type { SupervisorOptions } from './options.js';
export { defaultOptions } from './options.js';
export type {
  Authentication,
  RegisterOptions,
  Registration,
  Supervisor,
} from './server/createSupervisor.js';
export { createSupervisor } from './server/createSupervisor.js';
export type {
  ClientCounts,
  ClientState,
  ClientView,
  ConnectContext,
  DeleteReason,
  DisconnectReason,
  HookName,
  IgnoredWhy,
  LifecycleEvent,
  LifecycleEventType,
  Logger,
  RejectCode,
  SupervisorErrorCode,
  SupervisorHooks,
  SupervisorStats,
} from './types.js';
