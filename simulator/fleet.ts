// A believable fleet drawn from a seed: carriers from several countries, their trucks with
// national registration plates, drivers, and one tracking device per truck.
import type { DeviceType } from './motion.js';
import type { Rng } from './random.js';

export interface CarrierSpec {
  key: string;
  name: string;
  country: string;
}

export interface VehicleSpec {
  key: string;
  carrierKey: string;
  registration: string;
  make: string;
  driver: { key: string; name: string };
  device: { key: string; externalId: string; type: DeviceType };
}

export interface Fleet {
  carriers: CarrierSpec[];
  vehicles: VehicleSpec[];
}

interface CarrierTemplate {
  name: string;
  country: string;
  plate: (rng: Rng) => string;
  firstNames: readonly string[];
  lastNames: readonly string[];
}

const letters = (rng: Rng, n: number) => Array.from({ length: n }, () => String.fromCharCode(65 + rng.int(0, 25))).join('');
const digits = (rng: Rng, n: number) => Array.from({ length: n }, () => String(rng.int(0, 9))).join('');

const CARRIERS: readonly CarrierTemplate[] = [
  {
    name: 'Rhein-Main Logistik GmbH',
    country: 'DE',
    plate: (rng) => `F-${letters(rng, 2)} ${rng.int(100, 9999)}`,
    firstNames: ['Jonas', 'Lukas', 'Stefan', 'Katrin', 'Mehmet', 'Andreas'],
    lastNames: ['Müller', 'Schmidt', 'Becker', 'Yilmaz', 'Hoffmann', 'Wagner'],
  },
  {
    name: 'Transports Dubois SA',
    country: 'FR',
    plate: (rng) => `${letters(rng, 2)}-${digits(rng, 3)}-${letters(rng, 2)}`,
    firstNames: ['Julien', 'Nicolas', 'Sophie', 'Karim', 'Thomas', 'Claire'],
    lastNames: ['Dubois', 'Martin', 'Bernard', 'Moreau', 'Benali', 'Laurent'],
  },
  {
    name: 'Van der Berg Transport BV',
    country: 'NL',
    plate: (rng) => `${digits(rng, 2)}-${letters(rng, 3)}-${digits(rng, 1)}`,
    firstNames: ['Daan', 'Sander', 'Bram', 'Femke', 'Ruud', 'Anouk'],
    lastNames: ['de Vries', 'Jansen', 'van Dijk', 'Bakker', 'Visser', 'Smit'],
  },
  {
    name: 'Vistula Cargo Sp. z o.o.',
    country: 'PL',
    plate: (rng) => `W${letters(rng, 1)} ${digits(rng, 5)}`,
    firstNames: ['Piotr', 'Tomasz', 'Marek', 'Anna', 'Krzysztof', 'Paweł'],
    lastNames: ['Nowak', 'Kowalski', 'Wiśniewski', 'Wójcik', 'Kamiński', 'Zieliński'],
  },
  {
    name: 'Alpina Spedition AG',
    country: 'CH',
    plate: (rng) => `ZH ${rng.int(10_000, 999_999)}`,
    firstNames: ['Reto', 'Urs', 'Luca', 'Nina', 'Marco', 'Silvia'],
    lastNames: ['Meier', 'Keller', 'Brunner', 'Rossi', 'Huber', 'Frei'],
  },
];

const MAKES = ['DAF XF 480', 'Scania R 450', 'Volvo FH 500', 'Mercedes-Benz Actros 1845', 'MAN TGX 18.470', 'Iveco S-Way 490', 'Renault T 480'];

/** A 15-digit IMEI with a valid Luhn check digit, as a tracker's external id. */
function imei(rng: Rng): string {
  const body = `35${digits(rng, 12)}`;
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let v = Number(body[i]);
    if (i % 2 === 1) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return body + String((10 - (sum % 10)) % 10);
}

export function pickDeviceType(rng: Rng): DeviceType {
  const r = rng.next();
  return r < 0.5 ? 'eld' : r < 0.8 ? 'asset-tracker' : 'phone-app';
}

/** `size` trucks shared among up to five carriers (about four trucks per carrier). */
export function buildFleet(rng: Rng, size: number, deviceTypes?: readonly DeviceType[]): Fleet {
  const carrierCount = Math.min(CARRIERS.length, Math.max(1, Math.ceil(size / 4)));
  const templates = CARRIERS.slice(0, carrierCount);
  const carriers: CarrierSpec[] = templates.map((t, i) => ({ key: `carrier-${i + 1}`, name: t.name, country: t.country }));
  const vehicles: VehicleSpec[] = [];
  for (let i = 0; i < size; i++) {
    const vrng = rng.fork(`vehicle-${i}`);
    const carrierIndex = i % carrierCount;
    const template = templates[carrierIndex]!;
    const type = deviceTypes?.[i] ?? pickDeviceType(vrng);
    vehicles.push({
      key: `truck-${i + 1}`,
      carrierKey: carriers[carrierIndex]!.key,
      registration: template.plate(vrng),
      make: vrng.pick(MAKES),
      driver: { key: `driver-${i + 1}`, name: `${vrng.pick(template.firstNames)} ${vrng.pick(template.lastNames)}` },
      device: {
        key: `device-${i + 1}`,
        type,
        externalId: type === 'phone-app' ? `app-${digits(vrng, 4)}-${letters(vrng, 4).toLowerCase()}${digits(vrng, 4)}` : imei(vrng),
      },
    });
  }
  return { carriers, vehicles };
}
