import type { ReportLimits } from './types.ts';

/** What one input may cost by default: a 100 MB aggregate report (about 250,000 rows) fits; a bomb does not. */
export const defaultReportLimits: ReportLimits = {
  maxInputBytes: 128 * 1024 * 1024,
  maxExpandedBytes: 256 * 1024 * 1024,
  maxZipMembers: 16,
  maxNesting: 2,
  maxXmlDepth: 16,
  maxXmlElements: 20_000_000,
  maxRows: 1_000_000,
  maxParts: 32,
};
