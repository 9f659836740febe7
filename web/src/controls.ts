/** Builds a model's conditioning controls (classes, tags, numeric and enum controls) from /api/models. */

export type ControlSpec =
  | { type: 'number' | 'integer'; min: number; max: number; default?: number; description?: string }
  | { type: 'enum'; values: string[]; default?: string; description?: string };

export interface ModelInfo {
  id: string;
  version: string;
  task: 'generate' | 'denoise' | 'vocode';
  sampleRate: number;
  channels: number;
  windowSeconds: number;
  conditioning: {
    classes?: string[];
    tags?: string[];
    controls?: Record<string, ControlSpec>;
    nullClass?: number;
  };
  defaults: { sampler?: string; steps?: number; guidance?: number; seconds?: number; strength?: number };
  card?: { summary?: string };
}

export interface Conditioning {
  className?: string;
  tags?: string[];
  controls?: Record<string, number | string>;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

export { el };

/** Fills `host` with the controls of `model`; returns a reader of their current values. */
export function buildConditioning(host: HTMLElement, model: ModelInfo): () => Conditioning {
  host.replaceChildren();
  const c = model.conditioning ?? {};
  const readers: Array<(out: Conditioning) => void> = [];
  if (c.classes?.length) {
    const select = el('select', { id: 'gen-class', name: 'class' });
    for (const name of c.classes) select.append(el('option', { value: name, textContent: name }));
    host.append(el('label', { className: 'field' }, el('span', { textContent: 'Class' }), select));
    readers.push((out) => {
      if (select.value !== '') out.className = select.value;
    });
  }
  if (c.tags?.length) {
    const box = el('div', { className: 'chips', id: 'gen-tags' });
    for (const t of c.tags) {
      const input = el('input', { type: 'checkbox', value: t });
      box.append(el('label', { className: 'chip' }, input, el('span', { textContent: t })));
    }
    host.append(el('div', { className: 'field' }, el('span', { textContent: 'Tags' }), box));
    readers.push((out) => {
      const on = [...box.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value);
      if (on.length) out.tags = on;
    });
  }
  for (const [name, spec] of Object.entries(c.controls ?? {})) {
    const title = spec.description ?? name;
    if (spec.type === 'enum') {
      const select = el('select', { name, title });
      for (const v of spec.values) select.append(el('option', { value: v, textContent: v }));
      if (spec.default !== undefined) select.value = spec.default;
      host.append(el('label', { className: 'field' }, el('span', { textContent: name }), select));
      readers.push((out) => {
        out.controls = { ...(out.controls ?? {}), [name]: select.value };
      });
    } else {
      const step = spec.type === 'integer' ? 1 : (spec.max - spec.min) / 200;
      const value = String(
        spec.default ??
          (spec.type === 'integer' ? Math.round((spec.min + spec.max) / 2) : (spec.min + spec.max) / 2),
      );
      const range = el('input', {
        type: 'range',
        min: String(spec.min),
        max: String(spec.max),
        step: String(step),
        value,
        title,
      });
      const num = el('input', {
        type: 'number',
        min: String(spec.min),
        max: String(spec.max),
        step: String(step),
        value,
        className: 'num',
      });
      range.addEventListener('input', () => (num.value = range.value));
      num.addEventListener('input', () => (range.value = num.value));
      host.append(
        el(
          'label',
          { className: 'field' },
          el('span', { textContent: name }),
          el('div', { className: 'slider' }, range, num),
        ),
      );
      readers.push((out) => {
        out.controls = { ...(out.controls ?? {}), [name]: Number(num.value) };
      });
    }
  }
  return () => {
    const out: Conditioning = {};
    for (const r of readers) r(out);
    return out;
  };
}
