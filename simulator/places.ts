// Embedded places of a European road-freight network: city centres and logistics hubs, with
// their real WGS84 coordinates (city centres; hubs at their logistics parks or port terminals).
import type { LatLon } from '../domain/types.js';

export type PlaceKind = 'city' | 'distribution-centre';

export interface Place extends LatLon {
  id: string;
  name: string;
  country: string;
  kind: PlaceKind;
}

function city(id: string, name: string, country: string, lat: number, lon: number): Place {
  return { id, name, country, kind: 'city', lat, lon };
}

function hub(id: string, name: string, country: string, lat: number, lon: number): Place {
  return { id, name, country, kind: 'distribution-centre', lat, lon };
}

export const PLACES: readonly Place[] = [
  city('paris', 'Paris', 'FR', 48.8566, 2.3522),
  city('lille', 'Lille', 'FR', 50.6292, 3.0573),
  city('reims', 'Reims', 'FR', 49.2583, 4.0317),
  city('metz', 'Metz', 'FR', 49.1193, 6.1757),
  city('nancy', 'Nancy', 'FR', 48.6921, 6.1844),
  city('strasbourg', 'Strasbourg', 'FR', 48.5734, 7.7521),
  city('dijon', 'Dijon', 'FR', 47.322, 5.0415),
  city('lyon', 'Lyon', 'FR', 45.764, 4.8357),
  city('marseille', 'Marseille', 'FR', 43.2965, 5.3698),
  city('toulouse', 'Toulouse', 'FR', 43.6047, 1.4442),
  city('bordeaux', 'Bordeaux', 'FR', 44.8378, -0.5792),
  city('nantes', 'Nantes', 'FR', 47.2184, -1.5536),
  city('brussels', 'Brussels', 'BE', 50.8503, 4.3517),
  city('ghent', 'Ghent', 'BE', 51.0543, 3.7174),
  city('antwerp', 'Antwerp', 'BE', 51.2194, 4.4025),
  city('luxembourg', 'Luxembourg', 'LU', 49.6116, 6.1319),
  city('rotterdam', 'Rotterdam', 'NL', 51.9244, 4.4777),
  city('amsterdam', 'Amsterdam', 'NL', 52.3676, 4.9041),
  city('utrecht', 'Utrecht', 'NL', 52.0907, 5.1214),
  city('eindhoven', 'Eindhoven', 'NL', 51.4416, 5.4697),
  city('venlo', 'Venlo', 'NL', 51.3704, 6.1724),
  city('duisburg', 'Duisburg', 'DE', 51.4344, 6.7623),
  city('dusseldorf', 'Düsseldorf', 'DE', 51.2277, 6.7735),
  city('cologne', 'Cologne', 'DE', 50.9375, 6.9603),
  city('dortmund', 'Dortmund', 'DE', 51.5136, 7.4653),
  city('bremen', 'Bremen', 'DE', 53.0793, 8.8017),
  city('hamburg', 'Hamburg', 'DE', 53.5511, 9.9937),
  city('hannover', 'Hannover', 'DE', 52.3759, 9.732),
  city('kassel', 'Kassel', 'DE', 51.3127, 9.4797),
  city('berlin', 'Berlin', 'DE', 52.52, 13.405),
  city('leipzig', 'Leipzig', 'DE', 51.3397, 12.3731),
  city('dresden', 'Dresden', 'DE', 51.0504, 13.7373),
  city('frankfurt', 'Frankfurt am Main', 'DE', 50.1109, 8.6821),
  city('wurzburg', 'Würzburg', 'DE', 49.7913, 9.9534),
  city('nuremberg', 'Nuremberg', 'DE', 49.4521, 11.0767),
  city('mannheim', 'Mannheim', 'DE', 49.4875, 8.466),
  city('saarbrucken', 'Saarbrücken', 'DE', 49.2402, 6.9969),
  city('karlsruhe', 'Karlsruhe', 'DE', 49.0069, 8.4037),
  city('stuttgart', 'Stuttgart', 'DE', 48.7758, 9.1829),
  city('munich', 'Munich', 'DE', 48.1351, 11.582),
  city('basel', 'Basel', 'CH', 47.5596, 7.5886),
  city('zurich', 'Zurich', 'CH', 47.3769, 8.5417),
  city('milan', 'Milan', 'IT', 45.4642, 9.19),
  city('turin', 'Turin', 'IT', 45.0703, 7.6869),
  city('salzburg', 'Salzburg', 'AT', 47.8095, 13.055),
  city('linz', 'Linz', 'AT', 48.3069, 14.2858),
  city('vienna', 'Vienna', 'AT', 48.2082, 16.3738),
  city('prague', 'Prague', 'CZ', 50.0755, 14.4378),
  city('poznan', 'Poznań', 'PL', 52.4064, 16.9252),
  city('warsaw', 'Warsaw', 'PL', 52.2297, 21.0122),
  hub('paris-garonor', 'Paris Nord Garonor DC', 'FR', 48.9447, 2.4989),
  hub('lyon-sqf', 'Lyon Saint-Quentin-Fallavier DC', 'FR', 45.6431, 5.1128),
  hub('antwerp-port', 'Antwerp Port DC', 'BE', 51.2772, 4.3325),
  hub('rotterdam-maasvlakte', 'Rotterdam Maasvlakte DC', 'NL', 51.955, 4.0434),
  hub('venlo-tradeport', 'Venlo Trade Port DC', 'NL', 51.3967, 6.1225),
  hub('duisburg-logport', 'Duisburg logport DC', 'DE', 51.3805, 6.7147),
  hub('hamburg-altenwerder', 'Hamburg Altenwerder DC', 'DE', 53.5045, 9.9355),
  hub('frankfurt-cargo', 'Frankfurt CargoCity Süd DC', 'DE', 50.0286, 8.5567),
  hub('leipzig-halle', 'Leipzig/Halle Airport Hub', 'DE', 51.4239, 12.2364),
  hub('piacenza', 'Piacenza Logistics Park', 'IT', 45.0325, 9.7191),
];

const byId = new Map(PLACES.map((p) => [p.id, p]));

export function placeById(id: string): Place {
  const place = byId.get(id);
  if (!place) throw new Error(`unknown place ${id}`);
  return place;
}
