/** HTTPS for the MTA-STS policy of the sending domain (and of a domain whose policy is wrong). */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { lab, labDir, sender } from '../plan.ts';
import type { LabService } from '../service.ts';

export const mtaSts: LabService = {
  name: 'mta-sts',
  processMatch: 'mta-sts-server.ts',
  listeners: [{ address: lab.mtaSts.address, port: lab.mtaSts.port, protocol: 'tcp' }],
  files: () => ({}),
  start: ({ paths, keys }) => ({
    argv: [process.execPath, join(labDir, 'mta-sts-server.ts'), keys.serverCert, keys.serverKey, lab.mtaSts.address, String(lab.mtaSts.port)],
    pidFile: join(paths.run, 'mta-sts.pid'),
    foreground: true,
    logFile: join(paths.log, 'mta-sts.log'),
  }),
  ready: ({ keys }) =>
    new Promise((resolve, reject) => {
      const host = `mta-sts.${sender.domain}`;
      const req = request(
        {
          host: lab.mtaSts.address,
          port: lab.mtaSts.port,
          servername: host,
          path: '/.well-known/mta-sts.txt',
          headers: { host },
          ca: [readFileSync(keys.caCert)],
          timeout: 2_000,
        },
        (response) => {
          response.resume();
          if (response.statusCode === 200) resolve();
          else reject(new Error(`MTA-STS policy: HTTP ${response.statusCode}`));
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('MTA-STS policy: no answer within 2 s')));
      req.end();
    }),
};
