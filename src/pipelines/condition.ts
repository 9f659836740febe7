/**
 * User-facing conditioning (class name, tags, control values) → the per-item Condition the model
 * is fed, and its unconditional counterpart for classifier-free guidance. Errors name the value.
 */
import type { ModelManifest } from '../packs/index.ts';
import type { Condition } from './model-denoiser.ts';

export interface ConditionRequest {
  /** Class name from the manifest's vocabulary (e.g. "seven"). */
  className?: string;
  /** Tags from the manifest's vocabulary. */
  tags?: readonly string[];
  /** Values for the manifest's controls (bpm, key, bars, …); unset ones take their default. */
  controls?: Readonly<Record<string, number | string>>;
}

/** Builds the Condition for a request, validating every value against the manifest. */
export function conditionFor(m: ModelManifest, request: ConditionRequest): Condition {
  const c = m.conditioning ?? {};
  const cond: Condition = {};
  if (request.className !== undefined) {
    const i = c.classes?.indexOf(request.className) ?? -1;
    if (i < 0) {
      throw new RangeError(
        c.classes
          ? `class must be one of ${c.classes.join(', ')}, got "${request.className}"`
          : `model ${m.id} takes no class`,
      );
    }
    cond.classIndex = i;
  } else if (c.classes) {
    throw new RangeError(`class is required: one of ${c.classes.join(', ')}`);
  }
  if (request.tags && request.tags.length > 0) {
    const vocab = c.tags ?? [];
    const v = new Float32Array(vocab.length);
    for (const t of request.tags) {
      const i = vocab.indexOf(t);
      if (i < 0) throw new RangeError(`tag must be one of ${vocab.join(', ') || '(none)'}, got "${t}"`);
      v[i] = 1;
    }
    cond.tags = v;
  }
  const specs = Object.entries(c.controls ?? {});
  if (specs.length > 0) {
    const v = new Float32Array(specs.length);
    specs.forEach(([name, spec], i) => {
      const raw = request.controls?.[name] ?? spec.default;
      if (raw === undefined) throw new RangeError(`${name} is required`);
      if (spec.type === 'enum') {
        const k = spec.values.indexOf(String(raw));
        if (k < 0) throw new RangeError(`${name} must be one of ${spec.values.join(', ')}, got "${raw}"`);
        v[i] = spec.values.length > 1 ? k / (spec.values.length - 1) : 0;
      } else {
        const x = Number(raw);
        if (!(x >= spec.min && x <= spec.max) || (spec.type === 'integer' && !Number.isInteger(x))) {
          throw new RangeError(
            `${name} must be ${spec.type === 'integer' ? 'an integer' : 'a number'} from ${spec.min} to ${spec.max}, got ${raw}`,
          );
        }
        v[i] = normalised(spec.min, spec.max, x);
      }
    });
    cond.controls = v;
  }
  return cond;
}

/** Controls enter the network normalised to [0, 1]. */
function normalised(min: number, max: number, x: number): number {
  return max > min ? (x - min) / (max - min) : 0;
}

/**
 * Overrides a numeric control's value in `cond` without the range check: a loop's effective
 * tempo may lie a hair outside the trained range, and the network's beat grid needs it exact.
 */
export function setControl(m: ModelManifest, cond: Condition, name: string, value: number): void {
  const specs = Object.entries(m.conditioning?.controls ?? {});
  const i = specs.findIndex(([n]) => n === name);
  const spec = specs[i]?.[1];
  if (spec === undefined || spec.type === 'enum' || cond.controls === undefined) {
    throw new RangeError(`model ${m.id} has no numeric control "${name}"`);
  }
  cond.controls[i] = normalised(spec.min, spec.max, value);
}

/**
 * The unconditional pass of classifier-free guidance for `cond`: the null class, no tags, and
 * every guided control zeroed (an enum's first value — "any" where a pack has it). Controls with
 * `guided: false` (tempo, bars) keep their conditional values, so guidance does not push away from
 * the structure both passes should share.
 */
export function unconditionalFor(m: ModelManifest, cond: Condition): Condition {
  const c = m.conditioning ?? {};
  const u: Condition = {};
  if (c.classes) u.classIndex = c.nullClass ?? c.classes.length;
  if (c.tags) u.tags = new Float32Array(c.tags.length);
  if (c.controls) {
    const specs = Object.values(c.controls);
    const v = new Float32Array(specs.length);
    specs.forEach((spec, i) => {
      if (spec.guided === false) v[i] = cond.controls?.[i] ?? 0;
    });
    u.controls = v;
  }
  return u;
}
