/**
 * A short soak (soak.ts, 10 s measured after 3 s of warm-up): clients generating, denoising,
 * vanishing and sending garbage, 6 at a time. Afterwards nothing is left on the server, no file
 * descriptor leaked, and memory stayed bounded. The 90-second run's figures are in docs/reliability.md.
 */
import { describe, expect, it } from 'vitest';
import { runSoak, slope } from './soak.ts';

describe('soak (short)', () => {
  it('least-squares slope', () => {
    expect(slope([0, 1, 2, 3], [5, 7, 9, 11])).toBeCloseTo(2, 12);
    expect(slope([0, 1, 2], [3, 3, 3])).toBe(0);
  });

  it('many clients connect, stream and disconnect; the server ends clean', async () => {
    const r = await runSoak({ durationMs: 10_000, warmupMs: 3_000, concurrency: 6, seed: 7 });
    console.log(
      `soak: ${r.clients} clients, ${r.jobsDone} jobs done, fds ${r.fdsBefore}→${r.fdsAfter}, RSS ${r.rssStartMb.toFixed(0)}→${r.rssEndMb.toFixed(0)} MB ` +
        `(slope ${r.rssSlopeMbPerMin.toFixed(1)} MB/min), ack p99 ${r.ackP99Ms.toFixed(0)} ms, frame gap p99 ${r.gapP99Ms.toFixed(0)} ms`,
    );
    expect(r.clientErrors).toEqual([]);
    expect(r.clients).toBeGreaterThan(10);
    expect(r.jobsDone).toBeGreaterThan(10);
    expect(r.jobsFailed).toBe(0);
    expect(Object.keys(r.byKind).sort()).toEqual([
      'denoise',
      'denoise-drop',
      'garbage',
      'generate',
      'generate-drop',
    ]);
    expect(r.statsAfter).toEqual({ connections: 0, sessions: 0, jobs: 0, jobsComputing: 0, turnsWaiting: 0 });
    // Sockets and workers all closed: at most a lazily created libuv handle more than before.
    expect(r.fdsAfter).toBeLessThanOrEqual(r.fdsBefore + 2);
    expect(r.rssMaxMb - r.rssStartMb).toBeLessThan(200);
    expect(r.ackP99Ms).toBeLessThan(10_000);
  }, 60_000);
});
