import * as ort from 'onnxruntime-node';
const file = process.argv[3] ?? 'models/digits/model.onnx';
const threads = Number(process.argv[2] ?? 1);
const base: any = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3 };
const variants: Record<string, any> = {
  base,
  fixed: { ...base, freeDimensionOverrides: { batch: 2, frames: 128 } },
  noArena: { ...base, enableCpuMemArena: false },
  extended: { ...base, graphOptimizationLevel: 'extended' },
  spin0: { ...base, extra: { session: { intra_op: { allow_spinning: '0' } } } },
};
const sessions: Record<string, ort.InferenceSession> = {};
for (const [k, o] of Object.entries(variants)) sessions[k] = await ort.InferenceSession.create(file, o);
const s0 = sessions.base!;
const f: Record<string, ort.Tensor> = {};
for (const m of s0.inputMetadata as any[]) { const shape = m.shape.map((d: any) => typeof d === 'number' ? d : (d === 'frames' ? 128 : 2)); const n = shape.reduce((a:number,b:number)=>a*b,1); f[m.name] = m.type === 'int64' ? new ort.Tensor('int64', new BigInt64Array(n).fill(1n), shape) : new ort.Tensor('float32', Float32Array.from({length:n},(_, i)=>Math.sin(i)), shape); }
const res: Record<string, number[]> = {};
for (let round = 0; round < 15; round++) for (const [k, s] of Object.entries(sessions)) {
  for (let i = 0; i < 3; i++) await s.run(f);
  const t = performance.now(); for (let i = 0; i < 20; i++) await s.run(f); (res[k] ??= []).push((performance.now() - t) / 20);
}
for (const [k, v] of Object.entries(res)) { v.sort((a, b) => a - b); console.log(k, 'min', v[0]!.toFixed(2), 'median', v[7]!.toFixed(2)); }
