/** A single-consumer async queue: push from callbacks, pull with for-await. */
export class AsyncQueue<T> {
  private items: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private failWaiter: ((err: unknown) => void) | undefined;
  private closed = false;
  private error: unknown;
  private hasError = false;

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      this.failWaiter = undefined;
      w({ value: item, done: false });
    } else this.items.push(item);
  }

  /** Ends the stream after the queued items; with an error, the consumer gets it after them. */
  close(error?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (error !== undefined) {
      this.error = error;
      this.hasError = true;
    }
    if (this.waiter && this.items.length === 0) {
      const w = this.waiter;
      const f = this.failWaiter!;
      this.waiter = undefined;
      this.failWaiter = undefined;
      if (this.hasError) f(this.error);
      else w({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.closed)
      return this.hasError ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }
}
