{{/*
The operator's RBAC rules, in two sets, so the cluster-wide ClusterRole and the namespaced Roles
(watchNamespace) grant exactly the same verbs. Only verbs the operator's code calls; server-side
apply of an object that does not exist yet needs create besides patch.
*/}}

{{/* Where agents live: their resources, the target Deployments, cycle inputs. */}}
{{- define "hyperagent-operator.agentRules" -}}
# The operator's own resources: it reads and labels agents, creates cycles, writes both statuses.
- apiGroups: ["hyperagents.io"]
  resources: ["hyperagents"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["hyperagents.io"]
  resources: ["improvementcycles"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["hyperagents.io"]
  resources: ["hyperagents/status", "improvementcycles/status"]
  verbs: ["update"]
# Owner references with blockOwnerDeletion (cycles on agents, canaries on cycles), for clusters
# that enforce OwnerReferencesPermissionEnforcement.
- apiGroups: ["hyperagents.io"]
  resources: ["hyperagents/finalizers", "improvementcycles/finalizers"]
  verbs: ["update"]
# Events on the resources it reconciles.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
# The managed services' Deployments: read the stable one, apply and delete the canary, promote;
# list and watch (the operator's canaries only, by label) to hear when a canary's pods are ready.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# The stable Deployment's ReplicaSets: the watch after promotion puts the one before back.
- apiGroups: ["apps"]
  resources: ["replicasets"]
  verbs: ["list"]
# The target's Service; with the Gateway API router, the canary's own Service beside it (applied,
# marked drained, deleted), the EndpointSlices that show its pods listed ready, and the user's
# HTTPRoute, whose backend weights it shares and puts back.
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "create", "patch", "delete"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["list"]
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["httproutes"]
  verbs: ["get", "update"]
# A cycle's inputs.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create", "update"]
# Self-healing (spec.healing): the target's pods (crash loops, OOM kills), the tails of their logs
# (redacted before any proposer sees them) and the Events about them, as an incident's evidence.
- apiGroups: [""]
  resources: ["pods", "events"]
  verbs: ["list"]
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
# No Secrets: each Secret the operator may read opts in with its own Role for that Secret alone
# (`kubectl hyperagent secret allow NAME --for git|llm|registry`), so the API server refuses every other.
{{- end }}

{{/* Sandbox namespaces: the candidates' pods, their inputs and their isolation. */}}
{{- define "hyperagent-operator.sandboxRules" -}}
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "create", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["list", "watch", "create", "patch"]
- apiGroups: [""]
  resources: ["resourcequotas", "limitranges"]
  verbs: ["create", "patch"]
{{- end }}
