import * as http2 from 'node:http2';
import { createLogger, createMetricsRegistry, type RunningServer, startServer } from '@regent/service-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboardHandler } from './handler.js';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(options: Parameters<typeof createDashboardHandler>[0] = {}): Promise<string> {
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    logger: createLogger('dashboard-test', 'silent'),
    metrics: createMetricsRegistry('dashboard-test'),
    handlers: [createDashboardHandler(options)],
  });
  return server.url;
}

describe('createDashboardHandler', () => {
  it('serves the page as HTML with a strict content security policy', async () => {
    const url = await serve();
    for (const path of ['/dashboard', '/dashboard/', '/dashboard?x=1']) {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const html = await res.text();
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toContain('<script type="module" src="/dashboard/dashboard.js"></script>');
      expect(html).toContain('data-api-base=""');
      expect(html).not.toMatch(/\{\{|https?:\/\//);
    }
  });

  it('serves the script, its view-model module and the stylesheet with their types', async () => {
    const url = await serve();
    const js = await fetch(`${url}/dashboard/dashboard.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toContain("from './view-model.js'");
    const vm = await fetch(`${url}/dashboard/view-model.js`);
    expect(vm.status).toBe(200);
    const css = await fetch(`${url}/dashboard/dashboard.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const head = await fetch(`${url}/dashboard`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(1000);
  });

  it('answers 404 for other paths under the prefix and 405 for other methods', async () => {
    const url = await serve();
    for (const path of [
      '/dashboard/nope.js',
      '/dashboard/../package.json',
      '/dashboard/assets/index.html',
      '/dashboard/view-model.d.ts',
    ]) {
      const res = await fetch(`${url}${path}`);
      expect(res.status, path).toBe(404);
      await res.body?.cancel();
    }
    const post = await fetch(`${url}/dashboard`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('leaves every other path to the next handler (the RPC router answers 404)', async () => {
    const url = await serve();
    const other = await fetch(`${url}/dashboardx`);
    expect(other.status).toBe(404);
    expect(other.headers.get('content-security-policy')).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('honours a custom prefix and API base, also over h2c', async () => {
    const url = await serve({ pathPrefix: '/ops/regent', apiBasePath: '/api' });
    const html = await (await fetch(`${url}/ops/regent`)).text();
    expect(html).toContain('src="/ops/regent/dashboard.js"');
    expect(html).toContain('data-api-base="/api"');
    expect((await fetch(`${url}/dashboard`)).status).toBe(404);
    const session = http2.connect(url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = session.request({ ':path': '/ops/regent/dashboard.css' }, { endStream: true });
      req.on('response', (headers) => resolve(Number(headers[':status'])));
      req.on('error', reject);
      req.resume();
    });
    session.close();
    expect(status).toBe(200);
  });

  it('refuses a prefix that could break the page', () => {
    expect(() => createDashboardHandler({ pathPrefix: 'dashboard' })).toThrow(/pathPrefix/);
    expect(() => createDashboardHandler({ pathPrefix: '/dash"><script>' })).toThrow(/pathPrefix/);
    expect(() => createDashboardHandler({ pathPrefix: '/dashboard/' })).toThrow(/pathPrefix/);
    expect(() => createDashboardHandler({ apiBasePath: 'x' })).toThrow(/apiBasePath/);
  });
});
