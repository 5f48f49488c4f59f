/**
 * Rewrite one of the lab's zones while it runs, as a DNS operator would: the
 * zone file gets the new records and a higher serial, and NSD reloads it on
 * SIGHUP. Ask NSD itself (lab.nsd) to see the change at once; the resolver
 * caches for up to 5 s.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolverAt } from './service.ts';
import { withFileLock } from './lock.ts';
import { lab } from './plan.ts';
import { renderZone, type LabRecord } from './zones.ts';

function zoneFile(origin: string): string {
  return join(lab.stateDir, 'etc', 'zones', `${origin}.zone`);
}

/** Replace every record of `origin` (SOA and NS aside) and wait until NSD serves the new serial. */
export async function setZoneRecords(origin: string, records: LabRecord[], purpose = 'rewritten by a test'): Promise<void> {
  const file = zoneFile(origin);
  await withFileLock(`${file}.lock`, async () => {
    const serial = Number(/\( (\d+) /.exec(readFileSync(file, 'utf8'))?.[1] ?? '0') + 1;
    writeFileSync(file, renderZone({ origin, purpose, records }, serial));
    const pid = Number(readFileSync(join(lab.stateDir, 'run', 'nsd.pid'), 'utf8').trim());
    process.kill(pid, 'SIGHUP');
    const nsd = resolverAt(lab.nsd.host, lab.nsd.port);
    for (let attempt = 0; attempt < 100; attempt++) {
      const soa = await nsd.resolveSoa(origin).catch(() => undefined);
      if (soa?.serial === serial) return;
      await sleep(50);
    }
    throw new Error(`NSD did not load serial ${serial} of ${origin} within 5 s (see ${join(lab.stateDir, 'log', 'nsd.log')})`);
  });
}
