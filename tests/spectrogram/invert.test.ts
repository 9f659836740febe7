import { describe, expect, it } from 'vitest';
import {
  applyMel,
  melFilterbank,
  melToLinear,
  type Spectrogram,
  stftMagnitude,
} from '../../src/spectrogram/index.ts';
import { decodeMono, relError, speechFile } from './helpers.ts';

const x = decodeMono(speechFile, undefined, 2);
const opts = { nFft: 512, hopLength: 128 };
const amp = stftMagnitude(x, opts);
const pow = stftMagnitude(x, opts, 2);
const fb = melFilterbank({ sampleRate: 16000, nFft: 512, nMels: 80 });
const mel = applyMel(pow, fb);

function squared(s: Spectrogram): Spectrogram {
  return { ...s, data: s.data.map((v) => v * v) };
}

describe('melToLinear', () => {
  it('returns a non-negative amplitude spectrogram whose mel projection approaches the input', () => {
    const pinv = melToLinear(mel, fb, { iterations: 0 });
    const pg = melToLinear(mel, fb); // 16 projected-gradient iterations
    expect(pg.frames).toBe(amp.frames);
    expect(pg.bins).toBe(257);
    expect(Math.min(...pg.data)).toBeGreaterThanOrEqual(0);
    const errPinv = relError(applyMel(squared(pinv), fb).data, mel.data);
    const errPg = relError(applyMel(squared(pg), fb).data, mel.data);
    // Clamping the pseudo-inverse costs several percent; projected gradient removes most of it.
    expect(errPinv).toBeGreaterThan(0.02);
    expect(errPg).toBeLessThan(0.3 * errPinv);
    expect(errPg).toBeLessThan(0.01);
    // 80 mels cannot restore 257 bins exactly, but the estimate is close to the true |X|.
    expect(relError(pg.data, amp.data)).toBeLessThan(0.25);
  });

  it('inverts an amplitude-mel (power 1) the same way', () => {
    const melAmp = applyMel(amp, fb);
    const lin = melToLinear(melAmp, fb, { power: 1, iterations: 32 });
    expect(relError(applyMel(lin, fb).data, melAmp.data)).toBeLessThan(0.01);
  });

  it('validates arguments', () => {
    const other = melFilterbank({ sampleRate: 16000, nFft: 512, nMels: 40 });
    expect(() => melToLinear(mel, other)).toThrow(/bands/);
    expect(() => melToLinear(mel, fb, { iterations: -1 })).toThrow(/iterations/);
  });
});
