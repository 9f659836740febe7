/** What every model pipeline shares: its pack, its runtime session, the sampler adapter and representation. */
import { SonodiffError } from '../errors.ts';
import type { ModelPack, ModelTask } from '../packs/index.ts';
import type { ModelSession, Runtime, SessionOptions } from '../runtime/index.ts';
import type { Denoiser } from '../sampler/index.ts';
import { type Condition, createModelDenoiser } from './model-denoiser.ts';
import { type ModelRepresentation, representationFor } from './representation.ts';

export abstract class ModelPipeline {
  readonly pack: ModelPack;
  protected readonly session: ModelSession;
  protected readonly denoiser: Denoiser<Condition>;
  protected readonly rep: ModelRepresentation;

  protected constructor(pack: ModelPack, session: ModelSession) {
    this.pack = pack;
    this.session = session;
    this.denoiser = createModelDenoiser(session, pack.manifest);
    this.rep = representationFor(pack.manifest);
  }

  /** The device the model runs on ('cpu', 'cuda', 'webgpu'). */
  get device(): string {
    return this.session.device;
  }

  /** Model calls so far and their total wall time, for benchmarks (sampler share = rest of the time). */
  modelStats(): { calls: number; totalMs: number } {
    return { ...this.session.stats };
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}

/**
 * Loads a pack's model for a pipeline of `task`; a model the pipeline then rejects (wrong inputs
 * or shapes) releases its session instead of leaking it.
 */
export async function openPipeline<T>(
  pack: ModelPack,
  runtime: Runtime,
  options: SessionOptions,
  task: ModelTask,
  make: (pack: ModelPack, session: ModelSession) => T,
): Promise<T> {
  if (pack.manifest.task !== task) {
    throw new SonodiffError(
      'ERR_MODEL',
      `model ${pack.manifest.id} is a ${pack.manifest.task} model, not ${task}`,
    );
  }
  const session = await runtime.load(pack.modelPath, options);
  try {
    return make(pack, session);
  } catch (err) {
    await session.dispose();
    throw err;
  }
}
