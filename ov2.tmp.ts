import * as ort from 'onnxruntime-node';
import { GeneratePipeline, Runtime, loadPack, ModelPipeline } from './src/index.ts';
const threads = Number(process.argv[2] ?? 1);
const rt = new Runtime();
const pack = await loadPack('models/digits');
const gen = await GeneratePipeline.load(pack, rt, { device: 'cpu', cpu: { intraOpThreads: threads } });
const stats = () => ModelPipeline.prototype.modelStats.call(gen);
let samp = 0;
for (let r = 0; r < 8; r++) {
  const b = stats(); let s = 0;
  for await (const _ of gen.generate({ className: 'seven', seed: r, steps: 10, sampler: 'euler', onEvent: (e) => { if (e.type === 'done') s = e.elapsedMs; } })) {}
  const a = stats();
  if (r > 0) console.log('calls', a.calls - b.calls, 'ms/call', ((a.totalMs - b.totalMs) / (a.calls - b.calls)).toFixed(2), 'sampling ms', s.toFixed(1));
}
await gen.dispose(); await rt.dispose();
