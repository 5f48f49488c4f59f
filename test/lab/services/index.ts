/** Every lab service, in start order: DNS first (the others resolve at start), Postfix last but for the TSDBs. */
import type { LabService } from '../service.ts';
import { nsd, unbound } from './dns.ts';
import { dkimSign, dkimVerify, dmarc, spamassMilter, spamd } from './mail-checks.ts';
import { dovecot } from './mailboxes.ts';
import { mtaSts } from './mta-sts.ts';
import { postfix } from './mta.ts';
import { rbldnsd } from './rbldnsd.ts';
import { influxdb, victoria } from './tsdb.ts';

export const services: readonly LabService[] = [nsd, rbldnsd, unbound, dkimSign, dkimVerify, dmarc, spamd, spamassMilter, dovecot, postfix, mtaSts, influxdb, victoria];
