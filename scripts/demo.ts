// `npm run demo`, after scripts/demo.sh brought the cluster up: runs the demo scenario, prints its
// progress and a summary, and writes out/demo-report.json. Exits 1 when the demo failed or missed
// a pass mark (the report is written either way when there is one).
import { mkdir, writeFile } from 'node:fs/promises';
import { formatSummary, shortfalls } from './demo/report.js';
import { runDemo } from './demo/scenario.js';

const REPORT = 'out/demo-report.json';
const write = (line: string) => process.stdout.write(`${line}\n`);

try {
  const report = await runDemo({ log: write });
  await mkdir('out', { recursive: true });
  await writeFile(REPORT, `${JSON.stringify(report, null, 2)}\n`);
  write(`\n== summary (${REPORT})\n${formatSummary(report)}`);
  const problems = shortfalls(report);
  for (const problem of problems) console.error(`demo: ${problem}`);
  write(
    problems.length === 0
      ? '\nThe cluster keeps running: source .cluster/env, then kubectl get ha,hacycle -n demo, kubectl hyperagent status quote-latency -n demo, kubectl hyperagent history quote-latency -n demo, kubectl hyperagent archive quote-latency -n demo.'
      : '',
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
} catch (error) {
  console.error(`demo failed: ${(error as Error).message}`);
  console.error('operator logs: kubectl logs -n hyperagent-system deploy/hyperagent-hyperagent-operator');
  process.exitCode = 1;
}
