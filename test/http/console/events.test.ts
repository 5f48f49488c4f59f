/**
 * Live updates: a signed-in page's event stream says what changed (a control
 * here), and a server that stops ends the open streams instead of waiting on them.
 */
import { describe, expect, it } from 'vitest';
import { ChangeFeed } from '../../../src/core/changes.ts';
import { apiRig, tcpProbeYaml, tokens } from '../../helpers/api.ts';
import { signedIn } from '../../helpers/console.ts';
import { tcpServer } from '../../helpers/servers.ts';

describe('the console: live updates', () => {
  it('streams what changed to a signed-in page, refuses the signed-out, and ends the streams when the server stops', async () => {
    const { port } = await tcpServer(() => {});
    const changes = new ChangeFeed();
    const { app } = await apiRig({ probesYaml: tcpProbeYaml(port), changes });
    const user = await signedIn(app, tokens.viewer);
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    expect((await fetch(`${address}/console/events`)).status).toBe(401);
    const response = await fetch(`${address}/console/events`, { headers: { cookie: user.cookie } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    const reader = response.body!.getReader();
    let text = '';
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    };
    await until(/retry: 5000/);
    expect(changes.listeners).toBe(1);
    changes.emit('control');
    await until(/event: change\ndata: control\n\n/);
    expect(text).toMatch(/event: change\ndata: control\n\n/);

    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    await until(/never/);
    expect(changes.listeners).toBe(0);
  });
});
