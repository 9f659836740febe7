/**
 * Pipelines by model id, loaded once and shared by every job (their ONNX sessions live in the
 * runtime's workers). Errors become protocol errors the client can act on.
 */
import { SonodiffError } from '../errors.ts';
import type { ModelManifest, ModelPack, ModelRegistry } from '../packs/index.ts';
import { DenoisePipeline, GeneratePipeline, representationFor } from '../pipelines/index.ts';
import { ProtocolError } from '../protocol/index.ts';
import type { Runtime, SessionOptions } from '../runtime/index.ts';

export class ModelCache {
  readonly registry: ModelRegistry;
  private readonly runtime: Runtime;
  private readonly sessionOptions: SessionOptions;
  private readonly generators = new Map<string, Promise<GeneratePipeline>>();
  private readonly denoisers = new Map<string, Promise<DenoisePipeline>>();

  constructor(registry: ModelRegistry, runtime: Runtime, sessionOptions: SessionOptions) {
    this.registry = registry;
    this.runtime = runtime;
    this.sessionOptions = sessionOptions;
  }

  /** The pack for `id` whose task is `task`; UNKNOWN_MODEL otherwise. */
  async pack(id: string, task: 'generate' | 'denoise', job?: number): Promise<ModelPack> {
    let pack: ModelPack;
    try {
      pack = await this.registry.get(id);
    } catch (err) {
      throw new ProtocolError('UNKNOWN_MODEL', `unknown model "${id}"`, {
        cause: err,
        ...(job !== undefined ? { job } : {}),
        issues: [{ field: 'model', message: 'unknown' }],
      });
    }
    if (pack.manifest.task !== task) {
      throw new ProtocolError(
        'UNKNOWN_MODEL',
        `model "${id}" is a ${pack.manifest.task} model, not ${task}`,
        {
          ...(job !== undefined ? { job } : {}),
          issues: [{ field: 'model', message: `not a ${task} model` }],
        },
      );
    }
    return pack;
  }

  generator(id: string): Promise<GeneratePipeline> {
    return this.cached(this.generators, id, async () =>
      GeneratePipeline.load(await this.pack(id, 'generate'), this.runtime, this.sessionOptions),
    );
  }

  denoiser(id: string): Promise<DenoisePipeline> {
    return this.cached(this.denoisers, id, async () =>
      DenoisePipeline.load(await this.pack(id, 'denoise'), this.runtime, this.sessionOptions),
    );
  }

  private cached<T>(map: Map<string, Promise<T>>, id: string, load: () => Promise<T>): Promise<T> {
    let p = map.get(id);
    if (!p) {
      p = load().catch((err: unknown) => {
        map.delete(id); // let a later job retry (e.g. after the file was fixed)
        if (err instanceof ProtocolError) throw err;
        const msg = err instanceof Error ? err.message : String(err);
        throw new ProtocolError('MODEL_ERROR', `model "${id}" failed to load: ${msg}`, { cause: err });
      });
      map.set(id, p);
    }
    return p;
  }

  /** What GET /api/models returns: everything a UI needs to build its controls. */
  async describe(): Promise<Array<Record<string, unknown>>> {
    const packs = await this.registry.list();
    return packs.map((p) => describeManifest(p.manifest));
  }

  async dispose(): Promise<void> {
    const all = [...this.generators.values(), ...this.denoisers.values()];
    this.generators.clear();
    this.denoisers.clear();
    await Promise.all(all.map((p) => p.then((x) => x.dispose()).catch(() => undefined)));
  }
}

function describeManifest(m: ModelManifest): Record<string, unknown> {
  const windowSamples = representationFor(m).samples(m.io.windowLength);
  return {
    id: m.id,
    version: m.version,
    licence: m.licence,
    task: m.task,
    representation: m.representation,
    sampleRate: m.sampleRate,
    channels: m.channels,
    windowSeconds: windowSamples / m.sampleRate,
    conditioning: m.conditioning ?? {},
    defaults: m.defaults,
    jobKinds: m.task === 'generate' ? ['generate', 'jam'] : m.task === 'denoise' ? ['denoise'] : [],
    card: m.card,
  };
}

export function isAbort(err: unknown): boolean {
  return err instanceof SonodiffError && err.code === 'ERR_ABORTED';
}
