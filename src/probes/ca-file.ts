import { readFileSync } from 'node:fs';
import { MailscopeError } from '../core/errors.ts';

/**
 * A probe's caFile, read at run time (the config loader checked it could be
 * read; it may have gone since): its PEM, or undefined when none is configured.
 */
export function readCaFile(file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new MailscopeError('CONFIG_INVALID', `cannot read caFile "${file}": ${(error as Error).message}`);
  }
}
