/**
 * The ids of deleted clients, each until its tombstone expires (`now + tombstoneTtl` when it was
 * laid, so the order they are laid in is the order they expire in), oldest first.
 *
 * A ring of two parallel columns (the id, and when it expires as an unboxed double) and a map
 * from id to its place in the ring, rather than an `ExpiryQueue`: that queue's node object
 * per id (56 B, plus its expiry as a 16 B heap number) was allocated on every delete and traced
 * by the garbage collector for `tombstoneTtl` (issue 21: a burst of deletes). Removing an id
 * before it expires (a client back on this node, cluster mode) only forgets its map entry; its
 * slot in the ring is skipped when it reaches the front.
 */
export class Tombstones {
  /** Each held id's sequence number: its slot in the ring is `seq & mask`. */
  private readonly seqOf = new Map<string, number>();
  private ids: Array<string | undefined> = new Array(16);
  private expiries = new Float64Array(16);
  private mask = 15;
  /** The sequence number of the oldest slot in the ring, and of the next one to be laid. */
  private first = 0;
  private next = 0;

  /** How many ids are held (removed ones not counted). */
  get size(): number {
    return this.seqOf.size;
  }

  /** Whether `clientId` has a tombstone that expires after `now`. */
  holds(clientId: string, now: number): boolean {
    const seq = this.seqOf.get(clientId);
    return seq !== undefined && this.expiries[seq & this.mask]! > now;
  }

  /** Lays a tombstone for `clientId` until `expiresAt` (one laid before for it is replaced). */
  add(clientId: string, expiresAt: number): void {
    if (this.next - this.first > this.mask) this.resize(2 * (this.mask + 1));
    const seq = this.next;
    this.next += 1;
    this.ids[seq & this.mask] = clientId;
    this.expiries[seq & this.mask] = expiresAt;
    // a tombstone laid before for this id keeps its slot, skipped when it reaches the front
    this.seqOf.set(clientId, seq);
  }

  /** Forgets `clientId`'s tombstone, if any. */
  delete(clientId: string): void {
    this.seqOf.delete(clientId);
  }

  /** Forgets the tombstones expired at `now`, and the oldest beyond `max`; returns how many. */
  expire(now: number, max: number): number {
    let expired = 0;
    while (this.first < this.next) {
      const slot = this.first & this.mask;
      if (this.expiries[slot]! > now && this.seqOf.size <= max) break;
      const clientId = this.ids[slot]!;
      this.ids[slot] = undefined;
      // only if this slot is still the id's tombstone (not one removed, or laid again later)
      if (this.seqOf.get(clientId) === this.first) {
        this.seqOf.delete(clientId);
        expired += 1;
      }
      this.first += 1;
    }
    // a ring a burst grew keeps a quarter of it in use at least
    const used = this.next - this.first;
    if (this.mask > 15 && used < (this.mask + 1) / 4) this.resize(Math.max(16, 2 * used));
    return expired;
  }

  clear(): void {
    this.seqOf.clear();
    this.first = this.next = 0;
    this.resize(16);
  }

  /** A ring of `capacity` slots (a power of two, at least the slots in use), every slot at `seq & mask` for its mask. */
  private resize(atLeast: number): void {
    let capacity = 16;
    while (capacity < atLeast) capacity *= 2;
    const ids: Array<string | undefined> = new Array(capacity);
    const expiries = new Float64Array(capacity);
    for (let seq = this.first; seq < this.next; seq += 1) {
      ids[seq & (capacity - 1)] = this.ids[seq & this.mask];
      expiries[seq & (capacity - 1)] = this.expiries[seq & this.mask]!;
    }
    this.ids = ids;
    this.expiries = expiries;
    this.mask = capacity - 1;
  }
}
