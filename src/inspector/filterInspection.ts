import type { InspectionEvent, Observer } from 'xstate';

/** What {@link filterInspection} keeps of XState's inspection stream. */
export interface InspectionFilter {
  /**
   * Keep only events about these clients (and the supervisor's events that name them). A `Set`
   * is read live, so clients can be added to (or removed from) the watch while running.
   */
  clientIds?: Iterable<string>;
  /** Keep only these inspection event types (`@xstate.event`, `@xstate.snapshot`, ...). */
  inspectionTypes?: Iterable<InspectionEvent['type']>;
  /** Keep only `@xstate.event` inspection events whose event has one of these types. */
  eventTypes?: Iterable<string>;
}

/**
 * Wraps an XState inspection observer so it only sees part of the stream: a full stream costs
 * about 2 KB per message, for every event of every client.
 *
 * @example
 * const inspector = createWebSocketInspector();
 * createSupervisor({ inspect: filterInspection(inspector.inspect, { clientIds: [suspect] }) });
 */
export function filterInspection(
  observer: Observer<InspectionEvent> | ((event: InspectionEvent) => void),
  filter: InspectionFilter,
): (event: InspectionEvent) => void {
  const next = typeof observer === 'function' ? observer : (event: InspectionEvent) => observer.next?.(event);
  const clientIds = filter.clientIds
    ? filter.clientIds instanceof Set
      ? (filter.clientIds as Set<string>)
      : new Set(filter.clientIds)
    : null;
  const inspectionTypes = filter.inspectionTypes ? new Set<string>(filter.inspectionTypes) : null;
  const eventTypes = filter.eventTypes ? new Set(filter.eventTypes) : null;
  return function filteredInspection(event: InspectionEvent): void {
    if (inspectionTypes && !inspectionTypes.has(event.type)) return;
    if (eventTypes && event.type === '@xstate.event' && !eventTypes.has(event.event.type)) return;
    if (clientIds) {
      // client actors carry their clientId as systemId; supervisor events carry it in the event
      const systemId = (event.actorRef as { systemId?: string }).systemId;
      const named = event.type === '@xstate.event' ? (event.event as { clientId?: unknown }).clientId : undefined;
      if (!(systemId && clientIds.has(systemId)) && !(typeof named === 'string' && clientIds.has(named))) return;
    }
    next(event);
  };
}
