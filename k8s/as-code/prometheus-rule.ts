// The alert and recording rules as the Prometheus Operator's PrometheusRule
// (monitoring.coreos.com/v1), so a cluster's operator-managed Prometheus evaluates the same
// rules as compose's Prometheus: spec.groups is prometheus/rules/telemetry-store.rules.yml's
// groups, unchanged. `npm run k8s:rules` writes k8s/prometheusrule.yaml after the rules file
// changes; test/deployment.test.ts fails when the committed file differs from what this makes.
import { readFileSync } from 'node:fs'
import { parse, stringify } from 'yaml'

export const RULES_FILE = 'prometheus/rules/telemetry-store.rules.yml'
export const PROMETHEUS_RULE_FILE = 'k8s/prometheusrule.yaml'

const HEADER = `# GENERATED from ${RULES_FILE} by \`npm run k8s:rules\`: edit the rules file, not this.
# For clusters that run the Prometheus Operator, applied beside the stack like podmonitor.yaml
# (it is not in kustomization.yaml, which must also apply where the operator's CRDs are missing):
#   kubectl apply -k k8s && kubectl apply -f k8s/prometheusrule.yaml
# Your Prometheus resource loads it only if its spec.ruleSelector matches these labels and its
# spec.ruleNamespaceSelector admits the namespace telemetry-store; the runbook links need its
# spec.externalLabels.runbook_base_url. See docs/deployment.md, "Alert rules on Kubernetes".
`

/** The committed file's text: the header, then the PrometheusRule as YAML. */
export function prometheusRuleYaml(rulesText = readFileSync(RULES_FILE, 'utf8')): string {
  const { groups } = parse(rulesText) as { groups: unknown[] }
  const resource = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'telemetry-store',
      namespace: 'telemetry-store',
      labels: {
        'app.kubernetes.io/name': 'telemetry-store',
        // The label the operator's own documentation has a Prometheus' ruleSelector match.
        role: 'alert-rules',
      },
    },
    spec: { groups },
  }
  // lineWidth 0: long PromQL stays on one line, as in the rules file.
  return HEADER + stringify(resource, { lineWidth: 0 })
}
