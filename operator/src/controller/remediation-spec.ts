// The frozen spec of a remediation cycle, decided without I/O: the agent's spec, with the goal
// turned to the incident and, for each query trigger that held with a `max`, one more analysis
// metric that judges the canary by the incident's own measure. The canary must show it improved
// (at most INCIDENT_IMPROVEMENT of stable), besides the usual gates: a change that passes the
// canary but leaves the incident as it was is rolled back. A trigger with only a `min`, or a pod
// signal, has no ratio that says "better"; those incidents are judged by the usual gates only.
import type { HyperAgentSpec, IncidentEvidence } from '../api/schema.js';

/** The canary's value of the incident's measure may be at most this share of stable's. */
export const INCIDENT_IMPROVEMENT = 0.9;
const MAX_METRICS = 16;

/** The analysis metric's name for a trigger: `incident-<trigger>`, within a DNS label. */
export function incidentMetricName(trigger: string): string {
  return `incident-${trigger}`.slice(0, 63).replace(/-+$/, '');
}

export function remediationSpec(spec: HyperAgentSpec, incident: IncidentEvidence): HyperAgentSpec {
  const metrics = [...spec.rollout.analysis.metrics];
  for (const trigger of spec.healing?.triggers ?? []) {
    if (!incident.triggers.includes(trigger.name) || !trigger.query || trigger.max === undefined) continue;
    const name = incidentMetricName(trigger.name);
    if (metrics.length >= MAX_METRICS || metrics.some((m) => m.name === name)) continue;
    metrics.push({ name, query: trigger.query, maxRatioToStable: INCIDENT_IMPROVEMENT });
  }
  return {
    ...spec,
    goal: `Remedy the incident: ${incident.summary}. (The agent's goal otherwise: ${spec.goal})`.slice(
      0,
      4096,
    ),
    rollout: { ...spec.rollout, analysis: { ...spec.rollout.analysis, metrics } },
  };
}
