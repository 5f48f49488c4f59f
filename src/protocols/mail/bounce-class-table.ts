/**
 * The bounce class table, as data: the vocabulary, the rules that map a failed
 * attempt's reply onto it, and the translations of KumoMTA's and sisimai's labels.
 * bounce-class.ts applies it; nothing here runs.
 *
 * Which vocabulary, and why. A class is *what the sender does next*, so the list
 * is short (the traffic measurement has one field per class) and each class asks
 * for a different action: remove the address, wait, fix the message, slow down,
 * delist or rebuild reputation, fix authentication, fix the sending path, read
 * the receiver's policy, look at the network. We follow sisimai's split of
 * reasons (it separates who you are — Blocked, BadReputation — from what you
 * sent — SpamDetected — from how fast — RateLimited — from how you authenticate
 * — AuthFailure, RequirePTR), merged into fewer classes where the action is the
 * same (UserUnknown, HasMoved, Suspend → invalid_recipient). KumoMTA's
 * predefined classes are Momentum's and PowerMTA's older categories and its
 * stock rules (iana.toml) read codes only, so its labels are translated, not
 * followed; its name SpamBlock means "a known spam source" (our reputation), so
 * our class for a refused *message* is `content`, not a spam_* name.
 *
 * How the table is read (bounce-class.ts): reply texts first, most specific
 * first (providers put the real reason in the text: Gmail's 4.7.28 is a rate
 * limit, Microsoft's 5.7.1 S3150 is a block list, Yandex's 5.7.1 "No such user!"
 * is an unknown recipient), then enhanced status codes, then a source's own label
 * (translated below: after the codes, because KumoMTA's stock rules read codes
 * only and file every 5xx x.7.x as AuthenticationFailed), then the basic reply
 * code, then transient or other by whether the failure was temporary.
 */

/** The classes, with what each means (the traffic measurement's field descriptions). */
export const bounceClasses = {
  invalid_recipient: 'the mailbox does not exist, has moved, or is disabled or inactive: remove the address',
  bad_domain: 'the recipient domain does not exist or takes no mail (no MX or address, null MX): remove the address',
  mailbox_full: 'the mailbox is over quota: the address is alive and may take mail later',
  message_too_large: 'the message, its attachments or its headers are larger than the receiver takes',
  content: 'the receiver refused this message for what it contains: spam-like text or links, a virus or forbidden attachment, malformed headers',
  reputation: 'the receiver distrusts the sender: its IP or domain is on a block list, banned or of poor reputation (deferred or refused)',
  rate_limited: 'the receiver throttles the sender (too much mail, too fast, too many connections or recipients), whatever reason it gives: slow down',
  authentication: "the receiver did not accept the sender's identity: SPF, DKIM, DMARC or alignment, reverse DNS (PTR), TLS, the envelope sender",
  policy: "the receiver's own rules refused the message, other than the above (the recipient's or its organization's policy)",
  relay_denied: 'the next hop will not relay for the sender, or refused its relay login (SMTP AUTH): fix the sending path',
  connection: 'the receiver could not be reached or talked to: connection refused, lost or timed out, TLS failure, DNS lookup failure',
  protocol: 'the SMTP conversation went wrong: a command out of sequence or unrecognized, a syntax error, a bad HELO',
  expired: 'the message waited in the queue past its lifetime without being delivered',
  complaint: 'a recipient reported the message as spam (a feedback loop report)',
  transient: 'a temporary failure with no more specific reason (the receiver busy or failing, greylisting)',
  other: 'a permanent failure with no more specific reason',
} as const;

export type BounceClass = keyof typeof bounceClasses;

/** A rule on the reply text. */
export interface ReplyRule {
  readonly class: BounceClass;
  /**
   * Tested against the normalized reply: lower case, one line, without Postfix's
   * "host X said:" and "(in reply to ... command)", without the code prefixes
   * of a multi-line reply ("421-4.7.28 ...").
   */
  readonly text: RegExp;
  /** Only when the enhanced status code matches too (tested against '' when the reply has none). */
  readonly enhanced?: RegExp;
  /** Where the rule comes from. */
  readonly source: string;
}

/** A rule on a code: the enhanced status code ("5.1.1") or the basic reply code ("550"). */
export interface CodeRule {
  readonly class: BounceClass;
  readonly code: RegExp;
  readonly source: string;
}

const gmail = 'Gmail SMTP errors and codes (support.google.com/a/answer/3726730)';
const microsoft = 'Outlook.com / Exchange Online replies (sisimai rhost/for-microsoft.go, Microsoft NDR reference)';
const yahoo = 'Yahoo sender hub error codes (senders.yahooinc.com/smtp-error-codes; sisimai rhost/for-yahooinc.go)';
const apple = 'iCloud Mail replies (sisimai rhost/for-apple.go; support.apple.com/en-us/102322)';
const orange = 'Orange / La Poste codes OFR_nnn, LPNnnn_nnn (sisimai rhost/for-franceptt.go)';
const comcast = 'Comcast error codes (postmaster.comcast.net/smtp-error-codes)';
const rfc3463 = 'RFC 3463 enhanced status codes';
const postfix = 'Postfix smtp(8) delivery status texts (smtp_trouble.c, smtp_addr.c, smtp_connect.c)';
const common = 'replies seen across MTAs (Postfix, Exim, Sendmail, qmail, filters), sisimai and Reacher corpora';

/** Rules on the reply text, most specific first: the first that matches decides. */
export const replyRules: readonly ReplyRule[] = [
  // Expiry, whatever else the text says ("Message expired, connection refused").
  {
    class: 'expired',
    text: /message expired|delivery time expired|queue expired|exceeds the expiry time|message too old|too long in (?:the )?queue/,
    source: 'Exchange 4.4.7 / 5.4.300 / 5.4.316, KumoMTA Expiration records, sisimai',
  },

  // Providers' own tags and wordings, which say more than the generic words below.
  { class: 'reputation', text: /permanently deferred/, source: `${yahoo}: [TSS09], [TSS11], [TS03] "will be permanently deferred; Retrying will NOT succeed"` },
  { class: 'rate_limited', text: /\[tss?\d\d\]/, source: `${yahoo}: TS* errors are "Message temporarily deferred" (sisimai: RateLimited)` },
  { class: 'content', text: /\[ph\d\d\]/, source: `${yahoo}: PH* errors are "Content based blocks", whatever their text says` },
  { class: 'reputation', text: /\[bl\d\d\]/, source: `${yahoo}: [BL21], [BL23] the IP is on a Spamhaus list` },
  { class: 'reputation', text: /\b(?:sc-00[1-4]|dy-00[12]|ou-00[12])\b/, source: `${microsoft}: Outlook.com SC-, DY-, OU- block codes` },
  { class: 'rate_limited', text: /\brp-00[1-3]\b/, source: `${microsoft}: Outlook.com RP- codes, rate and connection limits` },
  {
    class: 'rate_limited',
    text: /access denied, please try again later|server busy\. please try again later from/,
    source: `${microsoft}: 451 4.7.500-699 (ASnnn), a new or suspicious IP restricted for now`,
  },
  {
    class: 'invalid_recipient',
    text: /requested action not taken: mailbox unavailable|recipient not found by smtp address lookup|resolver\.adr\.(?:ex)?recip(?:ient)?notfound/,
    enhanced: /^$|^[45]\.[0-6]\./,
    source: `${microsoft}: 550 5.5.0 and 5.1.10 for a mailbox that does not exist (an x.7.x code with the same words is a policy)`,
  },
  {
    class: 'policy',
    text: /requested action not taken: mailbox unavailable/,
    enhanced: /^[45]\.7\./,
    source: 'RFC 5321 550 "mailbox unavailable (e.g., mailbox not found, no access, or command rejected for policy reasons)" with an x.7.x code: the policy',
  },
  { class: 'invalid_recipient', text: /recipient address rejected: access denied/, enhanced: /^[45]\.4\.1$|^5\.7\.50[45]$/, source: `${microsoft}: Exchange Online 5.4.1 and 5.7.504` },
  { class: 'reputation', text: /unusual (?:rate|amount) of .*\bblocked\b/, source: `${gmail}: 550 5.7.28, 550 5.7.1, 421 4.7.28 "has been (temporarily) blocked"` },
  { class: 'rate_limited', text: /unusual rate of/, source: `${gmail}: 421 4.7.28 "unusual rate of (unsolicited) email ... temporarily rate limited" (IP, netblock, DKIM, SPF or URL domain)` },
  { class: 'reputation', text: /not authorized to send email directly to our servers/, source: `${gmail}: 550 5.7.1, an IP that should send through its provider's relay` },
  { class: 'policy', text: /same message-id/, source: `${gmail}: 421 4.7.28 quota for messages with the same Message-ID (sisimai: PolicyViolation)` },
  { class: 'invalid_recipient', text: /out of storage space and inactive/, source: `${gmail}: 552 5.2.2, an abandoned mailbox` },
  {
    class: 'authentication',
    text: /tls\/ssl for smtp|over a tls connection|not using a tls connection|tls required for rcpt domain|must issue a starttls command first/,
    source: `${gmail}: 421 4.7.29, 550 5.7.29, 421 4.7.0, 530 5.7.0 (TLS is a sender requirement)`,
  },
  { class: 'policy', text: /ip not in whitelist for rcpt domain/, source: `${gmail}: 421 4.7.0, the recipient domain's allowlist` },
  { class: 'reputation', text: /esmtp not accepting connections/, source: `${apple}: 554 ... ESMTP not accepting connections (sisimai: Blocked)` },
  { class: 'reputation', text: /\b(?:ofr|lpn)[a-z0-9]*_(?:101|102|103|510|999)\b/, source: orange },
  { class: 'rate_limited', text: /\b(?:ofr|lpn)[a-z0-9]*_104\b/, source: orange },
  { class: 'transient', text: /\b(?:ofr|lpn)[a-z0-9]*_505\b/, source: orange },
  { class: 'content', text: /\b(?:ofr|lpn)[a-z0-9]*_506\b/, source: orange },
  { class: 'invalid_recipient', text: /le compte du destinataire est bloque|boite du destinataire archivee/, source: `${orange}: 420, 426` },
  { class: 'reputation', text: /\b(?:bl|es)0\d{2,5}\b/, source: `${comcast}: BL (block lists, spam patterns) and ES (dynamic IP space) codes` },

  // The recipient's organization restricts who may write to it (before the SMTP AUTH words below).
  {
    class: 'policy',
    text: /not authenticated (?:by organization|for (?:group|mailbox|public folder))|sendernotauthenticatedfor|sender was not authenticated|not in allowed-senders list/,
    source: `${microsoft}: 5.7.12, 5.7.124, 5.7.133-136`,
  },
  // Reverse DNS in other words (before "relaying denied" and greylisting).
  {
    class: 'authentication',
    text: /ip name (?:possibly forged|lookup failed)|cannot find your (?:reverse )?hostname|reverse dns entry/,
    source: 'Sendmail "IP name possibly forged", Postfix reject_unknown_client_hostname (Reacher corpus)',
  },

  // The sending path: relaying refused, or the relay's login (SMTP AUTH) failed.
  {
    class: 'relay_denied',
    text: /relay(?:ing)? access denied|relaying denied|relay(?:ing)? not (?:permitted|allowed)|unable to relay|not permitted to relay|no longer relays|(?:mail|email) relay denied|invalid credentials for relay|(?:mail|email) sending denied|authentication required|authentification requise|username and password not accepted|application-specific password required|log in (?:with|through) your web browser|too many login attempts|unrecognized authentication type|xoauth is no longer supported|no identity changes permitted|too many unauthenticated commands|client was not authenticated|authentication credentials invalid/,
    source: `${gmail} (SMTP relay, SMTP AUTH); ${apple}; ${microsoft}; ${common}`,
  },

  // The sender's identity: SPF, DKIM, DMARC, alignment, PTR, the envelope sender.
  {
    class: 'authentication',
    text: /\bspf\b|\bdkim\b|\bdmarc\b|unauthenticated|sender policy framework|authentication (?:checks?|results?|level|requirements)|\bptr\b|reverse dns|reverse hostname|\brdns\b|sender(?:'s)? (?:e-?mail )?(?:address|domain)|domain of sender|invalid sender|emetteur invalide|unresolvable rfc\.?5321/,
    source: `${gmail}: x.7.23-x.7.27, x.7.30, x.7.32, x.7.40; ${microsoft}: 5.7.509, 5.7.515; ${yahoo}: 5.7.9; ${apple}; ${orange}; GMX/web.de "Bad DNS PTR resource record"`,
  },

  // Temporary trouble at the receiver, in words that would otherwise look like a mailbox or a domain problem.
  {
    class: 'transient',
    text: /greylist|grey-listed|temporary lookup failure|insufficient system (?:storage|resources)|temporary (?:system )?problem|temporary server error|temporary local problem|local error in processing|mailbox (?:is )?temporarily unavailable|server (?:too )?busy|server overloaded|has temporarily rejected this message|temporarily rejected message|try again later, closing connection/,
    source: `${gmail}: 451 4.3.0, 421 4.3.0, 421 4.4.5, 421 4.7.0, 454 4.7.0; Postfix (postgrey, "Temporary lookup failure"); RFC 5321 452 text; qmail`,
  },
  // A DNS lookup that failed for now is not a missing domain.
  {
    class: 'connection',
    text: /host not found, try again|name service error.*try again|temporary failure in name resolution|dns (?:query|lookup) failed|servfail/,
    source: `${postfix}: "Host or domain name not found. Name service error for name=... type=MX: Host not found, try again" (4.4.3)`,
  },
  // Limits on the sender that mention quotas or policy (before mailbox quotas and policies).
  {
    class: 'rate_limited',
    text: /(?:submission|sending) quota exceeded|daily (?:user )?sending (?:quota|limit)|(?:daily|peak) smtp relay (?:sending )?limit exceeded|domain policy size per transaction exceeded|too many recipients|recipient thread limit exceeded|per hour message receive limit|exceeded (?:their|the) limit for|daily limit for message recipients/,
    source: `${gmail}: 450 4.2.1, 550 5.4.5, 452 4.5.3, 550 5.5.3; ${microsoft}: 5.2.2 submission quota, 5.2.121, 5.2.122, 4.3.2, 5.1.90, 4.5.3`,
  },

  {
    class: 'mailbox_full',
    text: /mailbox (?:is )?full|mailbox (?:size limit|quota) exceeded|over ?quota|quota (?:exceeded|exhausted)|exceeded (?:its |their |the )?(?:storage|quota)|out of storage space|insufficient (?:storage|disk space|space)|boite du destinataire pleine|too many messages (?:on the server|in (?:the )?mailbox)|storage quota/,
    source: `${gmail}: 452 4.2.2; ${apple}; ${orange}: 417; ${microsoft}: 5.2.2; ${common}`,
  },
  {
    class: 'bad_domain',
    text: /host or domain name not found|domain (?:name )?(?:not found|does ?n[o']t exist|unknown)|no such domain|unknown domain|find the recipient domain|\bnull ?mx\b|does not accept mail|domain is not reachable|nonexistent domain|\bhost unknown|unrouteable mail domain|no mx (?:record|host)|no data record of requested type/,
    source: `${gmail}: 553 5.1.2; ${postfix} (5.4.4); ${apple}: "host/domain does not accept mail"; RFC 7505 null MX; ${common}`,
  },
  {
    class: 'invalid_recipient',
    text: /(?:user|mailbox|recipient|address|account|addressee)(?: account)? (?:is )?(?:unknown|not found|does ?n[o']t exist|not exist|unavailable|disabled|inactive|invalid|not valid|no longer (?:valid|available|active)|deactivated|suspended|discontinued|terminated)|tried to reach (?:is|was) (?:inactive|disabled)|no such (?:user|mailbox|recipient|person|address|account)|(?:invalid|unknown|bad|non-?existent) (?:recipient|mailbox|user|address|destination mailbox|local part)|unknown or illegal alias|does ?n[o']t exist|doesn't have an? .{0,60}account|user not found|not (?:a )?(?:known|valid) (?:user|mailbox|recipient)|not our (?:customer|user)|no mailbox here|unrouteable address|inactive email address|no longer on server|account (?:has been )?(?:disabled|discontinued|suspended|deactivated|closed|inactive)|mailbox not found|recipient not found|is not a valid rfc 5321 address|banned recipient/,
    source: `${gmail}: 550 5.1.1, 550 5.2.1, 553 5.1.3; ${microsoft}; ${yahoo}: "dd This user doesn't have a ... account"; ${apple}; ${orange}: 416; Mail.ru "invalid mailbox"; Yandex "No such user!"; Postfix "User unknown in ... table"; ${common}`,
  },
  { class: 'invalid_recipient', text: /\baddress rejected\b/, enhanced: /^[45]\.1\.\d+$/, source: 'an x.1.x addressing code with "Address rejected" (GoDaddy, iiNet; Reacher corpus)' },
  {
    class: 'message_too_large',
    text: /(?:message|mail|email) (?:size )?(?:is )?too (?:large|big)|too big for (?:the )?system|message size exceeds|size limits?\b|maximum (?:message )?size|message length exceeds|(?:number|size) of (?:the )?attachments|exceeds google's (?:limit of|header name limit)|taille limite du message/,
    source: `${gmail}: 552 5.3.4; ${microsoft}: 5.2.3, 5.3.4; ${orange}: 514; ${common}`,
  },

  // Throttling: the receiver asks for less, whatever reason it gives (even reputation: slowing down is what it asks).
  {
    class: 'rate_limited',
    text: /rate.?limit|throttl|too many (?:connections|sessions|concurrent|simultaneous|messages|mails|emails)|too much (?:e?mail|messages)|(?:receiving|sending) (?:e?mail )?too (?:quickly|fast)|at a rate that prevents|excessive (?:volume|mail)|unexpected volume|slow down|try again slower|maximum number of connections|max(?:imum)? (?:number of )?messages? per (?:connection|session)|exceeded (?:the )?permitted limits|limit exceeded/,
    source: `${gmail}: 450 4.2.1, 421 4.7.0 "temporarily rate limited", 550 5.7.1 "This email has been rate limited"; ${microsoft}: 4.7.650, 4.7.651, 4.7.652, 5.7.508; ${yahoo}; ${apple}: "deferred due to excessive volume"; ${comcast}; ${postfix}: 450 4.7.1 "too much mail from" (smtpd_client_message_rate_limit); ${common}`,
  },
  // Who the sender is: block lists, bans, poor reputation.
  {
    class: 'reputation',
    text: /block ?list|black ?list|\brbl\b|dnsbl|spamhaus|barracuda|spamcop|uceprotect|cloudmark|senderscore|sender score|proofpoint|trend micro|\bsbrs\b|reputation|banned|\bblocked (?:using|by|for|from)\b|\bip(?: address)? \S+ (?:is )?blocked|(?:is|are|been) listed (?:at|on|in|by)|block for spam|spamming|dynamic (?:ip|address)|residential|part of their network|compromised/,
    source: `${gmail}: "very low reputation"; ${microsoft}: S3150, 5.7.511, 5.7.606-649; ${yahoo}; ${apple}; ${comcast}; GMX/web.de "IP address is block listed"; ${common}`,
  },
  // What the message is: spam, viruses, attachments, malformed headers.
  {
    class: 'content',
    text: /unsolicited|\bspam\b|spam-like|\bjunk|content (?:rejected|refused|filter|restrictions)|rejected as spam|phish|virus|malware|infected|attachment|nature of the content|links within|security issue|rfc ?5322|rfc ?2822|not rfc compliant|malformed|message-id|disallowed header|unicode character|encoded-word|\bube\b|mail rejected|mail rejete|improper use of 8-bit|header error|suspicious/,
    source: `${gmail}: 550 5.7.1 "likely unsolicited", 421 4.7.0 content or links, 552 5.7.0, 554 5.6.0, 550 5.7.1 RFC 5322; Mail.ru "spam message rejected"; Yandex "suspicion of SPAM"; ${orange}: 506; amavis "UBE"; ${common}`,
  },
  {
    class: 'protocol',
    text: /syntax error|bad sequence|out of sequence|unrecognized command|unimplemented command|command (?:not implemented|unrecognized|not recognized)|protocol (?:violation|error)|pipelin|helo\/ehlo|ehlo\/helo|(?:invalid|bad|empty) (?:helo|ehlo)|helo command rejected|send hello first|(?:rcpt|mail|data) first|\bbdat\b|invalid command|line too long|bare (?:lf|line feed)|invalid characters|multiple destination domains/,
    source: `${gmail}: 5.5.x, 451 4.5.0, 451 4.3.0, 523 5.7.10, 501 5.7.11; ${microsoft}: 5.5.2, 5.6.11; RFC 5321 5xx replies`,
  },
  {
    class: 'policy',
    text: /polic(?:y|ies)|prohibit|administrative(?:ly)? (?:prohibition|denied)|not (?:accepted|allowed|authorized|permitted)|refused by|delivery not authorized|access denied|whitelist|allowlist|rejected by (?:the )?recipient|recipient preferences|client host rejected/,
    source: `${gmail}: 550 5.7.1 "has a policy that prohibits"; ${yahoo}: 554 5.7.9 "not accepted for policy reasons"; ${apple}: [CS01]; ${microsoft}: 5.7.1 "Delivery not authorized"; GMX "Reject due to policy restrictions"; ${common}`,
  },
  {
    class: 'connection',
    text: /connection (?:refused|reset|timed out|closed|dropped|lost|expired)|lost connection|timed out|timeout|network (?:is )?unreachable|no route to host|host (?:is )?unreachable|connect to \S+:\d+|\btls\b|\bssl\b|handshake|certificate|starttls|no answer from host|not responding|initial server greeting|unable to connect|could not connect|broken pipe|mta-sts|\bdane\b|\btlsa\b|dnssec|socket error/,
    source: `${postfix}: "connect to ...: Connection refused", "lost connection with ... while ...", "conversation with ... timed out while ..."; ${gmail}: 451 4.4.2, 421 4.7.0 "Connection expired"; ${microsoft}: 4.4.316-318`,
  },
];

/** Rules on the enhanced status code, most specific first: used when no reply rule matched. */
export const enhancedCodeRules: readonly CodeRule[] = [
  { class: 'invalid_recipient', code: /^[45]\.1\.[1346]$/, source: `${rfc3463}: X.1.1 bad destination mailbox, X.1.3 bad syntax, X.1.4 ambiguous, X.1.6 moved` },
  { class: 'bad_domain', code: /^[45]\.1\.(?:2|10)$/, source: `${rfc3463}: X.1.2 bad destination system; RFC 7505: X.1.10 null MX` },
  { class: 'authentication', code: /^[45]\.1\.[78]$/, source: `${rfc3463}: X.1.7, X.1.8 bad sender address or system` },
  { class: 'invalid_recipient', code: /^[45]\.2\.1$/, source: `${rfc3463}: X.2.1 mailbox disabled` },
  { class: 'mailbox_full', code: /^[45]\.2\.2$/, source: `${rfc3463}: X.2.2 mailbox full` },
  { class: 'message_too_large', code: /^[45]\.(?:2\.3|3\.4)$/, source: `${rfc3463}: X.2.3 message length exceeds limit, X.3.4 message too big` },
  { class: 'expired', code: /^[45]\.4\.7$/, source: `${rfc3463}: X.4.7 delivery time expired` },
  { class: 'bad_domain', code: /^5\.4\.4$/, source: `${rfc3463}: X.4.4 unable to route; Postfix's code for a domain with no MX or address` },
  { class: 'connection', code: /^[45]\.4\.(?:[12348]|31\d)$/, source: `${rfc3463}: X.4.1 no answer, X.4.2 bad connection, X.4.3 directory (DNS) failure; Exchange Online 4.4.31x` },
  { class: 'rate_limited', code: /^[45]\.5\.3$/, source: `${rfc3463}: X.5.3 too many recipients (sisimai: RateLimited)` },
  { class: 'protocol', code: /^[45]\.5\.\d+$/, source: `${rfc3463}: X.5 mail delivery protocol` },
  { class: 'content', code: /^[45]\.6\.\d+$/, source: `${rfc3463}: X.6 message content or media` },
  { class: 'invalid_recipient', code: /^[45]\.7\.(?:13|17)$/, source: 'RFC 3463 X.7.13 user account disabled; RFC 7293: X.7.17 mailbox owner has changed' },
  { class: 'bad_domain', code: /^[45]\.7\.18$/, source: 'RFC 7293: X.7.18 domain owner has changed' },
  { class: 'relay_denied', code: /^[45]\.7\.8$/, source: 'RFC 4954: X.7.8 authentication credentials invalid' },
  {
    class: 'authentication',
    code: /^[45]\.7\.(?:2[0-7]|29|30|32|40|509|515)$/,
    source: `RFC 7372: X.7.20-X.7.26 DKIM, SPF, reverse DNS, multiple checks; RFC 7505: X.7.27 sender null MX; ${gmail}: x.7.29 TLS, x.7.30 DKIM, x.7.32 alignment, x.7.40 DMARC; ${microsoft}: 5.7.509, 5.7.515`,
  },
  { class: 'rate_limited', code: /^4\.7\.(?:28|[56]\d\d|8[5-9]\d)$/, source: `${gmail}: 421 4.7.28; ${microsoft}: 451 4.7.500-699, 4.7.850-899` },
  { class: 'reputation', code: /^5\.7\.(?:28|511|6[0-4]\d)$/, source: `${gmail}: 550 5.7.28; ${microsoft}: 5.7.511 banned sender, 5.7.606-649 banned sending IP` },
  { class: 'policy', code: /^[45]\.7\.\d+$/, source: `${rfc3463}: X.7 security or policy status` },
];

/** Rules on the basic reply code, used last (after a source's own label). */
export const replyCodeRules: readonly CodeRule[] = [
  { class: 'bad_domain', code: /^(?:521|556)$/, source: 'RFC 7504: 521 and 556, the host or domain does not accept mail' },
  { class: 'relay_denied', code: /^(?:530|535)$/, source: 'RFC 4954: 530 authentication required, 535 credentials invalid' },
  { class: 'protocol', code: /^50[0-4]$/, source: 'RFC 5321: 500-504 syntax and command errors' },
];

/**
 * KumoMTA's predefined classes (crates/bounce-classify, docs reference/kumo/configure_bounce_classifier)
 * as ours; null where the label names no failure (auto-replies, list requests) or nothing (Uncategorized).
 */
export const kumoBounceClasses: Readonly<Record<string, BounceClass | null>> = {
  InvalidRecipient: 'invalid_recipient',
  DNSFailure: 'connection',
  SpamBlock: 'reputation', // "blocked ... as coming from a known spam source"
  SpamContent: 'content',
  ProhibitedAttachment: 'content',
  RelayDenied: 'relay_denied',
  AutoReply: null,
  TransientFailure: 'transient',
  Subscribe: null,
  Unsubscribe: null,
  ChallengeResponse: null,
  BadConfiguration: 'other', // the remote host's configuration
  BadConnection: 'connection',
  BadDomain: 'bad_domain',
  ContentRelated: 'content',
  InactiveMailbox: 'invalid_recipient',
  InvalidSender: 'authentication', // "invalid DNS or MX entry for sending domain"
  MessageExpired: 'expired',
  NoAnswerFromHost: 'connection',
  PolicyRelated: 'policy',
  ProtocolErrors: 'protocol',
  QuotaIssues: 'mailbox_full', // stock iana.toml also files 5.2.3 and 5.3.4 (size) here; our code rules come first
  RelayingIssues: 'relay_denied',
  RoutingErrors: 'bad_domain', // X.4.4 unable to route
  SpamRelated: 'content',
  VirusRelated: 'content',
  AuthenticationFailed: 'authentication', // stock iana.toml gives it to every 5xx x.7.0-x.7.30, which is why labels come after our codes
  TooManyRecipients: 'rate_limited',
  Uncategorized: null,
};

/**
 * sisimai's reasons (v4 and v5 names, lower case as sisimai emits them; RateLimited
 * and EmailTooLarge are the December 2025 merges of Speeding + TooManyConn and
 * MesgTooBig + ExceedLimit) as ours; null where the reason is no failure or unknown.
 */
export const sisimaiReasons: Readonly<Record<string, BounceClass | null>> = {
  authfailure: 'authentication',
  badreputation: 'reputation',
  blocked: 'reputation',
  contenterror: 'content',
  delivered: null,
  emailtoolarge: 'message_too_large',
  exceedlimit: 'message_too_large',
  expired: 'expired',
  failedstarttls: 'connection',
  feedback: 'complaint',
  filtered: 'policy', // the recipient's own filter settings
  hasmoved: 'invalid_recipient',
  hostunknown: 'bad_domain',
  mailboxfull: 'mailbox_full',
  mailererror: 'other',
  mesgtoobig: 'message_too_large',
  networkerror: 'connection',
  norelaying: 'relay_denied',
  notaccept: 'bad_domain', // null MX, 521/556
  notcompliantrfc: 'content',
  onhold: null,
  policyviolation: 'policy',
  ratelimited: 'rate_limited',
  rejected: 'authentication', // the envelope sender was refused
  requireptr: 'authentication',
  securityerror: 'relay_denied', // mostly SMTP AUTH failures
  spamdetected: 'content',
  speeding: 'rate_limited',
  suppressed: 'policy', // the sending platform's own suppression list
  suspend: 'invalid_recipient',
  syntaxerror: 'protocol',
  systemerror: 'transient',
  systemfull: 'transient',
  toomanyconn: 'rate_limited',
  undefined: null,
  userunknown: 'invalid_recipient',
  vacation: null,
  virusdetected: 'content',
};
