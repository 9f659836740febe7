import type { Command } from 'commander';
import { ModelRegistry } from '../../packs/index.ts';
import type { CliContext } from '../context.ts';

export function registerModels(program: Command, ctx: CliContext): void {
  const models = program
    .command('models')
    .description('list installed model packs, or show one')
    .option('--models-dir <dir...>', 'extra folders to search for model packs (also SONODIFF_MODELS)')
    .option('--json', 'print one JSON object on stdout');

  const registry = (opts: { modelsDir?: string[] }) =>
    new ModelRegistry({ dirs: (opts.modelsDir ?? []).map((d) => ctx.resolve(d)), env: ctx.io.env });

  models
    .command('list', { isDefault: true })
    .description('list installed models')
    .action(async () => {
      const opts = models.opts<{ modelsDir?: string[]; json?: boolean }>();
      const reg = registry(opts);
      const packs = await reg.list();
      const problems = await reg.problems();
      if (opts.json) {
        ctx.json({
          models: packs.map((p) => ({
            id: p.manifest.id,
            version: p.manifest.version,
            task: p.manifest.task,
            representation: p.manifest.representation,
            sampleRate: p.manifest.sampleRate,
            dir: p.dir,
          })),
          problems,
          searchPath: reg.searchPath,
        });
        return;
      }
      if (packs.length === 0) ctx.log(`no models found (searched ${reg.searchPath.join(', ')})`);
      for (const p of packs) {
        const m = p.manifest;
        ctx.io.stdout.write(
          `${m.id}\t${m.version}\t${m.task}\t${m.representation}\t${m.sampleRate} Hz\t${m.card.summary}\n`,
        );
      }
      for (const p of problems) ctx.log(`warning: ${p.error}`);
    });

  models
    .command('info <id>')
    .description('show a model pack: manifest and card')
    .action(async (id: string) => {
      const opts = models.opts<{ modelsDir?: string[]; json?: boolean }>();
      const pack = await registry(opts).get(id);
      if (opts.json) {
        ctx.json({ ...pack.manifest, dir: pack.dir });
        return;
      }
      const m = pack.manifest;
      const lines = [
        `${m.id} ${m.version} (${m.licence})`,
        m.card.summary,
        `task: ${m.task}, ${m.representation}, ${m.sampleRate} Hz, ${m.channels} channel(s)`,
        `defaults: sampler ${m.defaults.sampler}, ${m.defaults.steps} steps${m.defaults.guidance !== undefined ? `, guidance ${m.defaults.guidance}` : ''}`,
        m.conditioning?.classes ? `classes: ${m.conditioning.classes.join(', ')}` : '',
        m.conditioning?.tags ? `tags: ${m.conditioning.tags.join(', ')}` : '',
        ...Object.entries(m.conditioning?.controls ?? {}).map(([k, c]) =>
          c.type === 'enum' ? `--${k}: one of ${c.values.join(', ')}` : `--${k}: ${c.min}–${c.max}`,
        ),
        `architecture: ${m.card.architecture} (${m.card.parameters.toLocaleString('en')} parameters)`,
        `training: ${m.card.trainingCost}`,
        `data: ${m.card.data.join('; ')}`,
        `quality: ${Object.entries(m.card.quality)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
        `folder: ${pack.dir}`,
      ].filter(Boolean);
      ctx.io.stdout.write(`${lines.join('\n')}\n`);
    });
}
