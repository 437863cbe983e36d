// A change of the shipment's fleet assignment, checked and merged (pure; used by the Update).
import { ApplicationFailure } from '@temporalio/workflow';
import type { Assignment } from '../domain/types.js';
import { ASSIGNMENT_FAILURES, type AssignmentChange } from './contract.js';

const ASSIGNMENT_FIELDS = ['carrierId', 'vehicleId', 'driverId', 'deviceId'] as const;

/** Absent fields of the change keep their value, null clears them. */
export function mergeAssignment(current: Assignment, change: AssignmentChange): Assignment {
  const next: Assignment = { ...current };
  for (const field of ASSIGNMENT_FIELDS) {
    const value = change[field];
    if (value === null) delete next[field];
    else if (value !== undefined) next[field] = value;
  }
  return next;
}

/** The Update's validator: at least one field, each an id or null. */
export function validateAssignmentChange(change: AssignmentChange): void {
  const fields = ASSIGNMENT_FIELDS.filter((field) => change?.[field] !== undefined);
  if (fields.length === 0) throw ApplicationFailure.nonRetryable('an assignment change names at least one field', ASSIGNMENT_FAILURES.invalid);
  for (const field of fields) {
    const value = change[field];
    if (value !== null && (typeof value !== 'string' || value === '')) {
      throw ApplicationFailure.nonRetryable(`${field} must be an id or null`, ASSIGNMENT_FAILURES.invalid);
    }
  }
}
