// Writes the dashboards defined as code to grafana/dashboards/*.json, where Grafana's file
// provisioning reads them: `npm run dashboards` after editing a definition, then commit both.
import { writeFile } from 'node:fs/promises'
import { dashboardFiles } from './dashboards.ts'

for (const { path, json } of dashboardFiles()) {
  await writeFile(path, json)
  console.log(`wrote ${path}`)
}
