/**
 * One Postfix instance plays both sides:
 * - the sending platform's routing engine: one submission port per pool, each pool
 *   leaving from its own source address (DKIM-signed or not, in SPF or not);
 * - the providers' MX listeners (gmail.test, outlook.test, yahoo.test) and the
 *   sender's own MX, each an smtpd on its own address with the provider's checks,
 *   handing accepted mail to Dovecot over LMTP.
 * Bounces for rejected mail are DSNs to the sender's bounce mailbox, through its MX.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { authservId, dnsbl, lab, limitedProvider, providers, sender, type PoolName } from '../plan.ts';
import { expectBanner, userIds, type LabService } from '../service.ts';
import { lmtpSocket } from './mailboxes.ts';

const postfixDir = (state: string) => join(state, 'etc', 'postfix');

/** Loopback clients would count as "our network" and skip every check: on MX listeners, nobody is. */
const externalOnly = '127.0.0.254/32';

function service(listen: string, options: Record<string, string>): string {
  // master.cf splits arguments on spaces; Postfix's { } groups a value that has them.
  const option = ([key, value]: [string, string]) => (value.includes(' ') ? `  -o { ${key} = ${value} }` : `  -o ${key}=${value}`);
  return [`${listen} inet n - n - - smtpd`, ...Object.entries(options).map(option)].join('\n');
}

/** A pool whose mail Mailscope may hold or throttle: Postfix asks its policy service at RCPT and at the end of the message. */
function managedBy(name: string, source: string): Record<string, string> {
  const policy = `check_policy_service inet:127.0.0.1:${lab.port.policy}`;
  return {
    smtpd_recipient_restrictions: `${policy},permit_mynetworks,reject_unauth_destination`,
    smtpd_end_of_data_restrictions: policy,
    smtpd_policy_service_policy_context: `ip=${source} pool=${name}`,
    // No policy service (most tests): the mail goes, at once.
    smtpd_policy_service_default_action: 'DUNNO',
    smtpd_policy_service_try_limit: '1',
  };
}

export const postfix: LabService = {
  name: 'postfix',
  processMatch: 'master',
  listeners: [
    ...Object.values(sender.pools).map((pool) => ({ address: '127.0.0.1', port: pool.submission, protocol: 'tcp' as const })),
    { address: sender.mx.address, port: lab.port.mx, protocol: 'tcp' },
    ...Object.values(providers).map((provider) => ({ address: provider.address, port: lab.port.mx, protocol: 'tcp' as const })),
    { address: limitedProvider.address, port: lab.port.mx, protocol: 'tcp' },
  ],
  files({ paths }) {
    const lmtp = `lmtp:unix:${lmtpSocket(paths.state)}`;
    const receivingMilters = [lab.port.dkimVerify, lab.port.dmarc, lab.port.spamassMilter].map((port) => `inet:127.0.0.1:${port}`).join(',');
    const spfPolicy = 'check_policy_service unix:private/policyd-spf';
    const mxListener = (domain: string, host: string, address: string, extra: Record<string, string> = {}) =>
      service(`${address}:${lab.port.mx}`, {
        syslog_name: `postfix/mx-${domain.split('.')[0]}`,
        myhostname: host,
        mynetworks: externalOnly,
        smtpd_helo_required: 'yes',
        content_filter: lmtp,
        smtpd_milters: receivingMilters,
        milter_default_action: 'tempfail',
        smtpd_recipient_restrictions: `permit_mynetworks,reject_unauth_destination,${spfPolicy}`,
        ...extra,
      });
    const pools = Object.entries(sender.pools) as [PoolName, (typeof sender.pools)[PoolName]][];
    return {
      'etc/postfix/main.cf': [
        '# Mailscope lab: rendered by test/lab; edits are overwritten.',
        'compatibility_level = 3.6',
        `queue_directory = ${join(paths.data, 'postfix', 'queue')}`,
        `data_directory = ${join(paths.data, 'postfix', 'data')}`,
        'mail_owner = postfix',
        'setgid_group = postdrop',
        `myhostname = ${lab.mta.hostname}`,
        `mydomain = ${sender.domain}`,
        `myorigin = ${sender.domain}`,
        'mydestination =',
        'local_recipient_maps =',
        'alias_maps =',
        'alias_database =',
        `inet_interfaces = ${lab.mta.address}`,
        'inet_protocols = ipv4',
        'mynetworks = 127.0.0.0/8',
        `relay_domains = ${[sender.domain, ...Object.keys(providers), limitedProvider.domain].join(' ')}`,
        'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
        `smtp_bind_address = ${lab.mta.address}`,
        `maillog_file = ${join(paths.log, 'postfix.log')}`,
        `maillog_file_prefixes = /var, /dev/stdout, ${paths.log}`,
        'smtputf8_enable = no',
        'biff = no',
        'append_dot_mydomain = no',
        'disable_vrfy_command = yes',
        'smtp_tls_security_level = none',
        'smtpd_tls_security_level = none',
        'smtp_connect_timeout = 5s',
        // Retry soon: tests wait on deferred mail.
        'queue_run_delay = 5s',
        'minimal_backoff_time = 5s',
        'maximal_backoff_time = 30s',
        'delay_warning_time = 0',
        // The limited provider's window (its MX's smtpd_client_message_rate_limit): short, so tests see it open again.
        `anvil_rate_time_unit = ${limitedProvider.windowSeconds}s`,
        'policyd-spf_time_limit = 3600',
        '',
      ].join('\n'),
      'etc/postfix/master.cf': [
        '# Mailscope lab: rendered by test/lab; edits are overwritten.',
        '# The routing engine: one submission port per pool.',
        ...pools.map(([name, pool]) =>
          service(`127.0.0.1:${pool.submission}`, {
            syslog_name: `postfix/submission-${name}`,
            content_filter: `pool-${name}:`,
            ...(pool.signed ? { smtpd_milters: `inet:127.0.0.1:${lab.port.dkimSign}`, milter_default_action: 'tempfail' } : {}),
            ...(pool.managed ? managedBy(name, pool.source) : {}),
          }),
        ),
        ...pools.map(([name, pool]) =>
          [`pool-${name} unix - - n - - smtp`, `  -o syslog_name=postfix/pool-${name}`, `  -o smtp_bind_address=${pool.source}`, `  -o smtp_helo_name=${pool.helo}`].join('\n'),
        ),
        '# The providers: their MX listeners and their checks.',
        mxListener('gmail.test', providers['gmail.test'].mx, providers['gmail.test'].address),
        mxListener('outlook.test', providers['outlook.test'].mx, providers['outlook.test'].address),
        mxListener('yahoo.test', providers['yahoo.test'].mx, providers['yahoo.test'].address, {
          smtpd_client_restrictions: `reject_rbl_client ${dnsbl.ipZone}`,
          smtpd_sender_restrictions: `reject_rhsbl_sender ${dnsbl.domainZone}`,
        }),
        '# A provider for traffic tests: a few messages per client per window, known users only; what it accepts is discarded.',
        service(`${limitedProvider.address}:${lab.port.mx}`, {
          syslog_name: 'postfix/mx-limited',
          myhostname: limitedProvider.mx,
          mynetworks: externalOnly,
          smtpd_client_message_rate_limit: String(limitedProvider.messagesPerWindow),
          smtpd_client_event_limit_exceptions: externalOnly,
          relay_recipient_maps: `regexp:${join(paths.etc, 'postfix', 'limited-recipients')}`,
          smtpd_recipient_restrictions: 'permit_mynetworks,reject_unauth_destination',
          content_filter: 'discard:',
        }),
        "# The sender's own MX: where bounces arrive.",
        service(`${sender.mx.address}:${lab.port.mx}`, {
          syslog_name: 'postfix/mx-sender',
          myhostname: sender.mx.host,
          mynetworks: externalOnly,
          content_filter: lmtp,
        }),
        'policyd-spf unix - n n - 0 spawn',
        `  user=nobody argv=/usr/bin/policyd-spf ${join(paths.etc, 'policyd-spf.conf')}`,
        'pickup unix n - n 60 1 pickup',
        'cleanup unix n - n - 0 cleanup',
        'qmgr unix n - n 300 1 qmgr',
        'tlsmgr unix - - n 1000? 1 tlsmgr',
        'rewrite unix - - n - - trivial-rewrite',
        'bounce unix - - n - 0 bounce',
        'defer unix - - n - 0 bounce',
        'trace unix - - n - 0 bounce',
        'verify unix - - n - 1 verify',
        'flush unix n - n 1000? 0 flush',
        'proxymap unix - - n - - proxymap',
        'proxywrite unix - - n - 1 proxymap',
        'smtp unix - - n - - smtp',
        'relay unix - - n - - smtp',
        'showq unix n - n - - showq',
        'error unix - - n - - error',
        'retry unix - - n - - error',
        'discard unix - - n - - discard',
        'lmtp unix - - n - - lmtp',
        'anvil unix - - n - 1 anvil',
        'scache unix - - n - 1 scache',
        'postlog unix-dgram n - n - 1 postlogd',
        '',
      ].join('\n'),
      'etc/postfix/limited-recipients': `/^user[0-9]{1,3}@${limitedProvider.domain.replace('.', '\\.')}$/ OK\n`,
      'etc/policyd-spf.conf': [
        'debugLevel = 1',
        'TestOnly = 1',
        // Never reject: the verdict goes in Authentication-Results for OpenDMARC and the provider's Sieve.
        'HELO_reject = False',
        'Mail_From_reject = False',
        'PermError_reject = False',
        'TempError_Defer = False',
        'Header_Type = AR',
        `Authserv_Id = ${authservId}`,
        // The default skips all of 127/8, which is every lab sender.
        `skip_addresses = ${externalOnly}`,
        '',
      ].join('\n'),
    };
  },
  prepare({ paths }) {
    mkdirSync(join(paths.data, 'postfix', 'queue'), { recursive: true });
    const data = join(paths.data, 'postfix', 'data');
    mkdirSync(data, { recursive: true });
    const owner = userIds('postfix');
    chownSync(data, owner.uid, owner.gid);
    // Creates the queue's subdirectories with Postfix's own owners and modes.
    execFileSync('postfix', ['-c', postfixDir(paths.state), 'check'], { stdio: 'pipe' });
  },
  start: ({ paths }) => ({ argv: ['postfix', '-c', postfixDir(paths.state), 'start'], pidFile: join(paths.data, 'postfix', 'queue', 'pid', 'master.pid') }),
  async ready() {
    for (const pool of Object.values(sender.pools)) await expectBanner('127.0.0.1', pool.submission, '220 ');
    for (const provider of Object.values(providers)) await expectBanner(provider.address, lab.port.mx, `220 ${provider.mx}`);
    await expectBanner(limitedProvider.address, lab.port.mx, `220 ${limitedProvider.mx}`);
    await expectBanner(sender.mx.address, lab.port.mx, `220 ${sender.mx.host}`);
  },
};
