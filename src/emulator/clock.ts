/**
 * The org's clock. Tests move it (`/__emulator/clock`) to expire tokens and locators or to exercise date
 * literals without sleeping.
 */
export class Clock {
  #offset = 0;
  #frozen: number | null = null;
  now(): number {
    return this.#frozen ?? Date.now() + this.#offset;
  }
  /** Shifts the clock by `ms` (may be negative). */
  advance(ms: number): void {
    if (this.#frozen !== null) this.#frozen += ms;
    else this.#offset += ms;
  }
  /** Sets the clock to an instant; `freeze` stops it there. */
  set(ms: number, freeze = false): void {
    if (freeze) this.#frozen = ms;
    else {
      this.#frozen = null;
      this.#offset = ms - Date.now();
    }
  }
  reset(): void {
    this.#offset = 0;
    this.#frozen = null;
  }
}
