// Distances and positions on the Earth's surface (spherical model: metres-level accuracy is
// all a phone's significant-change location has).

export interface LatLon {
  latitude: number
  longitude: number
}

const EARTH_RADIUS_METERS = 6_371_008.8
const RADIANS = Math.PI / 180

/** Great-circle distance in metres (haversine). */
export function distanceMeters(a: LatLon, b: LatLon): number {
  const dLatitude = (b.latitude - a.latitude) * RADIANS
  const dLongitude = (b.longitude - a.longitude) * RADIANS
  const h = Math.sin(dLatitude / 2) ** 2 + Math.cos(a.latitude * RADIANS) * Math.cos(b.latitude * RADIANS) * Math.sin(dLongitude / 2) ** 2
  return 2 * EARTH_RADIUS_METERS * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** Initial bearing from a to b, degrees clockwise from north. */
export function bearingDegrees(a: LatLon, b: LatLon): number {
  const latitudeA = a.latitude * RADIANS
  const latitudeB = b.latitude * RADIANS
  const dLongitude = (b.longitude - a.longitude) * RADIANS
  const y = Math.sin(dLongitude) * Math.cos(latitudeB)
  const x = Math.cos(latitudeA) * Math.sin(latitudeB) - Math.sin(latitudeA) * Math.cos(latitudeB) * Math.cos(dLongitude)
  return Math.atan2(y, x) / RADIANS
}

/** The point `meters` away from `start` in direction `bearing` (degrees from north). */
export function destination(start: LatLon, bearing: number, meters: number): LatLon {
  const angular = meters / EARTH_RADIUS_METERS
  const theta = bearing * RADIANS
  const latitude1 = start.latitude * RADIANS
  const longitude1 = start.longitude * RADIANS
  const latitude2 = Math.asin(Math.sin(latitude1) * Math.cos(angular) + Math.cos(latitude1) * Math.sin(angular) * Math.cos(theta))
  const longitude2 = longitude1 + Math.atan2(Math.sin(theta) * Math.sin(angular) * Math.cos(latitude1), Math.cos(angular) - Math.sin(latitude1) * Math.sin(latitude2))
  return { latitude: latitude2 / RADIANS, longitude: longitude2 / RADIANS }
}

/** A polyline with its cumulative length, so a position along it is one lookup away. */
export interface Path {
  points: readonly LatLon[]
  /** Distance from the first point to each point, metres. */
  cumulativeMeters: readonly number[]
  lengthMeters: number
}

export function pathThrough(points: readonly LatLon[]): Path {
  const cumulativeMeters = [0]
  for (let index = 1; index < points.length; index++) {
    cumulativeMeters.push(cumulativeMeters[index - 1]! + distanceMeters(points[index - 1]!, points[index]!))
  }
  return { points, cumulativeMeters, lengthMeters: cumulativeMeters[cumulativeMeters.length - 1]! }
}

/** The point `meters` along the path (clamped to its ends). */
export function pointAlong(path: Path, meters: number): LatLon {
  const { points, cumulativeMeters } = path
  if (points.length === 1 || meters <= 0) return points[0]!
  if (meters >= path.lengthMeters) return points[points.length - 1]!
  let index = 1
  while (cumulativeMeters[index]! < meters) index++
  const segmentStart = cumulativeMeters[index - 1]!
  const fraction = (meters - segmentStart) / (cumulativeMeters[index]! - segmentStart || 1)
  const from = points[index - 1]!
  const to = points[index]!
  // Linear in degrees is fine over the few hundred metres between route points.
  return {
    latitude: from.latitude + (to.latitude - from.latitude) * fraction,
    longitude: from.longitude + (to.longitude - from.longitude) * fraction,
  }
}

/** The part of a path between two distances along it. */
export function subPath(path: Path, fromMeters: number, toMeters: number): Path {
  const points = [pointAlong(path, fromMeters)]
  path.cumulativeMeters.forEach((meters, index) => {
    if (meters > fromMeters && meters < toMeters) points.push(path.points[index]!)
  })
  points.push(pointAlong(path, toMeters))
  return pathThrough(points)
}
