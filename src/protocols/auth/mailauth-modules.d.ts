// Types for the parts of mailauth used here that ship without declarations.

declare module 'mailauth/lib/tools.js' {
  export interface DkimPublicKey {
    publicKey: string;
    rr: string;
    modulusLength?: number;
    keyType: 'rsa' | 'ed25519';
    flags: string[];
    testing: boolean;
    warnings: string[];
  }
  export function getPublicKey(
    type: 'DKIM' | 'ARC' | 'AS',
    name: string,
    minBitLength: number,
    resolver: (name: string, type: string) => Promise<unknown>,
    options?: { strict?: boolean },
  ): Promise<DkimPublicKey>;
}

declare module 'mailauth/lib/dmarc/get-dmarc-record.js' {
  export interface DmarcTags {
    v?: string;
    p?: string;
    sp?: string;
    np?: string;
    pct?: number;
    adkim?: string;
    aspf?: string;
    rua?: string;
    ruf?: string;
    fo?: string;
    rr: string;
    [tag: string]: string | number | undefined;
  }
  export function parseDmarcRecord(txt: string, opts?: { strict?: boolean; warnings?: Set<string> }): DmarcTags | null;
  export function getPolicyTags(record: DmarcTags): { p: string; sp?: string; np?: string } | null;
}

declare module 'mailauth/lib/parse-dkim-headers.js' {
  interface ResultEntry {
    value?: string;
    comment?: string;
    [property: string]: unknown;
  }
  export interface ParsedAuthResults {
    parsed: {
      header?: string;
      value?: string;
      spf?: ResultEntry | ResultEntry[];
      dkim?: ResultEntry | ResultEntry[];
      dmarc?: ResultEntry | ResultEntry[];
      arc?: ResultEntry | ResultEntry[];
      [method: string]: unknown;
    };
    original: string;
  }
  const parseDkimHeaders: (line: string) => ParsedAuthResults;
  export default parseDkimHeaders;
}

declare module 'mailauth/lib/parse-received.js' {
  interface ReceivedPart {
    value: string;
    comment?: string;
  }
  export interface ParsedReceived {
    from?: ReceivedPart;
    by?: ReceivedPart;
    with?: ReceivedPart;
    tls?: ReceivedPart;
    id?: ReceivedPart;
    for?: ReceivedPart;
    timestamp?: string;
    full: string;
  }
  export function parseReceived(line: string): ParsedReceived | false;
}
