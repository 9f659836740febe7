import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildModel, countFlops, type ModelSpec, matmulModel, parseOnnx } from '../../bench/onnx-flops.ts';

const root = path.resolve(import.meta.dirname, '../..');
const load = (rel: string) => parseOnnx(readFileSync(path.join(root, rel)));

/** Runs `bytes` in onnxruntime-node on zeros and returns the output dims (an independent shape check). */
async function ortOutputDims(
  bytes: Uint8Array,
  shapes: Record<string, number[]>,
): Promise<Record<string, number[]>> {
  const s = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [k, dims] of Object.entries(shapes))
    feeds[k] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  const out = await s.run(feeds);
  await s.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v.dims]]));
}

function single(
  op: string,
  inputs: ModelSpec['inputs'],
  attrs: Record<string, number | number[]>,
): ModelSpec {
  return {
    inputs,
    outputs: [{ name: 'y', dims: ['a', 'b', 'c', 'd'].slice(0, inputs[0]!.dims.length) }],
    nodes: [{ op, inputs: inputs.map((i) => i.name), outputs: ['y'], attrs }],
  };
}

describe('parseOnnx', () => {
  it('reads opset, nodes, inputs with dynamic axes and initializer dims', () => {
    const m = load('tests/fixtures/onnx/heavy-conv.onnx');
    expect(m.opset).toBe(17);
    expect(m.producer).toBe('pytorch');
    expect(m.nodes.map((n) => n.op)).toEqual([
      'Conv',
      'Conv',
      'Relu',
      'Conv',
      'Relu',
      'Conv',
      'Relu',
      'Conv',
    ]);
    expect(m.inputs).toEqual([{ name: 'x', elemType: 1, dims: ['batch', 1, 'time'] }]);
    const w = [...m.initializers.values()].map((t) => t.dims);
    expect(w).toContainEqual([32, 1, 9]);
    expect(w).toContainEqual([32, 32, 9]);
    expect(w).toContainEqual([1, 32, 9]);
    expect(m.nodes[0]!.attrs.get('pads')?.ints).toEqual([4, 4]);
  });
});

describe('countFlops', () => {
  it('counts the heavy-conv fixture by hand: 2 × T × (1·32·9 + 3·32·32·9 + 32·1·9)', () => {
    const m = load('tests/fixtures/onnx/heavy-conv.onnx');
    for (const [b, t] of [
      [1, 1000],
      [2, 333],
    ] as const) {
      const c = countFlops(m, { x: [b, 1, t] });
      expect(c.matmulFlops).toBe(2 * b * t * (1 * 32 * 9 + 3 * 32 * 32 * 9 + 32 * 1 * 9));
      // Bias adds of the five convs (4 × 32 + 1 channels) and three ReLUs over 32 channels.
      expect(c.otherFlops).toBe(b * t * (4 * 32 + 1 + 3 * 32));
      expect(c.outputs).toEqual({ y: [b, 1, t] });
      expect(c.byOp.get('Conv')).toEqual({ nodes: 5, flops: c.matmulFlops + b * t * (4 * 32 + 1) });
    }
  });

  it('counts a 2-D conv pack fixture: 2 × F·T × (8·4·9 + 2·8·9)', () => {
    const m = load('tests/fixtures/packs/tiny-stft-denoise/model.onnx');
    const c = countFlops(m, { sample: [1, 2, 65, 16], timestep: [1], condition: [1, 2, 65, 16] });
    expect(c.matmulFlops).toBe(898_560);
    expect(c.outputs).toEqual({ out: [1, 2, 65, 16] });
  });

  it('handles stride, padding, dilation and groups in Conv (checked against onnxruntime shapes)', async () => {
    // X [1, 8, 17, 20], W [12, 4, 3, 5] (group 2), stride 2×3, pads 1,2,1,2, dilation 1×2.
    const spec = single(
      'Conv',
      [
        { name: 'x', dims: [1, 8, 17, 20] },
        { name: 'w', dims: [12, 4, 3, 5] },
      ],
      { group: 2, strides: [2, 3], pads: [1, 2, 1, 2], dilations: [1, 2] },
    );
    const bytes = buildModel(spec);
    const c = countFlops(parseOnnx(bytes), {});
    // H: floor((17 + 2 − 3) / 2) + 1 = 9; W: floor((20 + 4 − 9) / 3) + 1 = 6.
    expect(c.outputs['y']).toEqual([1, 12, 9, 6]);
    expect(c.matmulFlops).toBe(2 * 12 * 9 * 6 * 4 * 3 * 5);
    expect((await ortOutputDims(bytes, { x: [1, 8, 17, 20], w: [12, 4, 3, 5] }))['y']).toEqual([1, 12, 9, 6]);
  });

  it('counts ConvTranspose per input pixel and follows its output size', async () => {
    // X [2, 6, 5, 7], W [6, 4, 4, 4] (C_in, C_out/g, k, k), stride 2, pads 1.
    const spec = single(
      'ConvTranspose',
      [
        { name: 'x', dims: [2, 6, 5, 7] },
        { name: 'w', dims: [6, 4, 4, 4] },
      ],
      { strides: [2, 2], pads: [1, 1, 1, 1] },
    );
    const bytes = buildModel(spec);
    const c = countFlops(parseOnnx(bytes), {});
    // out = 2·(in − 1) + 4 − 2: 10 × 14.
    expect(c.outputs['y']).toEqual([2, 4, 10, 14]);
    expect(c.matmulFlops).toBe(2 * 2 * 6 * 5 * 7 * 4 * 4 * 4);
    expect((await ortOutputDims(bytes, { x: [2, 6, 5, 7], w: [6, 4, 4, 4] }))['y']).toEqual([2, 4, 10, 14]);
  });

  it('counts MatMul with broadcast batch dims and Gemm with transposes', async () => {
    const mm = buildModel({
      inputs: [
        { name: 'a', dims: [3, 1, 5, 7] },
        { name: 'b', dims: [4, 7, 2] },
      ],
      outputs: [{ name: 'y', dims: ['p', 'q', 'r', 's'] }],
      nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }],
    });
    const c = countFlops(parseOnnx(mm), {});
    expect(c.outputs['y']).toEqual([3, 4, 5, 2]);
    expect(c.matmulFlops).toBe(2 * 12 * 5 * 7 * 2);
    expect((await ortOutputDims(mm, { a: [3, 1, 5, 7], b: [4, 7, 2] }))['y']).toEqual([3, 4, 5, 2]);

    const gemm = buildModel({
      inputs: [
        { name: 'a', dims: [9, 6] },
        { name: 'b', dims: [5, 9] },
      ],
      outputs: [{ name: 'y', dims: ['m', 'n'] }],
      nodes: [{ op: 'Gemm', inputs: ['a', 'b'], outputs: ['y'], attrs: { transA: 1, transB: 1 } }],
    });
    const g = countFlops(parseOnnx(gemm), {});
    expect(g.outputs['y']).toEqual([6, 5]);
    expect(g.matmulFlops).toBe(2 * 6 * 9 * 5);
  });

  it('builds the MatMul ceiling model that onnxruntime runs', async () => {
    const bytes = matmulModel(64);
    expect(countFlops(parseOnnx(bytes), {}).matmulFlops).toBe(2 * 64 ** 3);
    expect((await ortOutputDims(bytes, { A: [64, 64], B: [64, 64] }))['C']).toEqual([64, 64]);
  });

  it('asks for missing shapes and rejects sizes that contradict the graph', () => {
    const m = load('tests/fixtures/onnx/heavy-conv.onnx');
    expect(() => countFlops(m, {})).toThrow(/give a shape for input "x"/);
    expect(() => countFlops(m, { x: [1, 2, 100] })).toThrow(/fixed at 1/);
    expect(() => countFlops(m, { x: [1, 100] })).toThrow(/rank 3/);
  });

  // Reference figures: forward hooks on the PyTorch modules (Conv, ConvTranspose, Linear) of the
  // training code, with the same shapes; the ONNX count adds the two attention Einsums (65,536).
  it.skipIf(!existsSync(path.join(root, 'models/digits/model.onnx')))(
    'propagates the digits model (torch export with shape chains, attention Einsum, DepthToSpace)',
    () => {
      const c = countFlops(load('models/digits/model.onnx'), {
        sample: [2, 1, 64, 128],
        timestep: [2],
        class: [2],
      });
      expect(c.outputs).toEqual({ out: [2, 1, 64, 128] });
      expect(c.matmulFlops).toBe(651_919_360 + 65_536);
      expect(c.byOp.get('Einsum')).toEqual({ nodes: 2, flops: 65_536 });
    },
  );

  it.skipIf(!existsSync(path.join(root, 'models/denoise/model.onnx')))(
    'propagates the denoise model (computed Pad, Resize, ConvTranspose) at any frame count',
    () => {
      const m = load('models/denoise/model.onnx');
      const c = countFlops(m, { sample: [1, 2, 257, 256], timestep: [1], condition: [1, 2, 257, 256] });
      expect(c.outputs).toEqual({ out: [1, 2, 257, 256] });
      expect(c.matmulFlops).toBe(636_911_616);
      // Padding inside the graph: an odd frame count still comes back at its own size.
      const odd = countFlops(m, { sample: [2, 2, 257, 37], timestep: [2], condition: [2, 2, 257, 37] });
      expect(odd.outputs).toEqual({ out: [2, 2, 257, 37] });
    },
  );
});
