import { readFileSync } from 'node:fs';

/** A mail fixture of test/fixtures/mail/, with CRLF line ends as it travels (the files are kept with LF). */
export function mailFixture(name: string): Buffer {
  const text = readFileSync(new URL(`../fixtures/mail/${name}`, import.meta.url), 'utf8');
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'));
}
