/**
 * Finds model packs: one folder per model holding `sonodiff.json`, its ONNX file(s) and card.
 * Search order: explicit folders (CLI flag / server option), then SONODIFF_MODELS
 * (path-delimited), then the packs shipped in the package's `models/` folder. The first pack
 * with a given id wins, so users can override a shipped model.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SonodiffError } from '../errors.ts';
import { DIFFUSERS_INDEX, importDiffusersFolder } from './diffusers.ts';
import type { ModelManifest } from './manifest.ts';
import { validateManifest } from './validate.ts';

export const MANIFEST_FILE = 'sonodiff.json';
const MODEL_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export interface ModelPack {
  manifest: ModelManifest;
  /** Absolute folder of the pack. */
  dir: string;
  /** Absolute path of the ONNX model. */
  modelPath: string;
  /** Absolute path of the vocoder ONNX (io.vocoder), when the pack has one. */
  vocoderPath?: string;
}

export interface PackProblem {
  dir: string;
  error: string;
}

/** The `models/` folder shipped with the package (works from src/ and from dist/). */
export function builtinModelsDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
}

export function modelSearchPath(
  extra: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const fromEnv = (env['SONODIFF_MODELS'] ?? '').split(path.delimiter).filter(Boolean);
  return [...extra, ...fromEnv, builtinModelsDir()].map((d) => path.resolve(d));
}

/** Reads and validates one pack folder (a sonodiff pack, or a diffusers ONNX export folder). */
export async function loadPack(dir: string): Promise<ModelPack> {
  const file = path.join(dir, MANIFEST_FILE);
  const hasManifest = await stat(file).catch(() => undefined);
  if (!hasManifest && (await stat(path.join(dir, DIFFUSERS_INDEX)).catch(() => undefined))) {
    return importDiffusersFolder(dir);
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new SonodiffError('ERR_MODEL', `no ${MANIFEST_FILE} in model folder`, { path: dir });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SonodiffError('ERR_MODEL', `not valid JSON (${(err as Error).message.replace(/\s+/g, ' ')})`, {
      path: file,
    });
  }
  const manifest = validateManifest(json, file);
  const modelPath = await packFile(dir, manifest.io.model, 'io.model', 'model', file);
  const vocoder = manifest.io.vocoder;
  if (vocoder === undefined) return { manifest, dir: path.resolve(dir), modelPath };
  const vocoderPath = await packFile(dir, vocoder.model, 'io.vocoder.model', 'vocoder', file);
  return { manifest, dir: path.resolve(dir), modelPath, vocoderPath };
}

/** Resolves a file the manifest names; it must exist and stay inside the pack folder. */
async function packFile(
  dir: string,
  rel: string,
  field: string,
  what: string,
  file: string,
): Promise<string> {
  const abs = path.resolve(dir, rel);
  if (!abs.startsWith(path.resolve(dir) + path.sep)) {
    throw new SonodiffError('ERR_MODEL', `${field} must stay inside the pack folder`, { path: file });
  }
  const st = await stat(abs).catch(() => undefined);
  if (!st?.isFile()) throw new SonodiffError('ERR_MODEL', `${what} file ${rel} is missing`, { path: file });
  return abs;
}

async function isPackDir(dir: string): Promise<boolean> {
  for (const f of [MANIFEST_FILE, DIFFUSERS_INDEX])
    if (await stat(path.join(dir, f)).catch(() => undefined)) return true;
  return false;
}

export class ModelRegistry {
  readonly searchPath: string[];
  private scanned: Promise<{ packs: Map<string, ModelPack>; problems: PackProblem[] }> | undefined;

  constructor(options: { dirs?: readonly string[]; env?: NodeJS.ProcessEnv } = {}) {
    this.searchPath = modelSearchPath(options.dirs ?? [], options.env ?? process.env);
  }

  private scan() {
    this.scanned ??= (async () => {
      const packs = new Map<string, ModelPack>();
      const problems: PackProblem[] = [];
      for (const root of this.searchPath) {
        const candidates: string[] = [];
        // A search-path entry may itself be a pack, or a folder of packs.
        if (await isPackDir(root)) candidates.push(root);
        else {
          const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
          for (const e of entries) if (e.isDirectory()) candidates.push(path.join(root, e.name));
        }
        for (const dir of candidates.sort()) {
          if (!(await isPackDir(dir))) continue;
          try {
            const pack = await loadPack(dir);
            if (!packs.has(pack.manifest.id)) packs.set(pack.manifest.id, pack);
          } catch (err) {
            problems.push({ dir, error: (err as Error).message });
          }
        }
      }
      return { packs, problems };
    })();
    return this.scanned;
  }

  async list(): Promise<ModelPack[]> {
    return [...(await this.scan()).packs.values()];
  }

  /** Packs that were found but are invalid, with the reason. */
  async problems(): Promise<PackProblem[]> {
    return (await this.scan()).problems;
  }

  async get(id: string): Promise<ModelPack> {
    if (typeof id !== 'string' || !MODEL_ID.test(id)) {
      throw new SonodiffError(
        'ERR_MODEL',
        `invalid model id ${JSON.stringify(id)} (lower-case letters, digits, . _ -)`,
      );
    }
    const { packs, problems } = await this.scan();
    const pack = packs.get(id);
    if (pack) return pack;
    const broken = problems.find((p) => path.basename(p.dir) === id);
    if (broken) throw new SonodiffError('ERR_MODEL', broken.error);
    const known = [...packs.keys()].join(', ') || 'none';
    throw new SonodiffError(
      'ERR_MODEL',
      `unknown model "${id}" (installed: ${known}; searched ${this.searchPath.join(', ')})`,
    );
  }
}
