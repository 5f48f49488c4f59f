/** The bounce class table: reply texts first, then enhanced codes, then the basic code. */
import { describe, expect, it } from 'vitest';
import { bounceClassNames, classifyBounce, enhancedCodeIn } from '../../../src/protocols/mail/bounce-class.ts';

describe('bounce classes', () => {
  it.each([
    [{ outcome: 'bounced', smtpCode: 550, reply: '550-5.1.1 The email account that you tried to reach does not exist.' }, 'invalid_recipient'],
    [{ outcome: 'deferred', smtpCode: 421, reply: '421-4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address.' }, 'rate_limited'],
    [{ outcome: 'bounced', smtpCode: 550, reply: '550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail users.' }, 'authentication'],
    [{ outcome: 'deferred', smtpCode: 451, reply: '451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation.' }, 'rate_limited'],
    [
      {
        outcome: 'bounced',
        smtpCode: 550,
        reply: "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).",
      },
      'reputation',
    ],
    [{ outcome: 'deferred', smtpCode: 452, reply: '452-4.2.2 The email account that you tried to reach is over quota.' }, 'mailbox_full'],
    [{ outcome: 'bounced', smtpCode: 554, enhancedCode: '5.7.9', reply: 'Message not accepted for policy reasons.' }, 'policy'],
    [{ outcome: 'bounced', smtpCode: 550, enhancedCode: '5.1.1' }, 'invalid_recipient'],
    [{ outcome: 'deferred', smtpCode: 450 }, 'transient'],
    [{ outcome: 'bounced', smtpCode: 554 }, 'other'],
    [{ outcome: 'expired' }, 'expired'],
    [{ outcome: 'complained' }, 'complaint'],
  ] as const)('%j → %s', (input, expected) => {
    expect(classifyBounce(input)).toBe(expected);
    expect(bounceClassNames).toContain(expected);
  });

  it('finds the enhanced code at the start of a reply', () => {
    expect(enhancedCodeIn('550-5.1.1 The email account')).toBe('5.1.1');
    expect(enhancedCodeIn('4.7.0 later')).toBe('4.7.0');
    expect(enhancedCodeIn('no code here 5.1.1')).toBeUndefined();
  });
});
