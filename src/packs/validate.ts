import { Ajv, type ErrorObject } from 'ajv';
import { SonodiffError } from '../errors.ts';
import { type ModelManifest, manifestSchema } from './manifest.ts';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const check = ajv.compile(manifestSchema);

function fieldOf(e: ErrorObject): string {
  const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required') return [base, String(e.params['missingProperty'])].filter(Boolean).join('.');
  if (e.keyword === 'additionalProperties') {
    return [base, String(e.params['additionalProperty'])].filter(Boolean).join('.');
  }
  return base || '(root)';
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known field';
    case 'enum':
      return `must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return e.message ?? 'is invalid';
  }
}

/** Checks the relations between fields that a JSON Schema cannot express well. */
function crossFieldIssues(m: ModelManifest): string[] {
  const issues: string[] = [];
  const needsSpec = m.representation === 'mel' || m.representation === 'complex-stft';
  if (needsSpec && m.spectrogram === undefined)
    issues.push(`spectrogram is required for representation ${m.representation}`);
  const s = m.spectrogram;
  if (s) {
    if (s.winLength > s.nFft)
      issues.push(`spectrogram.winLength (${s.winLength}) must not exceed nFft (${s.nFft})`);
    if (s.hopLength > s.winLength)
      issues.push(`spectrogram.hopLength (${s.hopLength}) must not exceed winLength`);
    if (m.representation === 'mel' && s.nMels === undefined)
      issues.push('spectrogram.nMels is required for mel models');
    const nyquist = m.sampleRate / 2;
    if (s.fMax !== undefined && s.fMax > nyquist)
      issues.push(`spectrogram.fMax (${s.fMax}) exceeds Nyquist (${nyquist})`);
    if (s.fMin !== undefined && s.fMax !== undefined && s.fMin >= s.fMax) {
      issues.push('spectrogram.fMin must be below fMax');
    }
  }
  const c = m.conditioning;
  if (c?.nullClass !== undefined && c.classes !== undefined && c.nullClass > c.classes.length) {
    issues.push(
      `conditioning.nullClass (${c.nullClass}) must be at most the number of classes (${c.classes.length})`,
    );
  }
  for (const [name, spec] of Object.entries(c?.controls ?? {})) {
    if (spec.type === 'enum') {
      if (!spec.values?.length)
        issues.push(`conditioning.controls.${name}.values is required for enum controls`);
      else if (spec.default !== undefined && !spec.values.includes(String(spec.default))) {
        issues.push(`conditioning.controls.${name}.default must be one of its values`);
      }
    } else {
      if (typeof spec.min !== 'number' || typeof spec.max !== 'number') {
        issues.push(`conditioning.controls.${name} needs numeric min and max`);
      } else if (spec.min > spec.max) {
        issues.push(`conditioning.controls.${name}.min must not exceed max`);
      } else if (typeof spec.default === 'number' && (spec.default < spec.min || spec.default > spec.max)) {
        issues.push(`conditioning.controls.${name}.default must lie in [${spec.min}, ${spec.max}]`);
      }
    }
  }
  if (
    m.defaults.guidance !== undefined &&
    m.defaults.guidance !== 1 &&
    !c?.classes &&
    !c?.tags &&
    !c?.controls
  ) {
    issues.push('defaults.guidance needs conditioning to guide on');
  }
  if (m.io.vocoder !== undefined && m.representation !== 'mel') {
    issues.push(`io.vocoder needs representation mel, not ${m.representation}`);
  }
  if ((m.prediction === 'flow') !== (m.io.timestepKind === 'flow-time')) {
    issues.push('io.timestepKind must be "flow-time" exactly when prediction is "flow"');
  }
  return issues;
}

/** All problems with a parsed manifest, one line each; empty when it is valid. */
export function manifestIssues(value: unknown): string[] {
  if (!check(value)) {
    const seen = new Set<string>();
    const lines: string[] = [];
    for (const e of check.errors ?? []) {
      const field = fieldOf(e);
      // One line per wrong field: ajv may report several keywords for the same one.
      if (seen.has(field)) continue;
      seen.add(field);
      lines.push(`${field} ${describe(e)}`);
    }
    return lines;
  }
  return crossFieldIssues(value as ModelManifest);
}

/** Validates a parsed manifest or throws ERR_MODEL listing every wrong field. */
export function validateManifest(value: unknown, file: string): ModelManifest {
  const issues = manifestIssues(value);
  if (issues.length > 0) {
    const err = new SonodiffError('ERR_MODEL', `invalid manifest: ${issues.join('; ')}`, { path: file });
    throw Object.assign(err, { issues });
  }
  return value as ModelManifest;
}
