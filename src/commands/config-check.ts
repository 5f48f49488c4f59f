/** `mailscope config check`: the configuration and every probe file validated, without side effects; a summary of what they define. */
import type { CommandContext } from './context.ts';

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

export function configCheck(ctx: CommandContext): void {
  const config = ctx.config();
  const kinds = new Map<string, number>();
  for (const { definition } of config.probes) kinds.set(definition.kind, (kinds.get(definition.kind) ?? 0) + 1);
  const byKind = [...kinds].map(([kind, count]) => `${kind}: ${count}`).join(', ');
  const files = config.probeFiles.length === 1 ? '1 file' : `${config.probeFiles.length} files`;
  const alerting = config.rules.length > 0 || config.instance.notifiers.length > 0 ? `, ${plural(config.rules.length, 'alert rule')}, ${plural(config.instance.notifiers.length, 'notifier')}` : '';
  const sources = config.instance.sources.length > 0 ? `, ${plural(config.instance.sources.length, 'source')} (${config.instance.sources.map((source) => source.kind).join(', ')})` : '';
  ctx.out(`configuration ok: ${plural(config.probes.length, 'probe')} in ${files}${byKind ? ` (${byKind})` : ''}${alerting}${sources}, ${plural(config.instance.tokens.length, 'API token')}`);
}
