// Parity and speed check of models/denoise/model.onnx from Node (onnxruntime-node, 2 threads).
// Parity: compares with the PyTorch output dumped by `python3 -m training.denoise.export --parity DIR`.
// Speed: times the model calls of the default sampler on a 10 s input (1251 frames).
// Run: node training/denoise/onnx_check.mjs models/denoise/model.onnx training/runs/denoise/parity [steps]
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [modelPath, parityDir, stepsArg] = process.argv.slice(2);
const steps = Number(stepsArg ?? 4);
const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 2, interOpNumThreads: 1 });
const f32 = (p) => {
  const b = readFileSync(p);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const meta = JSON.parse(readFileSync(`${parityDir}/meta.json`, 'utf8'));
for (const c of meta.cases) {
  const shape = [c.batch, 2, 257, c.frames];
  const feeds = {
    sample: new ort.Tensor('float32', f32(`${parityDir}/${c.name}_sample.f32`), shape),
    timestep: new ort.Tensor('float32', new Float32Array(c.sigmas), [c.batch]),
    condition: new ort.Tensor('float32', f32(`${parityDir}/${c.name}_condition.f32`), shape),
  };
  const out = (await session.run(feeds)).out;
  const ref = f32(`${parityDir}/${c.name}_out.f32`);
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - out.data[i]));
  console.log(`parity ${c.name} shape [${out.dims}] max |onnx - torch| = ${maxDiff.toExponential(2)}`);
}
const frames = 1251;
const n = 2 * 257 * frames;
const x = new Float32Array(n).map(() => (Math.random() - 0.5) * 0.1);
const feeds = {
  sample: new ort.Tensor('float32', x, [1, 2, 257, frames]),
  timestep: new ort.Tensor('float32', new Float32Array([0.05]), [1]),
  condition: new ort.Tensor('float32', x.slice(), [1, 2, 257, frames]),
};
await session.run(feeds);
const runs = [];
for (let r = 0; r < 5; r++) {
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) await session.run(feeds);
  runs.push(performance.now() - t0);
}
runs.sort((a, b) => a - b);
const med = runs[2];
console.log(`speed: 10 s input, ${steps} model calls: median ${med.toFixed(0)} ms (min ${runs[0].toFixed(0)} ms) -> ${(10000 / med).toFixed(1)}x real time (best ${(10000 / runs[0]).toFixed(1)}x)`);
