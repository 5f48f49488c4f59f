/**
 * `mailscope probe list` and `mailscope probe run <id>`: the probe definitions,
 * and one probe run now, recorded as the observatory records it (its rules
 * evaluated, their control actions written), its observations printed. Exit 0
 * ok (a service measured as down is a finding), 1 the probe could not measure,
 * 2 bad config.
 */
import type { Observation } from '../core/observation.ts';
import { escapeControls } from '../core/text.ts';
import { exitCodes, ExitError, table, type CommandContext } from './context.ts';

function formatFields(record: Record<string, unknown>): string {
  return (
    Object.entries(record)
      // Values a peer sent (a banner, a DNS record) are shown escaped: they cannot drive the terminal.
      .map(([key, value]) => `${key}=${typeof value === 'string' && /[\s"=]/.test(value) ? escapeControls(JSON.stringify(value)) : escapeControls(String(value))}`)
      .join(' ')
  );
}

function observationLine(observation: Observation): string {
  return `${observation.measurement}  ${formatFields(observation.tags)}  ${formatFields(observation.fields)}`;
}

export function probeList(ctx: CommandContext, options: { json?: boolean }): void {
  const config = ctx.config();
  if (options.json) {
    for (const { definition, file } of config.probes) ctx.out(JSON.stringify({ ...definition, file }));
    return;
  }
  if (config.probes.length === 0) {
    ctx.out('no probes defined');
    return;
  }
  const rows = [['ID', 'KIND', 'SCHEDULE', 'TIMEOUT', 'ENABLED', 'FILE']];
  for (const { definition, file } of config.probes) {
    rows.push([definition.id, definition.kind, definition.schedule, `${definition.timeout}ms`, String(definition.enabled), file]);
  }
  ctx.out(table(rows));
}

export async function probeRun(ctx: CommandContext, id: string, options: { json?: boolean }): Promise<void> {
  const config = ctx.config();
  const loaded = config.probes.find((probe) => probe.definition.id === id);
  if (!loaded) {
    const known = config.probes.map((probe) => probe.definition.id).join(', ') || 'none defined';
    throw new ExitError(exitCodes.badConfig, `no probe "${id}" (known: ${known})`);
  }
  // Rules are evaluated as in `mailscope run`; what they queue is delivered by the running observatory.
  // So are rules' control actions: the controls are written here, pushed and enforced there.
  const services = ctx.services(config);
  try {
    const { runner } = services;
    const { shutdown } = ctx.host;
    const onShutdown = () => void runner.stop();
    shutdown.addEventListener('abort', onShutdown, { once: true });
    const completed = await runner.run(loaded.definition, 'cli');
    shutdown.removeEventListener('abort', onShutdown);
    if (options.json) {
      for (const observation of completed.observations) ctx.out(JSON.stringify(observation));
    } else {
      const status = completed.success ? 'ok' : `FAILED ${completed.error?.code}: ${completed.error?.message}`;
      ctx.out(`${id} (${loaded.definition.kind}): ${status} in ${Math.round(completed.run.durationMs)} ms, run ${completed.runId}`);
      for (const observation of completed.observations) ctx.out(`  ${observationLine(observation)}`);
    }
    if (!completed.success) throw new ExitError(exitCodes.failed, '');
  } finally {
    services.close();
  }
}
