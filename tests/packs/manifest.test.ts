import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPack, type ModelManifest, ModelRegistry, manifestIssues } from '../../src/index.ts';

const packsDir = path.resolve(import.meta.dirname, '../fixtures/packs');
const valid = JSON.parse(readFileSync(path.join(packsDir, 'tiny-denoise/sonodiff.json'), 'utf8')) as Record<
  string,
  unknown
>;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sonodiff-packs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: the patches write wrong JSON shapes on purpose
type LooseJson = Record<string, any>;

function withChanges(patch: (m: LooseJson) => void): Record<string, unknown> {
  const m = structuredClone(valid) as LooseJson;
  patch(m);
  return m;
}

describe('manifest validation', () => {
  it('accepts the fixture pack', () => {
    expect(manifestIssues(valid)).toEqual([]);
  });

  it('reports each wrong field once, naming it', () => {
    const issues = manifestIssues(
      withChanges((m) => {
        m.sampleRate = 'fast';
        m.task = 'dance';
        delete m.licence;
        m.io.timestepKind = 'sometimes';
        m.extra = 1;
      }),
    );
    expect(issues).toHaveLength(5);
    expect(issues.some((l) => l.startsWith('sampleRate '))).toBe(true);
    expect(issues).toContain('task must be one of "generate", "denoise", "vocode"');
    expect(issues).toContain('licence is required');
    expect(issues.some((l) => l.startsWith('io.timestepKind must be one of'))).toBe(true);
    expect(issues).toContain('extra is not a known field');
  });

  it('checks relations between fields', () => {
    const issues = manifestIssues(
      withChanges((m) => {
        m.representation = 'mel';
        m.conditioning = { controls: { bpm: { type: 'number', min: 180, max: 70 } } };
      }),
    );
    expect(issues).toEqual([
      'spectrogram is required for representation mel',
      'conditioning.controls.bpm.min must not exceed max',
    ]);
    expect(
      manifestIssues(
        withChanges((m) => {
          m.representation = 'mel';
          m.spectrogram = {
            nFft: 512,
            hopLength: 128,
            winLength: 1024,
            window: 'hann',
            center: true,
            compression: 'log',
            nMels: 80,
            fMax: 9000,
          };
        }),
      ),
    ).toEqual([
      'spectrogram.winLength (1024) must not exceed nFft (512)',
      'spectrogram.fMax (9000) exceeds Nyquist (8000)',
    ]);
  });
});

describe('vocoder, structural controls and loop packs', () => {
  const read = (id: string) =>
    JSON.parse(readFileSync(path.join(packsDir, id, 'sonodiff.json'), 'utf8')) as ModelManifest;

  it('accepts the loop and vocoder fixture packs', () => {
    expect(manifestIssues(read('tiny-mel-loops'))).toEqual([]);
    expect(manifestIssues(read('tiny-mel-vocoder'))).toEqual([]);
  });

  it('defaults.clipX0 must be a positive number', () => {
    const m = read('tiny-mel-loops');
    Object.assign(m.defaults, { clipX0: 1.05 });
    expect(manifestIssues(m)).toEqual([]);
    for (const bad of [0, -1, '1']) {
      Object.assign(m.defaults, { clipX0: bad });
      expect(manifestIssues(m)).toHaveLength(1);
      expect(manifestIssues(m)[0]).toMatch(/^defaults\.clipX0 must be/);
    }
  });

  it('reports wrong io.vocoder, guided and defaults.loop fields one line each', () => {
    const m = read('tiny-mel-vocoder');
    Object.assign(m.io, { vocoder: { model: 'vocoder.bin', input: 'mel', extra: 1 } });
    const issues = manifestIssues(m);
    expect(issues).toHaveLength(3);
    expect(issues).toContain('io.vocoder.output is required');
    expect(issues).toContain('io.vocoder.extra is not a known field');
    expect(issues.some((l) => l.startsWith('io.vocoder.model must match pattern'))).toBe(true);
    const l = read('tiny-mel-loops');
    Object.assign(l.conditioning!.controls!['bpm']!, { guided: 'no' });
    Object.assign(l.defaults, { loop: 1 });
    expect(manifestIssues(l)).toEqual([
      'conditioning.controls.bpm.guided must be boolean',
      'defaults.loop must be boolean',
    ]);
    // A vocoder turns mel into audio: other representations cannot have one.
    const w = withChanges((x) => {
      x.io.vocoder = { model: 'v.onnx', input: 'mel', output: 'spec' };
    });
    expect(manifestIssues(w)).toEqual(['io.vocoder needs representation mel, not waveform']);
    // refineIterations: Griffin-Lim projections on the vocoder's spectrum, a non-negative integer.
    const r = read('tiny-mel-vocoder');
    r.io.vocoder!.refineIterations = 4;
    expect(manifestIssues(r)).toEqual([]);
    for (const bad of [-1, 1.5, '4']) {
      Object.assign(r.io.vocoder!, { refineIterations: bad });
      expect(manifestIssues(r)).toHaveLength(1);
      expect(manifestIssues(r)[0]).toMatch(/^io\.vocoder\.refineIterations /);
    }
  });

  it('checks that the vocoder file exists inside the pack', async () => {
    const dir = path.join(tmp, 'no-vocoder');
    cpSync(path.join(packsDir, 'tiny-mel-vocoder'), dir, { recursive: true });
    rmSync(path.join(dir, 'vocoder.onnx'));
    await expect(loadPack(dir)).rejects.toThrow(/vocoder file vocoder\.onnx is missing/);
    const m = read('tiny-mel-vocoder');
    m.io.vocoder!.model = 'x/../../vocoder.onnx';
    writeFileSync(path.join(dir, 'sonodiff.json'), JSON.stringify(m));
    await expect(loadPack(dir)).rejects.toThrow(/io\.vocoder\.model must stay inside the pack folder/);
    const ok = await loadPack(path.join(packsDir, 'tiny-mel-vocoder'));
    expect(ok.vocoderPath).toBe(path.join(packsDir, 'tiny-mel-vocoder', 'vocoder.onnx'));
    expect((await loadPack(path.join(packsDir, 'tiny-mel-loops'))).vocoderPath).toBeUndefined();
  });
});

describe('ModelRegistry', () => {
  it('finds packs on the search path, first id wins, and reports broken ones', async () => {
    const user = path.join(tmp, 'user');
    cpSync(path.join(packsDir, 'tiny-denoise'), path.join(user, 'tiny-denoise'), { recursive: true });
    cpSync(path.join(packsDir, 'tiny-denoise'), path.join(user, 'broken'), { recursive: true });
    writeFileSync(path.join(user, 'broken', 'sonodiff.json'), '{"id": "broken"');
    const reg = new ModelRegistry({ dirs: [user, packsDir], env: {} });
    const list = await reg.list();
    expect(list.map((p) => p.manifest.id)).toContain('tiny-denoise');
    expect((await reg.get('tiny-denoise')).dir).toBe(path.join(user, 'tiny-denoise'));
    const problems = await reg.problems();
    expect(problems).toHaveLength(1);
    expect(problems[0]!.error).toMatch(/broken.*sonodiff\.json: not valid JSON/);
    await expect(reg.get('broken')).rejects.toMatchObject({ code: 'ERR_MODEL' });
    await expect(reg.get('nope')).rejects.toThrow(/unknown model "nope"/);
    await expect(reg.get('../etc')).rejects.toThrow(/invalid model id/);
  });

  it('refuses a model file outside the pack folder', async () => {
    const dir = path.join(tmp, 'escape');
    cpSync(path.join(packsDir, 'tiny-denoise'), dir, { recursive: true });
    const m = withChanges((x) => {
      x.io.model = 'sub/../../model.onnx';
    });
    writeFileSync(path.join(dir, 'sonodiff.json'), JSON.stringify(m));
    await expect(loadPack(dir)).rejects.toThrow(/inside the pack folder|missing/);
  });
});
