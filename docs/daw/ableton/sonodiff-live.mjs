// sonodiff for Ableton Live: the Node for Max half of the "sonodiff" Max for Live device.
//
// Generates bar-exact clips (or an endless jam cut into N-bar clips) on a sonodiff server with the
// `sonodiff/client` library, at Live's tempo, writes each as a WAV with an acid chunk (tempo and
// beats, so Live warps it right), and sends `clip <path> <bars>` out of node.script; the patch's
// [js sonodiff-clips.js] turns that into a Session clip on the device's track.
//
// Install next to this file:  npm install sonodiff   (Node 22.12 or newer: point node.script's
// @node_bin_path at it if the Node bundled with Max is older).
//
// Messages in: url <ws://…> · token <t> · model <id> · class <name> · tags <t…> · seed <n> ·
//   steps <n> · bars <n> · tempo <bpm> · timesig <n> <d> · folder <path> · generate · jam 1|0 · stop
// Messages out: clip <path> <bars> · status <text> · error <text>
import { mkdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import maxApi from 'max-api';
import { SonodiffClient } from 'sonodiff/client';

const state = {
  url: 'ws://127.0.0.1:7878/ws',
  token: undefined,
  model: 'digits',
  params: { seed: 1 },
  bars: 4,
  tempo: 120,
  timeSignature: [4, 4],
  folder: path.join(os.homedir(), 'Music', 'sonodiff'),
  sampleRate: 48000,
};

let client;
let running; // the job being played, if any

const status = (text) => maxApi.outlet('status', text);

async function connect() {
  if (client && client.state !== 'closed') return client;
  client = new SonodiffClient({
    url: state.url,
    ...(state.token ? { token: state.token } : {}),
    clientName: 'sonodiff-live',
    reconnect: { retries: 30, maxDelayMs: 3000 },
  });
  client.on('state', (s) => status(`connection ${s}`));
  await client.connect();
  return client;
}

/** Frames in `bars` bars, from the integer bar count (no drift). */
function barFrames(bars) {
  const [beats, unit] = state.timeSignature;
  return Math.round((bars * beats * 240 * state.sampleRate) / (unit * state.tempo));
}

/** 24-bit PCM WAV with an `acid` chunk (tempo, beats, meter; loop, stretch on). */
function encodeWav(channels, bars) {
  const n = channels[0].length;
  const ch = channels.length;
  const data = n * ch * 3;
  const pad = data & 1;
  const buf = Buffer.alloc(12 + 24 + 8 + data + pad + 8 + 24);
  let o = 0;
  const str = (s) => {
    buf.write(s, o, 'ascii');
    o += 4;
  };
  const u32 = (v) => {
    buf.writeUInt32LE(v, o);
    o += 4;
  };
  const u16 = (v) => {
    buf.writeUInt16LE(v, o);
    o += 2;
  };
  str('RIFF');
  u32(buf.length - 8);
  str('WAVE');
  str('fmt ');
  u32(16);
  u16(1);
  u16(ch);
  u32(state.sampleRate);
  u32(state.sampleRate * ch * 3);
  u16(ch * 3);
  u16(24);
  str('data');
  u32(data);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < ch; c++) {
      const x = Math.max(-1, Math.min(1, channels[c][i]));
      buf.writeIntLE(Math.round(x < 0 ? x * 0x800000 : x * 0x7fffff), o, 3);
      o += 3;
    }
  }
  o += pad;
  str('acid');
  u32(24);
  u32(0x04); // flags: stretch (not one-shot)
  u16(60); // root note
  u16(0);
  buf.writeFloatLE(0, o);
  o += 4;
  u32(bars * state.timeSignature[0]); // beats
  u16(state.timeSignature[1]);
  u16(state.timeSignature[0]);
  buf.writeFloatLE(state.tempo, o);
  return buf;
}

async function commit(channels, bars, index) {
  await mkdir(state.folder, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  const name = `${stamp}_${state.model}-${state.params.className ?? 'x'}_${state.tempo}bpm_${state.timeSignature.join('-')}_${String(index).padStart(3, '0')}_${bars}bars.wav`;
  const file = path.join(state.folder, name);
  // Write under a hidden name and rename: Live never sees half a file.
  const tmp = path.join(state.folder, `.${name}.tmp`);
  await writeFile(tmp, encodeWav(channels, bars));
  await rename(tmp, file);
  await maxApi.outlet('clip', file, bars);
}

/** Runs a generate job (bars set) or a jam cut into `state.bars`-bar clips. */
async function play(jam) {
  const c = await connect();
  const job = c.startJob({
    kind: jam ? 'jam' : 'generate',
    model: state.model,
    params: jam ? { ...state.params } : { ...state.params, bars: state.bars },
    sampleRate: state.sampleRate,
    timing: { bpm: state.tempo, timeSignature: state.timeSignature, anchor: 0 },
    ...(jam ? { credit: 32 } : { pacing: 'asap' }),
  });
  running = job;
  const clipFrames = barFrames(state.bars);
  let parts = [];
  let have = 0;
  let index = 0;
  status(jam ? 'jamming…' : `generating ${state.bars} bars…`);
  try {
    for await (const e of job) {
      if (e.type !== 'audio') continue;
      parts.push(e.channels);
      have += e.channels[0].length;
      // Jam: every full clip's worth of bars becomes a clip (cut on the exact bar frame).
      while (jam && have >= barFrames(state.bars * (index + 1)) - barFrames(state.bars * index)) {
        const want = barFrames(state.bars * (index + 1)) - barFrames(state.bars * index);
        const { head, rest } = split(parts, want);
        parts = rest;
        have -= want;
        await commit(head, state.bars, index++);
      }
    }
    await job.result;
    if (!jam && have > 0) await commit(join(parts, Math.min(have, clipFrames)), state.bars, index);
    status('done');
  } catch (err) {
    maxApi.outlet('error', err.message);
  } finally {
    running = undefined;
  }
}

function join(parts, n) {
  const out = parts[0].map(() => new Float32Array(n));
  let at = 0;
  for (const p of parts) {
    const take = Math.min(p[0].length, n - at);
    p.forEach((c, i) => out[i].set(c.subarray(0, take), at));
    at += take;
    if (at >= n) break;
  }
  return out;
}

function split(parts, n) {
  const head = join(parts, n);
  const rest = [];
  let skip = n;
  for (const p of parts) {
    if (skip >= p[0].length) {
      skip -= p[0].length;
      continue;
    }
    rest.push(p.map((c) => c.subarray(skip)));
    skip = 0;
  }
  return { head, rest };
}

maxApi.addHandlers({
  url: (u) => {
    state.url = String(u);
    client = undefined;
  },
  token: (t) => {
    state.token = String(t);
    client = undefined;
  },
  model: (m) => (state.model = String(m)),
  class: (c) => {
    state.params.className = String(c);
    running?.kind === 'jam' && running.update({ className: String(c) });
  },
  tags: (...t) => (state.params.tags = t.map(String)),
  seed: (s) => (state.params.seed = Number(s) >>> 0),
  steps: (s) => (state.params.steps = Number(s)),
  bars: (b) => (state.bars = Math.max(1, Math.round(Number(b)))),
  tempo: (b) => (state.tempo = Number(b)),
  timesig: (n, d) => (state.timeSignature = [Number(n), Number(d)]),
  folder: (f) => (state.folder = String(f)),
  generate: () => (running ? status('busy') : play(false)),
  jam: (on) => (Number(on) ? (running ? status('busy') : play(true)) : running?.cancel()),
  stop: () => running?.cancel(),
});

status('ready');
