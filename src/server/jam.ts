/**
 * Endless generation ("jam"): one continuous windowed generation per parameter set, switched at
 * bar boundaries. A change (or the hour limit of one generation) takes effect at the first bar
 * boundary at or after the audio already handed out: the old stream plays up to that frame,
 * crossfades into the new one over a few milliseconds, and the new one continues from there.
 */
import type { GenerateOptions, GeneratePipeline, PipelineEventHandler } from '../pipelines/index.ts';
import { type GenerateParams, type MusicalTiming, nextBar } from '../protocol/index.ts';

/** Maps protocol params to pipeline options; a model `bpm` control follows the job's tempo. */
export function generateOptions(
  pipeline: GeneratePipeline,
  p: GenerateParams,
  timing: MusicalTiming | undefined,
): GenerateOptions {
  const controls = { ...(p.controls ?? {}) };
  const specs = pipeline.pack.manifest.conditioning?.controls ?? {};
  if (timing && specs['bpm'] && controls['bpm'] === undefined) {
    const s = specs['bpm'];
    if (s.type !== 'enum' && timing.bpm >= s.min && timing.bpm <= s.max) controls['bpm'] = timing.bpm;
  }
  return {
    ...(p.className !== undefined ? { className: p.className } : {}),
    ...(p.tags !== undefined ? { tags: p.tags } : {}),
    ...(Object.keys(controls).length > 0 ? { controls } : {}),
    ...(p.steps !== undefined ? { steps: p.steps } : {}),
    ...(p.sampler !== undefined ? { sampler: p.sampler } : {}),
    ...(p.guidance !== undefined ? { guidance: p.guidance } : {}),
    ...(p.seed !== undefined ? { seed: p.seed } : {}),
    ...(p.loop !== undefined ? { loop: p.loop } : {}),
  };
}

export interface JamOptions {
  pipeline: GeneratePipeline;
  params: GenerateParams;
  timing: MusicalTiming;
  /** Rate of the job's output (bars are placed in output frames). */
  outRate: number;
  signal: AbortSignal;
  onEvent?: PipelineEventHandler;
  /** Returns the pending parameter change, if any, and clears it. */
  takeUpdate: () => GenerateParams | undefined;
  /** A change took effect at output frame `frame` (bar `bar`). */
  onApplied: (params: GenerateParams, frame: number, bar: number) => void;
  /** A change was refused (the model rejects it); the jam goes on unchanged. */
  onRejected: (err: unknown) => void;
}

/** One generation lasts at most this long before it is renewed at a bar (the pipeline caps at 1 h). */
const EPOCH_SECONDS = 3000;
const FADE_SECONDS = 0.02;

/** Yields planar model-rate audio forever (until aborted). */
export async function* jamSource(o: JamOptions): AsyncGenerator<Float32Array[]> {
  const m = o.pipeline.pack.manifest;
  const rate = m.sampleRate;
  const fade = Math.max(1, Math.round(FADE_SECONDS * rate));
  let params = { ...o.params };
  let epoch = 0;
  const start = (p: GenerateParams) => {
    const opts = generateOptions(o.pipeline, p, o.timing);
    return o.pipeline
      .generate({
        ...opts,
        loop: false,
        seconds: EPOCH_SECONDS + 60,
        seed: ((p.seed ?? 0) + epoch) >>> 0,
        signal: o.signal,
        ...(o.onEvent ? { onEvent: o.onEvent } : {}),
      })
      [Symbol.asyncIterator]();
  };
  let it = start(params);
  let channels = 0;
  /** Audio of the current generation not yet handed out. */
  let buffered: Float32Array[][] = [];
  let bufferedFrames = 0;
  /** Model-rate frames handed out so far, and where the current generation started. */
  let pos = 0;
  let epochStart = 0;

  const pull = async (): Promise<void> => {
    const r = await it.next();
    if (r.done) throw new Error('jam generation ended early');
    channels = r.value.channels.length;
    buffered.push(r.value.channels);
    bufferedFrames += r.value.channels[0]!.length;
  };
  const take = (n: number): Float32Array[] => {
    const out = Array.from({ length: channels }, () => new Float32Array(n));
    let filled = 0;
    while (filled < n) {
      const head = buffered[0]!;
      const k = Math.min(head[0]!.length, n - filled);
      for (let c = 0; c < channels; c++) out[c]!.set(head[c]!.subarray(0, k), filled);
      filled += k;
      if (k === head[0]!.length) buffered.shift();
      else buffered[0] = head.map((ch) => ch.subarray(k));
    }
    bufferedFrames -= n;
    return out;
  };

  for (;;) {
    let update = o.takeUpdate();
    const renew = pos - epochStart > EPOCH_SECONDS * rate;
    if (update) {
      const merged = { ...params, ...update };
      try {
        // Validate against the model before committing to the switch.
        o.pipeline.condition(generateOptions(o.pipeline, merged, o.timing));
        update = merged;
      } catch (err) {
        o.onRejected(err);
        update = undefined;
      }
    }
    if (update || renew) {
      const outPos = Math.round((pos * o.outRate) / rate);
      const bar = nextBar(o.timing, o.outRate, outPos);
      const switchAt = Math.max(pos, Math.round((bar.frame * rate) / o.outRate));
      while (pos + bufferedFrames < switchAt + fade) await pull();
      const before = take(switchAt - pos);
      const tail = take(fade);
      if (before[0]!.length > 0) yield before;
      pos = switchAt;
      if (update) params = update;
      epoch++;
      it = start(params);
      buffered = [];
      bufferedFrames = 0;
      while (bufferedFrames < fade) await pull();
      const head = buffered[0]!;
      for (let c = 0; c < channels; c++) {
        const ch = head[c]!;
        // Equal-power crossfade from the old generation's tail into the new one's start.
        for (let i = 0; i < Math.min(fade, ch.length); i++) {
          const t = (i + 0.5) / fade;
          ch[i] = Math.cos((Math.PI / 2) * t) * tail[c]![i]! + Math.sin((Math.PI / 2) * t) * ch[i]!;
        }
      }
      epochStart = pos;
      if (update) o.onApplied(params, bar.frame, bar.bar);
    }
    if (bufferedFrames === 0) await pull();
    const out = take(bufferedFrames);
    pos += out[0]!.length;
    yield out;
  }
}
