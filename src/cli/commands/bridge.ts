import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { SinkId } from '../../audio/index.ts';
import { type BridgeEvent, type BridgeSummary, parseTimeSignature, runBridge } from '../../bridge/index.ts';
import { type GenerateParams, ProtocolError } from '../../client/index.ts';
import { SonodiffError } from '../../errors.ts';
import type { ModelManifest } from '../../packs/index.ts';
import type { CliContext } from '../context.ts';
import { intOption, numberOption } from '../options.ts';
import { parsePrompt } from './generate.ts';

interface BridgeFlags {
  url: string;
  token?: string;
  model?: string;
  class?: string;
  prompt?: string;
  control?: string[];
  seed?: number;
  steps?: number;
  sampler?: string;
  guidance?: number;
  bpm: number;
  timeSignature: [number, number];
  bars?: number;
  segmentBars: number;
  outDir?: string;
  sink?: string;
  sampleRate?: number;
  lookahead: number;
  asap?: boolean;
  json?: boolean;
}

interface ModelInfo {
  id: string;
  task: string;
  conditioning?: ModelManifest['conditioning'];
}

function timeSignatureOption(value: string): [number, number] {
  try {
    return parseTimeSignature(value, '--time-signature');
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function controlOption(value: string, previous: string[] = []): string[] {
  if (!/^[A-Za-z0-9_.-]+=.+$/.test(value)) throw new InvalidArgumentError(`must look like name=value`);
  return [...previous, value];
}

/** The server's model list over HTTP (same port as the WebSocket). */
async function fetchModels(url: string, token: string | undefined): Promise<ModelInfo[]> {
  const u = new URL(url);
  u.protocol = u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol;
  u.pathname = '/api/models';
  u.search = '';
  let res: Response;
  try {
    res = await fetch(u, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  } catch (err) {
    throw new SonodiffError(
      'ERR_DEVICE',
      `cannot reach the server at ${u.origin}: ${(err as Error).message}`,
    );
  }
  if (!res.ok) throw new SonodiffError('ERR_DEVICE', `${u.href}: HTTP ${res.status}`);
  return ((await res.json()) as { models: ModelInfo[] }).models;
}

function describe(e: BridgeEvent): string | undefined {
  switch (e.type) {
    case 'connected':
      return `connected to ${e.server}`;
    case 'accepted':
      return `streaming ${e.channels} channel(s) at ${e.sampleRate} Hz${e.framesPerBar ? `, ${e.framesPerBar.toFixed(1)} frames per bar` : ''}`;
    case 'segment':
      return `first audio after ${Math.round(e.firstAudioMs)} ms, playing from bar ${e.bar + 1}`;
    case 'late':
      return `audio late at stream frame ${e.late.streamFrame}: moved from bar ${e.late.fromBar + 1} to bar ${e.late.toBar + 1}`;
    case 'updated':
      return `parameters changed at stream bar ${e.bar}`;
    case 'commit':
      return `committed ${e.file.path} (${e.file.bars} bars)`;
    case 'state':
      return e.state === 'reconnecting' ? 'connection lost; reconnecting…' : undefined;
    case 'reconnected':
      return `reconnected and resumed (attempt ${e.attempts})`;
  }
}

export function registerBridge(program: Command, ctx: CliContext): void {
  program
    .command('bridge')
    .description(
      'play a server stream on an audio output in time with a DAW (bar-aligned, gapless) and commit bar-exact WAV segments',
    )
    .option('--url <url>', 'server WebSocket URL', 'ws://127.0.0.1:7878/ws')
    .option('--token <token>', 'server token (also SONODIFF_TOKEN)')
    .option('-m, --model <id>', 'generate model id (default: the first one the server has)')
    .option('-c, --class <name>', 'class to generate')
    .option('-p, --prompt <text>', 'words from the model vocabulary (classes, tags)')
    .option('--control <name=value>', 'model control, repeatable', controlOption)
    .option('--seed <n>', 'seed', intOption('--seed', 0, 0xffffffff))
    .option('--steps <n>', 'diffusion steps', intOption('--steps', 1, 1000))
    .option('--sampler <name>', 'sampler')
    .option('-g, --guidance <g>', 'guidance scale', numberOption('--guidance', 0, 50))
    .option('--bpm <b>', 'host tempo', numberOption('--bpm', 1, 1000), 120)
    .option('--time-signature <n/d>', 'host meter', timeSignatureOption, [4, 4] as [number, number])
    .option(
      '--bars <n>',
      'play one clip of n bars and exit (default: jam until Ctrl-C)',
      intOption('--bars', 1, 1024),
    )
    .option('--segment-bars <n>', 'jam: bars per committed file', intOption('--segment-bars', 1, 1024), 8)
    .option('--out-dir <dir>', 'commit segments as WAV files here')
    .option('--sink <device>', "audio output device id (see `sonodiff devices`), or 'none' for headless")
    .option(
      '--sample-rate <hz>',
      'output rate (default: the device’s)',
      intOption('--sample-rate', 8000, 192000),
    )
    .option(
      '--lookahead <s>',
      'seconds of audio kept buffered ahead',
      numberOption('--lookahead', 0.2, 30),
      2,
    )
    .option(
      '--asap',
      'with --bars: let the server compute as fast as it can instead of in step with playback',
    )
    .option('--json', 'print one JSON summary on stdout at the end')
    .action(async (flags: BridgeFlags) => {
      const token = flags.token ?? ctx.io.env['SONODIFF_TOKEN'];
      const models = await fetchModels(flags.url, token);
      const generators = models.filter((m) => m.task === 'generate');
      const model = flags.model ? models.find((m) => m.id === flags.model) : generators[0];
      if (!model) {
        throw new RangeError(
          flags.model
            ? `--model ${flags.model}: the server has no such model (it has: ${models.map((m) => m.id).join(', ') || 'none'})`
            : 'the server has no generate model',
        );
      }
      if (model.task !== 'generate') throw new RangeError(`--model ${model.id} is a ${model.task} model`);
      const params: GenerateParams = {};
      if (flags.prompt !== undefined) {
        const p = parsePrompt(flags.prompt, { conditioning: model.conditioning } as ModelManifest);
        if (p.className !== undefined) params.className = p.className;
        if (p.tags.length > 0) params.tags = p.tags;
      }
      if (flags.class !== undefined) params.className = flags.class;
      if (flags.control?.length) {
        params.controls = {};
        for (const c of flags.control) {
          const [k, v] = [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)];
          params.controls[k] = v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
        }
      }
      if (flags.seed !== undefined) params.seed = flags.seed;
      if (flags.steps !== undefined) params.steps = flags.steps;
      if (flags.sampler !== undefined) params.sampler = flags.sampler;
      if (flags.guidance !== undefined) params.guidance = flags.guidance;
      if (flags.asap && flags.bars === undefined)
        throw new RangeError('--asap needs --bars (a jam is realtime)');
      const sinkId: SinkId | undefined =
        flags.sink === undefined ? undefined : flags.sink === 'none' ? { type: 'none' } : flags.sink;
      const summary: BridgeSummary = await runBridge({
        url: flags.url,
        ...(token !== undefined ? { token } : {}),
        model: model.id,
        params,
        bpm: flags.bpm,
        timeSignature: flags.timeSignature,
        ...(flags.bars !== undefined ? { bars: flags.bars } : {}),
        segmentBars: flags.segmentBars,
        ...(flags.outDir !== undefined ? { outDir: ctx.resolve(flags.outDir) } : {}),
        ...(sinkId !== undefined ? { sinkId } : {}),
        ...(flags.sampleRate !== undefined ? { sampleRate: flags.sampleRate } : {}),
        pacing: flags.asap ? 'asap' : 'realtime',
        lookaheadSeconds: flags.lookahead,
        signal: ctx.signal,
        onEvent: (e) => {
          const line = describe(e);
          if (line) ctx.log(`sonodiff bridge: ${line}`);
        },
      }).catch((err: unknown) => {
        // Protocol errors become usage errors (bad parameters) or one-line device errors, not stacks.
        if (err instanceof ProtocolError) {
          if (err.code === 'BAD_PARAMS' || err.code === 'UNKNOWN_MODEL') throw new RangeError(err.message);
          throw new SonodiffError('ERR_DEVICE', `server ${flags.url}: ${err.code}: ${err.message}`);
        }
        throw err;
      });
      ctx.log(
        `sonodiff bridge: ${summary.status}; ${(summary.frames / summary.sampleRate).toFixed(2)} s played, ` +
          `${summary.files.length} file(s) committed, ${summary.player.late} late move(s), ${summary.reconnects} reconnect(s)`,
      );
      if (flags.json) {
        ctx.json({
          ...summary,
          player: {
            ...summary.player,
            minLeadFrames: Number.isFinite(summary.player.minLeadFrames)
              ? summary.player.minLeadFrames
              : null,
          },
        });
      }
    });
}
