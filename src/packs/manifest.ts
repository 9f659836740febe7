/**
 * The model-pack manifest (`sonodiff.json`): what a pipeline needs to know to run a model
 * folder without reading any code. The JSON Schema below is the contract (docs/model-packs.md);
 * ajv checks it and every wrong field becomes one line of the error.
 */

export type ModelTask = 'generate' | 'denoise' | 'vocode';
export type Representation = 'waveform' | 'mel' | 'complex-stft' | 'latent';
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample' | 'flow';

export interface SpectrogramParams {
  nFft: number;
  hopLength: number;
  winLength: number;
  window: 'hann' | 'hamming' | 'blackman';
  center: boolean;
  nMels?: number;
  fMin?: number;
  fMax?: number;
  melScale?: 'slaney' | 'htk';
  melNorm?: 'slaney' | null;
  /** How magnitudes are compressed before the model sees them. */
  compression: 'log' | 'log10' | 'power' | 'amplitude' | 'sgmse';
  /** Exponent of |X| before the mel filterbank: 1 = amplitude (default), 2 = power. */
  power?: 1 | 2;
  /** Affine scaling applied after compression so values sit near [-1, 1]: (v - shift) * scale. */
  shift?: number;
  scale?: number;
  /** SGMSE-style complex compression: |X|^alpha * beta. */
  alpha?: number;
  beta?: number;
}

interface ControlCommon {
  description?: string;
  /**
   * Whether classifier-free guidance drops this control in its unconditional pass (default true).
   * Structural controls (tempo, length) set `false`: both passes then keep the requested value, so
   * guidance pushes towards the other conditions without fighting the beat grid.
   */
  guided?: boolean;
}

export type ControlSpec =
  | ({ type: 'number' | 'integer'; min: number; max: number; default?: number } & ControlCommon)
  | ({ type: 'enum'; values: string[]; default?: string } & ControlCommon);

export interface Conditioning {
  /** One class per clip (e.g. spoken digits); index = position in the list. */
  classes?: string[];
  /** Several tags per clip (instruments, kits). */
  tags?: string[];
  /** Numeric or enumerated controls such as bpm, key, bars. */
  controls?: Record<string, ControlSpec>;
  /** Index used as "no condition" for classifier-free guidance. */
  nullClass?: number;
}

/** A neural vocoder shipped in a mel pack: model-domain mel in, complex STFT (or its magnitude) out. */
export interface VocoderIo {
  /** ONNX file, relative to the pack folder. */
  model: string;
  /** Input name: float32 [B, nMels, T], the generator's normalised value domain ((log mel − shift)·scale). */
  input: string;
  /**
   * Output name: float32 [B, 2, nFft/2+1, T], real and imaginary STFT with the pack's spectrogram
   * settings (kind 'spectrum'), or [B, nFft/2+1, T], the STFT magnitude (kind 'magnitude').
   */
  output: string;
  /**
   * 'spectrum' (default): the output is a complex STFT, audio is its iSTFT (optionally refined).
   * 'magnitude': the output is an STFT magnitude that replaces the mel inversion; the phase comes
   * from Griffin-Lim (refineIterations iterations from a seeded random phase, default 32).
   */
  kind?: 'spectrum' | 'magnitude';
  /**
   * Hybrid decoding: Griffin-Lim projections (fast Griffin-Lim, momentum 0.99) applied to the
   * vocoder's spectrum, started from its phase, towards the mel-inverted magnitude of the same mel,
   * for the frame-to-frame phase consistency a feed-forward vocoder only approximates. Default 0:
   * the vocoder's spectrum as it is.
   */
  refineIterations?: number;
  /**
   * Magnitude vocoders: give the network's magnitude the mel inversion's low-band treatment (bins under
   * 20 Hz emptied, 20–40 Hz tapered by (f/40)²) before Griffin-Lim. For generators whose mels carry
   * more sub-bass than real audio (loops); a vocoder renders what the mel says. Default false.
   */
  shapeLowBand?: boolean;
}

export interface ModelIo {
  /** ONNX file of the denoiser/vocoder, relative to the pack folder. */
  model: string;
  inputs: {
    sample: string;
    timestep: string;
    class?: string;
    tags?: string;
    controls?: string;
    condition?: string;
  };
  output: string;
  /** What the timestep input carries: diffusers' discrete t, continuous σ, or flow time in [0, 1]. */
  timestepKind: 'discrete' | 'sigma' | 'flow-time';
  /** The model's native window length in frames (spectrogram) or samples (waveform). */
  windowLength: number;
  /** Window length must be a multiple of this (down-sampling factor of the network). */
  lengthMultiple?: number;
  /**
   * The network is circular in time (it pads by wrapping), so its output already loops and loops are
   * sampled without rolling the state. Required for a model that derives a grid from absolute frame
   * positions (the loops model's beat grid): rolling would move the music off that grid at every call.
   */
  circular?: boolean;
  /** Neural vocoder for mel packs; mel is decoded with Griffin-Lim when absent. */
  vocoder?: VocoderIo;
}

export interface ModelCard {
  summary: string;
  data: string[];
  licences: string[];
  architecture: string;
  parameters: number;
  trainingCost: string;
  quality: Record<string, string | number>;
}

export interface ModelManifest {
  $schema?: string;
  id: string;
  version: string;
  licence: string;
  task: ModelTask;
  representation: Representation;
  sampleRate: number;
  channels: number;
  spectrogram?: SpectrogramParams;
  conditioning?: Conditioning;
  prediction: PredictionType;
  /** diffusers scheduler_config keys (beta_schedule, num_train_timesteps, ...). */
  scheduler: Record<string, unknown>;
  defaults: {
    sampler: string;
    steps: number;
    guidance?: number;
    seconds?: number;
    strength?: number;
    /** A loop model: fresh generations are seamless loops unless the caller says otherwise. */
    loop?: boolean;
    /**
     * Clamp every (guided) x0 prediction to ±clipX0, the range of the model's training data
     * (diffusers' clip_sample): guidance extrapolates past it, and a mel model turns the excess
     * into low-frequency blobs.
     */
    clipX0?: number;
  };
  io: ModelIo;
  /** Reserved: pack id of a separate `vocode` pack (not used by the pipelines yet; see io.vocoder). */
  vocoder?: string;
  card: ModelCard;
}

const spectrogramSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['nFft', 'hopLength', 'winLength', 'window', 'center', 'compression'],
  properties: {
    nFft: { type: 'integer', minimum: 16, maximum: 65536 },
    hopLength: { type: 'integer', minimum: 1, maximum: 65536 },
    winLength: { type: 'integer', minimum: 2, maximum: 65536 },
    window: { enum: ['hann', 'hamming', 'blackman'] },
    center: { type: 'boolean' },
    nMels: { type: 'integer', minimum: 1, maximum: 1024 },
    fMin: { type: 'number', minimum: 0 },
    fMax: { type: 'number', exclusiveMinimum: 0 },
    melScale: { enum: ['slaney', 'htk'] },
    melNorm: { enum: ['slaney', null] },
    compression: { enum: ['log', 'log10', 'power', 'amplitude', 'sgmse'] },
    power: { enum: [1, 2] },
    shift: { type: 'number' },
    scale: { type: 'number' },
    alpha: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    beta: { type: 'number', exclusiveMinimum: 0 },
  },
} as const;

const controlSchema = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { enum: ['number', 'integer', 'enum'] },
    min: { type: 'number' },
    max: { type: 'number' },
    default: { type: ['number', 'string'] },
    values: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, uniqueItems: true },
    description: { type: 'string' },
    guided: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;

export const manifestSchema = {
  $id: 'https://sonodiff.dev/schemas/sonodiff.json',
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'version',
    'licence',
    'task',
    'representation',
    'sampleRate',
    'channels',
    'prediction',
    'scheduler',
    'defaults',
    'io',
    'card',
  ],
  properties: {
    $schema: { type: 'string' },
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' },
    version: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+([-+][0-9A-Za-z.-]+)?$' },
    licence: { type: 'string', minLength: 1 },
    task: { enum: ['generate', 'denoise', 'vocode'] },
    representation: { enum: ['waveform', 'mel', 'complex-stft', 'latent'] },
    sampleRate: { type: 'integer', minimum: 1000, maximum: 384000 },
    channels: { type: 'integer', minimum: 1, maximum: 8 },
    spectrogram: spectrogramSchema,
    conditioning: {
      type: 'object',
      additionalProperties: false,
      properties: {
        classes: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, uniqueItems: true },
        tags: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, uniqueItems: true },
        controls: { type: 'object', additionalProperties: controlSchema },
        nullClass: { type: 'integer', minimum: 0 },
      },
    },
    prediction: { enum: ['epsilon', 'v_prediction', 'sample', 'flow'] },
    scheduler: { type: 'object' },
    defaults: {
      type: 'object',
      additionalProperties: false,
      required: ['sampler', 'steps'],
      properties: {
        sampler: { type: 'string', minLength: 1 },
        steps: { type: 'integer', minimum: 1, maximum: 1000 },
        guidance: { type: 'number', minimum: 0, maximum: 50 },
        seconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600 },
        strength: { type: 'number', minimum: 0, maximum: 1 },
        loop: { type: 'boolean' },
        clipX0: { type: 'number', exclusiveMinimum: 0 },
      },
    },
    io: {
      type: 'object',
      additionalProperties: false,
      required: ['model', 'inputs', 'output', 'timestepKind', 'windowLength'],
      properties: {
        model: { type: 'string', pattern: '^[^/\\\\][^\\\\]*\\.onnx$' },
        inputs: {
          type: 'object',
          additionalProperties: false,
          required: ['sample', 'timestep'],
          properties: {
            sample: { type: 'string', minLength: 1 },
            timestep: { type: 'string', minLength: 1 },
            class: { type: 'string', minLength: 1 },
            tags: { type: 'string', minLength: 1 },
            controls: { type: 'string', minLength: 1 },
            condition: { type: 'string', minLength: 1 },
          },
        },
        output: { type: 'string', minLength: 1 },
        timestepKind: { enum: ['discrete', 'sigma', 'flow-time'] },
        windowLength: { type: 'integer', minimum: 1, maximum: 10_000_000 },
        lengthMultiple: { type: 'integer', minimum: 1, maximum: 4096 },
        circular: { type: 'boolean' },
        vocoder: {
          type: 'object',
          additionalProperties: false,
          required: ['model', 'input', 'output'],
          properties: {
            model: { type: 'string', pattern: '^[^/\\\\][^\\\\]*\\.onnx$' },
            input: { type: 'string', minLength: 1 },
            output: { type: 'string', minLength: 1 },
            kind: { enum: ['spectrum', 'magnitude'] },
            refineIterations: { type: 'integer', minimum: 0, maximum: 1000 },
            shapeLowBand: { type: 'boolean' },
          },
        },
      },
    },
    vocoder: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' },
    card: {
      type: 'object',
      additionalProperties: false,
      required: ['summary', 'data', 'licences', 'architecture', 'parameters', 'trainingCost', 'quality'],
      properties: {
        summary: { type: 'string' },
        data: { type: 'array', items: { type: 'string' } },
        licences: { type: 'array', items: { type: 'string' } },
        architecture: { type: 'string' },
        parameters: { type: 'integer', minimum: 0 },
        trainingCost: { type: 'string' },
        quality: { type: 'object', additionalProperties: { type: ['string', 'number'] } },
      },
    },
  },
} as const;
