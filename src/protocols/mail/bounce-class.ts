/**
 * Why a message was not delivered, in one vocabulary whatever the platform: a
 * bounce class from the reply text, the enhanced status code (RFC 3463), a
 * source's own label and the basic reply code, read through one table
 * (bounce-class-table.ts, data). Knows nothing of the app.
 */
import { type BounceClass, bounceClasses, type CodeRule, enhancedCodeRules, kumoBounceClasses, type ReplyRule, replyCodeRules, replyRules, sisimaiReasons } from './bounce-class-table.ts';

export { type BounceClass, bounceClasses, type CodeRule, enhancedCodeRules, kumoBounceClasses, type ReplyRule, replyCodeRules, replyRules, sisimaiReasons };

export const bounceClassNames = Object.keys(bounceClasses) as BounceClass[];

export interface BounceInput {
  /** deferred and bounced are classified from the reply; expired and complained are their own class. */
  outcome: 'deferred' | 'bounced' | 'expired' | 'complained';
  /** The basic reply code (550); read from the reply when not given. */
  smtpCode?: number | undefined;
  /** The enhanced status code (5.1.1); read from the reply when not given. */
  enhancedCode?: string | undefined;
  /** The remote reply as the platform logged it: one line or several, with or without Postfix's "host X said:". */
  reply?: string | undefined;
  /** The source's own classification: one of our class names, a KumoMTA class or a sisimai reason. */
  label?: string | undefined;
}

export interface BounceExplanation {
  bounceClass: BounceClass;
  /** What decided: the outcome itself, a reply rule, an enhanced code rule, the source's label, a reply code rule, or nothing (transient or other). */
  by: 'outcome' | 'reply' | 'enhanced code' | 'label' | 'reply code' | 'fallback';
  rule?: ReplyRule | CodeRule;
}

const codePair = /[245]\d\d[ -]#?[245]\.\d{1,3}\.\d{1,3}(?![\d.])/;

/** Removes what MTAs wrap around a reply: Postfix's "host X said:", a DSN's "smtp;", Exim's "SMTP error from remote mail server after ...:". */
function unwrap(text: string): string {
  let rest = text.trim();
  for (;;) {
    const next = rest
      .replace(/^delivery temporarily suspended:\s*/i, '')
      .replace(/^host \S+ (?:said|refused to talk to me):\s*/i, '')
      .replace(/^(?:smtp|x-[\w.-]+|unknown);\s*/i, '')
      .replace(/^.*?smtp error from remote (?:mail server|mailer) after [^:]*(?::<[^>]*>)?[^:]*:\s*/i, '');
    if (next === rest) return rest;
    rest = next;
  }
}

/**
 * The reply as the table reads it: lower case, one line, without the wrapping
 * of unwrap(), without "(in reply to ... command)" and without the code prefixes
 * a multi-line reply repeats on each line ("421-4.7.28 ...", also where Postfix
 * flattened the lines into one).
 */
export function normalizeReply(reply: string): string {
  const lines = unwrap(reply.toLowerCase())
    .split(/\r?\n/)
    .map((line) => unwrap(line).replace(/^[245]\d\d(?:[ -]#?[245]\.\d{1,3}\.\d{1,3}(?![\d.]))?(?:[ -]|$)/, ''));
  return lines
    .join(' ')
    .replace(/\(in reply to [^)]*\)/g, ' ')
    .replace(new RegExp(`(^|\\s)${codePair.source}(?=\\s|$)`, 'g'), ' ')
    .replace(/(^|\s)[245]\d\d-(?=\S)/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The enhanced code of a reply ("550-5.1.1 ...", "host X said: 550 5.1.1 ...", qmail's "(#5.1.1)"), when the source did not give it apart. */
export function enhancedCodeIn(reply: string | undefined): string | undefined {
  const text = unwrap(reply ?? '');
  return (
    /^(?:[245]\d\d[ -])?#?([245]\.\d{1,3}\.\d{1,3})(?![\d.])/.exec(text)?.[1] ??
    /[:;]\s*[245]\d\d[ -]#?([245]\.\d{1,3}\.\d{1,3})(?![\d.])/.exec(text)?.[1] ??
    /\(#([245]\.\d{1,3}\.\d{1,3})\)/.exec(text)?.[1]
  );
}

/** The basic reply code of a reply ("550 ...", "host X said: 421-..."), when the source did not give it apart. */
export function replyCodeIn(reply: string | undefined): number | undefined {
  const text = unwrap(reply ?? '');
  const code = /^([245]\d\d)(?:[ -]|$)/.exec(text)?.[1] ?? /[:;]\s*([245]\d\d)[ -]#?[245]\.\d/.exec(text)?.[1];
  return code === undefined ? undefined : Number(code);
}

const labels = new Map<string, BounceClass | null>();
for (const table of [kumoBounceClasses, sisimaiReasons, Object.fromEntries(bounceClassNames.map((name) => [name, name]))]) {
  for (const [label, bounceClass] of Object.entries(table)) labels.set(labelKey(label), bounceClass);
}

function labelKey(label: string): string {
  return label.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * Our class for a source's label: one of our names, a KumoMTA class
 * (InvalidRecipient) or a sisimai reason (userunknown, UserUnknown), in any
 * case. Undefined for a label that names no failure (AutoReply, vacation), no
 * reason (Uncategorized, undefined, onhold) or one we do not know (KumoMTA's
 * user-defined classes).
 */
export function bounceClassOfLabel(label: string | undefined): BounceClass | undefined {
  return label === undefined ? undefined : (labels.get(labelKey(label)) ?? undefined);
}

/** The bounce class of a failed attempt, and what decided it. */
export function explainBounce(input: BounceInput): BounceExplanation {
  if (input.outcome === 'complained') return { bounceClass: 'complaint', by: 'outcome' };
  if (input.outcome === 'expired') return { bounceClass: 'expired', by: 'outcome' };
  const text = normalizeReply(input.reply ?? '');
  const enhanced = input.enhancedCode ?? enhancedCodeIn(input.reply);
  for (const rule of replyRules) {
    if (rule.text.test(text) && (rule.enhanced === undefined || rule.enhanced.test(enhanced ?? ''))) return { bounceClass: rule.class, by: 'reply', rule };
  }
  if (enhanced !== undefined) {
    for (const rule of enhancedCodeRules) if (rule.code.test(enhanced)) return { bounceClass: rule.class, by: 'enhanced code', rule };
  }
  const labelled = bounceClassOfLabel(input.label);
  if (labelled !== undefined) return { bounceClass: labelled, by: 'label' };
  const code = input.smtpCode ?? replyCodeIn(input.reply);
  if (code !== undefined) {
    for (const rule of replyCodeRules) if (rule.code.test(String(code))) return { bounceClass: rule.class, by: 'reply code', rule };
  }
  const temporary = input.outcome === 'deferred' || (code !== undefined ? code >= 400 && code < 500 : enhanced?.startsWith('4') === true);
  return { bounceClass: temporary ? 'transient' : 'other', by: 'fallback' };
}

/** The bounce class of a failed attempt. */
export function classifyBounce(input: BounceInput): BounceClass {
  return explainBounce(input).bounceClass;
}
