/** Protocol v1 (docs/protocol.md): constants, error codes, binary frame codec, messages, timing. */
export * from './constants.ts';
export {
  ERROR_CODES,
  type ErrorCode,
  type FieldIssue,
  isErrorCode,
  ProtocolError,
  RETRYABLE,
} from './errors.ts';
export {
  type AudioFrame,
  type DecodeFrameOptions,
  decodeFrame,
  encodeFrame,
  type FrameKind,
  peekFrameHeader,
  withReplayFlag,
} from './frame.ts';
export {
  CLIENT_MESSAGE_TYPES,
  type ClientMessage,
  type ClientMessageType,
  type CreditMessage,
  type DenoiseParams,
  type ErrorServerMessage,
  errorFromMessage,
  errorMessage,
  type GenerateParams,
  type JobAccepted,
  type JobKind,
  type JobParams,
  type JobState,
  type Pacing,
  parseClientMessage,
  parseServerMessage,
  type ResumedJob,
  type ResumeRequest,
  SERVER_MESSAGE_TYPES,
  type ServerMessage,
  type ServerMessageType,
} from './messages.ts';
export {
  frameOfQuarter,
  framesPerBar,
  framesPerQuarter,
  type MusicalTiming,
  nextBar,
  quartersPerBar,
} from './timing.ts';
