/**
 * The lab's own smoke test: with real traffic, every server does what the tests
 * and the demo rely on.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { delist, list, queryName } from './dnsbl.ts';
import { labKeys } from './keys.ts';
import { findMessages, imapClient, submit, waitForMessage } from './mail.ts';
import { dnsbl, lab, sender } from './plan.ts';
import { runningPid } from './processes.ts';
import { labPaths, resolverAt } from './service.ts';
import { postfix } from './services/mta.ts';
import { labZones } from './zones.ts';

const resolver = () => resolverAt(lab.resolver.host, lab.resolver.port);
const token = () => `lab-${randomUUID()}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function dnsCode(query: Promise<unknown>): Promise<string> {
  try {
    await query;
    return 'answered';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'error';
  }
}

/** Polls the DNSBL through the lab resolver until the name is (or is no longer) listed; returns how long it took. */
async function untilListed(name: string, listed: boolean, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const code = await dnsCode(resolver().resolve4(name));
    if ((code === 'answered') === listed) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${name} still ${listed ? 'not listed' : 'listed'} after ${timeoutMs} ms`);
    await sleep(200);
  }
}

function authResults(headers: string): string {
  return headers
    .split(/\r?\n(?=\S)/)
    .filter((line) => /^Authentication-Results:/i.test(line))
    .map((line) => line.replace(/\s+/g, ' '))
    .join('\n');
}

describe('lab: DNS', () => {
  const zones = labZones(labKeys());

  it('answers every record of every zone through the resolver', async () => {
    const problems: string[] = [];
    const r = resolver();
    for (const zone of zones) {
      for (const record of zone.records) {
        const where = `${record.name} ${record.type}`;
        try {
          if (record.type === 'A') {
            if (!(await r.resolve4(record.name)).includes(String(record.value))) problems.push(`${where}: no ${record.value}`);
          } else if (record.type === 'AAAA') {
            if (!(await r.resolve6(record.name)).includes(String(record.value))) problems.push(`${where}: no ${record.value}`);
          } else if (record.type === 'MX') {
            const [priority, exchange] = String(record.value).split(' ');
            if (!(await r.resolveMx(record.name)).some((mx) => mx.exchange === exchange && mx.priority === Number(priority))) problems.push(`${where}: no ${record.value}`);
          } else if (record.type === 'TXT') {
            const wanted = (record.value as string[]).join('');
            if (!(await r.resolveTxt(record.name)).some((chunks) => chunks.join('') === wanted)) problems.push(`${where}: no "${wanted.slice(0, 40)}…"`);
          } else if (record.type === 'PTR') {
            if (!(await r.resolvePtr(record.name)).includes(String(record.value))) problems.push(`${where}: no ${record.value}`);
          }
        } catch (error) {
          problems.push(`${where}: ${(error as NodeJS.ErrnoException).code}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(zones.reduce((sum, zone) => sum + zone.records.length, 0)).toBeGreaterThan(60);
  });

  it('splits the 2048-bit DKIM key record into strings of at most 255 characters', async () => {
    const [chunks] = await resolver().resolveTxt(`${sender.dkimSelector}._domainkey.${sender.domain}`);
    expect(chunks!.length).toBeGreaterThan(1);
    expect(Math.max(...chunks!.map((chunk) => chunk.length))).toBeLessThanOrEqual(255);
    expect(chunks!.join('')).toMatch(/^v=DKIM1; k=rsa; p=MIIBIjAN/);
  });

  it('has no PTR for the unsigned pool, and a PTR that does not confirm for 127.0.0.13', async () => {
    expect(await dnsCode(resolver().reverse(sender.pools.unsigned.source))).toBe('ENOTFOUND');
    expect(await resolver().reverse('127.0.0.13')).toEqual(['stray.sender.test']);
    expect(await resolver().resolve4('stray.sender.test')).toEqual(['127.0.0.99']);
  });

  it('answers NXDOMAIN for unknown lab names and never looks beyond the lab', async () => {
    expect(await dnsCode(resolver().resolve4('nothing-here.sender.test'))).toBe('ENOTFOUND');
    expect(await dnsCode(resolver().resolve4('nothing-here.test'))).toBe('ENOTFOUND');
    expect(await dnsCode(resolver().resolve4('example.com'))).toBe('ENOTFOUND');
    expect(await dnsCode(resolver().resolveMx('gmail.com'))).toBe('ENOTFOUND');
  });

  it('gives the lab daemons the lab resolver, in their own mount namespace only', () => {
    const paths = labPaths();
    const pid = runningPid(postfix.start({ paths, keys: labKeys() }).pidFile, postfix.processMatch);
    expect(pid).toBeDefined();
    const theirs = readFileSync(`/proc/${pid}/root/etc/resolv.conf`, 'utf8');
    expect(theirs).toBe(readFileSync(join(paths.etc, 'resolv.conf'), 'utf8'));
    expect(theirs).toMatch(/^nameserver 127\.0\.0\.1$/m);
    expect(readFileSync('/etc/resolv.conf', 'utf8')).not.toBe(theirs);
  });
});

describe('lab: DNSBLs', () => {
  it('answers the RFC 5782 test points: 127.0.0.2 / ::FFFF:7F00:2 / TEST listed, 127.0.0.1 / INVALID not', async () => {
    expect(await resolver().resolve4(queryName('127.0.0.2'))).toContain('127.0.0.2');
    expect(await dnsCode(resolver().resolve4(queryName('127.0.0.1')))).toBe('ENOTFOUND');
    expect(await resolver().resolve4(queryName('::ffff:7f00:2'))).toEqual(['127.0.0.2']);
    expect(await dnsCode(resolver().resolve4(queryName('::ffff:7f00:1')))).toBe('ENOTFOUND');
    expect(await resolver().resolve4(queryName('test'))).toEqual(['127.0.1.2']);
    expect(await dnsCode(resolver().resolve4(queryName('invalid')))).toBe('ENOTFOUND');
  });

  it('lists the listed pool with two codes, each with its TXT reason', async () => {
    const name = queryName(sender.pools.listed.source);
    expect((await resolver().resolve4(name)).sort()).toEqual([...dnsbl.listedPoolCodes].sort());
    expect((await resolver().resolveTxt(name)).map((chunks) => chunks.join('')).sort()).toEqual([
      'Listed in lab SBL (spam source), see https://dnsbl.test/sbl?ip=127.0.0.11',
      'Listed in lab XBL (exploited host), see https://dnsbl.test/xbl?ip=127.0.0.11',
    ]);
    expect(await dnsCode(resolver().resolve4(queryName(sender.pools.clean.source)))).toBe('ENOTFOUND');
  });

  it('lists and delists an IP, an IPv6 address and a domain within seconds', async () => {
    const ip = '192.0.2.77';
    const domain = `listed-${Date.now()}.test`;
    const ipv6 = '2001:db8::77';
    const ipv6Name = queryName(ipv6);
    expect(ipv6Name).toBe(`7.7.0.0${'.0'.repeat(20)}.8.b.d.0.1.0.0.2.${dnsbl.ipZone}`);
    await Promise.all([list(ip), list(domain), list(ipv6)]);
    const listedIn = await Promise.all([untilListed(queryName(ip), true), untilListed(queryName(domain), true), untilListed(ipv6Name, true)]);
    expect(await resolver().resolveTxt(queryName(ip))).toEqual([['Listed by a lab test, see https://dnsbl.test/sbl?ip=192.0.2.77']]);
    await Promise.all([delist(ip), delist(domain), delist(ipv6)]);
    const delistedIn = await Promise.all([untilListed(queryName(ip), false), untilListed(queryName(domain), false), untilListed(ipv6Name, false)]);
    // Within seconds: rbldnsd rereads every second, the resolver caches answers for at most 5 s.
    for (const ms of [...listedIn, ...delistedIn]) expect(ms).toBeLessThan(15_000);
  });
});

describe('lab: mail through the routing engine to the seed providers', () => {
  it('delivers a clean message to INBOX with dkim=pass spf=pass dmarc=pass', async () => {
    const id = token();
    const sent = await submit('clean', { to: 'seed1@gmail.test', subject: 'clean', text: 'A plain, honest message.', headers: { 'X-Lab-Token': id } });
    expect(sent.response).toMatch(/^250 /);
    const found = await waitForMessage('seed1@gmail.test', { header: { 'X-Lab-Token': id } });
    expect(found.mailbox).toBe('INBOX');
    const results = authResults(found.headers);
    expect(results).toMatch(/mx\.lab\.test; dkim=pass .*header\.d=sender\.test .*header\.s=lab2026/);
    expect(results).toMatch(/mx\.lab\.test; spf=pass .*smtp\.mailfrom=sender\.test .*client-ip=127\.0\.0\.10/);
    expect(results).toMatch(/mx\.lab\.test; dmarc=pass .*header\.from=sender\.test/);
  });

  it('files GTUBE in Junk', async () => {
    const id = token();
    await submit('clean', {
      to: 'seed2@gmail.test',
      subject: 'gtube',
      text: 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X',
      headers: { 'X-Lab-Token': id },
    });
    const found = await waitForMessage('seed2@gmail.test', { header: { 'X-Lab-Token': id } });
    expect([found.mailbox, found.specialUse]).toEqual(['Junk', '\\Junk']);
    expect(found.headers).toMatch(/^X-Spam-Flag: YES/m);
  });

  it('files bulk mail (List-Unsubscribe) in Promotions at the gmail-like provider', async () => {
    const id = token();
    await submit('clean', {
      to: 'seed1@gmail.test',
      subject: 'sale',
      text: 'Our autumn collection.',
      headers: { 'X-Lab-Token': id, 'List-Unsubscribe': '<https://sender.test/u/1>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    });
    const found = await waitForMessage('seed1@gmail.test', { header: { 'X-Lab-Token': id } });
    expect(found.mailbox).toBe('Promotions');
    // RFC 8058 one-click unsubscribe counts only when both headers are signed.
    const signed = /^DKIM-Signature:[\s\S]*?\bh=([^;]+);/m.exec(found.headers)?.[1]?.replace(/\s+/g, '') ?? '';
    expect(signed.split(':')).toEqual(expect.arrayContaining(['List-Unsubscribe', 'List-Unsubscribe-Post']));
  });

  it('files an unsigned message from outside SPF in Junk at the strict provider (no dmarc=pass)', async () => {
    const id = token();
    await submit('unsigned', { to: 'seed1@outlook.test', subject: 'unsigned', text: 'Sent from the pool nobody signs.', headers: { 'X-Lab-Token': id } });
    const found = await waitForMessage('seed1@outlook.test', { header: { 'X-Lab-Token': id } });
    expect(found.mailbox).toBe('Junk');
    const results = authResults(found.headers);
    expect(results).toMatch(/dkim=none/);
    expect(results).toMatch(/spf=fail .*client-ip=127\.0\.0\.12/);
    expect(results).toMatch(/dmarc=fail/);
  });

  it('refuses the listed pool with 554 at the RBL-checking provider and returns a DSN to the bounce mailbox', async () => {
    const id = token();
    const sent = await submit('listed', { to: 'seed1@yahoo.test', subject: 'from a listed address', text: 'Will not arrive.', headers: { 'X-Lab-Token': id } });
    expect(sent.response).toMatch(/^250 /);
    // The DSN returns the message itself (message/rfc822): TEXT searches its headers too.
    const dsn = await waitForMessage(sender.bounceMailbox, { text: id });
    expect(dsn.headers).toMatch(/^Subject: Undelivered Mail Returned to Sender/m);
    const client = imapClient(sender.bounceMailbox);
    await client.connect();
    try {
      await client.mailboxOpen(dsn.mailbox);
      const message = await client.fetchOne(String(dsn.uid), { source: true }, { uid: true });
      const text = message ? (message.source?.toString('utf8') ?? '') : '';
      expect(text).toMatch(/<seed1@yahoo\.test>: host mx\.yahoo\.test\[127\.0\.0\.23\] said: 554\s+5\.7\.1/);
      expect(text).toMatch(/Client host \[127\.0\.0\.11\] blocked using\s+zen\.dnsbl\.test/);
    } finally {
      await client.logout();
    }
    expect(await findMessages('seed1@yahoo.test', { header: { 'X-Lab-Token': id } })).toEqual([]);
  });
});

describe('lab: IMAP', () => {
  it('shows the special-use attributes, over IMAP and IMAPS with the lab CA', async () => {
    for (const tls of [false, true]) {
      const client = imapClient('seed1@outlook.test', { tls });
      await client.connect();
      try {
        const folders = Object.fromEntries((await client.list()).map((mailbox) => [mailbox.path, mailbox.specialUse ?? null]));
        expect(folders).toEqual({ INBOX: '\\Inbox', Junk: '\\Junk', Sent: '\\Sent', Trash: '\\Trash', Promotions: null });
      } finally {
        await client.logout();
      }
    }
  });

  it('refuses a wrong password', async () => {
    const client = imapClient('seed1@gmail.test', { password: 'wrong-password' });
    await expect(client.connect()).rejects.toMatchObject({ authenticationFailed: true });
  });
});

describe('lab: MTA-STS policy host', () => {
  function policy(host: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: lab.mtaSts.address, port: lab.mtaSts.port, servername: host, headers: { host }, path: '/.well-known/mta-sts.txt', ca: [readFileSync(labKeys().caCert)] },
        (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('serves each domain its policy over HTTPS with a certificate from the lab CA', async () => {
    expect(await policy('mta-sts.sender.test')).toEqual({ status: 200, body: 'version: STSv1\nmode: enforce\nmx: mx.sender.test\nmax_age: 86400\n' });
    expect((await policy('mta-sts.sts-mismatch.test')).body).toMatch(/^mx: mail\.elsewhere\.test$/m);
  });
});

describe('lab: time-series servers accept writes', () => {
  it('InfluxDB 1.x: /write then InfluxQL counts the points', async () => {
    const database = `labcheck_${Date.now()}`;
    const query = (q: string) => fetch(`${lab.influxdb.url}/query?q=${encodeURIComponent(q)}&db=${database}`, { method: 'POST' }).then((r) => r.json());
    await query(`CREATE DATABASE ${database}`);
    const now = Date.now();
    const lines = [0, 1, 2].map((i) => `labcheck,probe=lab value=${i} ${(now + i) * 1_000_000}`).join('\n');
    const written = await fetch(`${lab.influxdb.url}/write?db=${database}&precision=ns`, { method: 'POST', body: lines });
    expect(written.status).toBe(204);
    const result = (await query('SELECT count(value) FROM labcheck')) as { results: { series?: { values: [string, number][] }[] }[] };
    expect(result.results[0]?.series?.[0]?.values[0]?.[1]).toBe(3);
    await query(`DROP DATABASE ${database}`);
  });

  it('VictoriaMetrics: the v2 write API, points visible in the export', async () => {
    const metric = `labcheck${Date.now()}`;
    const written = await fetch(`${lab.victoria.url}/api/v2/write`, { method: 'POST', body: `${metric},probe=lab value=42 ${Date.now() * 1_000_000}` });
    expect(written.status).toBe(204);
    const deadline = Date.now() + 15_000;
    let exported = '';
    while (Date.now() < deadline && !exported.includes('42')) {
      await sleep(300);
      exported = await (await fetch(`${lab.victoria.url}/api/v1/export?match[]={__name__="${metric}_value"}`)).text();
    }
    expect(JSON.parse(exported.trim().split('\n')[0]!)).toMatchObject({ metric: { __name__: `${metric}_value`, probe: 'lab' }, values: [42] });
  });
});
