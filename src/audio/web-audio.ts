/**
 * node-web-audio-api, loaded on first use: its native module probes the sound system when it
 * loads (and complains on stderr without one), which commands that never touch audio devices or
 * compressed files should not pay for.
 */
type WebAudioModule = typeof import('node-web-audio-api');

let loading: Promise<WebAudioModule> | undefined;

export function webAudio(): Promise<WebAudioModule> {
  loading ??= import('node-web-audio-api');
  return loading;
}
