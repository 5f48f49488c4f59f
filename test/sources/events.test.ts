/** The JSON hook's event shape: what is read from a posted body, and what is refused (naming the record and the field). */
import { describe, expect, it } from 'vitest';
import { parseEvents } from '../../src/sources/events.ts';
import { SourceInputError } from '../../src/sources/define.ts';

const delivered = { time: '2026-12-06T10:00:00Z', outcome: 'delivered', recipient: 'Someone@GMail.com', ip: '192.0.2.10', pool: 'a', latency_ms: 1200 };

describe('the JSON hook', () => {
  it('reads one event, a list, or { events: [...] }; the recipient is kept as its domain only', () => {
    const one = parseEvents(delivered);
    expect(one).toEqual([{ time: new Date('2026-12-06T10:00:00Z'), outcome: 'delivered', recipientDomain: 'gmail.com', ip: '192.0.2.10', pool: 'a', latencyMs: 1200 }]);
    expect(parseEvents([delivered, delivered])).toHaveLength(2);
    const deferred = { time: 1_796_544_000, outcome: 'deferred', recipient_domain: 'Outlook.com.', smtp_code: 451, enhanced_code: '4.7.650', reply: 'temporarily rate limited' };
    expect(parseEvents({ events: [deferred] })).toEqual([
      { time: new Date(1_796_544_000_000), outcome: 'deferred', recipientDomain: 'outlook.com', smtpCode: 451, enhancedCode: '4.7.650', reply: 'temporarily rate limited' },
    ]);
  });

  it.each([
    [{ events: [delivered, { ...delivered, outcome: 'lost' }] }, 1, 'outcome'],
    [{ events: [{ ...delivered, smtp_code: 999 }] }, 0, 'smtp_code'],
    [{ events: [delivered, delivered, { ...delivered, time: 'yesterday' }] }, 2, 'time'],
    [{ events: [{ ...delivered, surprise: 1 }] }, 0, undefined],
    [{ events: [{ ...delivered, enhanced_code: '5.1' }] }, 0, 'enhanced_code'],
    [{ events: [{ ...delivered, reply: 'x'.repeat(5_000) }] }, 0, 'reply'],
  ])('refuses the whole batch for one bad record, naming it: %j', (body, record, field) => {
    let thrown: unknown;
    try {
      parseEvents(body);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SourceInputError);
    expect((thrown as SourceInputError).record).toBe(record);
    expect((thrown as SourceInputError).field).toBe(field);
    expect((thrown as Error).message).toMatch(new RegExp(`^event ${record}`));
  });

  it('refuses an event without a recipient, and a body that is not events', () => {
    const { recipient: _dropped, ...noRecipient } = delivered;
    expect(() => parseEvents(noRecipient)).toThrow('event 0: give recipient or recipient_domain');
    expect(() => parseEvents('hello')).toThrow(SourceInputError);
    expect(() => parseEvents({ events: Array.from({ length: 10_001 }, () => delivered) })).toThrow(SourceInputError);
  });
});
