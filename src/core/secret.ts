import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A configured secret (password, token, webhook URL). It renders as "[redacted]"
 * through every path that turns a value into text — JSON, template strings,
 * util.inspect, pino — so the only way to the value is an explicit reveal().
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

export const redacted = REDACTED;
