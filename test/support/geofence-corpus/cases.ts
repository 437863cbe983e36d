// The corpus: simulated urban trips around one city grid (metres north and east of a point in
// Lyon), each planned to provoke one thing real GPS does to geofences. Trackers as the simulator
// knows them: an ELD (30 s moving, 2 min parked), a phone (1 min, 5 min parked), a trailer
// tracker (5 min), a dense logger (5 s).
import type { LatLon, StopPlan, StopType } from '../../../domain/types.js';
import { offsetM } from '../../../simulator/geo.js';
import { roadFrom } from '../road.js';
import { buildCase, type GeofenceCase, type Leg, type Tracker, type TripPlan } from './trip-plan.js';

const city = roadFrom({ lat: 45.76, lon: 4.85 });
/** `north` and `east` metres from the grid's origin. */
const p = (north: number, east = 0): LatLon => city(north / 1000, east);

function stop(sequence: number, name: string, location: LatLon, geofenceRadiusM: number, type: StopType = sequence === 1 ? 'pickup' : 'delivery'): StopPlan {
  return { sequence, type, name, location, geofenceRadiusM };
}

const ELD: Tracker = { intervalSec: 30, standingIntervalSec: 120, noiseM: 5 };
const ELD_STEADY: Tracker = { intervalSec: 30, noiseM: 5 };
const PHONE: Tracker = { intervalSec: 60, standingIntervalSec: 300, noiseM: 12 };
const TRAILER: Tracker = { intervalSec: 300, noiseM: 10 };
const DENSE: Tracker = { intervalSec: 5, noiseM: 5 };

const drive = (speedKmh: number, ...via: LatLon[]): Leg => ({ kind: 'drive', via, speedKmh });
const visit = (sequence: number, minutes: number, extra: Partial<Leg> = {}): Leg => ({ kind: 'stand', minutes, visit: sequence, ...extra }) as Leg;
const wait = (minutes: number, extra: Partial<Leg> = {}): Leg => ({ kind: 'stand', minutes, ...extra }) as Leg;
const off = { trackerOff: true } as const;

let day = 0;
/** Each case on its own morning, so cases never share timestamps. */
function plan(fields: Omit<TripPlan, 'start' | 'seed' | 'origin'> & { origin?: LatLon }): TripPlan {
  day += 1;
  const start = `2026-04-${String(day).padStart(2, '0')}T07:00:00.000Z`;
  return { ...fields, origin: fields.origin ?? fields.stops[0]!.location, seed: `geofence-corpus/${fields.name}`, start };
}

const PLANS: TripPlan[] = [
  plan({
    name: 'drive-by on the way, ELD at 40 km/h',
    about: 'The road to the bakery runs through the pharmacy’s geofence, visited last.',
    stops: [stop(1, 'Depot', p(0), 250), stop(2, 'Bakery', p(3000), 250), stop(3, 'Pharmacy', p(1500, 40), 200)],
    tracker: ELD,
    legs: [visit(1, 20), drive(40, p(3000)), visit(2, 15), drive(40, p(1500, 40)), visit(3, 12), drive(40, p(1500, 2000))],
  }),
  plan({
    name: 'slow drive-by in traffic, 5 s fixes at 15 km/h',
    about: 'Three minutes inside a 300 m fence on the way past, never standing still.',
    stops: [stop(1, 'Depot', p(0), 200), stop(2, 'Market', p(2500), 250), stop(3, 'Garage', p(1200), 300)],
    tracker: DENSE,
    legs: [visit(1, 12), drive(15, p(2500)), visit(2, 10), drive(25, p(1200)), visit(3, 15), drive(25, p(1200, -1500))],
  }),
  plan({
    name: 'red light inside a fence, 5 s fixes',
    about: 'A 100 s stop at a light 50 m past the bank, visited last.',
    stops: [stop(1, 'Depot', p(0), 200), stop(2, 'School', p(2000), 200), stop(3, 'Bank', p(1000), 250)],
    tracker: DENSE,
    legs: [visit(1, 10), drive(35, p(1050)), wait(100 / 60), drive(35, p(2000)), visit(2, 12), drive(35, p(1000)), visit(3, 10), drive(35, p(1000, 1500))],
  }),
  plan({
    name: 'drive-by seen by a 5-min trailer tracker',
    about: 'One fix lands inside the clinic’s fence on the way to the store.',
    stops: [stop(1, 'DC', p(0), 300), stop(2, 'Store', p(8000), 300), stop(3, 'Clinic', p(4000), 300)],
    tracker: TRAILER,
    // It reports when the truck sets off, then every 5 min: at 48 km/h the second fix is 4 km on, at the clinic.
    legs: [visit(1, 28), drive(48, p(8000)), visit(2, 20), drive(35, p(4000)), visit(3, 25), drive(35, p(4000, 6000))],
  }),
  plan({
    name: 'several drive-bys, phone at 20 and 40 km/h',
    about: 'The cafe is passed once and the hotel twice before each is visited.',
    stops: [stop(1, 'Warehouse', p(0), 250), stop(2, 'Office', p(4000), 250), stop(3, 'Cafe', p(1470), 200), stop(4, 'Hotel', p(2800, -30), 400)],
    tracker: PHONE,
    legs: [visit(1, 20), drive(20, p(2000)), drive(40, p(4000)), visit(2, 15), drive(40, p(1470)), visit(3, 12), drive(30, p(2800, -30)), visit(4, 15), drive(30, p(2800, -2000))],
  }),
  plan({
    name: 'winding approach along the fence edge',
    about: 'The access road weaves 15 m in and 30 m out of the factory’s fence before the gate.',
    stops: [stop(1, 'Depot', p(0), 200), stop(2, 'Factory', p(3000), 250)],
    tracker: ELD,
    legs: [
      visit(1, 15),
      drive(30, p(2400, -300)),
      drive(10, ...[200, 220, 240, 260, 280, 300, 320, 340, 360].map((bearing, i) => offsetM(p(3000), bearing, i % 2 === 0 ? 235 : 280))),
      drive(10, p(3000)),
      visit(2, 20),
      drive(30, p(5000)),
    ],
  }),
  plan({
    name: 'two docks closer than the exit margin',
    about: 'Dock B sits 170 m from dock A, inside A’s exit band.',
    origin: p(-1500),
    stops: [stop(1, 'Dock A', p(0), 80), stop(2, 'Dock B', p(0, 170), 60)],
    tracker: ELD,
    legs: [drive(30, p(0)), visit(1, 20), drive(8, p(0, 170)), visit(2, 25), drive(30, p(1500, 170))],
  }),
  plan({
    name: 'trace ends inside the last stop',
    about: 'The tracker is still parked at the customer when the trace stops.',
    origin: p(-1000),
    stops: [stop(1, 'Depot', p(0), 200), stop(2, 'Customer', p(3000, 500), 250)],
    tracker: ELD,
    legs: [drive(30, p(0)), visit(1, 15), drive(35, p(3000, 500)), visit(2, 25)],
  }),
  plan({
    name: 'trace ends one fix after leaving, then proof of delivery',
    about: 'The truck leaves the customer, one fix outside, then nothing until the driver’s app syncs the proof of delivery hours later.',
    stops: [stop(1, 'Depot', p(0), 200), stop(2, 'Customer', p(2500), 250)],
    tracker: ELD_STEADY,
    legs: [visit(1, 15), drive(30, p(2500)), visit(2, 20), drive(30, p(3000))],
    proofOfDeliveryAfterMin: 150,
  }),
  plan({
    name: 'tracker gap in the middle of a visit',
    about: 'The tracker is off for 25 of the 55 minutes at the hub.',
    stops: [stop(1, 'Depot', p(0), 200), stop(2, 'Hub', p(3000), 250), stop(3, 'Shop', p(5000, 1000), 250)],
    tracker: { intervalSec: 60, noiseM: 5 },
    legs: [visit(1, 15), drive(35, p(3000)), visit(2, 15), visit(2, 25, off), visit(2, 15), drive(35, p(5000, 1000)), visit(3, 15), drive(35, p(5000, 3000))],
  }),
  plan({
    name: 'tracker gap across a departure',
    about: 'The tracker dies 2 min before the truck leaves the hub and wakes 12 min later, 8 km away.',
    stops: [stop(1, 'Depot', p(0), 200), stop(2, 'Hub', p(4000), 250), stop(3, 'Customer', p(4000, 12000), 250)],
    tracker: ELD_STEADY,
    legs: [visit(1, 15), drive(40, p(4000)), visit(2, 20), visit(2, 2, off), { ...drive(40, p(4000, 8000)), ...off }, drive(40, p(4000, 12000)), visit(3, 15), drive(40, p(6000, 12000))],
  }),
  plan({
    name: 'sparse trailer tracker, every 5 min',
    about: 'Three visits seen by a fix every five minutes.',
    stops: [stop(1, 'DC', p(0), 300), stop(2, 'Store', p(6000, 2000), 300), stop(3, 'Customer', p(12000), 300)],
    tracker: TRAILER,
    legs: [visit(1, 30), drive(40, p(6000, 2000)), visit(2, 25), drive(40, p(12000)), visit(3, 30), drive(40, p(20000))],
  }),
  plan({
    name: 'dense logger, every 5 s',
    about: 'Short visits of 6–8 minutes seen by a fix every five seconds.',
    stops: [stop(1, 'Depot', p(0), 150), stop(2, 'Clinic', p(2000, 1500), 150), stop(3, 'Lab', p(4000), 200)],
    tracker: DENSE,
    legs: [visit(1, 8), drive(30, p(2000, 1500)), visit(2, 6), drive(30, p(4000)), visit(3, 8), drive(30, p(5500))],
  }),
  plan({
    name: 'GPS jitter and wild fixes',
    about: 'A noisy phone (15 m) and four single wild fixes: two in visits (one before confirmation), one on the road, one 600 m out of a fence.',
    stops: [stop(1, 'Depot', p(0), 250), stop(2, 'Office', p(3000), 250), stop(3, 'Store', p(6000, 1000), 300)],
    tracker: { intervalSec: 60, noiseM: 15 },
    legs: [
      visit(1, 20, { wildFix: { afterMin: 5.5, offsetM: 1500, bearingDeg: 90 } }),
      { ...drive(35, p(3000)), wildFix: { afterMin: 2.5, offsetM: 800, bearingDeg: 270 } },
      visit(2, 20, { wildFix: { afterMin: 1.5, offsetM: 2000, bearingDeg: 180 } }),
      drive(35, p(6000, 1000)),
      visit(3, 20, { wildFix: { afterMin: 10.5, offsetM: 600, bearingDeg: 0 } }),
      drive(35, p(6000, 3000)),
    ],
  }),
  plan({
    name: 'revisit of an earlier stop',
    about: 'Back to the depot for a forgotten pallet between the second and third drops.',
    stops: [stop(1, 'Depot', p(0), 250), stop(2, 'Shop', p(3000), 250), stop(3, 'Office', p(2000, 3000), 250)],
    tracker: ELD,
    legs: [visit(1, 15), drive(40, p(3000)), visit(2, 15), drive(40, p(0)), wait(12), drive(40, p(2000, 3000)), visit(3, 15), drive(40, p(2000, 5000))],
  }),
  plan({
    name: 'drive-by of the pickup before loading',
    about: 'The truck overshoots the depot, turns round 1.5 km on and comes back to load.',
    origin: p(-2000),
    stops: [stop(1, 'Depot', p(0), 200), stop(2, 'Customer', p(3000, 2000), 250)],
    tracker: ELD,
    legs: [drive(40, p(1500)), wait(3), drive(30, p(0)), visit(1, 20), drive(40, p(3000, 2000)), visit(2, 15), drive(40, p(3000, 4000))],
  }),
];

export const GEOFENCE_CORPUS: readonly GeofenceCase[] = PLANS.map(buildCase);
