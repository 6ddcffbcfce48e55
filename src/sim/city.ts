// Where the simulated person lives: real places in Berlin (coordinates of real squares,
// streets and parks, rounded), and the city's time zone so that the routine keeps local hours.
import type { LatLon } from './geo.ts'

export type PlaceName = 'home' | 'work' | 'lunch' | 'supermarket' | 'gym' | 'friends' | 'runningPark' | 'bigPark' | 'cafe' | 'parents' | 'holiday'

export interface Place extends LatLon {
  name: PlaceName
  description: string
}

export interface City {
  name: string
  /** IANA zone: the routine runs on local clock hours, samples carry UTC. */
  timeZone: string
  places: Readonly<Record<PlaceName, Place>>
}

const place = (name: PlaceName, latitude: number, longitude: number, description: string): Place => ({ name, latitude, longitude, description })

export const BERLIN: City = {
  name: 'Berlin',
  timeZone: 'Europe/Berlin',
  places: {
    home: place('home', 52.5365, 13.4172, 'flat at Kollwitzplatz, Prenzlauer Berg'),
    work: place('work', 52.5094, 13.3762, 'office at Potsdamer Platz'),
    lunch: place('lunch', 52.5046, 13.3826, 'canteen at Park am Gleisdreieck'),
    supermarket: place('supermarket', 52.5318, 13.4246, 'supermarket on Prenzlauer Allee'),
    gym: place('gym', 52.5151, 13.4541, 'gym at Frankfurter Tor, Friedrichshain'),
    friends: place('friends', 52.4935, 13.418, "friends' flat in the Graefekiez, Kreuzberg"),
    runningPark: place('runningPark', 52.5279, 13.4348, 'Volkspark Friedrichshain'),
    bigPark: place('bigPark', 52.4731, 13.4017, 'Tempelhofer Feld'),
    cafe: place('cafe', 52.5433, 13.4023, 'cafe at Mauerpark'),
    parents: place('parents', 52.3906, 13.0645, "parents' house in Potsdam"),
    holiday: place('holiday', 54.3796, 13.6096, 'holiday flat at the beach in Binz, Rügen (a week a quarter)'),
  },
}
