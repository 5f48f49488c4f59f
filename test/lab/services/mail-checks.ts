/**
 * The checks a receiving provider runs: OpenDKIM (one instance signs the sender's
 * submissions, another verifies on receipt), OpenDMARC, SpamAssassin (spamd +
 * spamass-milter). SPF is pyspf, spawned by Postfix itself (services/mta.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { authservId, lab, sender } from '../plan.ts';
import { mailDmarcFiles } from '../dmarc-reporter.ts';
import { tcpOpen, type LabService } from '../service.ts';
import { labZones } from '../zones.ts';

/** An address no lab client uses: "internal" and "ignored" hosts must not include the lab's senders. */
const nobodyAddress = '127.0.0.254';

export const dkimSign: LabService = {
  name: 'opendkim-sign',
  processMatch: 'opendkim',
  listeners: [{ address: '127.0.0.1', port: lab.port.dkimSign, protocol: 'tcp' }],
  files({ paths, keys }) {
    return {
      'etc/opendkim-sign.conf': [
        'Mode s',
        `Domain ${sender.domain}`,
        'SubDomains yes',
        `Selector ${sender.dkimSelector}`,
        `KeyFile ${keys.dkimPrivateKey}`,
        'RequireSafeKeys false',
        `Socket inet:${lab.port.dkimSign}@127.0.0.1`,
        `PidFile ${join(paths.run, 'opendkim-sign.pid')}`,
        // Submissions come from loopback: those are ours to sign.
        'InternalHosts 127.0.0.0/8',
        'Canonicalization relaxed/simple',
        // Gmail's bulk rules want List-Unsubscribe and List-Unsubscribe-Post signed (RFC 8058).
        'SignHeaders From,Sender,Reply-To,Subject,Date,Message-ID,To,Cc,MIME-Version,Content-Type,Content-Transfer-Encoding,List-Id,List-Unsubscribe,List-Unsubscribe-Post,Feedback-ID',
        'OversignHeaders From',
        'Syslog no',
        'Background yes',
        '',
      ].join('\n'),
    };
  },
  start: ({ paths }) => ({ argv: ['opendkim', '-x', join(paths.etc, 'opendkim-sign.conf')], pidFile: join(paths.run, 'opendkim-sign.pid') }),
  ready: () => tcpOpen('127.0.0.1', lab.port.dkimSign),
};

export const dkimVerify: LabService = {
  name: 'opendkim-verify',
  processMatch: 'opendkim',
  listeners: [{ address: '127.0.0.1', port: lab.port.dkimVerify, protocol: 'tcp' }],
  files({ paths, keys }) {
    // OpenDKIM 2.11 resolving with libunbound crashes when several messages are verified at
    // once (trusteddomainproject/OpenDKIM#56): a placement run delivers to every provider at the
    // same moment. So the verifier reads the lab's key records from a data set instead of DNS,
    // rendered from the same zone data NSD serves.
    const keyRecords = labZones(keys)
      .flatMap((zone) => zone.records)
      .filter((record) => record.type === 'TXT' && record.name.includes('._domainkey.'))
      .map((record) => `${record.name} ${(record.value as string[]).join('')}`);
    return {
      'etc/opendkim-verify.conf': [
        'Mode v',
        `AuthservID ${authservId}`,
        'AlwaysAddARHeader yes',
        // By default 127.0.0.1 is "internal" and skips verification: nothing of the lab is.
        `InternalHosts ${nobodyAddress}`,
        `TestDNSData file:${join(paths.etc, 'opendkim-keys')}`,
        `Socket inet:${lab.port.dkimVerify}@127.0.0.1`,
        `PidFile ${join(paths.run, 'opendkim-verify.pid')}`,
        'Syslog no',
        'Background yes',
        '',
      ].join('\n'),
      'etc/opendkim-keys': `${keyRecords.join('\n')}\n`,
    };
  },
  start: ({ paths }) => ({ argv: ['opendkim', '-x', join(paths.etc, 'opendkim-verify.conf')], pidFile: join(paths.run, 'opendkim-verify.pid') }),
  ready: () => tcpOpen('127.0.0.1', lab.port.dkimVerify),
};

export const dmarc: LabService = {
  name: 'opendmarc',
  processMatch: 'opendmarc',
  listeners: [{ address: '127.0.0.1', port: lab.port.dmarc, protocol: 'tcp' }],
  files({ paths }) {
    return {
      'etc/opendmarc.conf': [
        `AuthservID ${authservId}`,
        `TrustedAuthservIDs ${authservId}`,
        `IgnoreHosts ${join(paths.etc, 'opendmarc-ignore-hosts')}`,
        // libspf2 passes every 127/8 client: take SPF from pyspf's Authentication-Results instead.
        'SPFSelfValidate false',
        'SPFIgnoreResults false',
        'RejectFailures false',
        'FailureReports false',
        'RequiredHeaders false',
        `Socket inet:${lab.port.dmarc}@127.0.0.1`,
        `PidFile ${join(paths.run, 'opendmarc.pid')}`,
        'Syslog false',
        'Background true',
        '',
      ].join('\n'),
      'etc/opendmarc-ignore-hosts': `${nobodyAddress}\n`,
      // The providers' aggregate reports come from Mail::DMARC, run on demand (dmarc-reporter.ts), not from this daemon.
      ...mailDmarcFiles(paths),
    };
  },
  start: ({ paths }) => ({ argv: ['opendmarc', '-c', join(paths.etc, 'opendmarc.conf')], pidFile: join(paths.run, 'opendmarc.pid') }),
  ready: () => tcpOpen('127.0.0.1', lab.port.dmarc),
};

export const spamd: LabService = {
  name: 'spamd',
  processMatch: 'spamd',
  listeners: [{ address: '127.0.0.1', port: lab.port.spamd, protocol: 'tcp' }],
  files() {
    // spamd reads a whole site config dir: Debian's plugin loaders (*.pre) plus our local.cf.
    const pre = Object.fromEntries(
      readdirSync('/etc/spamassassin')
        .filter((file) => file.endsWith('.pre'))
        .map((file) => [`etc/spamassassin/${file}`, readFileSync(join('/etc/spamassassin', file), 'utf8')]),
    );
    return {
      ...pre,
      'etc/spamassassin/local.cf': [
        'use_bayes 0',
        'bayes_auto_learn 0',
        'skip_rbl_checks 1',
        'dns_available no',
        // Every lab client is on 127/8, which SpamAssassin trusts (-1.0): that would hide the content's score.
        'score ALL_TRUSTED 0',
        'required_score 5.0',
        'report_safe 0',
        '',
      ].join('\n'),
    };
  },
  start: ({ paths }) => ({
    argv: [
      'spamd',
      '--local',
      '--nouser-config',
      `--siteconfigpath=${join(paths.etc, 'spamassassin')}`,
      `--listen=127.0.0.1:${lab.port.spamd}`,
      '--allowed-ips=127.0.0.1',
      `--pidfile=${join(paths.run, 'spamd.pid')}`,
      '--daemonize',
      '--username=debian-spamd',
      '--groupname=debian-spamd',
      `--helper-home-dir=${join(paths.data, 'spamd')}`,
      '--min-children=1',
      '--max-children=2',
      `--syslog=${join(paths.log, 'spamd.log')}`,
    ],
    pidFile: join(paths.run, 'spamd.pid'),
  }),
  ready: () => tcpOpen('127.0.0.1', lab.port.spamd),
};

export const spamassMilter: LabService = {
  name: 'spamass-milter',
  processMatch: 'spamass-milter',
  listeners: [{ address: '127.0.0.1', port: lab.port.spamassMilter, protocol: 'tcp' }],
  files: () => ({}),
  start: ({ paths }) => ({
    argv: ['spamass-milter', '-p', `inet:${lab.port.spamassMilter}@127.0.0.1`, '-f', '-P', join(paths.run, 'spamass-milter.pid'), '--', '-d', '127.0.0.1', '-p', String(lab.port.spamd)],
    pidFile: join(paths.run, 'spamass-milter.pid'),
  }),
  ready: () => tcpOpen('127.0.0.1', lab.port.spamassMilter),
};
