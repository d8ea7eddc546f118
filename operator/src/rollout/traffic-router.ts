/** Shifts a share of the service's traffic to the canary. */
export interface TrafficRouter {
  setWeight(
    target: { namespace: string; service: string; canary: string; stable: string },
    weight: number,
  ): Promise<void>;
}
