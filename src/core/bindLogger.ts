import type { Logger } from './types.js';

/** The binding every line of the library carries. */
export const LIB = 'socket.io-supervisor';

/** Drops everything: the default, so the library says nothing unless given a logger. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

// loggers this module made (or the silent one): bound once, so a logger the cluster bound with its
// nodeId is not bound again by the core it passes it to (pino would print `lib` twice)
const bound = new WeakSet<Logger>([silentLogger]);

/**
 * `logger` with `bindings` on every line: its own `child(bindings)` when it has one (pino), else a
 * wrapper that merges them into each object. A logger already bound here is returned as it is.
 */
export function bindLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  if (bound.has(logger)) return logger;
  const child = typeof logger.child === 'function' ? logger.child(bindings) : withBindings(logger, bindings);
  bound.add(child);
  return child;
}

function withBindings(logger: Logger, bindings: Record<string, unknown>): Logger {
  const line = (obj: object) => ({ ...bindings, ...obj });
  return {
    debug: (obj, msg) => logger.debug(line(obj), msg),
    info: (obj, msg) => logger.info(line(obj), msg),
    warn: (obj, msg) => logger.warn(line(obj), msg),
    error: (obj, msg) => logger.error(line(obj), msg),
    child: (more) => withBindings(logger, { ...bindings, ...more }),
  };
}
