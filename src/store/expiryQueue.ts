interface Node<V> {
  key: string;
  at: number;
  value: V;
  prev: Node<V> | null;
  next: Node<V> | null;
}

/**
 * Keys with an expiry time, in expiry order, when every expiry is `now() + the same duration`:
 * then insertion order is expiry order, and a doubly linked list indexed by key is a priority
 * queue with O(1) insert, O(1) removal by key, O(1) peek and O(expired) sweeps.
 *
 * Not an insertion-ordered Map: V8 keeps a deleted Map entry as a hole until the table is
 * rehashed, so repeatedly reading the first entry after deleting from the front costs
 * O(holes), which made deadline bookkeeping quadratic at 100,000 clients.
 */
export class ExpiryQueue<V = undefined> {
  private readonly nodes = new Map<string, Node<V>>();
  private head: Node<V> | null = null;
  private tail: Node<V> | null = null;

  get size(): number {
    return this.nodes.size;
  }

  /** Adds or moves `key` to the end of the queue, expiring at `at`. */
  set(key: string, at: number, value: V): void {
    let node = this.nodes.get(key);
    if (node) {
      // moved, not re-created: a client touched on every event would otherwise leave a node of
      // garbage behind each time
      if (node === this.tail) {
        node.at = at;
        node.value = value;
        return;
      }
      this.unlink(node);
      node.at = at;
      node.value = value;
      node.prev = this.tail;
    } else {
      node = { key, at, value, prev: this.tail, next: null };
      this.nodes.set(key, node);
    }
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
  }

  get(key: string): { at: number; value: V } | undefined {
    return this.nodes.get(key);
  }

  has(key: string): boolean {
    return this.nodes.has(key);
  }

  delete(key: string): boolean {
    const node = this.nodes.get(key);
    if (!node) return false;
    this.nodes.delete(key);
    this.unlink(node);
    return true;
  }

  private unlink(node: Node<V>): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = null;
  }

  /** The entry that expires first. */
  peek(): { key: string; at: number; value: V } | undefined {
    return this.head ?? undefined;
  }

  /** Removes and returns the first entry. */
  shift(): { key: string; at: number; value: V } | undefined {
    const head = this.head;
    if (!head) return undefined;
    this.delete(head.key);
    return head;
  }

  /** Entries with `at <= now`, first to expire first; stops at the first one not yet due. */
  due(now: number, limit = Number.POSITIVE_INFINITY): Array<{ key: string; at: number; value: V }> {
    const result: Array<{ key: string; at: number; value: V }> = [];
    for (let node = this.head; node !== null && node.at <= now && result.length < limit; node = node.next) {
      result.push(node);
    }
    return result;
  }

  clear(): void {
    this.nodes.clear();
    this.head = this.tail = null;
  }
}
