/**
 * sonodiff studio: generate with any installed model and hear it while it is generated, look at
 * waveform and spectrogram, download the WAV; upload a file, denoise it and A/B the result against
 * the original. Talks to the server with the same client library as every other tool
 * (sonodiff/client over the browser's WebSocket) and plays through the bridge's gapless player.
 */
import { BarGrid } from '../../src/bridge/grid.ts';
import { type PlayerSegment, type ScheduledBlock, StreamPlayer } from '../../src/bridge/player.ts';
import { exactTime } from '../../src/bridge/timeline.ts';
import {
  type ClientState,
  type GenerateParams,
  type SocketLike,
  SonodiffClient,
} from '../../src/client/index.ts';
import { buildConditioning, type Conditioning, el, type ModelInfo } from './controls.ts';
import { AudioView } from './views.ts';
import { download, encodeWav24, wavSampleRate } from './wav.ts';

interface Take {
  kind: 'generate' | 'denoise';
  name: string;
  sampleRate: number;
  channels: Float32Array[];
  /** Denoise: the uploaded audio, for A/B. */
  original?: Float32Array[];
}

interface StudioStats {
  /** Click → first audio chunk received. */
  firstAudioMs: number | null;
  /** Click → the moment the first sound is scheduled to play. */
  firstSoundMs: number | null;
  chunks: number;
  late: number;
  blocks: ScheduledBlock[];
  /** Stream offset and context frame of every chunk of the last generation. */
  placements: Array<{ streamFrame: number; frames: number; frame: number }>;
  elapsedMs: number | null;
}

type Phase = 'connecting' | 'idle' | 'generating' | 'denoising' | 'error';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const params = new URLSearchParams(location.search);
const token = params.get('token') ?? undefined;

const studio = {
  phase: 'connecting' as Phase,
  models: [] as ModelInfo[],
  take: null as Take | null,
  playing: false,
  ab: 'B' as 'A' | 'B',
  loop: false,
  error: null as string | null,
  stats: {
    firstAudioMs: null,
    firstSoundMs: null,
    chunks: 0,
    late: 0,
    blocks: [],
    placements: [],
    elapsedMs: null,
  } as StudioStats,
  context: null as AudioContext | null,
  view: null as AudioView | null,
  capture: {
    start: () => startCapture(),
    stop: () => stopCapture(),
  },
};

declare global {
  interface Window {
    sonodiffStudio: typeof studio;
  }
}
window.sonodiffStudio = studio;

// Audio graph ------------------------------------------------------------------------------------

let master: GainNode;
let analyser: AnalyserNode;
let captureNode: AudioWorkletNode | undefined;
let captured: Float32Array[] = [];

function audio(): AudioContext {
  if (!studio.context) {
    const ctx = new AudioContext({ latencyHint: 'interactive' });
    master = ctx.createGain();
    analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    master.connect(ctx.destination);
    master.connect(analyser);
    studio.context = ctx;
    meterLoop();
  }
  void studio.context.resume();
  return studio.context;
}

async function startCapture(): Promise<void> {
  const ctx = audio();
  if (!captureNode) {
    await ctx.audioWorklet.addModule(new URL('./recorder-worklet.js', import.meta.url));
    captureNode = new AudioWorkletNode(ctx, 'sonodiff-capture', {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: 'explicit',
    });
    captureNode.port.onmessage = (e: MessageEvent<Float32Array>) => captured.push(e.data);
    master.connect(captureNode);
  }
  captured = [];
  captureNode.port.postMessage({ capture: true });
}

/** Stops capturing; resolves with everything that played since start (mono). */
async function stopCapture(): Promise<Float32Array> {
  if (!captureNode) return new Float32Array(0);
  const node = captureNode;
  const last = new Promise<void>((resolve) => {
    const prev = node.port.onmessage;
    node.port.onmessage = (e: MessageEvent<Float32Array>) => {
      prev?.call(node.port, e);
      resolve();
    };
    setTimeout(resolve, 500);
  });
  node.port.postMessage({ capture: false });
  await last;
  node.port.onmessage = (e: MessageEvent<Float32Array>) => captured.push(e.data);
  const n = captured.reduce((a, p) => a + p.length, 0);
  const out = new Float32Array(n);
  let at = 0;
  for (const p of captured) {
    out.set(p, at);
    at += p.length;
  }
  captured = [];
  return out;
}

// Connection -------------------------------------------------------------------------------------

function wsUrl(): string {
  const u = new URL('/ws', location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // Browsers cannot set headers on a WebSocket: the token travels as a query parameter.
  if (token) u.searchParams.set('token', token);
  return u.toString();
}

const client = new SonodiffClient({
  url: wsUrl(),
  clientName: 'sonodiff-studio',
  reconnect: { retries: 50, maxDelayMs: 3000 },
  socketFactory: (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike,
});

function showConnection(state: ClientState | 'error', text?: string): void {
  const c = $('conn');
  c.dataset['state'] = state;
  c.querySelector('span')!.textContent =
    text ??
    {
      idle: 'offline',
      connecting: 'connecting…',
      open: 'connected',
      reconnecting: 'reconnecting…',
      closed: 'offline',
      error: 'error',
    }[state];
}

client.on('state', (s) => showConnection(s));

async function fetchModels(): Promise<ModelInfo[]> {
  const res = await fetch('/api/models', token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (!res.ok) throw new Error(`/api/models: HTTP ${res.status}`);
  return ((await res.json()) as { models: ModelInfo[] }).models;
}

// UI state ---------------------------------------------------------------------------------------

function setPhase(p: Phase, message?: string): void {
  studio.phase = p;
  document.body.dataset['phase'] = p;
  const busy = p === 'generating' || p === 'denoising';
  $<HTMLButtonElement>('gen-go').disabled = busy || p === 'connecting';
  $<HTMLButtonElement>('den-go').disabled = busy || p === 'connecting' || !uploaded;
  $<HTMLButtonElement>('cancel').hidden = !busy;
  if (message !== undefined) status(message, p === 'error');
}

function status(text: string, error = false): void {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('error', error);
  if (error) studio.error = text;
}

function fmtTime(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return `${m}:${s.toFixed(2).padStart(5, '0')}`;
}

function updateTransport(): void {
  const t = studio.take;
  $<HTMLButtonElement>('play').disabled = !t;
  $<HTMLButtonElement>('download').disabled =
    !t || studio.phase === 'generating' || studio.phase === 'denoising';
  $('play').dataset['playing'] = String(studio.playing);
  $('play').title = studio.playing ? 'Stop (Space)' : 'Play (Space)';
  $('ab').hidden = !t?.original;
  $('ab').dataset['side'] = studio.ab;
  $('total').textContent = t ? fmtTime((t.channels[0]?.length ?? 0) / t.sampleRate) : '0:00.00';
  $('take-name').textContent = t ? t.name : 'no take yet';
}

// Generate ---------------------------------------------------------------------------------------

let readConditioning: () => Conditioning = () => ({});
let activeJob: { cancel(): void } | undefined;
let replay: { stop(): void; position(): number } | undefined;

function generateModels(): ModelInfo[] {
  return studio.models.filter((m) => m.task === 'generate');
}

function onGenModel(): void {
  const m = studio.models.find((x) => x.id === $<HTMLSelectElement>('gen-model').value);
  if (!m) return;
  readConditioning = buildConditioning($('gen-conditioning'), m);
  $('gen-card').textContent = m.card?.summary ?? '';
  $<HTMLInputElement>('gen-seconds').value = String(m.defaults.seconds ?? 4);
  $<HTMLInputElement>('gen-steps').placeholder = String(m.defaults.steps ?? '');
  $<HTMLInputElement>('gen-guidance').placeholder =
    m.defaults.guidance !== undefined ? String(m.defaults.guidance) : '—';
  $('gen-meta').textContent =
    `${m.sampleRate / 1000} kHz · ${m.channels === 1 ? 'mono' : `${m.channels} ch`} · window ${m.windowSeconds.toFixed(2)} s`;
}

function genParams(): { params: GenerateParams; bpm: number; bars: number | null } {
  const params: GenerateParams = { ...readConditioning() };
  const bpm = Number($<HTMLInputElement>('gen-bpm').value) || 120;
  const inBars = $<HTMLSelectElement>('gen-unit').value === 'bars';
  const len = Number($<HTMLInputElement>('gen-seconds').value);
  if (!(len > 0)) throw new RangeError('length must be a positive number');
  if (inBars) params.bars = Math.max(1, Math.round(len));
  else params.seconds = len;
  const steps = $<HTMLInputElement>('gen-steps').value;
  if (steps) params.steps = Number(steps);
  const g = $<HTMLInputElement>('gen-guidance').value;
  if (g) params.guidance = Number(g);
  params.seed = Number($<HTMLInputElement>('gen-seed').value) >>> 0;
  return { params, bpm, bars: inBars ? params.bars! : null };
}

async function generate(): Promise<void> {
  if (studio.phase === 'generating' || studio.phase === 'denoising') return;
  const model = $<HTMLSelectElement>('gen-model').value;
  let p: ReturnType<typeof genParams>;
  try {
    p = genParams();
  } catch (err) {
    status((err as Error).message, true);
    return;
  }
  stopPlayback();
  const ctx = audio();
  const clickedAt = performance.now();
  const clickedCtx = ctx.currentTime;
  const rate = ctx.sampleRate;
  setPhase('generating', `generating with ${model}…`);
  const stats: StudioStats = {
    firstAudioMs: null,
    firstSoundMs: null,
    chunks: 0,
    late: 0,
    blocks: [],
    placements: [],
    elapsedMs: null,
  };
  studio.stats = stats;
  const job = client.startJob({
    kind: 'generate',
    model,
    params: p.params,
    sampleRate: rate,
    ...(p.bars !== null ? { timing: { bpm: p.bpm, timeSignature: [4, 4] as const, anchor: 0 } } : {}),
    pacing: 'asap',
  });
  activeJob = job;
  const parts: Float32Array[][] = [];
  let player: StreamPlayer | undefined;
  let segment: PlayerSegment | undefined;
  let handle: typeof replay;
  const view = studio.view!;
  const held: Array<{ startFrame: number; channels: Float32Array[] }> = [];
  let received = 0;
  let total = 0;
  let started = false;
  try {
    for await (const e of job) {
      if (e.type === 'job.accepted') {
        total = e.totalFrames ?? 0;
        view.reset(rate, total);
        player = new StreamPlayer({
          context: ctx,
          grid: new BarGrid({ bpm: p.bpm, sampleRate: rate }),
          channels: e.channels,
          destination: master,
          leadSeconds: 0.12,
          guardSeconds: 0.06,
          history: true,
          // Chromium rounds start times up to the next frame: never hand it one an ulp too late.
          timeOf: exactTime,
        });
        stats.blocks = player.blocks;
        const seg = player.startFreeSegment();
        const pl = player;
        segment = seg;
        handle = {
          stop: () => pl.close(),
          position: () => (seg.origin === undefined ? -1 : Math.round(ctx.currentTime * rate) - seg.origin),
        };
        replay = handle;
        studio.take = { kind: 'generate', name: takeName(model, p.params), sampleRate: rate, channels: [] };
        studio.playing = true;
        updateTransport();
      } else if (e.type === 'audio' && player && segment) {
        received += e.channels[0]!.length;
        held.push(e);
        // Start once the buffer will outlast the rest of the generation at the speed seen so far,
        // so a model slower than real time still plays without a dropout.
        if (!started && total > 0) {
          const wall = (performance.now() - clickedAt) / 1000;
          const speed = received / Math.max(0.05, wall); // frames per second of wall time
          const remaining = total - received;
          started = received / rate >= (remaining / speed) * 1.5 + 0.2;
        } else if (!started) started = true;
        // Stopped by the user while streaming: keep generating, stop playing.
        if (started && replay === handle) {
          for (const h of held.splice(0)) {
            const pl = segment.push(h.startFrame, h.channels);
            stats.placements.push({ streamFrame: pl.streamFrame, frames: pl.frames, frame: pl.frame });
            if (stats.firstSoundMs === null) stats.firstSoundMs = (pl.frame / rate - clickedCtx) * 1000;
          }
        }
        if (stats.firstAudioMs === null) stats.firstAudioMs = performance.now() - clickedAt;
        stats.chunks++;
        parts.push(e.channels);
        view.append(e.channels);
        status(`generating… ${(e.startFrame / rate + e.channels[0]!.length / rate).toFixed(1)} s`);
      } else if (e.type === 'job.progress' && e.windows && e.window !== null) {
        setProgress((e.window + 1) / e.windows);
      }
    }
    const result = await job.result;
    stats.elapsedMs = performance.now() - clickedAt;
    if (player && segment && replay === handle) {
      for (const h of held.splice(0)) {
        const pl = segment.push(h.startFrame, h.channels);
        stats.placements.push({ streamFrame: pl.streamFrame, frames: pl.frames, frame: pl.frame });
        if (stats.firstSoundMs === null) stats.firstSoundMs = (pl.frame / rate - clickedCtx) * 1000;
      }
    }
    player?.flush();
    stats.late = player?.stats.late ?? 0;
    const channels = concat(parts);
    view.finish();
    studio.take = { kind: 'generate', name: takeName(model, p.params), sampleRate: rate, channels };
    setProgress(1);
    setPhase(
      'idle',
      `${result.status} · ${fmtTime(channels[0]!.length / rate)} in ${(stats.elapsedMs / 1000).toFixed(1)} s · first audio ${Math.round(stats.firstAudioMs ?? 0)} ms`,
    );
    updateTransport();
    if (player && replay === handle) {
      const done = player;
      void done.waitUntil().then(() => {
        if (replay === handle) {
          done.close();
          studio.playing = false;
          replay = undefined;
          view.setPlayhead(null);
          updateTransport();
        }
      });
    }
  } catch (err) {
    player?.close();
    studio.playing = false;
    setPhase('error', `generate failed: ${(err as Error).message}`);
    updateTransport();
  } finally {
    activeJob = undefined;
  }
}

function takeName(model: string, p: GenerateParams): string {
  return [model, p.className, ...(p.tags ?? []), p.seed !== undefined ? `seed${p.seed}` : undefined]
    .filter((x) => x !== undefined && x !== '')
    .join('-');
}

function concat(parts: Float32Array[][]): Float32Array[] {
  const n = parts.reduce((a, p) => a + p[0]!.length, 0);
  const nch = parts[0]?.length ?? 1;
  const out = Array.from({ length: nch }, () => new Float32Array(n));
  let at = 0;
  for (const p of parts) {
    for (let c = 0; c < nch; c++) out[c]!.set(p[c]!, at);
    at += p[0]!.length;
  }
  return out;
}

function setProgress(x: number): void {
  $('progress').style.setProperty('--p', String(Math.max(0, Math.min(1, x))));
}

// Denoise ----------------------------------------------------------------------------------------

let uploaded: { name: string; sampleRate: number; channels: Float32Array[] } | undefined;

async function loadFile(file: File): Promise<void> {
  const bytes = await file.arrayBuffer();
  // Decode at the file's own rate when it says (WAV), so the model sees the audio unresampled.
  const rate = wavSampleRate(bytes) ?? audio().sampleRate;
  let decoded: AudioBuffer;
  try {
    decoded = await new OfflineAudioContext(1, 1, rate).decodeAudioData(bytes.slice(0));
  } catch {
    status(`${file.name}: not an audio file this browser can decode`, true);
    return;
  }
  const channels = Array.from({ length: decoded.numberOfChannels }, (_, c) =>
    decoded.getChannelData(c).slice(),
  );
  uploaded = { name: file.name.replace(/\.[^.]+$/, ''), sampleRate: decoded.sampleRate, channels };
  $('den-file-name').textContent =
    `${file.name} · ${(decoded.duration).toFixed(2)} s · ${decoded.sampleRate / 1000} kHz · ${channels.length} ch`;
  stopPlayback();
  studio.take = {
    kind: 'denoise',
    name: uploaded.name,
    sampleRate: decoded.sampleRate,
    channels,
    original: channels,
  };
  studio.ab = 'A';
  studio.view!.show(channels, decoded.sampleRate);
  setPhase(studio.phase === 'connecting' ? 'connecting' : 'idle', `loaded ${file.name}; press Denoise`);
  updateTransport();
}

async function denoise(): Promise<void> {
  if (!uploaded || studio.phase === 'generating' || studio.phase === 'denoising') return;
  const src = uploaded;
  const model = $<HTMLSelectElement>('den-model').value;
  const strength = Number($<HTMLInputElement>('den-strength').value);
  stopPlayback();
  setPhase('denoising', `denoising ${src.name} with ${model}…`);
  const t0 = performance.now();
  const total = src.channels[0]!.length;
  const chunk = 4096;
  async function* input(): AsyncGenerator<Float32Array[]> {
    for (let at = 0; at < total; at += chunk)
      yield src.channels.map((c) => c.subarray(at, Math.min(total, at + chunk)));
  }
  const job = client.startJob({
    kind: 'denoise',
    model,
    params: { strength },
    sampleRate: src.sampleRate,
    channels: src.channels.length,
    input: input(),
  });
  activeJob = job;
  const parts: Float32Array[][] = [];
  let got = 0;
  try {
    for await (const e of job) {
      if (e.type === 'audio') {
        parts.push(e.channels);
        got += e.channels[0]!.length;
        setProgress(got / total);
      }
    }
    await job.result;
    const channels = concat(parts);
    studio.take = {
      kind: 'denoise',
      name: `${src.name}-denoised`,
      sampleRate: src.sampleRate,
      channels,
      original: src.channels,
    };
    studio.ab = 'B';
    studio.view!.show(channels, src.sampleRate);
    setPhase(
      'idle',
      `denoised ${fmtTime(total / src.sampleRate)} in ${((performance.now() - t0) / 1000).toFixed(1)} s · A/B with the A and B keys`,
    );
  } catch (err) {
    setPhase('error', `denoise failed: ${(err as Error).message}`);
  } finally {
    activeJob = undefined;
    updateTransport();
  }
}

// Playback of a finished take (with A/B for denoise) ---------------------------------------------

function stopPlayback(): void {
  replay?.stop();
  replay = undefined;
  studio.playing = false;
  studio.view?.setPlayhead(null);
  updateTransport();
}

function toBuffer(ctx: BaseAudioContext, channels: Float32Array[], rate: number): AudioBuffer {
  const b = ctx.createBuffer(channels.length, channels[0]!.length, rate);
  for (const [i, c] of channels.entries()) b.copyToChannel(c as Float32Array<ArrayBuffer>, i);
  return b;
}

function play(): void {
  const t = studio.take;
  if (!t || t.channels[0]!.length === 0) return;
  stopPlayback();
  const ctx = audio();
  const start = ctx.currentTime + 0.05;
  const sides: Array<{ side: 'A' | 'B'; channels: Float32Array[] }> = t.original
    ? [
        { side: 'A', channels: t.original },
        { side: 'B', channels: t.channels },
      ]
    : [{ side: 'B', channels: t.channels }];
  const nodes = sides.map(({ side, channels }) => {
    const src = ctx.createBufferSource();
    src.buffer = toBuffer(ctx, channels, t.sampleRate);
    src.loop = studio.loop;
    const g = ctx.createGain();
    g.gain.value = !t.original || side === studio.ab ? 1 : 0;
    src.connect(g).connect(master);
    src.start(start);
    return { side, src, g };
  });
  abGains = nodes.map(({ side, g }) => ({ side, g }));
  const len = t.channels[0]!.length / t.sampleRate;
  nodes[0]!.src.onended = () => {
    if (replay === handle) {
      replay = undefined;
      studio.playing = false;
      studio.view?.setPlayhead(null);
      updateTransport();
    }
  };
  const handle = {
    stop: () => {
      for (const n of nodes) {
        try {
          n.src.stop();
        } catch {
          // Already ended.
        }
      }
      abGains = [];
    },
    position: () => {
      const s = Math.max(0, ctx.currentTime - start);
      return Math.round((studio.loop ? s % len : s) * t.sampleRate);
    },
  };
  replay = handle;
  studio.playing = true;
  updateTransport();
}

let abGains: Array<{ side: 'A' | 'B'; g: GainNode }> = [];

function setAb(side: 'A' | 'B'): void {
  const t = studio.take;
  if (!t?.original) return;
  studio.ab = side;
  const ctx = audio();
  // A 10 ms crossfade: instant to the ear, no click.
  for (const { side: s, g } of abGains) g.gain.setTargetAtTime(s === side ? 1 : 0, ctx.currentTime, 0.003);
  studio.view?.show(side === 'A' ? t.original : t.channels, t.sampleRate);
  updateTransport();
}

function togglePlay(): void {
  if (studio.playing) stopPlayback();
  else play();
}

function downloadTake(): void {
  const t = studio.take;
  if (!t || t.channels[0]!.length === 0) return;
  download(encodeWav24(t.channels, t.sampleRate), `${t.name}.wav`);
}

// Meter and playhead -----------------------------------------------------------------------------

function meterLoop(): void {
  const canvas = $<HTMLCanvasElement>('meter');
  const g = canvas.getContext('2d')!;
  const buf = new Float32Array(analyser.fftSize);
  let hold = 0;
  const tick = () => {
    analyser.getFloatTimeDomainData(buf);
    let peak = 0;
    for (const v of buf) peak = Math.max(peak, Math.abs(v));
    hold = Math.max(peak, hold * 0.95);
    const db = 20 * Math.log10(hold + 1e-9);
    const x = Math.max(0, Math.min(1, (db + 60) / 60));
    g.fillStyle = '#1b2230';
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = db > -1 ? '#f87171' : db > -12 ? '#fbbf24' : '#5eead4';
    g.fillRect(0, 0, Math.round(x * canvas.width), canvas.height);
    const pos = replay?.position();
    if (pos !== undefined && studio.take) {
      studio.view?.setPlayhead(pos >= 0 ? pos : null);
      $('time').textContent = fmtTime(Math.max(0, pos) / studio.take.sampleRate);
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

// Wiring -----------------------------------------------------------------------------------------

function fillModels(): void {
  const gen = $<HTMLSelectElement>('gen-model');
  const den = $<HTMLSelectElement>('den-model');
  gen.replaceChildren(
    ...generateModels().map((m) => el('option', { value: m.id, textContent: `${m.id} ${m.version}` })),
  );
  den.replaceChildren(
    ...studio.models
      .filter((m) => m.task === 'denoise')
      .map((m) => el('option', { value: m.id, textContent: `${m.id} ${m.version}` })),
  );
  $('den-panel').classList.toggle('disabled', den.options.length === 0);
  if (den.options.length === 0) $('den-file-name').textContent = 'no denoise model installed on this server';
  onGenModel();
}

function wire(): void {
  studio.view = new AudioView($<HTMLCanvasElement>('wave'), $<HTMLCanvasElement>('spec'));
  $('gen-model').addEventListener('change', onGenModel);
  $('gen-go').addEventListener('click', () => void generate());
  $('gen-dice').addEventListener('click', () => {
    $<HTMLInputElement>('gen-seed').value = String(Math.floor(Math.random() * 2 ** 31));
  });
  $('den-go').addEventListener('click', () => void denoise());
  $('cancel').addEventListener('click', () => activeJob?.cancel());
  $('play').addEventListener('click', togglePlay);
  $('download').addEventListener('click', downloadTake);
  $('ab-a').addEventListener('click', () => setAb('A'));
  $('ab-b').addEventListener('click', () => setAb('B'));
  $<HTMLInputElement>('loop').addEventListener('change', (e) => {
    studio.loop = (e.target as HTMLInputElement).checked;
  });
  const fileInput = $<HTMLInputElement>('den-file');
  fileInput.addEventListener('change', () => {
    const f = fileInput.files?.[0];
    if (f) void loadFile(f).then(() => setPhase(studio.phase));
  });
  const drop = $('den-drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files?.[0];
    if (f) void loadFile(f).then(() => setPhase(studio.phase));
  });
  $('help-btn').addEventListener('click', () => $<HTMLDialogElement>('help').showModal());
  document.addEventListener('keydown', (e) => {
    const tag = (e.target as HTMLElement | null)?.tagName;
    const typing = tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA';
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
      e.preventDefault();
      void generate();
      return;
    }
    if (typing && e.key !== 'Escape') return;
    if (e.key === ' ') {
      e.preventDefault();
      togglePlay();
    } else if (e.key === 'g') void generate();
    else if (e.key === 'a' || e.key === 'A') setAb('A');
    else if (e.key === 'b' || e.key === 'B') setAb('B');
    else if (e.key === 'd') downloadTake();
    else if (e.key === 'l') {
      const l = $<HTMLInputElement>('loop');
      l.checked = !l.checked;
      studio.loop = l.checked;
    } else if (e.key === 'Escape') {
      if (activeJob) activeJob.cancel();
      else stopPlayback();
    } else if (e.key === '?') $<HTMLDialogElement>('help').showModal();
  });
}

async function main(): Promise<void> {
  wire();
  setPhase('connecting');
  updateTransport();
  try {
    studio.models = await fetchModels();
    fillModels();
    const w = await client.connect();
    showConnection('open', `${w.server.name} ${w.server.version}`);
    setPhase(
      'idle',
      generateModels().length
        ? 'ready · G to generate · Space to play/stop'
        : 'the server has no generate model',
    );
  } catch (err) {
    showConnection('error', 'offline');
    setPhase('error', `cannot reach the server: ${(err as Error).message}`);
  }
}

void main();
