/**
 * Bring your own model: a Hugging Face diffusers-style ONNX export folder
 *   model_index.json, scheduler/scheduler_config.json, unet/model.onnx [+ unet/config.json],
 *   [mel/mel_config.json (AudioDiffusionPipeline)], [vocoder/model.onnx]
 * becomes an in-memory pack. UNet1D folders run as waveform models (DanceDiffusion-style);
 * UNet2D folders run on mel spectrograms (AudioDiffusion-style). Input names follow diffusers'
 * ONNX exports: `sample`, `timestep`, optional `class_labels`; output `out_sample`.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { SonodiffError } from '../errors.ts';
import { planFromDiffusersConfig } from '../sampler/diffusers-config.ts';
import type { ModelManifest, PredictionType } from './manifest.ts';
import type { ModelPack } from './registry.ts';
import { validateManifest } from './validate.ts';

export const DIFFUSERS_INDEX = 'model_index.json';

type Json = Record<string, unknown>;

async function readJson(file: string, required: boolean): Promise<Json | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    if (!required) return undefined;
    throw new SonodiffError('ERR_MODEL', 'missing in diffusers folder', { path: file });
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Json;
  } catch (err) {
    throw new SonodiffError('ERR_MODEL', `not valid JSON (${(err as Error).message.replace(/\s+/g, ' ')})`, {
      path: file,
    });
  }
}

function num(v: unknown, name: string, file: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new SonodiffError('ERR_MODEL', `${name} must be a number`, { path: file });
  }
  return v;
}

/** A pack id from a folder name: lower-case, [a-z0-9._-]. */
function idFor(dir: string): string {
  const base = path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '');
  return (base || 'diffusers-model').slice(0, 64);
}

export async function importDiffusersFolder(dir: string): Promise<ModelPack> {
  const root = path.resolve(dir);
  const index = (await readJson(path.join(root, DIFFUSERS_INDEX), true))!;
  const schedFile = path.join(root, 'scheduler', 'scheduler_config.json');
  const scheduler = (await readJson(schedFile, true))!;
  const unetFile = path.join(root, 'unet', 'model.onnx');
  if (!(await stat(unetFile).catch(() => undefined))?.isFile()) {
    throw new SonodiffError('ERR_MODEL', 'unet/model.onnx is missing', { path: root });
  }
  const unetConfigFile = path.join(root, 'unet', 'config.json');
  const unet = (await readJson(unetConfigFile, false)) ?? {};
  const melFile = path.join(root, 'mel', 'mel_config.json');
  const mel = await readJson(melFile, false);
  // Fails here, with the file named, when the scheduler is one we cannot run.
  const plan = planFromDiffusersConfig(scheduler, 10, { file: schedFile });
  const pipeline = String(index['_class_name'] ?? '');
  const unetClass = String(unet['_class_name'] ?? '');
  const is1d = unetClass === 'UNet1DModel' || pipeline === 'DanceDiffusionPipeline';
  const prediction = String(scheduler['prediction_type'] ?? 'epsilon') as PredictionType;
  const classes = typeof unet['num_class_embeds'] === 'number' ? (unet['num_class_embeds'] as number) : 0;
  const base = {
    id: idFor(root),
    version: typeof index['_diffusers_version'] === 'string' ? '1.0.0' : '1.0.0',
    licence: typeof index['license'] === 'string' ? (index['license'] as string) : 'see the model folder',
    task: 'generate' as const,
    channels: 1,
    prediction: prediction === 'v_prediction' || prediction === 'sample' ? prediction : ('epsilon' as const),
    scheduler,
    defaults: { sampler: plan.sampler, steps: 50 },
    card: {
      summary: `diffusers ${pipeline || 'pipeline'} imported from ${root}`,
      data: [],
      licences: [],
      architecture: unetClass || 'UNet (diffusers ONNX export)',
      parameters: 0,
      trainingCost: 'unknown (imported)',
      quality: {},
    },
  };
  const inputs = {
    sample: 'sample',
    timestep: 'timestep',
    ...(classes > 0 ? { class: 'class_labels' } : {}),
  };
  const conditioning =
    classes > 0 ? { classes: Array.from({ length: classes }, (_, i) => `class-${i}`) } : undefined;
  let manifest: unknown;
  if (is1d) {
    const sampleRate = num(unet['sample_rate'] ?? 16000, 'unet.sample_rate', unetConfigFile);
    const windowLength = num(unet['sample_size'] ?? 65536, 'unet.sample_size', unetConfigFile);
    manifest = {
      ...base,
      representation: 'waveform',
      sampleRate,
      channels: typeof unet['in_channels'] === 'number' ? unet['in_channels'] : 1,
      ...(conditioning ? { conditioning } : {}),
      io: { model: 'unet/model.onnx', inputs, output: 'out_sample', timestepKind: 'discrete', windowLength },
    };
  } else {
    if (!mel) {
      throw new SonodiffError(
        'ERR_MODEL',
        'a UNet2D folder needs mel/mel_config.json to map images to audio',
        {
          path: root,
        },
      );
    }
    const sampleRate = num(mel['sample_rate'], 'sample_rate', melFile);
    const hop = num(mel['hop_length'], 'hop_length', melFile);
    const nFft = num(mel['n_fft'], 'n_fft', melFile);
    const topDb = num(mel['top_db'] ?? 80, 'top_db', melFile);
    const xRes = num(mel['x_res'], 'x_res', melFile);
    const yRes = num(mel['y_res'], 'y_res', melFile);
    manifest = {
      ...base,
      representation: 'mel',
      sampleRate,
      // AudioDiffusion images: dB of the power mel over top_db, mapped to [-1, 1].
      spectrogram: {
        nFft,
        hopLength: hop,
        winLength: nFft,
        window: 'hann',
        center: true,
        nMels: yRes,
        fMin: 0,
        fMax: sampleRate / 2,
        melScale: 'slaney',
        melNorm: 'slaney',
        compression: 'log10',
        power: 2,
        shift: -topDb / 20,
        scale: 20 / topDb,
      },
      ...(conditioning ? { conditioning } : {}),
      io: {
        model: 'unet/model.onnx',
        inputs,
        output: 'out_sample',
        timestepKind: 'discrete',
        windowLength: xRes,
      },
    };
  }
  const m: ModelManifest = validateManifest(manifest, path.join(root, DIFFUSERS_INDEX));
  return { manifest: m, dir: root, modelPath: unetFile };
}
