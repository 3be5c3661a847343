/** A holder's place in an {@link IdleQueue}, kept on the holder (a client's record) while it is queued. */
export interface IdleEntry<H extends IdleHolder<H>> {
  readonly holder: H;
  /** When the holder may be passivated. */
  at: number;
  queue: IdleQueue<H>;
  prev: IdleEntry<H> | null;
  next: IdleEntry<H> | null;
}

/** What an {@link IdleQueue} queues: something that keeps its own entry (`null`: in no queue). */
export interface IdleHolder<H extends IdleHolder<H>> {
  idle: IdleEntry<H> | null;
}

/**
 * The client host's idle actors, in the order they may be passivated: every one at
 * `now + the same duration`, so insertion order is that order, and a doubly linked list is the
 * queue. Each holder keeps its entry, so moving a client to the back on every event, or out of
 * the queue, is a few field writes: no look-up by id and no map entry per idle client (the idle
 * queues were two `ExpiryQueue`s keyed by client id, two hash look-ups per event; issue 21).
 */
export class IdleQueue<H extends IdleHolder<H>> {
  private head: IdleEntry<H> | null = null;
  private tail: IdleEntry<H> | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Puts `holder` at the back, passivable at `at`, moving it out of whichever queue it was in. */
  push(holder: H, at: number): void {
    let entry = holder.idle;
    if (entry === null) {
      entry = { holder, at, queue: this, prev: null, next: null };
      holder.idle = entry;
    } else {
      if (entry.queue === this && entry === this.tail) {
        entry.at = at;
        return;
      }
      entry.queue.unlink(entry);
      entry.queue = this;
      entry.at = at;
    }
    entry.prev = this.tail;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
    this.count += 1;
  }

  /** The holder passivable first, and when. */
  peek(): IdleEntry<H> | undefined {
    return this.head ?? undefined;
  }

  /** Takes the head out of the queue and returns its holder. */
  shift(): H | undefined {
    const head = this.head;
    if (head === null) return undefined;
    IdleQueue.remove(head.holder);
    return head.holder;
  }

  /** Takes `holder` out of the queue it is in, if any; whether it was in one. */
  static remove<H extends IdleHolder<H>>(holder: H): boolean {
    const entry = holder.idle;
    if (entry === null) return false;
    entry.queue.unlink(entry);
    holder.idle = null;
    return true;
  }

  private unlink(entry: IdleEntry<H>): void {
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = entry.next = null;
    this.count -= 1;
  }
}
