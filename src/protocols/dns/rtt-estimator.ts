/**
 * Smoothed round-trip time and its variation (RFC 6298), for deciding when an
 * unanswered query is worth sending again. Only answers to queries sent once are
 * samples (Karn's rule: a retransmitted query's answer may answer either copy).
 */
export class RttEstimator {
  readonly #minMs: number;
  readonly #maxMs: number;
  #srtt: number | undefined;
  #rttvar = 0;

  constructor(options: { minMs: number; maxMs: number }) {
    this.#minMs = options.minMs;
    this.#maxMs = options.maxMs;
  }

  sample(ms: number): void {
    if (this.#srtt === undefined) {
      this.#srtt = ms;
      this.#rttvar = ms / 2;
      return;
    }
    this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - ms);
    this.#srtt = 0.875 * this.#srtt + 0.125 * ms;
  }

  /** How long to wait before sending again; the maximum until a first sample. */
  get timeoutMs(): number {
    if (this.#srtt === undefined) return this.#maxMs;
    return Math.min(this.#maxMs, Math.max(this.#minMs, this.#srtt + 4 * this.#rttvar));
  }
}
