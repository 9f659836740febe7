/** Parsers for option values: each failure is a one-line usage error naming the option. */
import { InvalidArgumentError } from 'commander';
import { COMPUTE_DEVICES, type ComputeDevice } from '../runtime/index.ts';

export function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

export function numberOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}.`);
    }
    return n;
  };
}

export function deviceOption(value: string): ComputeDevice {
  if (!COMPUTE_DEVICES.includes(value as ComputeDevice)) {
    throw new InvalidArgumentError(`must be one of ${COMPUTE_DEVICES.join(', ')}.`);
  }
  return value as ComputeDevice;
}
