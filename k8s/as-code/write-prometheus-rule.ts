// Writes k8s/prometheusrule.yaml from the rules file: `npm run k8s:rules`, then commit both.
import { writeFile } from 'node:fs/promises'
import { PROMETHEUS_RULE_FILE, prometheusRuleYaml } from './prometheus-rule.ts'

await writeFile(PROMETHEUS_RULE_FILE, prometheusRuleYaml())
console.log(`wrote ${PROMETHEUS_RULE_FILE}`)
