/**
 * The generation benchmark's PyTorch peer process (bench/torch-peer.ts ↔ time_reference --serve):
 * it starts, times runs on request, reports a bad request without dying, and says why it cannot
 * start. Needs Debian's python3 with torch and onnx and the shipped digits pack; skipped without.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TorchPeer } from '../../bench/torch-peer.ts';

const root = path.resolve(import.meta.dirname, '../..');
const ready =
  existsSync(path.join(root, 'models/digits/model.onnx')) &&
  spawnSync('/usr/bin/python3', ['-c', 'import torch, onnx, numpy'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!ready)('TorchPeer (PyTorch reference sampler as a long-lived process)', () => {
  it('times runs on request and keeps serving after a bad one', async () => {
    const peer = await TorchPeer.start(root, 'digits', 4, 1, []);
    if (!(peer instanceof TorchPeer)) throw new Error(`peer did not start: ${peer.why}`);
    try {
      expect(peer.torch).toMatch(/^\d+\.\d+/);
      const a = await peer.time('euler', 2, 0);
      expect(a).toBeGreaterThan(0);
      expect(a).toBeLessThan(60);
      await expect(peer.time('no-such-sampler', 2, 0)).rejects.toThrow(/unknown sampler/);
      const b = await peer.time('dpmpp_2m', 3, 1);
      expect(b).toBeGreaterThan(0);
    } finally {
      peer.close();
    }
  }, 120_000);

  it('says in one line why it cannot start', async () => {
    const peer = await TorchPeer.start(root, 'no-such-model', 4, 1, []);
    expect(peer).not.toBeInstanceOf(TorchPeer);
    expect((peer as { why: string }).why).toMatch(/invalid choice|no-such-model/);
  }, 60_000);
});
