/**
 * Index of position i of a signal of n samples extended by mirroring about its end samples
 * (numpy's 'reflect': x[−k] = x[k], without repeating the edge), folding again as often as needed.
 * Shared by the STFT's centre padding and the overlap-add windower's edge padding.
 */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}
