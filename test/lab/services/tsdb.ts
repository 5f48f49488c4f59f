/** The time-series servers Mailscope ships to: InfluxDB 1.x and VictoriaMetrics (with dedup). */
import { join } from 'node:path';
import { lab } from '../plan.ts';
import { httpOk, type LabService } from '../service.ts';

export const influxdb: LabService = {
  name: 'influxdb',
  processMatch: 'influxd',
  listeners: [
    { address: '127.0.0.1', port: lab.port.influxdb, protocol: 'tcp' },
    { address: '127.0.0.1', port: lab.port.influxdbRpc, protocol: 'tcp' },
  ],
  files({ paths }) {
    const data = join(paths.data, 'influxdb');
    return {
      'etc/influxdb.conf': [
        'reporting-disabled = true',
        `bind-address = "127.0.0.1:${lab.port.influxdbRpc}"`,
        '[meta]',
        `  dir = "${join(data, 'meta')}"`,
        '[data]',
        `  dir = "${join(data, 'data')}"`,
        `  wal-dir = "${join(data, 'wal')}"`,
        '  query-log-enabled = false',
        '[http]',
        '  enabled = true',
        `  bind-address = "127.0.0.1:${lab.port.influxdb}"`,
        '  log-enabled = false',
        '[logging]',
        '  level = "warn"',
        '[monitor]',
        '  store-enabled = false',
        '[subscriber]',
        '  enabled = false',
        '',
      ].join('\n'),
    };
  },
  start: ({ paths }) => ({
    argv: ['influxd', '-config', join(paths.etc, 'influxdb.conf')],
    pidFile: join(paths.run, 'influxd.pid'),
    foreground: true,
    logFile: join(paths.log, 'influxd.log'),
  }),
  // Ready once it answers, with the database the demo writes to (CREATE DATABASE is idempotent).
  ready: async () => {
    await httpOk(`${lab.influxdb.url}/ping`);
    await httpOk(`${lab.influxdb.url}/query?q=${encodeURIComponent(`CREATE DATABASE ${lab.influxdb.database}`)}`, { method: 'POST' });
  },
};

export const victoria: LabService = {
  name: 'victoria-metrics',
  processMatch: 'victoria-metrics',
  listeners: [{ address: '127.0.0.1', port: lab.port.victoria, protocol: 'tcp' }],
  files: () => ({}),
  start: ({ paths }) => ({
    argv: [
      'victoria-metrics',
      `-httpListenAddr=127.0.0.1:${lab.port.victoria}`,
      `-storageDataPath=${join(paths.data, 'victoria-metrics')}`,
      // Points carry their own timestamps; a resend must not count twice.
      '-dedup.minScrapeInterval=1ms',
      '-retentionPeriod=1d',
      '-loggerLevel=WARN',
    ],
    pidFile: join(paths.run, 'victoria-metrics.pid'),
    foreground: true,
    logFile: join(paths.log, 'victoria-metrics.log'),
  }),
  ready: () => httpOk(`${lab.victoria.url}/health`),
};
