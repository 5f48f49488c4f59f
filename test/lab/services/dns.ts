/** NSD (authoritative for the lab zones) and unbound (the resolver everything asks). */
import { join } from 'node:path';
import { lab } from '../plan.ts';
import { resolverAt, type LabService } from '../service.ts';
import { labZones, renderZone } from '../zones.ts';

export const nsd: LabService = {
  name: 'nsd',
  processMatch: 'nsd',
  listeners: [
    { address: lab.nsd.host, port: lab.nsd.port, protocol: 'udp' },
    { address: lab.nsd.host, port: lab.nsd.port, protocol: 'tcp' },
  ],
  files({ keys, paths }) {
    const zones = labZones(keys);
    // Serial from the clock: a restarted lab serves a newer zone.
    const serial = Math.floor(Date.now() / 1000);
    const files: Record<string, string> = {};
    for (const zone of zones) files[`etc/zones/${zone.origin}.zone`] = renderZone(zone, serial);
    files['etc/nsd.conf'] = [
      'server:',
      `  ip-address: ${lab.nsd.host}@${lab.nsd.port}`,
      '  do-ip6: no',
      '  username: ""',
      `  zonesdir: "${join(paths.etc, 'zones')}"`,
      `  pidfile: "${join(paths.run, 'nsd.pid')}"`,
      `  logfile: "${join(paths.log, 'nsd.log')}"`,
      `  zonelistfile: "${join(paths.data, 'nsd', 'zone.list')}"`,
      `  xfrdfile: "${join(paths.data, 'nsd', 'xfrd.state')}"`,
      `  xfrdir: "${join(paths.data, 'nsd')}"`,
      '  database: ""',
      '  server-count: 1',
      '  hide-version: yes',
      '  verbosity: 1',
      'remote-control:',
      '  control-enable: no',
      ...zones.flatMap((zone) => ['zone:', `  name: "${zone.origin}"`, `  zonefile: "${zone.origin}.zone"`]),
      '',
    ].join('\n');
    return files;
  },
  start: ({ paths }) => ({ argv: ['nsd', '-c', join(paths.etc, 'nsd.conf')], pidFile: join(paths.run, 'nsd.pid') }),
  async ready() {
    const answer = await resolverAt(lab.nsd.host, lab.nsd.port).resolveMx('sender.test');
    if (answer.length === 0) throw new Error('NSD answers no MX for sender.test');
  },
};

export const unbound: LabService = {
  name: 'unbound',
  processMatch: 'unbound',
  listeners: [
    { address: lab.resolver.host, port: lab.resolver.port, protocol: 'udp' },
    { address: lab.resolver.host, port: lab.resolver.port, protocol: 'tcp' },
  ],
  files({ paths }) {
    return {
      'etc/unbound.conf': [
        'server:',
        `  interface: ${lab.resolver.host}@${lab.resolver.port}`,
        '  do-ip6: no',
        '  access-control: 127.0.0.0/8 allow',
        '  username: ""',
        '  chroot: ""',
        `  directory: "${paths.etc}"`,
        `  pidfile: "${join(paths.run, 'unbound.pid')}"`,
        `  logfile: "${join(paths.log, 'unbound.log')}"`,
        '  use-syslog: no',
        '  verbosity: 1',
        '  num-threads: 1',
        '  so-reuseport: no',
        '  do-not-query-localhost: no',
        '  module-config: "iterator"',
        // Tests change zones and lists: answers may be at most a few seconds old.
        '  cache-max-ttl: 5',
        '  cache-max-negative-ttl: 5',
        '  hide-identity: yes',
        '  hide-version: yes',
        // Nothing outside the lab is ever looked up: every other name is answered here, locally.
        '  local-zone: "." static',
        '  local-zone: "test." transparent',
        '  local-zone: "127.in-addr.arpa." transparent',
        'remote-control:',
        '  control-enable: no',
        'stub-zone:',
        '  name: "test."',
        `  stub-addr: ${lab.nsd.host}@${lab.nsd.port}`,
        'stub-zone:',
        '  name: "127.in-addr.arpa."',
        `  stub-addr: ${lab.nsd.host}@${lab.nsd.port}`,
        'stub-zone:',
        '  name: "dnsbl.test."',
        `  stub-addr: ${lab.rbldnsd.host}@${lab.rbldnsd.port}`,
        '',
      ].join('\n'),
      // The lab's resolv.conf, bind-mounted over /etc/resolv.conf for the lab's daemons only.
      'etc/resolv.conf': `nameserver ${lab.resolver.host}\noptions timeout:2 attempts:2\n`,
    };
  },
  start: ({ paths }) => ({ argv: ['unbound', '-c', join(paths.etc, 'unbound.conf')], pidFile: join(paths.run, 'unbound.pid') }),
  async ready() {
    const answer = await resolverAt(lab.resolver.host, lab.resolver.port).resolve4('mx.sender.test');
    if (answer.length === 0) throw new Error('the resolver has no address for mx.sender.test');
  },
};
