/**
 * Why a message was not delivered, in one vocabulary whatever the platform: a
 * bounce class from the SMTP reply code, the enhanced status code (RFC 3463) and
 * the reply text. The table is data: patterns first (providers say more in text
 * than in codes), then enhanced codes, then the basic code. Knows nothing of the app.
 */

/** The classes, with what each means. */
export const bounceClasses = {
  invalid_recipient: 'the mailbox does not exist (or is disabled): remove the address',
  bad_domain: 'the recipient domain does not exist or has no usable mail server',
  mailbox_full: 'the mailbox is over quota: it may accept mail later',
  message_too_large: 'the message is larger than the receiver takes',
  spam_block: 'the receiver judged this message (its content, links or pattern) as spam',
  reputation: 'the sending IP or domain is blocked or distrusted (blocklists, poor reputation, complaints)',
  rate_limited: 'the receiver asks for less mail, or fewer connections, from this sender for now',
  authentication: 'SPF, DKIM, DMARC or reverse DNS did not satisfy the receiver',
  policy: "the receiver's policy refused the message (other than the above)",
  relay_denied: 'the receiver will not relay for this sender',
  connection: 'the receiver could not be reached or the connection failed (network, TLS, timeouts)',
  protocol: 'the SMTP conversation went wrong (a command refused, a syntax error)',
  expired: 'the message waited in the queue past its lifetime without being delivered',
  complaint: 'a recipient reported the message as spam (a feedback loop report)',
  transient: 'a temporary failure with no more specific reason',
  other: 'a permanent failure with no more specific reason',
} as const;

export type BounceClass = keyof typeof bounceClasses;
export const bounceClassNames = Object.keys(bounceClasses) as BounceClass[];

export interface BounceInput {
  /** deferred and bounced are classified from the reply; expired and complained are their own class. */
  outcome: 'deferred' | 'bounced' | 'expired' | 'complained';
  smtpCode?: number | undefined;
  enhancedCode?: string | undefined;
  reply?: string | undefined;
}

/** Reply texts that say more than codes, most specific first: [pattern, class]. */
const replyPatterns: readonly [RegExp, BounceClass][] = [
  // Rate and volume: Gmail 4.7.28 "unusual rate", Microsoft 4.7.650 "rate limited", Yahoo TSS04 "unexpected volume".
  [
    /unusual rate|rate[- ]limit|too many (messages|connections|recipients)|throttl|try again later.*(volume|rate)|unexpected volume|\bTS0[14]\b|\bTSS04\b|4\.7\.650|exceeded.*(rate|limit)|slow down/i,
    'rate_limited',
  ],
  // Authentication: Gmail 5.7.26 / 5.7.27, DMARC, SPF, DKIM, PTR.
  [/unauthenticated|not authenticated|authentication (required|failed)|\bdmarc\b|\bspf\b|\bdkim\b|reverse dns|\bptr\b|5\.7\.2[5-7]/i, 'authentication'],
  // Reputation and blocklists: Outlook S3150, Spamhaus, "on our block list", "poor reputation".
  [/block ?list|blacklist|\brbl\b|spamhaus|barracuda|spamcop|reputation|S3150|\bbanned\b|blocked (using|by|because|due)|listed (at|on|in)/i, 'reputation'],
  // Content judged as spam: Gmail 5.7.1 "likely unsolicited mail", "spam detected", "content rejected".
  [/unsolicited|spam|junk|content (rejected|refused)|message (content )?(rejected|refused) (as|because)|phish|virus|malware/i, 'spam_block'],
  [
    /(user|mailbox|recipient|address)( name)? (unknown|not found|does not exist|doesn't exist|unavailable|disabled|inactive)|no such (user|mailbox|recipient)|invalid (recipient|mailbox|address)|unknown (user|recipient)|does not exist/i,
    'invalid_recipient',
  ],
  [/(mailbox|quota|storage).*(full|exceeded|over)|over quota|insufficient (storage|space)/i, 'mailbox_full'],
  [/message (size|too large|is too big)|too large|exceeds (the )?(maximum|size)/i, 'message_too_large'],
  [/relay(ing)? (access )?(denied|not permitted|not allowed)|not permitted to relay|unable to relay/i, 'relay_denied'],
  [/(domain|host) (not found|unknown|does not exist)|no mx|name (or service )?not known|nxdomain|mx lookup/i, 'bad_domain'],
  [/connection (refused|reset|timed out|closed)|timed out|timeout|network (is )?unreachable|tls|ssl|handshake|lost connection/i, 'connection'],
  [/policy|not (accepted|allowed)|administrative|prohibited|refused by (local )?policy|TSS09|5\.7\.9/i, 'policy'],
];

/** Enhanced codes (RFC 3463 class.subject.detail) with a class of their own, most specific first. */
const enhancedCodes: readonly [RegExp, BounceClass][] = [
  [/^[45]\.1\.(1|6|10)$/, 'invalid_recipient'],
  [/^[45]\.1\.2$/, 'bad_domain'],
  [/^[45]\.1\.[378]$/, 'policy'],
  [/^[45]\.2\.2$/, 'mailbox_full'],
  [/^[45]\.2\.1$/, 'invalid_recipient'],
  [/^[45]\.2\.3$|^[45]\.3\.4$/, 'message_too_large'],
  [/^4\.4\.7$/, 'expired'],
  [/^[45]\.4\.[0-7]$/, 'connection'],
  [/^[45]\.5\.\d+$/, 'protocol'],
  [/^[45]\.7\.(25|26|27|7|20|21|22|23|24)$/, 'authentication'],
  [/^[45]\.7\.28$/, 'rate_limited'],
  [/^[45]\.7\.1$/, 'policy'],
  [/^[45]\.7\.\d+$/, 'policy'],
  [/^4\.3\.2$/, 'rate_limited'],
];

/** The enhanced code at the start of a reply text ("550-5.1.1 ..."), when the source did not give it apart. */
export function enhancedCodeIn(reply: string | undefined): string | undefined {
  return /^\s*(?:\d{3}[- ])?([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply ?? '')?.[1];
}

/** The bounce class of a failed attempt. */
export function classifyBounce(input: BounceInput): BounceClass {
  if (input.outcome === 'complained') return 'complaint';
  if (input.outcome === 'expired') return 'expired';
  const reply = input.reply ?? '';
  for (const [pattern, bounceClass] of replyPatterns) if (pattern.test(reply)) return bounceClass;
  const enhanced = input.enhancedCode ?? enhancedCodeIn(reply);
  if (enhanced) for (const [pattern, bounceClass] of enhancedCodes) if (pattern.test(enhanced)) return bounceClass;
  const temporary = input.outcome === 'deferred' || (input.smtpCode !== undefined && input.smtpCode >= 400 && input.smtpCode < 500);
  if (input.smtpCode === 421) return 'rate_limited';
  return temporary ? 'transient' : 'other';
}
