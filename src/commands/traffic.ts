/**
 * `mailscope traffic`: the platform's traffic over a window, as the running
 * observatory counted it: a table per provider, sending IP or pool (attempts,
 * outcomes, rates, the most frequent bounce class), then what the receivers said
 * most. Read from the store; nothing is changed.
 */
import { InvalidArgumentError } from 'commander';
import { isoTime, parseDuration } from '../core/schema.ts';
import { escapeControls } from '../core/text.ts';
import { topReasons, trafficGroupings, trafficTotals, type TrafficGrouping, type TrafficTotals } from '../store/traffic.ts';
import { type CommandContext, table } from './context.ts';

/** `--since`: a duration back from now (1h, 7d) or an ISO 8601 time. */
export function parseSince(value: string): string {
  if (parseDuration(value) === undefined && isoTime(value) === undefined)
    throw new InvalidArgumentError(`"${escapeControls(value)}" is neither a duration back from now (15m, 1h, 7d) nor an ISO 8601 time`);
  return value;
}

/** `--by`. */
export function parseBy(value: string): TrafficGrouping {
  if (!(trafficGroupings as readonly string[]).includes(value)) throw new InvalidArgumentError(`"${escapeControls(value)}" is not one of: ${trafficGroupings.join(', ')}`);
  return value as TrafficGrouping;
}

const percent = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '');

function row(totals: TrafficTotals): string[] {
  const { counts } = totals;
  const attempts = counts.delivered + counts.deferred + counts.bounced + counts.expired;
  const [topClass] = Object.entries(totals.classes).sort((a, b) => b[1] - a[1]);
  return [
    totals.key || '(unknown)',
    String(attempts),
    String(counts.delivered),
    String(counts.deferred),
    String(counts.bounced + counts.expired),
    String(counts.complained),
    percent(counts.deferred, attempts),
    percent(counts.bounced + counts.expired, attempts),
    topClass ? `${topClass[0]} (${topClass[1]})` : '',
  ].map(escapeControls);
}

export async function trafficCommand(ctx: CommandContext, options: { since: string; by: TrafficGrouping; json?: boolean; provider?: string }): Promise<void> {
  const services = ctx.services(ctx.config());
  try {
    const now = ctx.host.clock.now().getTime();
    const ago = parseDuration(options.since);
    const since = ago !== undefined ? now - ago : isoTime(options.since)!;
    const window = { since, until: now + 1, ...(options.provider ? { provider: options.provider } : {}) };
    const totals = trafficTotals(services.store, window, options.by);
    const reasons = topReasons(services.store, window, 10);
    if (options.json) {
      ctx.out(JSON.stringify({ since: new Date(since).toISOString(), until: new Date(now).toISOString(), by: options.by, rows: totals, reasons }));
      return;
    }
    if (totals.length === 0) {
      ctx.out(`no traffic counted since ${new Date(since).toISOString()}`);
      return;
    }
    ctx.out(table([[options.by.toUpperCase(), 'ATTEMPTS', 'DELIVERED', 'DEFERRED', 'BOUNCED', 'COMPLAINED', 'DEFERRAL', 'BOUNCE', 'TOP CLASS'], ...totals.map(row)]));
    if (reasons.length > 0) {
      ctx.out('\nwhat the receivers said most:');
      ctx.out(table([['COUNT', 'PROVIDER', 'CLASS', 'REPLY'], ...reasons.map((reason) => [String(reason.count), reason.provider, reason.class, reason.example].map(escapeControls))]));
    }
  } finally {
    services.close();
  }
}
