import { STATUS_CODES } from 'node:http';
import { describe, expect, it } from 'vitest';
import { errorCodes, MailscopeError, statusOf, type ErrorCode } from '../../src/core/errors.ts';

describe('error codes: each declares its HTTP status and meaning beside it', () => {
  const codes = Object.keys(errorCodes) as ErrorCode[];

  it('names every code in UPPER_SNAKE with a meaning for people', () => {
    expect(codes.filter((code) => !/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/.test(code))).toEqual([]);
    expect(codes.filter((code) => errorCodes[code].meaning.trim() === '')).toEqual([]);
  });

  it('gives every code an HTTP error status Node knows by name', () => {
    expect(codes.filter((code) => !(statusOf(code) >= 400 && statusOf(code) <= 599 && STATUS_CODES[statusOf(code)] !== undefined))).toEqual([]);
  });

  it('answers statusOf from the declaration', () => {
    expect(statusOf('BAD_REQUEST')).toBe(400);
    expect(statusOf('CONTROL_NOT_FOUND')).toBe(404);
    expect(statusOf('STORE_UNAVAILABLE')).toBe(503);
    expect(statusOf(new MailscopeError('PROBE_BUSY', 'busy').code)).toBe(errorCodes.PROBE_BUSY.status);
  });
});
