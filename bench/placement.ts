/**
 * npm run bench -- placement
 *
 * 1. Placement known for 50 seeds across 5 providers, through the lab's routing
 *    engine, MX checks and Dovecot: how long after the last delivery (the latest
 *    receiver Received time) the probe knew every seed's placement, at poll
 *    intervals of 1 s and 5 s (the default).
 * 2. The cost of one search as the mailbox grows: the same search on a mailbox of
 *    100 messages and one of 10,000, as a ratio (goal: under 1.5). Three searches
 *    are timed: the probe's active search (only mail above the run's UIDNEXT), its
 *    passive search (only mail from the first message SINCE the window, found once
 *    per run), and, for reference, a header search over the whole mailbox, which is
 *    what grows with size.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImapFlow, SearchObject } from 'imapflow';
import type { Observation } from '../src/core/observation.ts';
import { placement } from '../src/probes/placement.ts';
import { searchFolder } from '../src/protocols/imap/seed-mailbox.ts';
import { labUp } from '../test/lab/lab.ts';
import { imapClient } from '../test/lab/mail.ts';
import { benchMailboxes, lab, labPassword, sender } from '../test/lab/plan.ts';
import { systemClock } from '../src/core/clock.ts';
import { createLogger } from '../src/core/logger.ts';
import { buildCatalog } from '../src/probes/dnsbl-lists.ts';
import { DnsClient } from '../src/protocols/dns/client.ts';

await labUp({ log: () => {} });

const providers = ['p1', 'p2', 'p3', 'p4', 'p5'];

async function placementRun(pollInterval: string): Promise<void> {
  const seeds: Record<string, { address: string; auth: { password: string } }[]> = {};
  benchMailboxes.forEach((address, i) => {
    (seeds[providers[i % providers.length]!] ??= []).push({ address, auth: { password: labPassword } });
  });
  const config = placement.configSchema.parse({
    id: 'bench',
    kind: 'placement',
    schedule: '0 * * * *',
    wait: '90s',
    timeout: '3m',
    pollInterval,
    imap: { host: lab.imap.host, port: lab.imap.port, security: 'none' },
    smtp: { host: '127.0.0.1', port: sender.pools.clean.submission, security: 'none', envelopeFrom: sender.bounceMailbox },
    message: { from: `Lab News <news@${sender.domain}>`, subject: 'Bench {token}', text: 'A plain message for the bench.' },
    seeds,
  });
  const dns = new DnsClient({ servers: [lab.resolver] });
  const started = performance.now();
  const observations: Observation[] = await placement.run(config, {
    // The lab's servers keep real time: latencies and the wait are read on the same clock.
    clock: systemClock,
    log: createLogger({ level: 'error' }),
    signal: new AbortController().signal,
    dns,
    blocklists: buildCatalog(),
    outbox: () => ({ configured: false, depth: 0, oldestAgeMs: 0, quarantined: 0, consecutiveFailures: 0 }),
  });
  const total = (performance.now() - started) / 1000;
  dns.close();
  const perSeed = observations.filter((o) => o.measurement === 'placement');
  const outcomes = new Map<string, number>();
  for (const o of perSeed) outcomes.set(String(o.fields.outcome), (outcomes.get(String(o.fields.outcome)) ?? 0) + 1);
  const delivered = perSeed.map((o) => o.fields.delivery_ms).filter((v): v is number => typeof v === 'number');
  const found = perSeed.map((o) => o.fields.found_ms).filter((v): v is number => typeof v === 'number');
  const lastDelivery = Math.max(...delivered) / 1000;
  const lastKnown = Math.max(...found) / 1000;
  console.log(
    `placement, ${perSeed.length} seeds / ${providers.length} providers, poll ${pollInterval}: outcomes ${JSON.stringify(Object.fromEntries(outcomes))}; ` +
      `last delivery ${lastDelivery.toFixed(1)} s after submission, every placement known ${lastKnown.toFixed(1)} s after submission ` +
      `→ ${(lastKnown - lastDelivery).toFixed(1)} s after the last delivery (Received times have 1 s resolution); whole run ${total.toFixed(1)} s`,
  );
}

async function fill(client: ImapFlow, count: number): Promise<void> {
  await client.mailboxOpen('INBOX');
  const existing = client.mailbox ? client.mailbox.exists : 0;
  if (existing > 0) await client.messageDelete('1:*');
  // Old mail: a month back, so a passive search's SINCE window leaves it out.
  const old = new Date(Date.now() - 30 * 86_400_000);
  for (let i = 0; i < count; i++) {
    const message = `From: someone@example.test\r\nTo: x@example.test\r\nSubject: filler ${i}\r\nX-Campaign-Id: old-${i % 50}\r\nMessage-ID: <filler-${i}@example.test>\r\n\r\nFiller message ${i}, with a body of ordinary length to search through.\r\n`;
    await client.append('INBOX', message, [], old);
  }
}

async function timeSearch(client: ImapFlow, criteria: SearchObject, expected: number, rounds = 40): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    const uids = await searchFolder(client, 'INBOX', criteria);
    times.push(performance.now() - started);
    if (uids.length !== expected) throw new Error(`search ${JSON.stringify(criteria)} found ${uids.length}, expected ${expected}`);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function searchCost(): Promise<void> {
  const sizes = [100, 10_000];
  const results: Record<string, number[]> = { active: [], passive: [], 'passive window start (once per run)': [], 'whole mailbox': [] };
  for (const [index, size] of sizes.entries()) {
    const client = imapClient(benchMailboxes[benchMailboxes.length - 1 - index]!);
    await client.connect();
    try {
      const filling = performance.now();
      await fill(client, size);
      console.error(`bench: ${size} messages appended in ${((performance.now() - filling) / 1000).toFixed(1)} s`);
      const status = await client.status('INBOX', { uidNext: true });
      const base = status ? status.uidNext! : 1;
      const token = `bench-${size}-${Date.now()}`;
      await client.append('INBOX', `From: news@sender.test\r\nSubject: probe\r\nX-Mailscope-Token: ${token}\r\nX-Campaign-Id: now-${token}\r\n\r\nThe probe message.\r\n`);
      await sleep(100);
      results.active!.push(await timeSearch(client, { uid: `${base}:*`, header: { 'X-Mailscope-Token': token } }, 1));
      const since = new Date(Date.now() - 86_400_000);
      results['passive window start (once per run)']!.push(await timeSearch(client, { since }, 1));
      const [first] = await searchFolder(client, 'INBOX', { since });
      results.passive!.push(await timeSearch(client, { uid: `${first}:*`, since, header: { 'X-Campaign-Id': `now-${token}` } }, 1));
      results['whole mailbox']!.push(await timeSearch(client, { header: { 'X-Mailscope-Token': token } }, 1, 10));
      await client.messageDelete('1:*');
    } finally {
      await client.logout();
    }
  }
  for (const [name, [small, large]] of Object.entries(results)) {
    console.log(`search (${name}): median ${small!.toFixed(2)} ms with ${sizes[0]} messages, ${large!.toFixed(2)} ms with ${sizes[1]} → ratio ${(large! / small!).toFixed(2)}`);
  }
}

await placementRun('1s');
await placementRun('5s');
await searchCost();
