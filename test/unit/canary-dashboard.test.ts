// The chart's dashboard JSON is what scripts/dashboard/canary-dashboard.ts builds with the Grafana
// foundation SDK; test/unit/dashboard.test.ts checks what the JSON says.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import {
  DASHBOARD_PATH,
  canaryDashboardBuilder,
  renderCanaryDashboard,
} from '../../scripts/dashboard/canary-dashboard.js';
import { DASHBOARD_FILE, dashboardQueries, panelsOf, type Dashboard } from '../support/dashboard.js';

/** The JSON model, as the support code reads it from the file. */
const asJson = (model: unknown) => JSON.parse(JSON.stringify(model)) as Dashboard;

test('the chart ships exactly the dashboard the code builds (run `npm run generate`)', async () => {
  assert.ok(DASHBOARD_FILE.endsWith(DASHBOARD_PATH), `${DASHBOARD_FILE} is not ${DASHBOARD_PATH}`);
  assert.equal(
    readFileSync(DASHBOARD_FILE, 'utf8'),
    await renderCanaryDashboard(),
    `${DASHBOARD_PATH} drifted from scripts/dashboard/canary-dashboard.ts: run npm run generate`,
  );
});

test('code can add a panel to the dashboard, placed after the last one, and its query is run', () => {
  const builder = canaryDashboardBuilder();
  const before = panelsOf(asJson(builder.build()));
  builder.withPanel(
    new timeseries.PanelBuilder()
      .id(100)
      .title('Extra')
      .span(8)
      .withTarget(new prometheus.DataqueryBuilder().refId('A').expr('up')),
  );
  const after = panelsOf(asJson(builder.build()));
  assert.equal(after.length, before.length + 1);
  const last = before.at(-1)!.gridPos!;
  // beside the last panel when the row has room, else at the start of the next row
  const fits = last.x + last.w + 8 <= 24;
  assert.deepEqual(
    after.at(-1)!.gridPos,
    fits ? { h: 9, w: 8, x: last.x + last.w, y: last.y } : { h: 9, w: 8, x: 0, y: last.y + last.h },
  );
  const queries = dashboardQueries(
    { ns_label: 'namespace', namespace: 'shop', agent: 'web' },
    asJson(builder.build()),
  );
  assert.deepEqual(queries.at(-1), { panel: 'Extra', refId: 'A', expr: 'up', legend: '', instant: false });
});
