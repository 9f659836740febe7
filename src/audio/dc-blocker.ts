/**
 * Streaming DC blocker: a first-order high-pass (BiquadFilter.dcBlocker) that starts at the steady
 * state of the signal's opening mean level, so a recording with an offset neither thumps at its start
 * nor carries a slowly decaying offset. The opening (`settleSamples`) is held back until it has
 * arrived, which makes the output independent of how the input is chunked.
 */
import { BiquadFilter } from './biquad.ts';
import { joinSamples } from './join.ts';

export class DcBlocker {
  private readonly filter: BiquadFilter;
  private readonly settleSamples: number;
  private head: Float32Array[] = [];
  private headLength = 0;
  private started = false;

  constructor(sampleRate: number, cutoff: number, settleSeconds = 0.5) {
    if (!(sampleRate > 0)) throw new RangeError(`sampleRate must be > 0, got ${sampleRate}`);
    if (!(cutoff > 0 && cutoff < sampleRate / 2))
      throw new RangeError(`cutoff must lie in (0, ${sampleRate / 2}), got ${cutoff}`);
    if (!(settleSeconds >= 0)) throw new RangeError(`settleSeconds must be ≥ 0, got ${settleSeconds}`);
    this.filter = BiquadFilter.dcBlocker(sampleRate, cutoff);
    this.settleSamples = Math.max(1, Math.round(settleSeconds * sampleRate));
  }

  /** Filters a chunk (the input is not modified); the opening comes out once it is complete. */
  process(chunk: Float32Array): Float32Array {
    if (this.started) return this.filter.process(chunk.slice());
    this.head.push(chunk.slice());
    this.headLength += chunk.length;
    return this.headLength >= this.settleSamples ? this.start() : new Float32Array(0);
  }

  /** Ends the stream: whatever of a short opening is still held back. */
  flush(): Float32Array {
    return this.started || this.headLength === 0 ? new Float32Array(0) : this.start();
  }

  private start(): Float32Array {
    const all = joinSamples(this.head);
    this.head = [];
    const n = Math.min(all.length, this.settleSamples);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += all[i]!;
    this.filter.settle(sum / n);
    this.started = true;
    return this.filter.process(all);
  }
}
