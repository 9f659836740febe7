/**
 * A slot pool whose waiters are served round-robin across owners (connections), so one client
 * with many requests cannot starve another. The server hands out model turns with it: a job holds
 * a slot for one model window, so slots = jobs computing at once.
 */

interface Waiter {
  owner: string;
  resolve: (release: () => void) => void;
  reject: (err: unknown) => void;
  onPosition: ((position: number) => void) | undefined;
  position: number;
  cleanup: () => void;
}

export class FairQueue {
  readonly capacity: number;
  private active = 0;
  private readonly queues = new Map<string, Waiter[]>();
  /** Owners with waiters, in service order starting at `next`. */
  private ring: string[] = [];
  private next = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  get running(): number {
    return this.active;
  }

  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /**
   * Waits for a slot; resolves with its release function. `onPosition` hears the waiter's place
   * in line (1 = next) whenever it changes, and 0 once it holds a slot.
   */
  acquire(owner: string, signal?: AbortSignal, onPosition?: (position: number) => void): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.active < this.capacity && this.ring.length === 0) {
      this.active++;
      onPosition?.(0);
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.remove(waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        owner,
        resolve,
        reject,
        onPosition,
        position: -1,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let q = this.queues.get(owner);
      if (!q) {
        q = [];
        this.queues.set(owner, q);
        // A new owner goes last in the current round.
        this.ring.splice(this.next, 0, owner);
        this.next = (this.next + 1) % this.ring.length;
      }
      q.push(waiter);
      this.dispatch();
    });
  }

  /** Runs `fn` holding a slot. */
  async run<T>(owner: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(owner, signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.dispatch();
    };
  }

  private remove(w: Waiter): void {
    const q = this.queues.get(w.owner);
    const i = q?.indexOf(w) ?? -1;
    if (!q || i < 0) return;
    q.splice(i, 1);
    w.cleanup();
    if (q.length === 0) this.dropOwner(w.owner);
    this.dispatch();
  }

  private dropOwner(owner: string): void {
    this.queues.delete(owner);
    const k = this.ring.indexOf(owner);
    if (k < 0) return;
    this.ring.splice(k, 1);
    if (k < this.next) this.next--;
    if (this.next >= this.ring.length) this.next = 0;
  }

  private dispatch(): void {
    while (this.active < this.capacity && this.ring.length > 0) {
      const owner = this.ring[this.next]!;
      const q = this.queues.get(owner)!;
      const w = q.shift()!;
      w.cleanup();
      if (q.length === 0) this.dropOwner(owner);
      else this.next = (this.next + 1) % this.ring.length;
      this.active++;
      w.onPosition?.(0);
      w.resolve(this.releaser());
    }
    this.announce();
  }

  /** Tells each waiter its place in the round-robin order, when it changed. */
  private announce(): void {
    if (this.ring.length === 0) return;
    const cursors = new Map<string, number>();
    let pos = 0;
    let remaining = this.waiting;
    while (remaining > 0) {
      for (let k = 0; k < this.ring.length; k++) {
        const owner = this.ring[(this.next + k) % this.ring.length]!;
        const q = this.queues.get(owner)!;
        const c = cursors.get(owner) ?? 0;
        if (c >= q.length) continue;
        cursors.set(owner, c + 1);
        const w = q[c]!;
        pos++;
        remaining--;
        if (w.position !== pos) {
          w.position = pos;
          w.onPosition?.(pos);
        }
      }
    }
  }
}
