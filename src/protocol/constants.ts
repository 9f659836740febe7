/**
 * Numbers of protocol v1 (docs/protocol.md). Shared by the server, the client and the web page,
 * so this folder imports nothing from the rest of sonodiff.
 */

export const PROTOCOL_VERSION = 1;
/** The WebSocket endpoint; HTTP routes share the same port. */
export const WS_PATH = '/ws';
/** Optional WebSocket subprotocol a client may offer; the server selects it when offered. */
export const WS_SUBPROTOCOL = 'sonodiff.v1';

/** "SDAF" (sonodiff audio frame): bytes 53 44 41 46, read as a little-endian u32. */
export const FRAME_MAGIC = 0x46414453;
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 40;
/** Binary frame kinds: audio the server produced, or audio the client sends to a denoise job. */
export const FRAME_KIND_OUT = 1;
export const FRAME_KIND_IN = 2;
/** Flag bits; every other bit must be zero in v1. */
export const FLAG_LAST = 1;
export const FLAG_REPLAY = 2;
export const KNOWN_FLAGS = FLAG_LAST | FLAG_REPLAY;

export const MIN_RATE = 1000;
export const MAX_RATE = 384_000;
export const MAX_FRAME_CHANNELS = 8;
export const MAX_JOB_ID = 0xffff_ffff;
export const MAX_SEQ = 0xffff_ffff;

/** WebSocket close codes the server uses (1000–1011 are RFC 6455; 4000+ are ours). */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  protocolError: 4000,
  helloTimeout: 4001,
  sessionReplaced: 4002,
  rateLimited: 4003,
  unsupportedVersion: 4004,
} as const;

/** What the server enforces; sent in `welcome.limits` so clients can size their frames. */
export interface ProtocolLimits {
  /** Largest WebSocket message, text or binary, in bytes. */
  maxPayloadBytes: number;
  /** Largest text (JSON) message in bytes. */
  maxTextBytes: number;
  /** Largest frame count per binary frame (per channel). */
  maxFramesPerMessage: number;
  /** Jobs a connection may have queued or running at once. */
  maxJobsPerConnection: number;
  /** Bytes of sent audio frames the server keeps per session for resume. */
  replayBufferBytes: number;
  /** How long a session outlives its connection. */
  resumeTimeoutMs: number;
  /** Server ping interval; a connection that misses one pong is dropped. */
  heartbeatMs: number;
  /** A connection must send `hello` within this time. */
  helloTimeoutMs: number;
  /** Text messages per second a connection may send (burst: twice that). */
  maxMessagesPerSecond: number;
  /** Largest run-ahead, in frames, a credit limit may grant beyond the frames already sent. */
  maxCredit: number;
  /** Input frames a denoise job accepts ahead of what its pipeline has taken. */
  inputCredit: number;
}

export const DEFAULT_LIMITS: Readonly<ProtocolLimits> = Object.freeze({
  maxPayloadBytes: 1 << 20,
  maxTextBytes: 64 * 1024,
  maxFramesPerMessage: 16_384,
  maxJobsPerConnection: 4,
  replayBufferBytes: 8 << 20,
  resumeTimeoutMs: 30_000,
  heartbeatMs: 15_000,
  helloTimeoutMs: 10_000,
  maxMessagesPerSecond: 200,
  maxCredit: 1024,
  inputCredit: 16,
});

/** Output credit (frames) a realtime job starts with when `job.start` names none. */
export const DEFAULT_CREDIT = 8;
