/**
 * The platform's own traffic, as the sources report it (a KumoMTA log record, a
 * Postfix log line, a posted JSON event): one delivery attempt's outcome, in one
 * shape, whatever the platform. Sources produce it; the traffic service completes
 * it (provider, bounce class), aggregates it per minute and records it.
 */

/** What became of one attempt to deliver one message to one recipient. */
export const trafficOutcomes = ['delivered', 'deferred', 'bounced', 'expired', 'complained'] as const;
export type TrafficOutcome = (typeof trafficOutcomes)[number];

export interface TrafficEvent {
  /** When it happened (the platform's time). */
  time: Date;
  outcome: TrafficOutcome;
  /** The recipient's domain, lower-case (the provider is found from it when the source does not say). */
  recipientDomain: string;
  /** The mailbox provider, when the source knows it (gmail, outlook, yahoo, ...). */
  provider?: string;
  /** The sending IP the attempt left from. */
  ip?: string;
  /** The IP pool (as the platform names it). */
  pool?: string;
  campaign?: string;
  tenant?: string;
  /** The SMTP reply code (250, 421, 550, ...). */
  smtpCode?: number;
  /** The enhanced status code (RFC 3463: 5.1.1, 4.7.28, ...). */
  enhancedCode?: string;
  /** The remote server's reply text: untrusted peer text, bounded and cleaned before it is kept. */
  reply?: string;
  /** The bounce class, when the source classified it (else it is classified from code and reply). */
  bounceClass?: string;
  /** From the message's reception to this outcome, when the source knows it. */
  latencyMs?: number;
}
