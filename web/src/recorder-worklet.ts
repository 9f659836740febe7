/**
 * Output tap (an AudioWorklet): copies what reaches the speakers, render quantum by render
 * quantum, and posts it to the page in batches. The studio's capture (studio.capture in the
 * console) records exactly what played; the end-to-end test reads it back to prove no gaps.
 */

declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, ctor: new () => AudioWorkletProcessor): void;

class CaptureProcessor extends AudioWorkletProcessor {
  private on = false;
  private parts: Float32Array[] = [];
  private frames = 0;

  constructor() {
    super();
    this.port.onmessage = (e: MessageEvent<{ capture: boolean }>) => {
      this.on = e.data.capture;
      if (!this.on) this.flush();
    };
  }

  private flush(): void {
    if (this.frames === 0) return;
    const out = new Float32Array(this.frames);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    this.parts = [];
    this.frames = 0;
    this.port.postMessage(out, [out.buffer]);
  }

  // Created with no outputs: an automatic-pull node, rendered without reaching the destination.
  process(inputs: Float32Array[][]): boolean {
    const ch = inputs[0]?.[0];
    if (this.on) {
      // An unconnected input reports no channels: that quantum was silence.
      const block = ch ? ch.slice() : new Float32Array(128);
      this.parts.push(block);
      this.frames += block.length;
      if (this.frames >= 16384) this.flush();
    }
    return true;
  }
}

registerProcessor('sonodiff-capture', CaptureProcessor);
