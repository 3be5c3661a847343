export { isSupervisorError, SupervisorError } from './core/errors.js';
export type { SupervisorHealth } from './core/health.js';
export type { RateLimit, RateLimitOptions, SupervisorOptions } from './core/options.js';
export { defaultOptions } from './core/options.js';
export type { RegisterOptions, Registration } from './core/supervisor.js';
export type {
  ClientCounts,
  ClientSnapshot,
  ClientState,
  ClientView,
  ConnectContext,
  DeleteReason,
  DisconnectReason,
  HookName,
  IgnoredWhy,
  LifecycleEvent,
  LifecycleEventType,
  LiveState,
  Logger,
  OwnershipContext,
  RejectCode,
  ReleaseWhy,
  SupervisorDisconnectReason,
  SupervisorErrorCode,
  SupervisorEvent,
  SupervisorHooks,
  SupervisorStats,
} from './core/types.js';
export type { Supervisor } from './createSupervisor.js';
export { createSupervisor } from './createSupervisor.js';
export type { ClientActor, ClientContext, ClientEvent, ClientMachineInput } from './machines/client.machine.js';
export { clientMachine } from './machines/client.machine.js';
export type { SupervisorActor } from './machines/supervisor.machine.js';
export type { ServerEventName } from './protocol.js';
export { REJECT_CODES, SERVER_EVENTS } from './protocol.js';
export type { AttachOptions, AttachTarget, SupervisedSocketData } from './server/attach.js';
