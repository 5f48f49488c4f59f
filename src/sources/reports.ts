/**
 * Reports posted over HTTP: `POST /v1/ingest/reports` with a report file or a
 * mail as the body (DMARC aggregate XML, gzip or zip; TLS-RPT JSON or gzip; an
 * ARF or DSN mail), for a mail server's pipe or a script. Answered 200 once what
 * it carried is recorded (or quarantined with its reason); the same body posted
 * again is a duplicate.
 */
import { z } from 'zod';
import { defineSource, SourceBase } from './define.ts';
import { reportMeasurements } from './feedback.ts';

const configSchema = SourceBase.extend({
  kind: z.literal('reports'),
  maxBodyBytes: z
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(64 * 1024 * 1024)
    .describe('largest body accepted, in bytes (a larger one is a 413)'),
}).strict();

export const reports = defineSource({
  kind: 'reports',
  description: 'report files or mails posted over HTTP (DMARC aggregate, TLS-RPT, ARF, DSN; bare, gzip or zip)',
  configSchema,
  measurements: reportMeasurements,
  upload: { maxBodyBytes: 256 * 1024 * 1024 },
});
