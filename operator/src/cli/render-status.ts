// What `kubectl hyperagent status` and `history` print, from the objects alone (pure, so tests
// need no cluster): a table of agents, one agent in detail with its cycle, canary and the last
// value of every analysis metric, and the promoted revisions.
import type { HyperAgent, ImprovementCycle } from '../api/resources.js';
import type { CanaryStatus } from '../api/schema.js';

/** Columns padded to their widest cell, two spaces apart, like kubectl's tables. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** One row per agent: phase, its active cycle and that cycle's phase, the stable revision, the canary's weight. */
export function renderAgents(
  agents: readonly HyperAgent[],
  cycles: ReadonlyMap<string, ImprovementCycle>,
): string {
  if (agents.length === 0) return 'No HyperAgents found.\n';
  const rows = agents.map((agent) => {
    const cycleName = agent.status?.activeCycle;
    const cycle = cycleName ? cycles.get(cycleName) : undefined;
    const canary = cycle?.status?.canary;
    return [
      agent.metadata.name ?? '',
      agent.status?.phase ?? 'Unknown',
      cycleName ?? '-',
      cycle?.status?.phase ?? '-',
      agent.status?.stableRevision ?? '-',
      canary ? `${canary.weight}%` : '-',
      canary ? lastAnalysisSummary(canary) : '-',
    ];
  });
  return table(['NAME', 'PHASE', 'CYCLE', 'CYCLE PHASE', 'STABLE', 'WEIGHT', 'LAST ANALYSIS'], rows);
}

/** One agent in detail: conditions, the active cycle (or the last one) and its canary, metric by metric. */
export function renderAgentDetail(agent: HyperAgent, cycle: ImprovementCycle | undefined): string {
  const status = agent.status ?? {};
  const lines = [
    `HyperAgent:   ${agent.metadata.namespace}/${agent.metadata.name}`,
    `Phase:        ${status.phase ?? 'Unknown'}`,
    `Stable:       ${status.stableRevision ?? '-'}`,
  ];
  for (const condition of status.conditions ?? []) {
    lines.push(
      `Condition:    ${condition.type}=${condition.status} ${condition.reason}: ${condition.message}`,
    );
  }
  if (!cycle) {
    const last = status.lastCycle;
    lines.push(
      last
        ? `Last cycle:   ${last.name} ended ${last.phase}${last.reason ? ` (${last.reason})` : ''}`
        : 'Cycle:        none yet',
    );
    return `${lines.join('\n')}\n`;
  }
  const cycleStatus = cycle.status ?? {};
  lines.push(
    `Cycle:        ${cycle.metadata.name} ${cycleStatus.phase ?? 'Pending'}${cycleStatus.reason ? ` (${cycleStatus.reason})` : ''}`,
  );
  if (cycleStatus.message) lines.push(`              ${cycleStatus.message}`);
  const selected = cycleStatus.candidates?.find((candidate) => candidate.id === cycleStatus.selected);
  if (selected) {
    lines.push(
      `Selected:     ${selected.id} (${selected.kind}) ${selected.summary}${selected.score !== undefined ? `, score ${selected.score}` : ''}`,
    );
  }
  if (cycleStatus.phase === 'AwaitingApproval') {
    lines.push(
      `              approve: kubectl hyperagent approve ${agent.metadata.name}   reject: kubectl hyperagent reject ${agent.metadata.name}`,
    );
  }
  if (cycleStatus.image) lines.push(`Image:        ${cycleStatus.image}`);
  const canary = cycleStatus.canary;
  if (canary) lines.push(...canaryLines(canary, cycle.spec.agentSpec.rollout.steps.length));
  return `${lines.join('\n')}\n`;
}

/** The promoted revisions, newest first, with what analysis measured when each was promoted. */
export function renderHistory(agent: HyperAgent): string {
  const history = agent.status?.history ?? [];
  if (history.length === 0) return `No promoted revisions for ${agent.metadata.name} yet.\n`;
  const stable = agent.status?.stableRevision;
  const rows = history.map((entry) => [
    entry.revision === stable ? `${entry.revision}*` : entry.revision,
    entry.promotedAt,
    entry.cycle,
    entry.commit?.slice(0, 12) ?? '-',
    entry.image ?? '-',
    [
      ...Object.entries(entry.parameters ?? {}).map(([name, value]) => `${name}=${value}`),
      ...Object.entries(entry.metrics ?? {}).map(([name, value]) => `${name}=${formatNumber(value)}`),
    ].join(' ') || '-',
  ]);
  return (
    table(['REVISION', 'PROMOTED', 'CYCLE', 'COMMIT', 'IMAGE', 'PARAMETERS AND METRICS'], rows) +
    (stable ? '* serving now\n' : '')
  );
}

function canaryLines(canary: CanaryStatus, steps: number): string[] {
  const lines = [
    `Canary:       ${canary.phase} (${canary.reason}), step ${Math.min(canary.stepIndex + 1, steps)}/${steps}, weight ${canary.weight}%`,
    `              ${canary.message}`,
  ];
  if (canary.pause) lines.push(`Paused:       ${canary.pause.cause}: ${canary.pause.message}`);
  const latest = latestByMetric(canary);
  if (latest.length > 0) {
    lines.push('Analysis:');
    const rows = latest.map((record) => {
      const counts = canary.counts.find((count) => count.metric === record.metric);
      return [
        record.metric,
        record.result,
        record.value !== undefined ? formatNumber(record.value) : '-',
        record.threshold,
        counts
          ? `${counts.successful} ok, ${counts.failed} failed, ${counts.inconclusive} inconclusive, ${counts.errors} errors`
          : '',
        record.time,
      ];
    });
    lines.push(
      ...table(
        ['  METRIC', 'RESULT', 'VALUE', 'THRESHOLD', 'COUNTS', 'MEASURED'],
        rows.map(([first, ...rest]) => [`  ${first}`, ...rest]),
      )
        .trimEnd()
        .split('\n'),
    );
  }
  if (canary.decision) {
    const { action, reason, message } = canary.decision;
    lines.push(`Decision:     ${action} (${reason}): ${message}`);
  }
  return lines;
}

/** The latest measurement of each metric, in the order metrics were first measured. */
function latestByMetric(canary: CanaryStatus): CanaryStatus['measurements'] {
  const latest = new Map<string, CanaryStatus['measurements'][number]>();
  for (const record of canary.measurements) latest.set(record.metric, record);
  return [...latest.values()];
}

function lastAnalysisSummary(canary: CanaryStatus): string {
  const latest = latestByMetric(canary);
  if (latest.length === 0) return 'no measurement yet';
  return latest
    .map(
      (record) =>
        `${record.metric}=${record.value !== undefined ? formatNumber(record.value) : '-'} ${record.result}`,
    )
    .join(', ');
}

/** Integers as they are, other numbers to four significant digits. */
export function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}
