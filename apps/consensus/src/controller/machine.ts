// The controller as a Raft state machine: applies committed LogCommands to the replicated ControllerState,
// publishes each applied event to the watch hub, and snapshots/restores the whole state.

import {
  type ApplyResult,
  allGroupStates,
  applyCommand,
  type ControllerState,
  createControllerState,
  decodeLogCommand,
  decodeSnapshot,
  encodeSnapshot,
  snapshotParts,
} from '@regent/controller';
import type { Entry } from '@regent/raft';
import { encodeInTurns, type StateMachine } from '@regent/raft-runtime';
import { WatchHub } from './watch.js';

/**
 * Groups encoded per turn of the event loop by a background snapshot: a few ms each. At 3,334 groups a snapshot
 * encoded in one go held the event loop for 100–200 ms on every node at once, longer than an election timeout.
 */
const snapshotGroupsPerTurn = 128;

export interface ControllerMachine extends StateMachine {
  /** The applied (committed) state. Replaced wholesale on restore: always read it through this getter. */
  readonly state: ControllerState;
  readonly appliedIndex: number;
  readonly watch: WatchHub;
  /** Called after every apply (for waking scans and the executor). */
  onApplied?: (result: ApplyResult, index: number) => void;
  /** Called after a restore. */
  onRestored?: (index: number) => void;
}

export function createControllerMachine(): ControllerMachine {
  let state = createControllerState();
  let appliedIndex = 0;
  const machine: ControllerMachine = {
    get state() {
      return state;
    },
    get appliedIndex() {
      return appliedIndex;
    },
    watch: new WatchHub(() => ({ index: appliedIndex, groups: allGroupStates(state) })),
    apply: (entry: Entry) => {
      const command = decodeLogCommand(entry.data);
      const result = applyCommand(state, command, entry.index, entry.term, { groupAfter: true });
      appliedIndex = entry.index;
      for (const e of result.applied) {
        if (e.ignored !== undefined) continue;
        machine.watch.publish({
          index: BigInt(entry.index),
          term: BigInt(entry.term),
          position: e.position,
          event: e.event,
          groupAfter: e.groupAfter,
        });
      }
      machine.onApplied?.(result, entry.index);
      return result;
    },
    snapshot: () => encodeSnapshot(state),
    snapshotInBackground: () => encodeInTurns(snapshotParts(state, snapshotGroupsPerTurn)),
    restore: (data, index) => {
      state = decodeSnapshot(data);
      appliedIndex = index;
      machine.watch.reset(index);
      machine.onRestored?.(index);
    },
  };
  return machine;
}
