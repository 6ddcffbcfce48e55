// The dashboards defined as code and the files they are provisioned from.
import { serviceHealthDashboard } from './service-health.ts'

export interface DashboardFile {
  path: string
  /** Exactly what is committed: two-space JSON and a final newline. */
  json: string
}

export function dashboardFiles(): DashboardFile[] {
  return [{ path: 'grafana/dashboards/service-health.json', json: `${JSON.stringify(serviceHealthDashboard(), null, 2)}\n` }]
}
