// End to end in headless Chromium: the dashboard page and a fake AdminService served together by one service-kit
// server, as the gateway serves them. The page must ask for the token, render members and groups, run a
// designated election with the token, show leadership moving, and show a failover with its explanation.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ElectMasterRequest, TransferLeadershipRequest } from '@regent/proto/admin';
import { createLogger, createMetricsRegistry, type RunningServer, startServer } from '@regent/service-kit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardHandler } from './handler.js';
import { createFakeCluster, type FakeCluster } from './testing/fake-cluster.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'dash-secret';
/** How long the page may take to show a change: a few refresh periods (1 s each) on a loaded machine. */
const UI_DEADLINE_MS = 10_000;
const screenshotDir = join(import.meta.dirname, '..', 'test-output');

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  process.stderr.write(
    `dashboard browser test SKIPPED: ${CHROMIUM} not found (install it with: apt-get install -y chromium)\n`,
  );
}

describe.skipIf(!haveChromium)('dashboard in headless Chromium', () => {
  let server: RunningServer;
  let fake: FakeCluster;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    fake = createFakeCluster({ token: TOKEN });
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger('dashboard-e2e', 'silent'),
      metrics: createMetricsRegistry('dashboard-e2e'),
      routes: fake.routes,
      interceptors: fake.interceptors,
      handlers: [createDashboardHandler({ pathPrefix: '/dashboard' })],
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      // Chromium logs every non-2xx fetch; the 401s before the token and the refused election are expected.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        pageErrors.push(message.text());
      }
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const masterOf = (group: string) => page.locator(`[data-group="${group}"] [data-role="master"]`);

  async function waitForMaster(group: string, brokerId: string): Promise<void> {
    await page.waitForSelector(`[data-group="${group}"] [data-role="master"][data-broker-id="${brokerId}"]`, {
      timeout: UI_DEADLINE_MS,
    });
  }

  it('asks for the admin token when the gateway refuses, and renders once it is given', async () => {
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#auth-banner:not([hidden])', { timeout: UI_DEADLINE_MS });
    expect(await page.textContent('#auth-reason')).toContain('missing bearer token');
    expect(await page.getAttribute('#refresh-status', 'data-state')).toBe('unauthenticated');

    await page.fill('#token-input', TOKEN);
    await page.click('#token-save');
    await waitForMaster('orders', '1');
    expect(await page.isHidden('#auth-banner')).toBe(true);
    expect(await page.evaluate("sessionStorage.getItem('regent.adminToken')")).toBe(TOKEN);
    expect(await page.inputValue('#token-input')).toBe('');
    const authorized = fake.calls.filter(
      (c) => c.method === 'GetSyncStateData' && c.authorization === `Bearer ${TOKEN}`,
    );
    expect(authorized.length).toBeGreaterThan(0);
  });

  it('shows the Raft members and every broker group with its brokers', async () => {
    await page.waitForSelector('#members-body tr[data-node-id="1"][data-role="leader"]', {
      timeout: UI_DEADLINE_MS,
    });
    expect(await page.locator('#members-body tr').count()).toBe(3);
    expect(await page.textContent('#members-body tr[data-node-id="3"] [data-field="lag"]')).toBe('3');
    expect(await page.textContent('#leader-summary')).toMatch(
      /^leader node 1 \(127\.0\.0\.1:7101\) · term 3$/,
    );

    const groups = await page
      .locator('[data-group]')
      .evaluateAll((els) =>
        els
          .filter((el) => el.tagName === 'ARTICLE')
          .map((el) => `${el.getAttribute('data-cluster')}/${el.getAttribute('data-group')}`),
      );
    expect(groups).toEqual(['c2/audit-log', 'c1/orders', 'c1/payments']);
    expect(await masterOf('audit-log').getAttribute('data-broker-id')).toBe('2');
    const orders = page.locator('article[data-group="orders"]');
    expect(await orders.locator('tbody tr').count()).toBe(3);
    expect(await orders.locator('tr[data-broker-id="3"] td').nth(3).textContent()).toBe('no');
    expect(await orders.locator('[data-field="epochs"]').textContent()).toBe(
      'master epoch 1 · SyncStateSet {1,2} epoch 2',
    );
    expect(await orders.locator('tr[data-broker-id="1"] [data-field="heartbeat"]').textContent()).toMatch(
      /ago$/,
    );
    expect(await page.locator('#timeline [data-timeline-entry]').count()).toBe(3);
  });

  it('runs a designated election with the admin token', async () => {
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('article[data-group="orders"] tr[data-broker-id="2"] button[data-action="elect"]');
    await waitForMaster('orders', '2');
    const elect = fake.calls.filter((c) => c.method === 'ElectMaster');
    expect(elect).toHaveLength(1);
    expect(elect[0]!.authorization).toBe(`Bearer ${TOKEN}`);
    expect(elect[0]!.request as ElectMasterRequest).toMatchObject({
      clusterName: 'c1',
      brokerName: 'orders',
      designatedBrokerId: 2n,
    });
    await page.waitForSelector('#action-result:not([hidden])', { timeout: UI_DEADLINE_MS });
    expect(await page.textContent('#action-result')).toBe(
      'orders: broker 2 is now master (epoch 2) — an admin designated broker 2',
    );
    const entry = page.locator('[data-timeline-entry][data-group="orders"][data-trigger="admin"]');
    await entry.waitFor({ timeout: UI_DEADLINE_MS });
    expect(await entry.locator('.entry-change').textContent()).toBe('master 1 → 2');
  });

  it('reports a refused election with its condition', async () => {
    page.once('dialog', (dialog) => void dialog.accept());
    fake.failMaster('payments'); // broker 1 dies, 2 takes over
    await waitForMaster('payments', '2');
    await page.click('article[data-group="payments"] tr[data-broker-id="1"] button[data-action="elect"]');
    await page.waitForSelector('#action-result[data-kind="error"]', { timeout: UI_DEADLINE_MS });
    expect(await page.textContent('#action-result')).toBe(
      'ELECT_MASTER_FAILED: broker 1 is not alive in payments',
    );
  });

  it('transfers Raft leadership', async () => {
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#members-body tr[data-node-id="2"] button[data-action="transfer-leader"]');
    await page.waitForSelector('#members-body tr[data-node-id="2"][data-role="leader"]', {
      timeout: UI_DEADLINE_MS,
    });
    const transfer = fake.calls.filter((c) => c.method === 'TransferLeadership');
    expect(transfer.map((c) => (c.request as TransferLeadershipRequest).targetNodeId)).toEqual([2n]);
    expect(transfer[0]!.authorization).toBe(`Bearer ${TOKEN}`);
    expect(fake.leaderId()).toBe(2);
    expect(await page.textContent('#leader-summary')).toContain('leader node 2');
  });

  it('shows a failover with its explanation in the timeline, then a screenshot', async () => {
    const audit = fake.failMaster('audit-log');
    expect(fake.masterOf('audit-log')).toBe(1n);
    await waitForMaster('audit-log', '1');
    const entry = page.locator(
      `[data-timeline-entry][data-group="audit-log"][data-index="${audit.raftIndex}"][data-trigger="controller"]`,
    );
    await entry.waitFor({ timeout: UI_DEADLINE_MS });
    expect(await entry.locator('[data-field="explanation"]').textContent()).toBe(
      'master 2 stopped heartbeating; 1 is the best live in-sync replica',
    );
    expect(await entry.locator('.entry-change').textContent()).toBe('master 2 → 1');
    // Newest first: the failover heads the timeline.
    expect(await page.locator('#timeline [data-timeline-entry]').first().getAttribute('data-index')).toBe(
      String(audit.raftIndex),
    );
    const dead = page.locator('article[data-group="audit-log"] tr[data-broker-id="2"]');
    expect(await dead.getAttribute('data-state')).toBe('dead');
    await entry.locator('summary').click();
    expect(await entry.locator('details tr').count()).toBe(3);

    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: join(screenshotDir, 'dashboard-failover.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
