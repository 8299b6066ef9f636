// Serves the dashboard: one HTML page plus its script, view-model module and stylesheet, all from this package
// (no CDN, no build step). The page talks to AdminService on the same origin, so the handler is mounted on the
// gateway's own server next to the RPC routes.
import { readFileSync, statSync } from 'node:fs';
import type { HttpHandler } from '@regent/service-kit';

export interface DashboardHandlerOptions {
  /** Where the page lives, e.g. "/dashboard" (no trailing slash). */
  readonly pathPrefix?: string;
  /**
   * Path prefix of the Connect routes as the browser sees them (for a gateway behind a path-rewriting proxy);
   * "" when AdminService is at "/regent.admin.v1.AdminService/…" on the same origin.
   */
  readonly apiBasePath?: string;
}

interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** Scripts, styles and RPCs from this origin only; nothing may frame the page. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // The page is tiny and changes with the server; always revalidate.
  'cache-control': 'no-cache',
} as const;

const ASSET_FILES: Readonly<Record<string, string>> = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'view-model.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};

const pathPattern = /^(\/[A-Za-z0-9._~-]+)*$/;

/** Returns a service-kit handler that answers GET/HEAD under `pathPrefix` and leaves every other path alone. */
export function createDashboardHandler(options: DashboardHandlerOptions = {}): HttpHandler {
  const prefix = options.pathPrefix ?? '/dashboard';
  const apiBase = options.apiBasePath ?? '';
  if (prefix === '' || !pathPattern.test(prefix)) {
    throw new Error(`pathPrefix must look like "/dashboard", got ${JSON.stringify(prefix)}`);
  }
  if (!pathPattern.test(apiBase)) {
    throw new Error(`apiBasePath must be "" or look like "/api", got ${JSON.stringify(apiBase)}`);
  }
  const assets = loadAssets(prefix, apiBase);
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path !== prefix && !path.startsWith(`${prefix}/`)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, {
        ...COMMON_HEADERS,
        allow: 'GET, HEAD',
        'content-type': 'text/plain; charset=utf-8',
      });
      res.end('method not allowed\n');
      return true;
    }
    const name = path === prefix || path === `${prefix}/` ? 'index.html' : path.slice(prefix.length + 1);
    const asset = assets.get(name);
    if (asset === undefined) {
      res.writeHead(404, { ...COMMON_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\n');
      return true;
    }
    res.writeHead(200, {
      ...COMMON_HEADERS,
      'content-type': asset.contentType,
      'content-length': String(asset.body.byteLength),
    });
    if (req.method === 'HEAD') res.end();
    else res.end(asset.body);
    return true;
  };
}

/** Reads the assets once; the page gets the prefix and API base filled in (both validated above). */
function loadAssets(prefix: string, apiBase: string): Map<string, Asset> {
  const dir = assetsDir();
  const assets = new Map<string, Asset>();
  const html = readFileSync(new URL('index.html', dir), 'utf8')
    .replaceAll('{{PREFIX}}', prefix)
    .replaceAll('{{API_BASE}}', apiBase);
  assets.set('index.html', { contentType: 'text/html; charset=utf-8', body: Buffer.from(html) });
  for (const [name, contentType] of Object.entries(ASSET_FILES)) {
    assets.set(name, { contentType, body: readFileSync(new URL(name, dir)) });
  }
  return assets;
}

/** src/assets beside this module when run from source; from a dist/ build, the sources' copy. */
function assetsDir(): URL {
  for (const candidate of ['./assets/', '../src/assets/']) {
    const url = new URL(candidate, import.meta.url);
    try {
      if (statSync(url).isDirectory()) return url;
    } catch {
      // try the next place
    }
  }
  throw new Error(`dashboard assets not found next to ${import.meta.url}`);
}
