import { z } from 'zod';
import { secretUrl } from '../core/schema.ts';
import { defineNotifier, detailLabels, headline, NotifierBase, post, type AlertNotification } from './define.ts';

const configSchema = NotifierBase.extend({
  kind: z.literal('slack'),
  webhookUrl: secretUrl().describe('the Slack incoming-webhook URL (a secret: use ${VAR})'),
}).strict();

/** Slack's mrkdwn needs &, < and > escaped; everything else is literal. */
const mrkdwn = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const when = (iso: string | undefined) => (iso ? `<!date^${Math.floor(Date.parse(iso) / 1000)}^{date_short_pretty} {time}|${iso}>` : '');

const icons = { firing: ':red_circle:', reminder: ':repeat:', resolved: ':large_green_circle:' } as const;

/** Block Kit: what, where (labels), since when, value vs threshold, what to do, and links. */
export function slackPayload(notification: AlertNotification): Record<string, unknown> {
  const { alert } = notification;
  const title = notification.event === 'firing' ? 'Firing' : notification.event === 'resolved' ? 'Resolved' : 'Still firing';
  const fields = [
    `*Rule*\n${mrkdwn(alert.rule)}`,
    `*Severity*\n${alert.severity}`,
    `*Condition*\n\`${mrkdwn(alert.condition)}\``,
    ...(alert.value !== undefined ? [`*Value*\n${mrkdwn(String(alert.value))}${alert.threshold !== undefined ? ` (threshold ${mrkdwn(String(alert.threshold))})` : ''}`] : []),
    ...(alert.since ? [`*Since*\n${when(alert.since)}`] : []),
    ...(alert.resolvedAt && notification.event === 'resolved' ? [`*Resolved*\n${when(alert.resolvedAt)}`] : []),
    ...Object.entries(alert.labels).map(([name, value]) => `*${mrkdwn(name)}*\n${mrkdwn(value)}`),
  ].slice(0, 10);
  const details = Object.entries(detailLabels)
    .filter(([key]) => alert.details[key] !== undefined)
    .map(([key, label]) => {
      const value = alert.details[key]!;
      const shown = key === 'delist_url' ? `<${value}|${mrkdwn(value)}>` : key.endsWith('record') ? `\`\`\`${mrkdwn(clip(value, 1_500))}\`\`\`` : mrkdwn(clip(value, 1_500));
      return `*${label}:* ${shown}`;
    });
  const links = [
    ...(notification.links.alert ? [`<${notification.links.alert}|Alert ${alert.id}>`] : [`Alert ${alert.id}`]),
    ...(notification.links.dashboard ? [`<${notification.links.dashboard}|Dashboard>`] : []),
    ...(alert.acknowledgedBy ? [`acknowledged by ${mrkdwn(alert.acknowledgedBy)}`] : []),
  ];
  return {
    text: headline(notification),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(`${title}: ${alert.summary}`, 150), emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: `${icons[notification.event]} *${mrkdwn(alert.summary)}*${alert.description ? `\n${mrkdwn(alert.description)}` : ''}` } },
      { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
      ...(details.length > 0 ? [{ type: 'section', text: { type: 'mrkdwn', text: clip(details.join('\n'), 3_000) } }] : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: links.join(' · ') }] },
    ],
  };
}

export const slack = defineNotifier({
  kind: 'slack',
  description: 'a Slack incoming webhook: a Block Kit message per firing, reminder and resolution',
  configSchema,
  async send(config, notification, ctx) {
    await post(config.webhookUrl.reveal(), JSON.stringify(slackPayload(notification)), { 'content-type': 'application/json' }, ctx, 'Slack webhook');
  },
});
