// Grafana's published dashboard schema (@grafana/schema) in the shape of a JSON file: its
// enums are TypeScript enums, which a string in JSON can never be, so every enum becomes the
// union of its values. Object literals assigned to these types still get excess-property
// checks: a field the schema does not know is an error.
import type { Dashboard, VariableModel } from '@grafana/schema'
import type { Options as GeomapOptions } from '@grafana/schema/dist/esm/raw/composable/geomap/panelcfg/x/GeomapPanelCfg_types.gen.js'

type Json<T> = T extends string
  ? `${T}`
  : T extends number
    ? number
    : T extends boolean
      ? boolean
      : T extends (infer Item)[]
        ? Json<Item>[]
        : T extends object
          ? { [K in keyof T]: Json<T[K]> }
          : T

/**
 * A dashboard JSON as Grafana's schema describes it, plus the one field Grafana itself writes
 * that the schema leaves out: a query variable's `definition` (the query as the editor shows it).
 */
export type DashboardJson = Omit<Json<Dashboard>, 'templating'> & {
  templating?: { list?: (Json<VariableModel> & { definition?: string })[] }
}

/**
 * A geomap panel's options as the geomap plugin's published schema describes them. The layers'
 * own `config` and `filterData` are `unknown` there (each layer type defines its own); the
 * dashboards test asserts those of the samples map.
 */
export type GeomapOptionsJson = Json<GeomapOptions>
