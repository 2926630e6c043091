/**
 * Stopping long training cleanly.
 *
 * Interrupting a synchronous tfjs loop mid-step corrupts the engine's tape, so training runs in
 * chunks and checks a flag between them. `stopOnInterrupt()` turns SIGINT (Ctrl-C in a terminal,
 * the stop button of a Jupyter kernel) into that flag. In a notebook, call it in a cell BEFORE the
 * training cell: a listener registered in the same cell as the loop hangs the kernel.
 */
export class StopSignal {
  private reasonText: string | null = null;

  /** Ask training to stop at the next chunk boundary. */
  stop(reason = 'stop requested'): void {
    if (this.reasonText === null) this.reasonText = reason;
  }

  get stopped(): boolean {
    return this.reasonText !== null;
  }

  get reason(): string | null {
    return this.reasonText;
  }

  /** Clear the flag so the same signal can serve the next run. */
  reset(): void {
    this.reasonText = null;
  }
}

/** Options that only tests need: which process object to listen on. */
interface SignalSource {
  on(event: 'SIGINT', listener: () => void): unknown;
  removeListener(event: 'SIGINT', listener: () => void): unknown;
}

export interface InterruptStop extends StopSignal {
  /** Remove the SIGINT listener (default Ctrl-C behaviour returns). */
  dispose(): void;
}

/**
 * A StopSignal set by SIGINT. While registered, Ctrl-C does not kill the process: training stops
 * at the next chunk and returns its history. Call `dispose()` to restore the default.
 */
export function stopOnInterrupt(source: SignalSource = process): InterruptStop {
  const signal = new StopSignal() as InterruptStop;
  const listener = (): void => signal.stop('interrupted (SIGINT)');
  source.on('SIGINT', listener);
  signal.dispose = () => {
    source.removeListener('SIGINT', listener);
  };
  return signal;
}
