// The MTA-STS policy hosts (https://mta-sts.<domain>/.well-known/mta-sts.txt), one
// HTTPS server for all of them, certificate from the lab CA. Started by the lab.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { mtaStsPolicies } from './zones.ts';

const [certFile, keyFile, address, port] = process.argv.slice(2);
const policies = mtaStsPolicies();

createServer({ cert: readFileSync(certFile!), key: readFileSync(keyFile!) }, (request, response) => {
  const host = (request.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  const policy = policies[host];
  if (request.url !== '/.well-known/mta-sts.txt' || policy === undefined) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  response.writeHead(200, { 'content-type': 'text/plain' }).end(policy);
}).listen(Number(port), address);
