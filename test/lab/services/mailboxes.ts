/** Dovecot: IMAP and IMAPS for the seed mailboxes, LMTP for delivery, Sieve for each provider's policy. */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { benchMailboxes, lab, labPassword, mailboxes, sender } from '../plan.ts';
import { expectBanner, type LabService } from '../service.ts';

const spamToJunk = 'if header :is "X-Spam-Flag" "YES" { fileinto "Junk"; stop; }';

/** Each provider's filing policy, run before the user's own (sieve_before). */
export const sievePolicies: Record<string, string> = {
  'gmail.test': ['require ["fileinto"];', spamToJunk, 'if exists "List-Unsubscribe" { fileinto "Promotions"; stop; }'].join('\n'),
  'outlook.test': [
    'require ["fileinto"];',
    spamToJunk,
    // Only this lab's own verdict counts (authserv-id mx.lab.test), not a header the sender wrote.
    'if not header :matches "Authentication-Results" "mx.lab.test;*dmarc=pass*" { fileinto "Junk"; stop; }',
  ].join('\n'),
  'yahoo.test': ['require ["fileinto"];', spamToJunk].join('\n'),
  [sender.domain]: 'keep;',
};

/** Where Postfix hands mail to Dovecot. */
export const lmtpSocket = (state: string) => join(state, 'run', 'dovecot-lmtp');

const mailUser = { uid: 65534, gid: 65534, name: 'nobody', group: 'nogroup' };

export const dovecot: LabService = {
  name: 'dovecot',
  processMatch: 'dovecot',
  listeners: [
    { address: lab.imap.host, port: lab.imap.port, protocol: 'tcp' },
    { address: lab.imap.host, port: lab.imap.tlsPort, protocol: 'tcp' },
  ],
  files({ paths, keys }) {
    const files: Record<string, string> = {
      'etc/dovecot/users': `${[...mailboxes, ...benchMailboxes].map((address) => `${address}:{PLAIN}${labPassword}::::::`).join('\n')}\n`,
      'etc/dovecot/dovecot.conf': `# Mailscope lab: seed mailboxes. Rendered by test/lab; edits are overwritten.
instance_name = mailscope-lab
base_dir = ${join(paths.run, 'dovecot')}
state_dir = ${join(paths.data, 'dovecot-state')}
log_path = ${join(paths.log, 'dovecot.log')}
protocols = imap lmtp
listen = ${lab.imap.host}
ssl = yes
ssl_cert = <${keys.serverCert}
ssl_key = <${keys.serverKey}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:~/Maildir
mail_uid = ${mailUser.name}
mail_gid = ${mailUser.group}
first_valid_uid = ${mailUser.uid}
first_valid_gid = ${mailUser.gid}

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${join(paths.etc, 'dovecot', 'users')}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${join(paths.etc, 'dovecot', 'users')}
  default_fields = uid=${mailUser.name} gid=${mailUser.group} home=${join(paths.data, 'mail')}/%d/%n
}

namespace inbox {
  inbox = yes
  separator = /
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Promotions {
    auto = subscribe
  }
}

service imap-login {
  inet_listener imap {
    address = ${lab.imap.host}
    port = ${lab.imap.port}
  }
  inet_listener imaps {
    address = ${lab.imap.host}
    port = ${lab.imap.tlsPort}
    ssl = yes
  }
}
service lmtp {
  unix_listener ${lmtpSocket(paths.state)} {
    mode = 0666
  }
}
service auth {
  unix_listener auth-userdb {
    mode = 0666
  }
}
protocol lmtp {
  mail_plugins = $mail_plugins sieve
  postmaster_address = postmaster@lab.test
}
plugin {
  sieve_before = ${join(paths.etc, 'sieve')}/%d.sieve
}
`,
    };
    for (const [domain, script] of Object.entries(sievePolicies)) files[`etc/sieve/${domain}.sieve`] = `${script}\n`;
    return files;
  },
  prepare({ paths }) {
    // sieve_before scripts must be compiled ahead: the mail user cannot write beside them.
    const sieveDir = join(paths.etc, 'sieve');
    for (const file of readdirSync(sieveDir).filter((name) => name.endsWith('.sieve'))) {
      execFileSync('sievec', [join(sieveDir, file)], { stdio: 'pipe' });
    }
    const mail = join(paths.data, 'mail');
    mkdirSync(mail, { recursive: true });
    chownSync(mail, mailUser.uid, mailUser.gid);
    mkdirSync(join(paths.run, 'dovecot'), { recursive: true });
  },
  start: ({ paths }) => ({ argv: ['dovecot', '-c', join(paths.etc, 'dovecot', 'dovecot.conf')], pidFile: join(paths.run, 'dovecot', 'master.pid') }),
  ready: () => expectBanner(lab.imap.host, lab.imap.port, '* OK'),
};
