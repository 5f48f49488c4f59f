import { describe, expect, it } from 'vitest';
import { apiRig, tcpProbeYaml } from '../helpers/api.ts';
import { newPage, problemsOf, screenshot } from '../helpers/browser.ts';

describe('/docs in a browser', () => {
  it('renders the API reference (Swagger UI) from the server’s own assets, with every operation listed and no error in the page', async () => {
    const rig = await apiRig({ probesYaml: tcpProbeYaml(9) });
    const address = await rig.app.listen({ host: '127.0.0.1', port: 0 });
    const page = await newPage(address);
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));

    const response = await page.goto('/docs');
    expect(response?.status()).toBe(200);
    await page.getByText('Mailscope API', { exact: false }).first().waitFor();
    expect(await page.title()).toBe('Swagger UI');
    // The operations, grouped by tag (rendered once the document has loaded): the method and the path of each,
    // every operation of the OpenAPI document, none missing.
    await page.locator('.opblock-summary-path[data-path="/v1/probes"]').first().waitFor();
    const spec = (await rig.request({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    const shown = await page
      .locator('.opblock-summary')
      .evaluateAll((summaries) =>
        summaries.map((summary) => `${summary.querySelector('.opblock-summary-method')?.textContent} ${summary.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`),
      );
    expect(documented.length).toBeGreaterThan(30);
    expect(shown).toContain('GET /v1/probes');
    expect(shown.toSorted()).toEqual(documented.toSorted());
    // Every request the page made went to this server: no CDN, nothing from the internet.
    expect(requested.length).toBeGreaterThan(3);
    expect(requested.filter((url) => !url.startsWith(`${address}/`))).toEqual([]);
    await screenshot(page, 'api-docs');
    expect(problemsOf(page)).toEqual([]);
  });
});
