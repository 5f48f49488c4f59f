import { describe, expect, it } from 'vitest';
import {
  failureOptionsProblem,
  intervalValue,
  isDmarcRecord,
  looksLikeDmarc,
  parseDmarcTagList,
  percentValue,
  policyValue,
  reportFormatValid,
  reportUris,
} from '../../../src/protocols/auth/dmarc-record.ts';

describe('DMARC record grammar (RFC 7489 §6.4, RFC 9989 §4.8)', () => {
  it('a record starts with v=DMARC1, the version in upper case', () => {
    expect(['v=DMARC1; p=none', 'V = DMARC1;p=none', ' v=DMARC1 ', 'v=DMARC1'].map(isDmarcRecord)).toEqual([true, true, true, true]);
    expect(['v=dmarc1; p=none', 'p=none; v=DMARC1', 'v=DMARC1 p=none', 'v=DMARC10', 'v=spf1 -all'].map(isDmarcRecord)).toEqual([false, false, false, false, false]);
    expect(['v=dmarc1; p=none', 'p=none; v=DMARC1', 'v=DMARC2', 'v=spf1 -all'].map(looksLikeDmarc)).toEqual([true, true, true, false]);
  });

  it('keeps every value of a repeated tag, and sorts out unknown, capitalized and broken terms', () => {
    // The version tag's name may be a capital; no other tag's may.
    expect(parseDmarcTagList('V=DMARC1; P=none').miscased).toEqual(['P']);
    expect(parseDmarcTagList('v=DMARC1;rua = mailto:a@x.test ;p=reject; p=none;;X=1; x=2; Sp=none; p quarantine; =none; p-x=1;')).toEqual({
      tags: new Map([
        ['v', ['DMARC1']],
        ['rua', ['mailto:a@x.test']],
        ['p', ['reject', 'none']],
        ['sp', ['none']],
      ]),
      repeated: ['p', 'x'],
      unknown: ['X', 'x'],
      miscased: ['Sp'],
      syntax: [
        { term: 'p quarantine', reason: 'no-equals' },
        { term: '=none', reason: 'no-name' },
        { term: 'p-x=1', reason: 'bad-name' },
      ],
      second: 'rua',
    });
  });

  it('checks values by their ABNF rule', () => {
    expect(['reject', 'Quarantine', 'NONE', 'rejected', 'r', ''].map(policyValue)).toEqual(['reject', 'quarantine', 'none', undefined, undefined, undefined]);
    expect(['0', '100', '050', '101', '-1', '1.5', '', '1000'].map(percentValue)).toEqual([0, 100, 50, undefined, undefined, undefined, undefined, undefined]);
    expect(['86400', '0', '4294967295', '4294967296', 'daily'].map(intervalValue)).toEqual([86400, 0, 4294967295, undefined, undefined]);
    expect(['1', '0:d:s', 'D : S', '0:1', '1:d:d', '2', 'd:', ''].map(failureOptionsProblem)).toEqual([
      undefined,
      undefined,
      undefined,
      '0 and 1 exclude each other (1 already asks for every report 0 does)',
      'd is given twice',
      '"2" is not 0, 1, d or s',
      'an option is empty',
      'an option is empty',
    ]);
    expect(['afrf', 'AFRF:afrf', 'iodef', ''].map(reportFormatValid)).toEqual([true, true, false, false]);
  });

  it('reads each report URI on its own: the size suffix, mailto: addresses, other schemes', () => {
    expect(reportUris('mailto:dmarc@example.com!10m, mailto:a%40b@x.test , https://r.example.net/dmarc,mailto:d@BÜCHER.example')).toEqual([
      { text: 'mailto:dmarc@example.com!10m', scheme: 'mailto', size: '10m', domains: ['example.com'] },
      { text: 'mailto:a%40b@x.test', scheme: 'mailto', problem: 'the part of its address before "@" is not valid' },
      { text: 'https://r.example.net/dmarc', scheme: 'https' },
      { text: 'mailto:d@BÜCHER.example', problem: 'it is not a URI: characters a URI cannot hold' },
    ]);
    expect(reportUris(' ')).toEqual([{ text: '', problem: 'the tag is empty' }]);
    expect(reportUris('mailto:d@xn--bcher-kva.example?subject=dmarc,mailto:a@b,mailto:a@b.test!x,dmarc@x.test,').map((uri) => uri.problem ?? uri.domains)).toEqual([
      ['xn--bcher-kva.example'],
      'its address does not end in a domain name',
      'it is not a URI: a "!" that is not a size suffix like !10m',
      'it is not a URI: no scheme (write mailto:<address>)',
      'it is empty (a stray ",")',
    ]);
  });
});
