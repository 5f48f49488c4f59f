import { z } from 'zod';
import { peerExcerpt } from '../core/redact.ts';
import { duration, readableFile, secret } from '../core/schema.ts';
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { defineNotifier, DeliveryError, detailLabels, headline, NotifierBase, type AlertNotification } from './define.ts';

const configSchema = NotifierBase.extend({
  kind: z.literal('email'),
  smtp: z
    .strictObject({
      host: z.string().min(1),
      port: z.int().min(1).max(65_535).optional().describe('default: 587 (starttls), 465 (tls), 25 (none)'),
      security: z.enum(['starttls', 'tls', 'none']).default('starttls'),
      caFile: readableFile.optional().describe('PEM file of a private CA'),
      auth: z.strictObject({ user: z.string().min(1), password: secret() }).optional(),
      timeout: duration.prefault('30s'),
    })
    .describe('the SMTP server that relays the alert mail'),
  from: z.email({ error: 'expected an email address' }),
  to: z.array(z.email({ error: 'expected an email address' })).min(1, { message: 'expected at least one recipient' }),
}).strict();

/** The plain-text mail: the headline, what fired, the labels, what to do, the links. */
function emailText(notification: AlertNotification): string {
  const { alert } = notification;
  const lines = [
    headline(notification),
    '',
    ...(alert.description ? [alert.description, ''] : []),
    `Rule:       ${alert.rule}`,
    `Condition:  ${alert.condition}`,
    ...(alert.value !== undefined ? [`Value:      ${String(alert.value)}${alert.threshold !== undefined ? ` (threshold ${String(alert.threshold)})` : ''}`] : []),
    ...(alert.since ? [`Since:      ${alert.since}`] : []),
    ...(alert.resolvedAt && notification.event === 'resolved' ? [`Resolved:   ${alert.resolvedAt}`] : []),
    ...Object.entries(alert.labels).map(([name, value]) => `${`${name}:`.padEnd(12)}${value}`),
    '',
    ...Object.entries(detailLabels)
      .filter(([key]) => alert.details[key] !== undefined)
      .map(([key, label]) => `${label}: ${alert.details[key]}`),
    '',
    `Alert ${alert.id}${notification.links.alert ? `: ${notification.links.alert}` : ''}`,
    ...(notification.links.dashboard ? [`Dashboard: ${notification.links.dashboard}`] : []),
  ];
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

const defaultPorts = { starttls: 587, tls: 465, none: 25 } as const;

interface SmtpFailure extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

export const email = defineNotifier({
  kind: 'email',
  description: 'a plain-text mail over SMTP (nodemailer) to a list of addresses',
  configSchema,
  async send(config, notification, ctx) {
    const { smtp } = config;
    const transport = nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port ?? defaultPorts[smtp.security],
      secure: smtp.security === 'tls',
      requireTLS: smtp.security === 'starttls',
      ignoreTLS: smtp.security === 'none',
      ...(smtp.auth ? { auth: { user: smtp.auth.user, pass: smtp.auth.password.reveal() } } : {}),
      ...(smtp.caFile ? { tls: { ca: [readFileSync(smtp.caFile)] } } : {}),
      connectionTimeout: smtp.timeout,
      greetingTimeout: smtp.timeout,
      socketTimeout: smtp.timeout,
    });
    const abort = () => transport.close();
    ctx.signal.addEventListener('abort', abort, { once: true });
    try {
      await transport.sendMail({
        from: config.from,
        to: config.to,
        subject: headline(notification),
        text: emailText(notification),
        headers: { 'X-Mailscope-Alert': notification.alert.id, 'X-Mailscope-Event': notification.event },
      });
    } catch (thrown) {
      const error = thrown as SmtpFailure;
      const where = `${smtp.host}:${smtp.port ?? defaultPorts[smtp.security]}`;
      // The server's words: some echo the AUTH line (base64 of the password) back.
      const reply = peerExcerpt(error.response ?? error.message);
      // A 5xx refusal or refused credentials will not change by retrying; 4xx and the network may.
      const permanent = error.code === 'EAUTH' || (error.responseCode !== undefined && error.responseCode >= 500);
      throw new DeliveryError('NOTIFY_FAILED', `email via ${where}: ${reply}`, { retryable: !permanent });
    } finally {
      ctx.signal.removeEventListener('abort', abort);
      transport.close();
    }
  },
});
