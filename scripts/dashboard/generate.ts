// Writes the chart's Grafana dashboard, built in canary-dashboard.ts, to
// charts/hyperagent-operator/dashboards/hyperagent-canary.json. Run by `npm run generate`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DASHBOARD_PATH, renderCanaryDashboard } from './canary-dashboard.js';

mkdirSync(dirname(DASHBOARD_PATH), { recursive: true });
writeFileSync(DASHBOARD_PATH, await renderCanaryDashboard());
process.stdout.write(`wrote ${DASHBOARD_PATH}\n`);
