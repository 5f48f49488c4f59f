/** The thread of tcpProxyThread (tcp-proxy.ts): one proxy, told what to do by messages. */
import { parentPort, workerData } from 'node:worker_threads';
import { startTcpProxy } from './tcp-proxy.ts';

const proxy = await startTcpProxy(workerData as { host: string; port: number });
parentPort!.on('message', async (message: { id: number; op: 'down' | 'up' | 'stall' | 'flow' }) => {
  await proxy[message.op]();
  parentPort!.postMessage({ done: message.id });
});
parentPort!.postMessage({ port: proxy.port });
