/** The DAW bridge: bar-aligned, gapless playback of a sonodiff stream, and bar-exact WAV commits. */
export { Bridge, type BridgeEvent, type BridgeOptions, type BridgeSummary, runBridge } from './bridge.ts';
export {
  type CommittedFile,
  SegmentWriter,
  type SegmentWriterOptions,
  sanitizeStem,
  segmentFileName,
} from './commit.ts';
export { BarGrid, type BarGridOptions, parseTimeSignature } from './grid.ts';
export {
  type LateEvent,
  type Placement,
  type PlayerContext,
  PlayerSegment,
  type PlayerStats,
  type ScheduledBlock,
  StreamPlayer,
  type StreamPlayerOptions,
} from './player.ts';
export {
  BlockTimeline,
  type BlockTimelineOptions,
  exactTime,
  RENDER_QUANTUM,
  type TimelineBlock,
} from './timeline.ts';
