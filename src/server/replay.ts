/**
 * The per-session replay buffer: encoded output frames kept until the client acknowledges them,
 * so a client that reconnects receives every frame it missed. Bounded in bytes; when full the
 * oldest frames go first, and a resume that needs one of them gets RESUME_GAP.
 */

interface Entry {
  job: number;
  seq: number;
  bytes: Uint8Array;
}

export class ReplayBuffer {
  readonly maxBytes: number;
  private entries: Entry[] = [];
  private size = 0;
  /** Per job: highest sequence evicted unacknowledged (a resume below it is a gap). */
  private readonly evicted = new Map<number, number>();

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.size;
  }

  get count(): number {
    return this.entries.length;
  }

  push(job: number, seq: number, bytes: Uint8Array): void {
    this.entries.push({ job, seq, bytes });
    this.size += bytes.length;
    while (this.size > this.maxBytes && this.entries.length > 0) {
      const e = this.entries.shift()!;
      this.size -= e.bytes.length;
      this.evicted.set(e.job, Math.max(this.evicted.get(e.job) ?? -1, e.seq));
    }
  }

  /** The client holds every frame of `job` up to `seq`. */
  ack(job: number, seq: number): void {
    this.entries = this.entries.filter((e) => {
      if (e.job !== job || e.seq > seq) return true;
      this.size -= e.bytes.length;
      return false;
    });
  }

  /**
   * Frames of `job` from `nextSeq` up to (not including) `sentSeq`, or undefined when one of
   * them is no longer held.
   */
  from(job: number, nextSeq: number, sentSeq: number): Uint8Array[] | undefined {
    if (nextSeq >= sentSeq) return nextSeq === sentSeq ? [] : undefined;
    if (nextSeq <= (this.evicted.get(job) ?? -1)) return undefined;
    const out = this.entries.filter((e) => e.job === job && e.seq >= nextSeq).map((e) => e.bytes);
    return out.length === sentSeq - nextSeq ? out : undefined;
  }

  /** Forgets a job entirely (after it failed or the session ended). */
  drop(job: number): void {
    this.ack(job, 0xffff_ffff);
    this.evicted.delete(job);
  }
}
