/**
 * Complaint feedback (RFC 5965 ARF): a multipart/report with report-type
 * feedback-report, its message/feedback-report part and the original message
 * (or its headers).
 */
import type { ComplaintReport } from '../reports/types.ts';

/** The complaint a mail carries; undefined when the mail is not a feedback report; throws ReportRefused('malformed') when it is one but cannot be read. */
export async function parseArf(_message: Buffer): Promise<ComplaintReport | undefined> {
  return undefined;
}
