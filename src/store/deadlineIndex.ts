/** A client's pending deadline: when it is due and the generation it was armed for. */
export interface Deadline {
  clientId: string;
  at: number;
  generation: number;
}

/**
 * The generation of a deleted entry left in the heap until it reaches the top or the heap is
 * compacted (a mark in a column it has anyway: a flag of its own cost 8 B per handshaking client).
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
  // The heap is three parallel columns rather than an array of entry objects: `at` in a packed
  // array of doubles (8 B each, unboxed), where an entry object cost 56 B and its `at` a 16 B heap
  // number, for every handshaking and disconnected client (the heap at rest; issue 21).
  /** When each heap slot is due. */
  private at: number[] = [];
  /** Whose deadline each heap slot is. */
  private ids: string[] = [];
  /** The generation each heap slot was armed for, or DEAD. */
  private generations: number[] = [];
  /** Each live entry's heap slot, by client id. */
  private readonly slots = new Map<string, number>();
  private dead = 0;
  /** The most slots the columns have held since they were last rebuilt (their capacity, about). */
  private peak = 0;

  /** @param compactMin below this many dead entries the heap is never compacted (tests lower it). */
  constructor(private readonly compactMin = COMPACT_MIN) {}

  /** How many deadlines are pending (dead entries not counted). */
  get size(): number {
    return this.slots.size;
  }

  /** Sets (or moves) the client's deadline. */
  set(clientId: string, at: number, generation: number): void {
    const existing = this.slots.get(clientId);
    if (existing !== undefined) {
      const earlier = at < this.at[existing]!;
      this.at[existing] = at;
      this.generations[existing] = generation;
      if (earlier) this.up(existing);
      else this.down(existing);
      return;
    }
    const slot = this.at.length;
    this.at.push(at);
    this.ids.push(clientId);
    this.generations.push(generation);
    if (slot >= this.peak) this.peak = slot + 1;
    this.slots.set(clientId, slot);
    this.up(slot);
  }

  get(clientId: string): Deadline | undefined {
    const slot = this.slots.get(clientId);
    return slot === undefined ? undefined : this.entryAt(slot);
  }

  delete(clientId: string): boolean {
    const slot = this.slots.get(clientId);
    if (slot === undefined) return false;
    this.slots.delete(clientId);
    this.generations[slot] = DEAD;
    this.dead += 1;
    if (this.dead > this.compactMin && this.dead > this.slots.size) this.compact();
    return true;
  }

  /** The earliest deadline, or `undefined` when none is pending. */
  peek(): Deadline | undefined {
    this.dropDeadHead();
    return this.at.length > 0 ? this.entryAt(0) : undefined;
  }

  /** When the earliest deadline is due, or `undefined` when none is pending (no object made). */
  peekAt(): number | undefined {
    this.dropDeadHead();
    return this.at.length > 0 ? this.at[0] : undefined;
  }

  /**
   * Removes and returns up to `limit` deadlines with `at <= now`, earliest first: each deadline
   * is handed out once.
   */
  take(now: number, limit = Number.POSITIVE_INFINITY): Deadline[] {
    const taken: Deadline[] = [];
    while (taken.length < limit) {
      this.dropDeadHead();
      if (this.at.length === 0 || this.at[0]! > now) break;
      const head = this.entryAt(0);
      this.slots.delete(head.clientId);
      this.removeTop();
      taken.push(head);
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
    const count = this.at.length;
    const stack = count > 0 ? [0] : [];
    while (stack.length > 0 && found.length < limit) {
      const slot = stack.pop()!;
      if (slot >= count || this.at[slot]! > now) continue;
      // a dead entry's children may still be due
      if (this.generations[slot] !== DEAD) found.push(this.ids[slot]!);
      stack.push(2 * slot + 1, 2 * slot + 2);
    }
    return found;
  }

  clear(): void {
    this.at = [];
    this.ids = [];
    this.generations = [];
    this.slots.clear();
    this.dead = 0;
    this.peak = 0;
  }

  private entryAt(slot: number): Deadline {
    return { clientId: this.ids[slot]!, at: this.at[slot]!, generation: this.generations[slot]! };
  }

  /** Pops dead entries off the top until a live one (or nothing) is there. */
  private dropDeadHead(): void {
    while (this.at.length > 0 && this.generations[0] === DEAD) {
      // counted first: removeTop may compact, which zeroes the count
      this.dead -= 1;
      this.removeTop();
    }
  }

  private removeTop(): void {
    const at = this.at.pop()!;
    const id = this.ids.pop()!;
    const generation = this.generations.pop()!;
    if (this.at.length > 0) {
      this.place(0, at, id, generation);
      this.down(0);
    }
    // V8 keeps an array's capacity when it is popped: rebuild once a quarter of the peak is left,
    // so 100,000 handshakes leave no 2.4 MB of empty columns behind (amortised O(1) per pop)
    if (this.peak > this.compactMin && this.at.length * 4 < this.peak) this.compact();
  }

  /** Writes an entry into `slot`, keeping its client's slot index right (a dead entry has none). */
  private place(slot: number, at: number, id: string, generation: number): void {
    this.at[slot] = at;
    this.ids[slot] = id;
    this.generations[slot] = generation;
    if (generation !== DEAD) this.slots.set(id, slot);
  }

  /** Rebuilds the heap from its live entries (Floyd's heapify, O(n)). */
  private compact(): void {
    const at: number[] = [];
    const ids: string[] = [];
    const generations: number[] = [];
    for (let slot = 0; slot < this.at.length; slot += 1) {
      if (this.generations[slot] === DEAD) continue;
      this.slots.set(this.ids[slot]!, at.length);
      at.push(this.at[slot]!);
      ids.push(this.ids[slot]!);
      generations.push(this.generations[slot]!);
    }
    this.at = at;
    this.ids = ids;
    this.generations = generations;
    this.dead = 0;
    this.peak = at.length;
    for (let slot = (at.length >> 1) - 1; slot >= 0; slot -= 1) this.down(slot);
  }

  private up(slot: number): void {
    const { at: keys, ids, generations } = this;
    const at = keys[slot]!;
    const id = ids[slot]!;
    const generation = generations[slot]!;
    const from = slot;
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if (keys[parent]! <= at) break;
      this.place(slot, keys[parent]!, ids[parent]!, generations[parent]!);
      slot = parent;
    }
    if (slot !== from) this.place(slot, at, id, generation);
  }

  private down(slot: number): void {
    const { at: keys, ids, generations } = this;
    const at = keys[slot]!;
    const id = ids[slot]!;
    const generation = generations[slot]!;
    const count = keys.length;
    const from = slot;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= count) break;
      const right = left + 1;
      const child = right < count && keys[right]! < keys[left]! ? right : left;
      if (keys[child]! >= at) break;
      this.place(slot, keys[child]!, ids[child]!, generations[child]!);
      slot = child;
    }
    if (slot !== from) this.place(slot, at, id, generation);
  }
}
