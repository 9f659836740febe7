/**
 * The spectrogram front end in Python (training/common/features.py, used to train the models)
 * must equal the TypeScript one the pipelines use: same signal in, log-mel within 1e-4.
 * Reference values: tests/fixtures/parity/features-*.json (training/parity/pipeline_parity.py).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPack, representationFor } from '../../src/index.ts';

const root = path.resolve(import.meta.dirname, '../..');
const file = path.join(root, 'tests/fixtures/parity/features-digits.json');

describe.skipIf(!existsSync(file) || !existsSync(path.join(root, 'models/digits')))(
  'Python = TypeScript features',
  () => {
    it('digits model input features match within 1e-4 (log-mel within 2e-4)', async () => {
      const ref = JSON.parse(readFileSync(file, 'utf8')) as {
        signal: number[];
        shape: number[];
        logMel: number[];
      };
      const pack = await loadPack(path.join(root, 'models/digits'));
      const spec = pack.manifest.spectrogram!;
      const rep = representationFor(pack.manifest);
      const x = Float32Array.from(ref.signal);
      const enc = rep.encode(x);
      const [mels, frames] = ref.shape as [number, number];
      expect(enc.length).toBe(mels * frames);
      let maxFeature = 0;
      let maxLogMel = 0;
      for (let i = 0; i < enc.length; i++) {
        // The model sees (logMel − shift)·scale: compare that, and raw log-mel with the map undone.
        const expected = (ref.logMel[i]! - spec.shift!) * spec.scale!;
        maxFeature = Math.max(maxFeature, Math.abs(enc[i]! - expected));
        maxLogMel = Math.max(maxLogMel, Math.abs(enc[i]! / spec.scale! + spec.shift! - ref.logMel[i]!));
      }
      expect(maxFeature).toBeLessThan(1e-4);
      // Float32 spectra near the 1e-5 floor limit raw log-mel agreement to about 1e-4.
      expect(maxLogMel).toBeLessThan(2e-4);
    });
  },
);
