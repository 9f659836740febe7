/** WAV in the browser: 24-bit PCM encoding for downloads, and the sample rate of an uploaded WAV. */

/** Encodes planar float audio as a 24-bit PCM WAV (clipped to [-1, 1]). */
export function encodeWav24(channels: readonly Float32Array[], sampleRate: number): Blob {
  const nch = channels.length;
  const frames = channels[0]?.length ?? 0;
  const dataBytes = frames * nch * 3;
  const buf = new ArrayBuffer(44 + dataBytes + (dataBytes & 1));
  const dv = new DataView(buf);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) dv.setUint8(at + i, s.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  dv.setUint32(4, buf.byteLength - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  dv.setUint32(16, 16, true);
  dv.setUint16(20, 1, true);
  dv.setUint16(22, nch, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * nch * 3, true);
  dv.setUint16(32, nch * 3, true);
  dv.setUint16(34, 24, true);
  ascii(36, 'data');
  dv.setUint32(40, dataBytes, true);
  const out = new Uint8Array(buf);
  let at = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const x = Math.max(-1, Math.min(1, channels[c]![i]!));
      const v = Math.round(x < 0 ? x * 0x800000 : x * 0x7fffff);
      out[at++] = v & 0xff;
      out[at++] = (v >> 8) & 0xff;
      out[at++] = (v >> 16) & 0xff;
    }
  }
  return new Blob([buf], { type: 'audio/wav' });
}

/** The sample rate in a RIFF/WAVE header, or undefined for anything else. */
export function wavSampleRate(bytes: ArrayBuffer): number | undefined {
  if (bytes.byteLength < 44) return undefined;
  const dv = new DataView(bytes);
  const id = (at: number) => String.fromCharCode(...new Uint8Array(bytes, at, 4));
  if (id(0) !== 'RIFF' || id(8) !== 'WAVE') return undefined;
  let at = 12;
  while (at + 8 <= bytes.byteLength) {
    const size = dv.getUint32(at + 4, true);
    if (id(at) === 'fmt ' && at + 16 <= bytes.byteLength) return dv.getUint32(at + 12, true);
    at += 8 + size + (size & 1);
  }
  return undefined;
}

/** Triggers a browser download of `blob` as `name`. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
