/** A client's pending deadline: when it is due and the generation it was armed for. */
export interface Deadline {
  clientId: string;
  at: number;
  generation: number;
}

/**
 * What a deadline is kept for: a client's record, which remembers where its deadline sits in the
 * heap (`-1`: it has none), so moving an entry is one field write and the index needs no map of
 * its own (issue 21: the heap at rest).
 */
export interface DeadlineHolder {
  readonly clientId: string;
  /** The slot of this client's live deadline in its store's index; `-1` when it has none. */
  deadlineSlot: number;
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
export class DeadlineIndex<H extends DeadlineHolder = DeadlineHolder> {
  // The heap is three parallel columns rather than an array of entry objects: `at` in a packed
  // array of doubles (8 B each, unboxed), where an entry object cost 56 B, its `at` a 16 B heap
  // number and its key a map entry, for every handshaking and disconnected client (the heap at
  // rest; issue 21). Each live entry's slot is kept on its holder.
  /** When each heap slot is due. */
  private at: number[] = [];
  /** Whose deadline each heap slot is. */
  private holders: H[] = [];
  /** The generation each heap slot was armed for, or DEAD. */
  private generations: number[] = [];
  private live = 0;
  private dead = 0;
  /** The most slots the columns have held since they were last rebuilt (their capacity, about). */
  private peak = 0;

  /** @param compactMin below this many dead entries the heap is never compacted (tests lower it). */
  constructor(private readonly compactMin = COMPACT_MIN) {}

  /** How many deadlines are pending (dead entries not counted). */
  get size(): number {
    return this.live;
  }

  /** Sets (or moves) the client's deadline. */
  set(holder: H, at: number, generation: number): void {
    const existing = holder.deadlineSlot;
    if (existing >= 0) {
      const earlier = at < this.at[existing]!;
      this.at[existing] = at;
      this.generations[existing] = generation;
      if (earlier) this.up(existing);
      else this.down(existing);
      return;
    }
    const slot = this.at.length;
    this.at.push(at);
    this.holders.push(holder);
    this.generations.push(generation);
    if (slot >= this.peak) this.peak = slot + 1;
    holder.deadlineSlot = slot;
    this.live += 1;
    this.up(slot);
  }

  get(holder: H): Deadline | undefined {
    return holder.deadlineSlot < 0 ? undefined : this.entryAt(holder.deadlineSlot);
  }

  delete(holder: H): boolean {
    const slot = holder.deadlineSlot;
    if (slot < 0) return false;
    holder.deadlineSlot = -1;
    this.generations[slot] = DEAD;
    this.live -= 1;
    this.dead += 1;
    if (this.dead > this.compactMin && this.dead > this.live) this.compact();
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
      taken.push(this.entryAt(0));
      this.holders[0]!.deadlineSlot = -1;
      this.live -= 1;
      this.removeTop();
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
      if (this.generations[slot] !== DEAD) found.push(this.holders[slot]!.clientId);
      stack.push(2 * slot + 1, 2 * slot + 2);
    }
    return found;
  }

  clear(): void {
    for (let slot = 0; slot < this.at.length; slot += 1) {
      if (this.generations[slot] !== DEAD) this.holders[slot]!.deadlineSlot = -1;
    }
    this.at = [];
    this.holders = [];
    this.generations = [];
    this.live = 0;
    this.dead = 0;
    this.peak = 0;
  }

  private entryAt(slot: number): Deadline {
    return { clientId: this.holders[slot]!.clientId, at: this.at[slot]!, generation: this.generations[slot]! };
  }

  /** Pops dead entries off the top until a live one (or nothing) is there. */
  private dropDeadHead(): void {
    while (this.at.length > 0 && this.generations[0] === DEAD) {
      // counted first: removeTop may compact, which zeroes the count
      this.dead -= 1;
      this.removeTop();
    }
  }

  /** Drops the top entry (its holder already let go of it) and refills the top from the bottom. */
  private removeTop(): void {
    const at = this.at.pop()!;
    const holder = this.holders.pop()!;
    const generation = this.generations.pop()!;
    if (this.at.length > 0) {
      this.place(0, at, holder, generation);
      this.down(0);
    }
    // V8 keeps an array's capacity when it is popped: rebuild once a quarter of the peak is left,
    // so 100,000 handshakes leave no 2.4 MB of empty columns behind (amortised O(1) per pop)
    if (this.peak > this.compactMin && this.at.length * 4 < this.peak) this.compact();
  }

  /** Writes an entry into `slot`, telling its holder where it is (a dead entry has no holder's slot). */
  private place(slot: number, at: number, holder: H, generation: number): void {
    this.at[slot] = at;
    this.holders[slot] = holder;
    this.generations[slot] = generation;
    if (generation !== DEAD) holder.deadlineSlot = slot;
  }

  /** Rebuilds the heap from its live entries (Floyd's heapify, O(n)). */
  private compact(): void {
    const at: number[] = [];
    const holders: H[] = [];
    const generations: number[] = [];
    for (let slot = 0; slot < this.at.length; slot += 1) {
      if (this.generations[slot] === DEAD) continue;
      this.holders[slot]!.deadlineSlot = at.length;
      at.push(this.at[slot]!);
      holders.push(this.holders[slot]!);
      generations.push(this.generations[slot]!);
    }
    this.at = at;
    this.holders = holders;
    this.generations = generations;
    this.dead = 0;
    this.peak = at.length;
    for (let slot = (at.length >> 1) - 1; slot >= 0; slot -= 1) this.down(slot);
  }

  private up(slot: number): void {
    const { at: keys, holders, generations } = this;
    const at = keys[slot]!;
    const holder = holders[slot]!;
    const generation = generations[slot]!;
    const from = slot;
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if (keys[parent]! <= at) break;
      this.place(slot, keys[parent]!, holders[parent]!, generations[parent]!);
      slot = parent;
    }
    if (slot !== from) this.place(slot, at, holder, generation);
  }

  private down(slot: number): void {
    const { at: keys, holders, generations } = this;
    const at = keys[slot]!;
    const holder = holders[slot]!;
    const generation = generations[slot]!;
    const count = keys.length;
    const from = slot;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= count) break;
      const right = left + 1;
      const child = right < count && keys[right]! < keys[left]! ? right : left;
      if (keys[child]! >= at) break;
      this.place(slot, keys[child]!, holders[child]!, generations[child]!);
      slot = child;
    }
    if (slot !== from) this.place(slot, at, holder, generation);
  }
}
