/**
 * Input a careless operator or a hostile viewer sends: times far in the future,
 * control characters, very many controls, questions that each want a big answer.
 * Each is refused with a 400 naming the field (and nothing stored), or served
 * within bounds.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { AnswerCache } from '../../src/http/routes/controls.ts';
import { createSilence } from '../../src/store/alerts.ts';
import { insertControl } from '../../src/store/controls.ts';
import { apiRig, tcpProbeYaml } from '../helpers/api.ts';
import { closedPort } from '../helpers/servers.ts';

async function rig() {
  return apiRig({ probesYaml: tcpProbeYaml(await closedPort()) });
}

const count = (db: { statement(sql: string): { get(): unknown } }, table: string) => Number((db.statement(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);

/** The issue lines of a 400, as `in.path: message`. */
function issuesOf(body: { error: { issues?: { in: string; path: string; message: string }[]; message: string } }): string[] {
  return body.error.issues ? body.error.issues.map((issue) => `${issue.in}${issue.path ? `.${issue.path}` : ''}: ${issue.message}`) : [body.error.message];
}

describe('times and durations have a range', () => {
  it.each([
    ['100000000d', 'expires: "100000000d" is neither an ISO 8601 time nor a duration such as 2h (at most 366d)'],
    ['367d', /^expires: \d{4}-.*Z is more than a year ahead \(at most 366d\)$/],
    ['+275760-09-13T00:00:00.000Z', 'expires: "+275760-09-13T00:00:00.000Z" is neither an ISO 8601 time nor a duration such as 2h (at most 366d)'],
    ['9999-12-31T00:00:00Z', 'expires: 9999-12-31T00:00:00.000Z is more than a year ahead (at most 366d)'],
  ])('a control expiring %s: 400, nothing stored', async (expires, message) => {
    const api = await rig();
    const response = await api.request({ method: 'POST', url: '/v1/controls', as: 'operator', payload: { action: 'pause', scope: { pool: 'a' }, reason: 'x', expires } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('BAD_REQUEST');
    expect(response.json().error.message).toMatch(message);
    expect(count(api.db, 'controls')).toBe(0);
    expect(count(api.db, 'audit_log')).toBe(0);
  });

  it('a silence until 100000000d: 400, nothing stored, and the silences stay readable', async () => {
    const api = await rig();
    const response = await api.request({ method: 'POST', url: '/v1/silences', as: 'operator', payload: { matchers: { rule: 'ip-listed' }, until: '100000000d', comment: 'x' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toBe('until: "100000000d" is neither an ISO 8601 time nor a duration such as 2h (at most 366d)');
    expect(count(api.db, 'silences')).toBe(0);
    expect((await api.request({ method: 'GET', url: '/v1/silences', as: 'viewer' })).statusCode).toBe(200);
  });

  it('a silence and a control stored before the range existed (past what Date can show) are still listed', async () => {
    const api = await rig();
    const now = Date.now();
    createSilence(api.db, { matchers: { rule: 'r' }, startsAt: now, endsAt: now + 8.64e15, comment: 'old', createdBy: 'ops', createdAt: now });
    insertControl(api.db, {
      id: 'old',
      action: 'pause',
      scope: { pool: 'a' },
      reason: 'old',
      source: 'token:ops',
      createdBy: 'ops',
      createdAt: now,
      updatedAt: now,
      expiresAt: now + 8.64e15,
      keepUntilResumed: false,
    });
    const silences = await api.request({ method: 'GET', url: '/v1/silences', as: 'viewer' });
    expect(silences.statusCode).toBe(200);
    expect(silences.json().silences[0].endsAt).toBe('+275760-09-13T00:00:00.000Z');
    const controls = await api.request({ method: 'GET', url: '/v1/controls', as: 'viewer' });
    expect(controls.statusCode).toBe(200);
    expect(controls.json().controls[0].expiresAt).toBe('+275760-09-13T00:00:00.000Z');
  });
});

describe('control characters are refused, not stored', () => {
  const esc = '\u001b[2J';
  it.each([
    ['a reason with ESC', { action: 'pause', scope: { pool: 'a' }, reason: `x${esc}` }, 'body.reason: contains a control character (U+001B at position 2): write plain text on one line'],
    ['a reason with a newline', { action: 'pause', scope: { pool: 'a' }, reason: 'x\nFAKE ROW' }, 'body.reason: contains a control character (U+000A at position 2): write plain text on one line'],
    ['a reason with NUL', { action: 'pause', scope: { pool: 'a' }, reason: 'x\u0000' }, 'body.reason: contains a control character (U+0000 at position 2): write plain text on one line'],
    ['a reason with a bidi override', { action: 'pause', scope: { pool: 'a' }, reason: 'x\u202e' }, 'body.reason: contains a control character (U+202E at position 2): write plain text on one line'],
    ['a blank reason', { action: 'pause', scope: { pool: 'a' }, reason: '   ' }, 'body.reason: must not be empty'],
    ['a reason of 5,000 characters', { action: 'pause', scope: { pool: 'a' }, reason: 'x'.repeat(5_000) }, 'body.reason: at most 1000 characters'],
    [
      'a scope value with ESC',
      { action: 'pause', scope: { campaign: `spring${esc}` }, reason: 'x' },
      'body.scope.campaign: contains a control character (U+001B at position 7): write plain text on one line',
    ],
    [
      'a scope value with a newline',
      { action: 'pause', scope: { tenant: 'a\nb' }, reason: 'x' },
      'body.scope.tenant: contains a control character (U+000A at position 2): write plain text on one line',
    ],
    ['an IPv4 address that is not dotted-quad', { action: 'pause', scope: { ip: '10.1' }, reason: 'x' }, 'body.scope.ip: "10.1" is not an IP address or CIDR range'],
  ])('POST /v1/controls with %s: 400', async (_what, payload, issue) => {
    const api = await rig();
    const response = await api.request({ method: 'POST', url: '/v1/controls', as: 'operator', payload });
    expect(response.statusCode).toBe(400);
    expect(issuesOf(response.json())).toContain(issue);
    expect(count(api.db, 'controls')).toBe(0);
    expect(count(api.db, 'audit_log')).toBe(0);
  });

  it.each([
    ['a comment with ESC', { matchers: { rule: 'r' }, until: '1h', comment: `x${esc}` }, 'body.comment: contains a control character (U+001B at position 2): write plain text on one line'],
    [
      'a matcher value with a newline',
      { matchers: { target: 'a\nb' }, until: '1h', comment: 'x' },
      'body.matchers.target: contains a control character (U+000A at position 2): write plain text on one line',
    ],
    ['21 matchers', { matchers: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])), until: '1h', comment: 'x' }, 'body.matchers: at most 20 matchers'],
  ])('POST /v1/silences with %s: 400', async (_what, payload, issue) => {
    const api = await rig();
    const response = await api.request({ method: 'POST', url: '/v1/silences', as: 'operator', payload });
    expect(response.statusCode).toBe(400);
    expect(issuesOf(response.json())).toContain(issue);
    expect(count(api.db, 'silences')).toBe(0);
  });

  it('a body of 100,000 characters is refused before it is read (413)', async () => {
    const api = await rig();
    const response = await api.request({ method: 'POST', url: '/v1/controls', as: 'operator', payload: { action: 'pause', scope: { pool: 'a' }, reason: 'x'.repeat(100_000) } });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('BODY_TOO_LARGE');
    expect(count(api.db, 'controls')).toBe(0);
  });

  it('an id in a path with NUL is a 400, not a lookup', async () => {
    const api = await rig();
    const response = await api.request({ method: 'GET', url: '/v1/controls/%00', as: 'viewer' });
    expect(response.statusCode).toBe(400);
    expect(issuesOf(response.json())).toEqual(['params.id: contains a control character (U+0000 at position 1): write plain text on one line']);
  });
});

describe('lists are paged with a cursor', () => {
  it('2,500 controls come back in pages of 1,000, each once, newest first; the last page says there is no more', async () => {
    const api = await rig();
    const now = Date.now();
    api.db.transaction(() => {
      // Many share a creation time: the cursor must still split them exactly.
      for (let i = 0; i < 2_500; i++) {
        insertControl(api.db, {
          id: `c${String(i).padStart(4, '0')}`,
          action: 'pause',
          scope: { campaign: `c${i}` },
          reason: 'x',
          source: 'token:ops',
          createdBy: 'ops',
          createdAt: now + Math.floor(i / 7),
          updatedAt: now,
          keepUntilResumed: false,
        });
      }
    });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await api.request({ method: 'GET', url: `/v1/controls?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, as: 'viewer' });
      expect(response.statusCode).toBe(200);
      const body = response.json() as { controls: { id: string }[]; next?: string };
      seen.push(...body.controls.map((control) => control.id));
      cursor = body.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(2_500);
    expect(new Set(seen).size).toBe(2_500);
    expect(seen[0]).toBe('c2499');
    expect(seen.at(-1)).toBe('c0000');
  });

  it('the audit log, alerts, notifications, silences, runs and observations page the same way', async () => {
    const api = await rig();
    const now = Date.now();
    for (let i = 0; i < 5; i++) createSilence(api.db, { matchers: { rule: `r${i}` }, startsAt: now, endsAt: now + 3_600_000, comment: 'x', createdBy: 'ops', createdAt: now });
    for (let i = 0; i < 5; i++) api.controls.create({ action: 'pause', scope: { pool: `p${i}` }, reason: 'x', source: 'token:ops', actor: 'ops' });
    for (const path of ['/v1/silences', '/v1/audit', '/v1/controls']) {
      const first = (await api.request({ method: 'GET', url: `${path}?limit=2`, as: 'viewer' })).json() as Record<string, unknown> & { next?: string };
      const key = Object.keys(first).find((name) => name !== 'next')!;
      const all = (await api.request({ method: 'GET', url: `${path}?limit=100`, as: 'viewer' })).json() as Record<string, { id: string | number }[]>;
      const paged: (string | number)[] = [...(first[key] as { id: string | number }[]).map((row) => row.id)];
      let next = first.next;
      while (next) {
        const page = (await api.request({ method: 'GET', url: `${path}?limit=2&cursor=${next}`, as: 'viewer' })).json() as Record<string, unknown> & { next?: string };
        paged.push(...(page[key] as { id: string | number }[]).map((row) => row.id));
        next = page.next;
      }
      expect(paged, path).toEqual(all[key]!.map((row) => row.id));
      expect(paged.length, path).toBe(5);
    }
    for (const path of ['/v1/runs', '/v1/observations', '/v1/alerts', '/v1/notifications', '/v1/outbox/quarantine']) {
      const empty = await api.request({ method: 'GET', url: `${path}?limit=1`, as: 'viewer' });
      expect(empty.statusCode, path).toBe(200);
      expect(empty.json().next, path).toBeUndefined();
      const bad = await api.request({ method: 'GET', url: `${path}?cursor=${Buffer.from('["x",1]').toString('base64url')}`, as: 'viewer' });
      expect(bad.statusCode, path).toBe(400);
    }
  });
});

/** The engine's garbage collector, for a memory measurement that means something. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

describe('the policy answer stays small and its cache bounded', () => {
  it('2,000 campaign-scoped controls: an answer without the campaign lists 10 and counts the rest; explain=true lists them all', async () => {
    const api = await rig();
    api.db.transaction(() => {
      for (let i = 0; i < 2_000; i++) {
        api.controls.createWithin({
          action: i % 2 ? 'pause' : 'throttle',
          ...(i % 2 ? {} : { ratePerMinute: 1_000 - (i % 500) }),
          scope: { campaign: `spring-${i}` },
          reason: `campaign ${i} complaints`,
          source: 'token:ops',
          actor: 'ops',
        });
      }
    });
    api.controls.reload();
    const answer = await api.request({ method: 'GET', url: '/v1/policy?ip=192.0.2.1&rcpt_domain=gmail.com', as: 'viewer' });
    expect(answer.statusCode).toBe(200);
    expect(answer.body.length).toBeLessThan(2_000);
    const body = answer.json();
    expect(body).toMatchObject({ action: 'allow', controls: [], unsureCount: 2_000, missing: ['campaign'] });
    expect(body.unsure).toHaveLength(10);
    // Pauses first: under failMode closed they are what the answer would rest on.
    const byId = new Map(api.controls.active.map((control) => [control.id, control]));
    expect(body.unsure.every((entry: { id: string }) => byId.get(entry.id)?.action === 'pause')).toBe(true);
    const explained = await api.request({ method: 'GET', url: '/v1/policy?ip=192.0.2.1&rcpt_domain=gmail.com&explain=true', as: 'viewer' });
    expect(explained.json().unsure).toHaveLength(2_000);
  });

  it('3,000 distinct questions take a few MiB more than one question asked 3,000 times (the answers are bounded in bytes)', async () => {
    const api = await rig();
    api.logs.log.level = 'warn';
    api.db.transaction(() => {
      for (let i = 0; i < 2_000; i++)
        api.controls.createWithin({ action: 'pause', scope: { campaign: `spring-${i}` }, reason: `campaign ${i} ${'complaints '.repeat(20)}`, source: 'token:ops', actor: 'ops' });
    });
    api.controls.reload();
    /** Heap growth over 3,000 questions, once garbage is collected. */
    const growth = async (url: (i: number) => string) => {
      collectGarbage();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 3_000; i++) {
        const response = await api.request({ method: 'GET', url: url(i), as: 'viewer' });
        if (response.statusCode !== 200) throw new Error(response.body);
      }
      collectGarbage();
      return (process.memoryUsage().heapUsed - before) / 1024 / 1024;
    };
    const same = await growth(() => '/v1/policy?ip=192.0.2.1');
    const distinct = await growth((i) => `/v1/policy?ip=192.0.${Math.floor(i / 250)}.${i % 250}`);
    // Kept answers are under 2 KB each and 8 MiB in all; before, each of these answers was 138 KB and all were kept (400 MiB).
    expect(distinct - same).toBeLessThan(24);
  });

  it('the cache forgets the oldest answers past its byte or entry bound', () => {
    const cache = new AnswerCache({ entries: 100, bytes: 10_000 });
    for (let i = 0; i < 50; i++) cache.set(`q${i}`, 'x'.repeat(998));
    expect(cache.stats.bytes).toBeLessThanOrEqual(10_000);
    expect(cache.get('q0')).toBeUndefined();
    expect(cache.get('q49')).toBe('x'.repeat(998));
    cache.set('huge', 'x'.repeat(20_000));
    expect(cache.get('huge')).toBeUndefined();
    for (let i = 0; i < 500; i++) cache.set(`s${i}`, 'y');
    expect(cache.stats.entries).toBe(100);
    cache.set('s499', 'z'.repeat(50));
    expect(cache.stats.entries).toBe(100);
    expect(cache.stats.bytes).toBe(99 * 5 + 4 + 50);
  });
});
