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
 * The generation of a deleted entry left in the heap until it reaches the top or the heap is
 * compacted (a mark in a field it has anyway: a flag of its own cost 8 B per handshaking client).
 */
const DEAD = -1;

/** Below this many dead entries the heap is never compacted. */
const COMPACT_MIN = 1024;

/**
 * Every pending deadline (at most one per client), earliest first, correct whatever order they
 * are set in: an indexed binary min-heap. O(log n) set and delete by client id, O(1) peek,
 * O(due) walks of the due entries.
 *
 * Not a list kept in insertion order: insertion order is expiry order only while every deadline
 * is `now() + the same duration` on a clock that never steps back. After an NTP step back, a
 * deadline set later can be due earlier; a list then kept it behind later ones, and the client
 * outlived its grace period by up to the time the one in front still had to run.
 *
 * Deletion is lazy: a deleted entry is marked dead and left where it is, dropped when it reaches
 * the top, and all at once when the dead outnumber the live (an O(n) rebuild every n deletes).
 * Sifting the hole of every connect's handshake deadline out of a 10,000-entry heap cost 3–4 µs
 * per connect (issue 21).
 */
export class DeadlineIndex {
  private heap: Entry[] = [];
  private readonly entries = new Map<string, Entry>();
  private dead = 0;

  /** @param compactMin below this many dead entries the heap is never compacted (tests lower it). */
  constructor(private readonly compactMin = COMPACT_MIN) {}

  /** How many deadlines are pending (dead entries not counted). */
  get size(): number {
    return this.entries.size;
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
    entry.generation = DEAD;
    this.dead += 1;
    if (this.dead > this.compactMin && this.dead > this.entries.size) this.compact();
    return true;
  }

  /** The earliest deadline, or `undefined` when none is pending. */
  peek(): Deadline | undefined {
    this.dropDeadHead();
    return this.heap[0];
  }

  /**
   * Removes and returns up to `limit` deadlines with `at <= now`, earliest first: each deadline
   * is handed out once.
   */
  take(now: number, limit = Number.POSITIVE_INFINITY): Deadline[] {
    const taken: Deadline[] = [];
    while (taken.length < limit) {
      this.dropDeadHead();
      const head = this.heap[0];
      if (head === undefined || head.at > now) break;
      this.entries.delete(head.clientId);
      this.removeTop();
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
      // a dead entry's children may still be due
      if (entry.generation !== DEAD) found.push(entry.clientId);
      stack.push(2 * slot + 1, 2 * slot + 2);
    }
    return found;
  }

  clear(): void {
    this.heap.length = 0;
    this.entries.clear();
    this.dead = 0;
  }

  /** Pops dead entries off the top until a live one (or nothing) is there. */
  private dropDeadHead(): void {
    while (this.heap.length > 0 && this.heap[0]!.generation === DEAD) {
      this.removeTop();
      this.dead -= 1;
    }
  }

  private removeTop(): void {
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      last.slot = 0;
      this.down(0);
    }
  }

  /** Rebuilds the heap from its live entries (Floyd's heapify, O(n)). */
  private compact(): void {
    const heap = this.heap.filter((entry) => entry.generation !== DEAD);
    this.heap = heap;
    this.dead = 0;
    for (let slot = 0; slot < heap.length; slot += 1) heap[slot]!.slot = slot;
    for (let slot = (heap.length >> 1) - 1; slot >= 0; slot -= 1) this.down(slot);
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
