// What changed in a cycle between two reads, as lines a person can follow live: phase changes,
// candidate verdicts, canary steps and weights, and every analysis measurement. Pure: the
// scenario polls the cycle and prints what this returns.
import type { ImprovementCycle } from '../../operator/src/api/resources.js';

/** Seconds since `start`, right-aligned, for the left margin. */
export function elapsed(start: number, now: number): string {
  return `${Math.round((now - start) / 1000)
    .toString()
    .padStart(4)}s`;
}

function parameters(values: Record<string, unknown> | undefined): string {
  return values
    ? Object.entries(values)
        .map(([name, value]) => `${name}=${String(value)}`)
        .join(' ')
    : '';
}

export function progressLines(previous: ImprovementCycle | undefined, current: ImprovementCycle): string[] {
  const lines: string[] = [];
  const before = previous?.status;
  const now = current.status;
  if (!now) return lines;

  if (now.phase && now.phase !== before?.phase) {
    lines.push(`phase ${now.phase}${now.message ? `: ${firstLine(now.message)}` : ''}`);
  }
  const seen = new Map((before?.candidates ?? []).map((c) => [c.id, c]));
  for (const candidate of now.candidates ?? []) {
    const old = seen.get(candidate.id);
    if (!old) {
      const what = candidate.kind === 'config' ? parameters(candidate.parameters) : 'code change';
      lines.push(`candidate ${candidate.id} proposed (${what}): ${candidate.summary}`);
    }
    if (candidate.verdict && candidate.verdict !== old?.verdict && candidate.verdict !== 'Pending') {
      const score = candidate.score === undefined ? '' : ` score ${candidate.score.toFixed(1)}%`;
      const reasons = candidate.verdict === 'Passed' ? '' : ` — ${(candidate.reasons ?? []).join(' | ')}`;
      lines.push(`candidate ${candidate.id} ${candidate.verdict}${score}${reasons}`);
    }
  }
  if (now.baseline?.message && now.baseline.message !== before?.baseline?.message) {
    lines.push(`baseline: ${firstLine(now.baseline.message)}`);
  }
  if (now.selected && now.selected !== before?.selected) lines.push(`selected ${now.selected}`);
  if (now.image && now.image !== before?.image) lines.push(`image ${now.image}`);

  const canary = now.canary;
  const oldCanary = before?.canary;
  if (canary) {
    if (canary.phase !== oldCanary?.phase) lines.push(`canary ${canary.phase}: ${firstLine(canary.message)}`);
    else if (canary.stepIndex !== oldCanary?.stepIndex || canary.weight !== oldCanary?.weight) {
      lines.push(`canary step ${canary.stepIndex + 1}, weight ${canary.weight}%`);
    }
    const known = new Set((oldCanary?.measurements ?? []).map((m) => `${m.metric}@${m.time}`));
    for (const measurement of canary.measurements) {
      if (known.has(`${measurement.metric}@${measurement.time}`)) continue;
      lines.push(
        `  analysis ${measurement.result.padEnd(12)} step ${measurement.step + 1} at ${measurement.weight}%: ${measurement.message}`,
      );
    }
    if (canary.decision && !oldCanary?.decision) {
      lines.push(
        `canary decision ${canary.decision.action} (${canary.decision.reason}): ${canary.decision.message}`,
      );
    }
  }
  return lines;
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 240 ? `${line.slice(0, 237)}...` : line;
}
