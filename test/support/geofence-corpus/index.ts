// A geofence test corpus: simulated urban trips whose expected milestones and drive-bys come from
// each trip's plan, and the helpers that compare what the platform decided with them.
export { GEOFENCE_CORPUS } from './cases.js';
export { caseProblems, milestoneProblems, milestonesOf, passesOf, passProblems, runCase, type ObservedPass } from './compare.js';
export { buildCase, type ExpectedMilestone, type ExpectedPass, type GeofenceCase, type Leg, type Tracker, type TripPlan } from './trip-plan.js';
