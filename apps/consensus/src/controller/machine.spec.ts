// The controller machine's background snapshot: the state is captured when it starts; entries applied while it
// encodes do not reach it; the bytes are the ones a synchronous snapshot at that point gives, and restore to it.
import { encodeLogCommand } from '@regent/controller';
import { Harness } from '@regent/controller/testing';
import { EntryType } from '@regent/raft';
import { createControllerMachine } from './machine.js';

function entries(groups: number) {
  const h = new Harness();
  for (let g = 0; g < groups; g++) h.registerGroup(`group-${String(g).padStart(4, '0')}`, 3);
  return h.log.map((command, i) => ({
    term: 1,
    index: i + 1,
    type: EntryType.Normal,
    data: encodeLogCommand(command),
  }));
}

describe('controller machine snapshots', () => {
  it('encodes in the background the state as of its start, while later entries apply', async () => {
    const log = entries(300); // more groups than one turn of the event loop encodes
    const cut = Math.floor(log.length / 2);
    const machine = createControllerMachine();
    const reference = createControllerMachine();
    for (const entry of log.slice(0, cut)) {
      machine.apply(entry);
      reference.apply(entry);
    }
    const encoding = machine.snapshotInBackground!();
    for (const entry of log.slice(cut)) machine.apply(entry);
    const bytes = await encoding;
    expect(Buffer.from(bytes)).toEqual(Buffer.from(reference.snapshot()));
    const restored = createControllerMachine();
    restored.restore(bytes, cut);
    expect(restored.state).toEqual(reference.state);
    expect(machine.state.groups.size).toBe(300);
    expect(restored.state.groups.size).toBeLessThan(300);
  });
});
