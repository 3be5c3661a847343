import { filter, firstValueFrom, map, type Observable, timeout as rxTimeout, take, throwError } from 'rxjs';
import type { ClientStatus } from '../store/clientStore.js';
import { SupervisorError } from './errors.js';
import type { ClientView, LifecycleEvent } from './types.js';

export interface ConnectedDeps<TData> {
  events$: Observable<LifecycleEvent>;
  status(clientId: string): ClientStatus;
  view(clientId: string): ClientView<TData> | undefined;
}

/**
 * `connected(clientId)`: the client's view once it is connected (at once if it is). Rejects
 * with `CLIENT_DELETED` (deleted before or while waiting, or the supervisor closed),
 * `UNKNOWN_CLIENT`, or `TIMEOUT` after `timeout` ms.
 */
export async function waitForConnected<TData>(
  deps: ConnectedDeps<TData>,
  clientId: string,
  options: { timeout?: number } = {},
): Promise<ClientView<TData>> {
  const current = deps.view(clientId);
  if (current?.state === 'connected') return current;
  if (!current) {
    if (deps.status(clientId) === 'deleted') {
      throw new SupervisorError('CLIENT_DELETED', `connected(): client ${clientId} was deleted`);
    }
    throw new SupervisorError('UNKNOWN_CLIENT', `connected(): no client ${clientId}`);
  }
  const deletedError = () =>
    new SupervisorError('CLIENT_DELETED', `connected(): client ${clientId} was deleted before it connected`);
  const settled$ = deps.events$.pipe(
    filter(
      (event) =>
        event.clientId === clientId &&
        (event.type === 'connected' || event.type === 'reconnected' || event.type === 'deleted'),
    ),
    take(1),
    map((event) => {
      const view = event.type === 'deleted' ? undefined : deps.view(clientId);
      if (!view) throw deletedError();
      return view;
    }),
  );
  const limit = options.timeout;
  const bounded$ =
    limit === undefined
      ? settled$
      : settled$.pipe(
          rxTimeout({
            first: limit,
            with: () =>
              throwError(
                () =>
                  new SupervisorError('TIMEOUT', `connected(): client ${clientId} did not connect within ${limit} ms`),
              ),
          }),
        );
  try {
    return await firstValueFrom(bounded$);
  } catch (error) {
    // events$ completing first means the supervisor closed, which deletes every client
    if (error instanceof SupervisorError) throw error;
    throw deletedError();
  }
}
