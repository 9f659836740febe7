/**
 * Adapts a runtime ModelSession into the sampler's Denoiser: builds the ONNX feeds (state,
 * time value, conditioning) from the manifest's input names and checks the output.
 */
import { SonodiffError } from '../errors.ts';
import type { ModelManifest } from '../packs/index.ts';
import { float32Tensor, int64Tensor, type ModelSession, type TensorData } from '../runtime/index.ts';
import type { Denoiser, TimeInput } from '../sampler/index.ts';
import { representationFor } from './representation.ts';

/** Per-item conditioning a pipeline hands the sampler. */
export interface Condition {
  /** Class index (the manifest's nullClass means "unconditional"). */
  classIndex?: number;
  /** Multi-hot tag vector, manifest tag order. */
  tags?: Float32Array;
  /** Normalised numeric controls, manifest control order. */
  controls?: Float32Array;
  /** A conditioning tensor of the item's own shape (e.g. the noisy input of a denoiser). */
  condition?: Float32Array;
}

export function createModelDenoiser(session: ModelSession, manifest: ModelManifest): Denoiser<Condition> {
  const io = manifest.io;
  // diffusers exports often take an int64 timestep; feed what the model declares.
  const tInfo = session.inputs.find((i) => i.name === io.inputs.timestep);
  const intTime = tInfo?.type === 'int64';
  for (const name of Object.values(io.inputs)) {
    if (!session.inputNames.includes(name)) {
      throw new SonodiffError(
        'ERR_MODEL',
        `model ${manifest.id} has no input "${name}" (its inputs: ${session.inputNames.join(', ')})`,
      );
    }
  }
  if (!session.outputNames.includes(io.output)) {
    throw new SonodiffError(
      'ERR_MODEL',
      `model ${manifest.id} has no output "${io.output}" (its outputs: ${session.outputNames.join(', ')})`,
    );
  }
  // A model whose declared input shape cannot take the manifest's tensors fails at load, not at the
  // first model call (batch and time axes may be anything; the others must match when fixed).
  const declared = session.inputs.find((i) => i.name === io.inputs.sample)?.shape ?? [];
  if (declared.length > 0) {
    const want = [1, ...representationFor(manifest).itemShape(io.windowLength)];
    const fits =
      declared.length === want.length &&
      declared.every((d, i) => i === 0 || i === want.length - 1 || typeof d !== 'number' || d === want[i]);
    if (!fits) {
      throw new SonodiffError(
        'ERR_MODEL',
        `model ${manifest.id} input "${io.inputs.sample}" has shape [${declared.join(', ')}] but the manifest gives [batch, ${want.slice(1, -1).join(', ')}, frames]`,
      );
    }
  }
  return async (x: Float32Array, time: TimeInput, cond: readonly Condition[]) => {
    const shape = [...time.shape];
    const batch = shape[0]!;
    if (cond.length !== batch) throw new RangeError(`cond must hold ${batch} entries, got ${cond.length}`);
    const item = x.length / batch;
    // σ-models take σ; discrete models take diffusers' t; flow models their t.
    const tValue = io.timestepKind === 'sigma' ? time.sigma / time.alpha : time.t;
    const feeds: Record<string, TensorData> = {
      [io.inputs.sample]: float32Tensor(x, shape),
      [io.inputs.timestep]: intTime
        ? int64Tensor(new Array<number>(batch).fill(Math.round(tValue)))
        : float32Tensor(new Float32Array(batch).fill(tValue), [batch]),
    };
    if (io.inputs.class !== undefined) {
      const nullClass = manifest.conditioning?.nullClass ?? manifest.conditioning?.classes?.length ?? 0;
      feeds[io.inputs.class] = int64Tensor(cond.map((c) => c.classIndex ?? nullClass));
    }
    if (io.inputs.tags !== undefined) {
      const n = manifest.conditioning?.tags?.length ?? 0;
      const data = new Float32Array(batch * n);
      for (const [i, c] of cond.entries()) if (c.tags) data.set(c.tags, i * n);
      feeds[io.inputs.tags] = float32Tensor(data, [batch, n]);
    }
    if (io.inputs.controls !== undefined) {
      const n = Object.keys(manifest.conditioning?.controls ?? {}).length;
      const data = new Float32Array(batch * n);
      for (const [i, c] of cond.entries()) if (c.controls) data.set(c.controls, i * n);
      feeds[io.inputs.controls] = float32Tensor(data, [batch, n]);
    }
    if (io.inputs.condition !== undefined) {
      const data = new Float32Array(x.length);
      cond.forEach((c, i) => {
        if (!c.condition || c.condition.length !== item) {
          throw new RangeError(`cond[${i}].condition must hold ${item} values`);
        }
        data.set(c.condition, i * item);
      });
      feeds[io.inputs.condition] = float32Tensor(data, shape);
    }
    const out = await session.run(feeds, [io.output]);
    const y = out[io.output];
    if (!y || !(y.data instanceof Float32Array) || y.data.length !== x.length) {
      throw new SonodiffError(
        'ERR_MODEL',
        `model output "${io.output}" has ${y?.data.length ?? 0} values, expected ${x.length} (shape ${shape.join('×')})`,
      );
    }
    return y.data;
  };
}
