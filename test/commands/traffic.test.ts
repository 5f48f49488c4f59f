/** `mailscope traffic`: the aggregates as a table (escaped) or JSON, from the store the observatory writes; bad options exit 2. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import { Database } from '../../src/store/database.ts';
import { TrafficService } from '../../src/traffic/service.ts';
import { cli } from '../helpers/cli.ts';
import { captureLog } from '../helpers/log.ts';
import { tempDir } from '../helpers/temp.ts';

async function project(): Promise<string> {
  const dir = tempDir();
  writeFileSync(join(dir, 'mailscope.yaml'), 'dataDir: ./data\nsources: [{ id: hook, kind: events }]\n');
  mkdirSync(join(dir, 'probes'));
  const db = Database.open(join(dir, 'data'));
  const traffic = new TrafficService({
    db,
    clock: systemClock,
    log: captureLog().log,
    providers: new Map([
      ['gmail.com', 'gmail'],
      ['outlook.com', 'outlook'],
    ]),
    settings: { campaignTag: false, reasonsKept: 5, mxLookup: false, oldestMs: 86_400_000 },
  });
  const now = new Date();
  await traffic.ingest([
    ...Array.from({ length: 6 }, () => ({ time: now, outcome: 'delivered' as const, recipientDomain: 'gmail.com', ip: '192.0.2.10', pool: 'a' })),
    ...Array.from({ length: 2 }, () => ({
      time: now,
      outcome: 'deferred' as const,
      recipientDomain: 'gmail.com',
      ip: '192.0.2.10',
      pool: 'a',
      smtpCode: 421,
      reply: '421-4.7.28 unusual rate\u001b[2J',
    })),
    { time: now, outcome: 'bounced', recipientDomain: 'outlook.com', ip: '192.0.2.11', pool: 'b', smtpCode: 550, reply: '550 5.5.0 Requested action not taken: mailbox unavailable' },
  ]);
  db.close();
  return dir;
}

describe('mailscope traffic', () => {
  it('prints a table per provider (or IP, or pool) and what the receivers said, escaped', async () => {
    const dir = await project();
    const result = await cli(['traffic'], { cwd: dir });
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^PROVIDER\s+ATTEMPTS\s+DELIVERED\s+DEFERRED\s+BOUNCED\s+COMPLAINED\s+DEFERRAL\s+BOUNCE\s+TOP CLASS$/);
    expect(lines[1]?.split(/\s{2,}/)).toEqual(['gmail', '8', '6', '2', '0', '0', '25.0%', '0.0%', 'rate_limited (2)']);
    expect(lines[2]?.split(/\s{2,}/)).toEqual(['outlook', '1', '0', '0', '1', '0', '0.0%', '100.0%', 'invalid_recipient (1)']);
    expect(result.stdout).toContain('what the receivers said most:');
    expect(result.stdout).toContain('421-4.7.28 unusual rate');
    expect(result.stdout).not.toMatch(/\u001b/);
    const byPool = await cli(['traffic', '--by', 'pool', '--since', '2h'], { cwd: dir });
    expect(
      byPool.stdout
        .split('\n')
        .slice(1, 3)
        .map((line) => line.split(/\s{2,}/)[0]),
    ).toEqual(['a', 'b']);
    const json = JSON.parse((await cli(['traffic', '--json', '--provider', 'outlook'], { cwd: dir })).stdout);
    expect(json.rows).toEqual([expect.objectContaining({ key: 'outlook', counts: { delivered: 0, deferred: 0, bounced: 1, expired: 0, complained: 0 } })]);
  });

  it.each([
    [['traffic', '--by', 'campaign'], `error: option '--by <grouping>' argument 'campaign' is invalid. "campaign" is not one of: provider, ip, pool`],
    [['traffic', '--since', 'yesterday'], `error: option '--since <when>' argument 'yesterday' is invalid. "yesterday" is neither a duration back from now (15m, 1h, 7d) nor an ISO 8601 time`],
  ])('%j exits 2: %s', async (argv, message) => {
    const dir = await project();
    const result = await cli(argv, { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(message);
  });

  it('says so when nothing was counted', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mailscope.yaml'), 'dataDir: ./data\n');
    const result = await cli(['traffic', '--since', '15m'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^no traffic counted since \d{4}-/);
  });
});
