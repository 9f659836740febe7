/**
 * Multi-resolution STFT distance (Yamamoto et al. 2020, Parallel WaveGAN): at each resolution the
 * spectral convergence ‖|S| − |Ŝ|‖_F / ‖|S|‖_F and the mean absolute difference of natural-log
 * magnitudes, each averaged over resolutions; `total` is their sum. Magnitudes are
 * sqrt(max(|X|², 1e-7)) as in that reference. Default resolutions (fftSize, hop): (512, 128),
 * (1024, 256), (2048, 512), Hann window of fftSize.
 */
import { stftMagnitude } from '../spectrogram/stft.ts';
import { checkPair, checkPositiveInt } from './check.ts';

export interface StftResolution {
  fftSize: number;
  hop: number;
}

export interface MrStftOptions {
  resolutions?: readonly StftResolution[];
}

export interface MrStftResult {
  /** spectralConvergence + logMagnitude. */
  total: number;
  spectralConvergence: number;
  logMagnitude: number;
  perResolution: Array<StftResolution & { spectralConvergence: number; logMagnitude: number }>;
}

export const DEFAULT_MRSTFT_RESOLUTIONS: readonly StftResolution[] = [
  { fftSize: 512, hop: 128 },
  { fftSize: 1024, hop: 256 },
  { fftSize: 2048, hop: 512 },
];

const POWER_FLOOR = 1e-7;

export function multiResolutionStftDistance(
  reference: Float32Array,
  estimate: Float32Array,
  options: MrStftOptions = {},
): MrStftResult {
  checkPair(reference, estimate, 'reference', 'estimate');
  const resolutions = options.resolutions ?? DEFAULT_MRSTFT_RESOLUTIONS;
  if (!Array.isArray(resolutions) || resolutions.length === 0)
    throw new RangeError('options.resolutions must be a non-empty array');
  const perResolution: MrStftResult['perResolution'] = [];
  let scSum = 0;
  let magSum = 0;
  for (const [i, r] of resolutions.entries()) {
    const fftSize = checkPositiveInt(r?.fftSize, `options.resolutions[${i}].fftSize`);
    const hop = checkPositiveInt(r?.hop, `options.resolutions[${i}].hop`);
    // Centred frames with reflect padding and a periodic Hann window, as torch.stft defaults.
    const stftOptions = { nFft: fftSize, hopLength: hop, center: true, padMode: 'reflect' } as const;
    const a = stftMagnitude(reference, stftOptions, 2);
    const b = stftMagnitude(estimate, stftOptions, 2);
    let diff2 = 0;
    let ref2 = 0;
    let l1 = 0;
    for (let j = 0; j < a.data.length; j++) {
      const ma = Math.sqrt(Math.max(a.data[j]!, POWER_FLOOR));
      const mb = Math.sqrt(Math.max(b.data[j]!, POWER_FLOOR));
      diff2 += (ma - mb) * (ma - mb);
      ref2 += ma * ma;
      l1 += Math.abs(Math.log(ma) - Math.log(mb));
    }
    const spectralConvergence = Math.sqrt(diff2 / ref2);
    const logMagnitude = l1 / a.data.length;
    perResolution.push({ fftSize, hop, spectralConvergence, logMagnitude });
    scSum += spectralConvergence;
    magSum += logMagnitude;
  }
  const spectralConvergence = scSum / resolutions.length;
  const logMagnitude = magSum / resolutions.length;
  return { total: spectralConvergence + logMagnitude, spectralConvergence, logMagnitude, perResolution };
}
