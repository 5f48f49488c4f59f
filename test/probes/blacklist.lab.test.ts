import { describe, expect, it } from 'vitest';
import type { Observation } from '../../src/core/observation.ts';
import { blacklist } from '../../src/probes/blacklist.ts';
import { labCatalog } from '../lab/dnsbl.ts';
import { probeContext } from '../helpers/lab.ts';

function config(extra: Record<string, unknown>) {
  return blacklist.configSchema.parse({ id: 'bl', kind: 'blacklist', schedule: '* * * * *', ...extra });
}

const pairs = (observations: Observation[]) => observations.filter((o) => o.measurement === 'blacklist');
const pair = (observations: Observation[], target: string, list: string) => pairs(observations).find((o) => o.tags.target === target && o.tags.list === list);

describe('blacklist probe against the lab’s rbldnsd (through the lab resolver)', () => {
  it('finds the listed pool on two codes with their TXT reasons, and the clean pool not listed', async () => {
    const observations = await blacklist.run(config({ targets: ['127.0.0.11', '127.0.0.10'], lists: ['lab-zen'] }), probeContext(undefined, { blocklists: labCatalog }));
    expect(pair(observations, '127.0.0.11', 'lab-zen')).toMatchObject({
      tags: { target: '127.0.0.11', target_kind: 'ip', list: 'lab-zen' },
      fields: {
        status: 'listed',
        listed: true,
        codes: '127.0.0.2,127.0.0.4',
        meanings: 'lab SBL: spam source; lab XBL: exploited host',
        reason: expect.stringMatching(/^Listed in lab (SBL|XBL) .*127\.0\.0\.11 \/ Listed in lab (SBL|XBL) .*127\.0\.0\.11$/),
        delist_url: 'https://dnsbl.test/delist',
      },
    });
    expect(pair(observations, '127.0.0.10', 'lab-zen')?.fields).toMatchObject({ status: 'not_listed', listed: false });
    expect(pair(observations, '127.0.0.10', 'lab-zen')?.fields).not.toHaveProperty('reason');
    expect(observations.filter((o) => o.measurement === 'blacklist_list')).toEqual([
      { measurement: 'blacklist_list', tags: { list: 'lab-zen' }, fields: { healthy: true, test_ms: expect.any(Number) }, time: expect.any(Date) },
    ]);
    expect(observations.find((o) => o.measurement === 'blacklist_target' && o.tags.target === '127.0.0.11')?.fields).toEqual({
      lists_checked: 1,
      listed_count: 1,
      error_count: 0,
      listed_on: 'lab-zen',
    });
  });

  it('checks IPv6 addresses (nibble names) and domains on the lists that take them', async () => {
    const observations = await blacklist.run(
      config({ targets: ['2001:db8::bad', '2001:db8::1', 'spammy-brand.test', 'phish.test', 'sender.test'], lists: ['lab-zen', 'lab-dbl'] }),
      probeContext(undefined, { blocklists: labCatalog }),
    );
    expect(
      pairs(observations)
        .map((o) => `${o.tags.target} ${o.tags.list} ${o.fields.status} ${o.fields.codes ?? ''}`)
        .sort(),
    ).toEqual([
      '2001:db8::1 lab-zen not_listed ',
      '2001:db8::bad lab-zen listed 127.0.0.2',
      'phish.test lab-dbl listed 127.0.1.4',
      'sender.test lab-dbl not_listed ',
      'spammy-brand.test lab-dbl listed 127.0.1.2',
    ]);
    expect(pair(observations, 'phish.test', 'lab-dbl')?.fields.meanings).toBe('lab DBL: phishing domain');
  });

  it('expands a range, tagging each address with it', async () => {
    const observations = await blacklist.run(config({ targets: ['198.51.100.4/30', '198.51.100.8/30'], lists: ['lab-zen'], txtReasons: false }), probeContext(undefined, { blocklists: labCatalog }));
    const rows = pairs(observations).map((o) => [o.tags.target, o.tags.range, o.fields.status]);
    expect(rows.sort()).toEqual([
      ['198.51.100.10', '198.51.100.8/30', 'not_listed'],
      ['198.51.100.11', '198.51.100.8/30', 'not_listed'],
      ['198.51.100.4', '198.51.100.4/30', 'listed'],
      ['198.51.100.5', '198.51.100.4/30', 'listed'],
      ['198.51.100.6', '198.51.100.4/30', 'listed'],
      ['198.51.100.7', '198.51.100.4/30', 'listed'],
      ['198.51.100.8', '198.51.100.8/30', 'not_listed'],
      ['198.51.100.9', '198.51.100.8/30', 'not_listed'],
    ]);
    expect(pair(observations, '198.51.100.5', 'lab-zen')?.fields).toMatchObject({ codes: '127.0.0.10', meanings: 'lab PBL: end-user range' });
  });
});
