/**
 * Musical timing: where bars fall in a stream. Frame 0 of a job's output sits at quarter-note
 * position `anchor` of the host's timeline; bar k starts at quarter k × quartersPerBar. Positions
 * are computed from absolute quarter positions (never by adding bar lengths), so they do not drift.
 */

export interface MusicalTiming {
  /** Quarter notes per minute, (0, 1000]. */
  bpm: number;
  /** [beats per bar, beat unit], e.g. [4, 4] or [6, 8]. */
  timeSignature: readonly [number, number];
  /** Quarter-note position of output frame 0 on the host timeline (≥ 0). */
  anchor: number;
}

export function quartersPerBar(t: MusicalTiming): number {
  return (t.timeSignature[0] * 4) / t.timeSignature[1];
}

export function framesPerQuarter(t: MusicalTiming, sampleRate: number): number {
  return (60 / t.bpm) * sampleRate;
}

/** Exact (fractional) frames per bar. */
export function framesPerBar(t: MusicalTiming, sampleRate: number): number {
  return quartersPerBar(t) * framesPerQuarter(t, sampleRate);
}

/** The output frame at quarter position q (rounded to the nearest frame). */
export function frameOfQuarter(t: MusicalTiming, sampleRate: number, q: number): number {
  return Math.round((q - t.anchor) * framesPerQuarter(t, sampleRate));
}

/** The first bar boundary at or after `frame`: its frame and absolute bar number on the host timeline. */
export function nextBar(t: MusicalTiming, sampleRate: number, frame: number): { frame: number; bar: number } {
  const qpb = quartersPerBar(t);
  const q = t.anchor + frame / framesPerQuarter(t, sampleRate);
  // Tolerate float error so a frame exactly on a bar boundary maps to that bar.
  let bar = Math.ceil(q / qpb - 1e-9);
  let f = frameOfQuarter(t, sampleRate, bar * qpb);
  while (f < frame) f = frameOfQuarter(t, sampleRate, ++bar * qpb);
  return { frame: f, bar };
}
