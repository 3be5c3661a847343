/** A client's pending deadline: when it is due and the generation it was armed for. */
export interface Deadline {
  clientId: string;
  at: number;
  generation: number;
}

interface Entry extends Deadline {
  /** Where the entry sits in the heap array. */
  slot: number;
}

/**
 * Every pending deadline (at most one per client), earliest first, correct whatever order they
 * are set in: an indexed binary min-heap. O(log n) set and delete by client id, O(1) peek,
 * O(due) walks of the due entries.
 *
 * Not a list kept in insertion order: insertion order is expiry order only while every deadline
 * is `now() + the same duration` on a clock that never steps back. After an NTP step back, a
 * deadline set later can be due earlier; a list then kept it behind later ones, and the client
 * outlived its grace period by up to the time the one in front still had to run.
 */
export class DeadlineIndex {
  private readonly heap: Entry[] = [];
  private readonly entries = new Map<string, Entry>();

  get size(): number {
    return this.heap.length;
  }

  /** Sets (or moves) the client's deadline. */
  set(clientId: string, at: number, generation: number): void {
    const existing = this.entries.get(clientId);
    if (existing) {
      const earlier = at < existing.at;
      existing.at = at;
      existing.generation = generation;
      if (earlier) this.up(existing.slot);
      else this.down(existing.slot);
      return;
    }
    const entry: Entry = { clientId, at, generation, slot: this.heap.length };
    this.heap.push(entry);
    this.entries.set(clientId, entry);
    this.up(entry.slot);
  }

  get(clientId: string): Deadline | undefined {
    return this.entries.get(clientId);
  }

  delete(clientId: string): boolean {
    const entry = this.entries.get(clientId);
    if (!entry) return false;
    this.entries.delete(clientId);
    const last = this.heap.pop()!;
    if (last !== entry) {
      last.slot = entry.slot;
      this.heap[entry.slot] = last;
      // the moved entry may belong above or below the hole it fills
      this.up(last.slot);
      this.down(last.slot);
    }
    return true;
  }

  /** The earliest deadline, or `undefined` when none is pending. */
  peek(): Deadline | undefined {
    return this.heap[0];
  }

  /**
   * Removes and returns up to `limit` deadlines with `at <= now`, earliest first: each deadline
   * is handed out once.
   */
  take(now: number, limit = Number.POSITIVE_INFINITY): Deadline[] {
    const taken: Deadline[] = [];
    while (taken.length < limit) {
      const head = this.heap[0];
      if (head === undefined || head.at > now) break;
      this.delete(head.clientId);
      taken.push({ clientId: head.clientId, at: head.at, generation: head.generation });
    }
    return taken;
  }

  /**
   * Up to `limit` client ids whose deadline has passed (`at <= now`), left in place; O(due):
   * the due entries of a min-heap form a subtree at its root, so the walk never visits more
   * than the due entries and their direct children.
   */
  due(now: number, limit = Number.POSITIVE_INFINITY): string[] {
    const found: string[] = [];
    const stack = this.heap.length > 0 ? [0] : [];
    while (stack.length > 0 && found.length < limit) {
      const slot = stack.pop()!;
      const entry = this.heap[slot];
      if (entry === undefined || entry.at > now) continue;
      found.push(entry.clientId);
      stack.push(2 * slot + 1, 2 * slot + 2);
    }
    return found;
  }

  clear(): void {
    this.heap.length = 0;
    this.entries.clear();
  }

  private up(slot: number): void {
    const { heap } = this;
    const entry = heap[slot]!;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = heap[parentSlot]!;
      if (parent.at <= entry.at) break;
      heap[slot] = parent;
      parent.slot = slot;
      slot = parentSlot;
    }
    heap[slot] = entry;
    entry.slot = slot;
  }

  private down(slot: number): void {
    const { heap } = this;
    const entry = heap[slot]!;
    const count = heap.length;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= count) break;
      const right = left + 1;
      const child = right < count && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= entry.at) break;
      heap[slot] = heap[child]!;
      heap[slot]!.slot = slot;
      slot = child;
    }
    heap[slot] = entry;
    entry.slot = slot;
  }
}
