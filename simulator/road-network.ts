// A small embedded network of motorway links between the places, and shortest paths over it.
// Dijkstra is written here rather than taken from a library: with ~60 nodes a plain O(V²) scan
// is ~25 lines, and we need its ties broken by place id so a seed always yields the same route,
// which none of the small graph packages documents.
import type { LatLon } from '../domain/types.js';
import { bearingDeg, distanceM, lerp, offsetM, Polyline } from './geo.js';
import { placeById, type Place } from './places.js';

/** [from, to, road] — every link is two-way. Roads are the motorways a truck would take. */
const LINKS: readonly (readonly [string, string, string])[] = [
  ['paris', 'paris-garonor', 'A1'],
  ['paris-garonor', 'lille', 'A1'],
  ['paris', 'reims', 'A4'],
  ['reims', 'metz', 'A4'],
  ['paris', 'dijon', 'A6'],
  ['paris', 'nantes', 'A11'],
  ['paris', 'bordeaux', 'A10'],
  ['nantes', 'bordeaux', 'A83'],
  ['bordeaux', 'toulouse', 'A62'],
  ['toulouse', 'marseille', 'A61/A9'],
  ['marseille', 'lyon', 'A7'],
  ['dijon', 'lyon', 'A6'],
  ['lyon', 'lyon-sqf', 'A43'],
  ['lyon-sqf', 'turin', 'A43/E70'],
  ['dijon', 'nancy', 'A31'],
  ['nancy', 'metz', 'A31'],
  ['metz', 'luxembourg', 'A31'],
  ['metz', 'strasbourg', 'A4'],
  ['metz', 'saarbrucken', 'A320'],
  ['dijon', 'basel', 'A36'],
  ['strasbourg', 'basel', 'A35'],
  ['strasbourg', 'karlsruhe', 'A5'],
  ['lille', 'ghent', 'E17'],
  ['lille', 'brussels', 'E42/E19'],
  ['ghent', 'brussels', 'E40'],
  ['ghent', 'antwerp', 'E17'],
  ['brussels', 'antwerp', 'E19'],
  ['brussels', 'luxembourg', 'E411'],
  ['brussels', 'cologne', 'E40'],
  ['antwerp', 'antwerp-port', 'R2'],
  ['antwerp', 'rotterdam', 'A16'],
  ['antwerp', 'eindhoven', 'E34'],
  ['rotterdam', 'rotterdam-maasvlakte', 'A15'],
  ['rotterdam', 'amsterdam', 'A4'],
  ['rotterdam', 'utrecht', 'A20/A12'],
  ['utrecht', 'amsterdam', 'A2'],
  ['utrecht', 'eindhoven', 'A2'],
  ['eindhoven', 'venlo', 'A67'],
  ['venlo', 'venlo-tradeport', 'A73'],
  ['venlo-tradeport', 'duisburg-logport', 'A40'],
  ['duisburg-logport', 'duisburg', 'A40'],
  ['duisburg', 'dusseldorf', 'A59'],
  ['duisburg', 'dortmund', 'A40'],
  ['dusseldorf', 'cologne', 'A3'],
  ['cologne', 'dortmund', 'A1'],
  ['cologne', 'frankfurt', 'A3'],
  ['dortmund', 'kassel', 'A44'],
  ['dortmund', 'bremen', 'A1'],
  ['dortmund', 'hannover', 'A2'],
  ['bremen', 'hamburg', 'A1'],
  ['bremen', 'hannover', 'A27/A7'],
  ['hamburg', 'hamburg-altenwerder', 'A7'],
  ['hamburg', 'hannover', 'A7'],
  ['hamburg', 'berlin', 'A24'],
  ['hannover', 'berlin', 'A2'],
  ['hannover', 'kassel', 'A7'],
  ['kassel', 'frankfurt', 'A7/A5'],
  ['kassel', 'wurzburg', 'A7'],
  ['frankfurt', 'frankfurt-cargo', 'A5'],
  ['frankfurt-cargo', 'mannheim', 'A67/A6'],
  ['frankfurt', 'wurzburg', 'A3'],
  ['wurzburg', 'nuremberg', 'A3'],
  ['mannheim', 'karlsruhe', 'A5'],
  ['mannheim', 'saarbrucken', 'A6'],
  ['karlsruhe', 'stuttgart', 'A8'],
  ['stuttgart', 'munich', 'A8'],
  ['stuttgart', 'wurzburg', 'A81'],
  ['munich', 'nuremberg', 'A9'],
  ['munich', 'salzburg', 'A8'],
  ['munich', 'zurich', 'A96'],
  ['salzburg', 'linz', 'A1'],
  ['linz', 'vienna', 'A1'],
  ['nuremberg', 'leipzig-halle', 'A9'],
  ['leipzig-halle', 'leipzig', 'A14'],
  ['leipzig-halle', 'berlin', 'A9'],
  ['leipzig', 'dresden', 'A14'],
  ['dresden', 'berlin', 'A13'],
  ['dresden', 'prague', 'D8'],
  ['prague', 'nuremberg', 'D5/A6'],
  ['prague', 'vienna', 'D1'],
  ['berlin', 'poznan', 'A2'],
  ['poznan', 'warsaw', 'A2'],
  ['basel', 'zurich', 'A3'],
  ['zurich', 'milan', 'A2 Gotthard'],
  ['milan', 'turin', 'A4'],
  ['milan', 'piacenza', 'A1'],
  ['basel', 'karlsruhe', 'A5'],
];

export type RoadKind = 'urban' | 'highway';

/** A stretch of a route with one driving character (speed profile) and road name. */
export interface RouteSection {
  fromM: number;
  toM: number;
  kind: RoadKind;
  road: string;
}

export interface Route {
  /** Places passed through, first to last. */
  placeIds: string[];
  /** Distance along the route of each requested stop, metres. */
  stopOffsetsM: number[];
  polyline: Polyline;
  sections: RouteSection[];
}

interface Link {
  from: string;
  to: string;
  road: string;
  points: LatLon[];
  lengthM: number;
}

/** Urban driving near a city centre; hubs sit by the motorway so their urban part is short. */
function urbanRadiusM(place: Place): number {
  return place.kind === 'city' ? 12_000 : 3_000;
}

/** Stable small numbers from a link id so every run bends the same link the same way. */
function linkShape(id: string): [number, number] {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  const a = ((h >>> 0) % 1000) / 1000 - 0.5;
  const b = ((h >>> 10) % 1000) / 1000 - 0.5;
  return [a * 0.12, b * 0.06];
}

/** A road-like geometry: the straight line bent sideways by a gentle, link-specific curve. */
function linkGeometry(a: Place, b: Place, road: string): LatLon[] {
  const [k1, k2] = linkShape(`${[a.id, b.id].sort().join('|')}|${road}`);
  const length = distanceM(a, b);
  const side = (bearingDeg(a, b) + 90) % 360;
  const points: LatLon[] = [{ lat: a.lat, lon: a.lon }];
  const steps = Math.max(2, Math.ceil(length / 10_000));
  for (let i = 1; i < steps; i++) {
    const f = i / steps;
    const bend = length * (k1 * Math.sin(Math.PI * f) + k2 * Math.sin(2 * Math.PI * f));
    points.push(offsetM(lerp(a, b, f), side, bend));
  }
  points.push({ lat: b.lat, lon: b.lon });
  return points;
}

export class RoadNetwork {
  private readonly adjacency = new Map<string, Link[]>();

  constructor(links: readonly (readonly [string, string, string])[] = LINKS) {
    for (const [from, to, road] of links) {
      const points = linkGeometry(placeById(from), placeById(to), road);
      const forward: Link = { from, to, road, points, lengthM: new Polyline(points).lengthM };
      const backward: Link = { from: to, to: from, road, points: [...points].reverse(), lengthM: forward.lengthM };
      this.linksFrom(from).push(forward);
      this.linksFrom(to).push(backward);
    }
  }

  private linksFrom(id: string): Link[] {
    let list = this.adjacency.get(id);
    if (!list) {
      list = [];
      this.adjacency.set(id, list);
    }
    return list;
  }

  get placeIds(): string[] {
    return [...this.adjacency.keys()].sort();
  }

  neighbours(id: string): string[] {
    return (this.adjacency.get(id) ?? []).map((l) => l.to);
  }

  /** Shortest path by road length; ties go to the lexically smaller place id. */
  shortestPath(from: string, to: string): string[] {
    if (!this.adjacency.has(from) || !this.adjacency.has(to)) throw new Error(`no road at ${from} or ${to}`);
    const dist = new Map<string, number>([[from, 0]]);
    const previous = new Map<string, string>();
    const done = new Set<string>();
    for (;;) {
      let current: string | undefined;
      for (const [id, d] of dist) {
        if (done.has(id)) continue;
        if (current === undefined || d < dist.get(current)! || (d === dist.get(current)! && id < current)) current = id;
      }
      if (current === undefined) throw new Error(`no road from ${from} to ${to}`);
      if (current === to) break;
      done.add(current);
      for (const link of this.adjacency.get(current)!) {
        const candidate = dist.get(current)! + link.lengthM;
        if (candidate < (dist.get(link.to) ?? Infinity)) {
          dist.set(link.to, candidate);
          previous.set(link.to, current);
        }
      }
    }
    const path = [to];
    while (path[0] !== from) path.unshift(previous.get(path[0]!)!);
    return path;
  }

  /** Driveable geometry through the given stops (each leg by shortest path), with urban/highway sections. */
  route(stopIds: readonly string[]): Route {
    const placeIds: string[] = [stopIds[0]!];
    const stopPlaceIndexes = [0];
    for (let i = 1; i < stopIds.length; i++) {
      placeIds.push(...this.shortestPath(stopIds[i - 1]!, stopIds[i]!).slice(1));
      stopPlaceIndexes.push(placeIds.length - 1);
    }
    const placeOffsetsM = [0];
    const points: LatLon[] = [];
    const sections: RouteSection[] = [];
    let offset = 0;
    for (let i = 1; i < placeIds.length; i++) {
      const link = this.adjacency.get(placeIds[i - 1]!)!.find((l) => l.to === placeIds[i])!;
      points.push(...(points.length === 0 ? link.points : link.points.slice(1)));
      const startUrban = Math.min(urbanRadiusM(placeById(link.from)), link.lengthM / 3);
      const endUrban = Math.min(urbanRadiusM(placeById(link.to)), link.lengthM / 3);
      sections.push(
        { fromM: offset, toM: offset + startUrban, kind: 'urban', road: link.road },
        { fromM: offset + startUrban, toM: offset + link.lengthM - endUrban, kind: 'highway', road: link.road },
        { fromM: offset + link.lengthM - endUrban, toM: offset + link.lengthM, kind: 'urban', road: link.road },
      );
      offset += link.lengthM;
      placeOffsetsM.push(offset);
    }
    const polyline = new Polyline(points);
    // Floating-point sums may differ from the polyline's own length by millimetres.
    sections[sections.length - 1]!.toM = polyline.lengthM;
    const stopOffsetsM = stopPlaceIndexes.map((i) => Math.min(placeOffsetsM[i]!, polyline.lengthM));
    stopOffsetsM[stopOffsetsM.length - 1] = polyline.lengthM;
    return { placeIds, stopOffsetsM, polyline, sections };
  }
}
