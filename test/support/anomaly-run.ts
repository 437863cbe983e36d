// The anomaly detectors threaded as the workflow threads them: inputs in order, and each timer
// fired at its deadline once the workflow's clock has passed it.
import {
  closeAnomalies,
  detectAnomaliesInOrder,
  initialAnomalyState,
  nextAnomalyDeadline,
  onAnomalyDeadline,
  type AnomalyContext,
  type AnomalyEvent,
  type AnomalyInput,
  type AnomalyState,
} from '../../domain/anomalies/index.js';

export class AnomalyRun {
  state: AnomalyState = initialAnomalyState();
  readonly events: AnomalyEvent[] = [];

  constructor(readonly ctx: AnomalyContext) {}

  feed(inputs: readonly AnomalyInput[]): void {
    this.record(detectAnomaliesInOrder(this.state, inputs, this.ctx));
  }

  /** The workflow sleeps until the next deadline; it fires if no input arrives first. */
  fireTimersUntil(workflowNowMs: number): void {
    for (let deadline = nextAnomalyDeadline(this.state, this.ctx); deadline && Date.parse(deadline) <= workflowNowMs; deadline = nextAnomalyDeadline(this.state, this.ctx)) {
      this.record(onAnomalyDeadline(this.state, deadline, this.ctx));
    }
  }

  close(at: string, detail: string): void {
    this.record(closeAnomalies(this.state, at, detail));
  }

  private record(result: { state: AnomalyState; events: AnomalyEvent[] }): void {
    this.state = result.state;
    this.events.push(...result.events);
  }
}
