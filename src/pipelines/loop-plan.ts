/**
 * Seamless loops of an exact length. A loop of `seconds` is L = round(seconds·rate) samples; the
 * model makes T frames (a multiple of lengthMultiple, T·hop ≈ L) that wrap around, and the decoder
 * fits them to exactly L samples without changing pitch (decoder.ts). A tempo-conditioned model is
 * told the tempo its T frames actually hold, bpm·L/(T·hop), so after the fit the beats land on the
 * requested tempo and the loop is exactly `bars` bars long.
 */
import type { ModelManifest } from '../packs/index.ts';
import type { ModelRepresentation } from './representation.ts';

/** Bars are 4/4, as the CLI's --bars and the WAV acid chunk count them. */
export const BEATS_PER_BAR = 4;

export interface LoopPlan {
  /** Loop length in samples, L. */
  samples: number;
  /** Model frames, T. */
  frames: number;
  /** The caller's controls, plus `bars` when a whole-bar length implies it. */
  controls: Record<string, number | string>;
  /** The tempo to condition the model on (only for packs with a numeric `bpm` control). */
  modelBpm?: number;
}

export interface LoopRequest {
  seconds?: number;
  controls?: Readonly<Record<string, number | string>>;
}

function numericControl(
  m: ModelManifest,
  name: string,
): { min: number; max: number; default?: number } | undefined {
  const spec = m.conditioning?.controls?.[name];
  return spec && spec.type !== 'enum' ? spec : undefined;
}

/** Length and conditioning of a loop request; the controls themselves are validated by conditionFor. */
export function planLoop(m: ModelManifest, rep: ModelRepresentation, request: LoopRequest): LoopPlan {
  const rate = m.sampleRate;
  const controls: Record<string, number | string> = { ...(request.controls ?? {}) };
  const bpmSpec = numericControl(m, 'bpm');
  const barsSpec = numericControl(m, 'bars');
  const bpm = bpmSpec ? Number(controls['bpm'] ?? bpmSpec.default) : Number.NaN;
  let seconds = request.seconds;
  if (barsSpec && bpm > 0) {
    const barSeconds = (BEATS_PER_BAR * 60) / bpm;
    if (seconds === undefined) {
      const bars = Number(controls['bars'] ?? barsSpec.default);
      if (bars > 0) seconds = bars * barSeconds;
    } else if (controls['bars'] === undefined) {
      // A length that is a whole number of bars (e.g. a server job's `bars`) sets the bars control.
      const bars = Math.round(seconds / barSeconds);
      if (
        bars >= barsSpec.min &&
        bars <= barsSpec.max &&
        Math.abs(bars * barSeconds - seconds) * rate < 0.5
      ) {
        controls['bars'] = bars;
      }
    }
  }
  seconds ??= m.defaults.seconds ?? rep.samples(m.io.windowLength) / rate;
  if (!(seconds > 0 && seconds <= 3600)) throw new RangeError(`seconds must be in (0, 3600], got ${seconds}`);
  const samples = Math.max(1, Math.round(seconds * rate));
  const multiple = m.io.lengthMultiple ?? 1;
  const frames = Math.max(multiple, Math.round(samples / rep.hop / multiple) * multiple);
  const plan: LoopPlan = { samples, frames, controls };
  // The exact (unrounded) length, so the tempo is the one the bars imply, not off by the rounding.
  if (bpm > 0) plan.modelBpm = (bpm * seconds * rate) / (frames * rep.hop);
  return plan;
}
