// One simulated node as the simulator sees it: its storage, its Raft core while it is up and its state machine
// (the applied commands), with the helpers that encode commands and describe nodes for failure reports.

import type { RaftNode } from '../raw-node.js';
import type { Entry, NodeId, Snapshot } from '../types.js';
import type { MemoryStorage } from './memory-storage.js';

export interface SimNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  raft: RaftNode | undefined;
  /** Ticks happen when (time + phase) % unitsPerTick === 0: nodes' clocks are not in lockstep. */
  readonly phase: number;
  commands: string[];
  commandSet: Set<string>;
  /** The state machine's applied index: each applied entry must be the next one (no gap, no repeat). */
  appliedIndex: number;
  restartAt: number;
  /** Proposals this node accepted as leader and not yet resolved, by index. */
  readonly proposals: Map<number, { id: string; term: number }>;
  /** Reads started on this node: context → acknowledged proposals at the time the read started. */
  readonly reads: Map<number, readonly string[]>;
}

export function restoreStateMachine(node: SimNode, snapshot: Snapshot): void {
  node.commands = snapshot.data.length === 0 ? [] : (JSON.parse(decode(snapshot.data)) as string[]);
  node.commandSet = new Set(node.commands);
  node.appliedIndex = snapshot.metadata.index;
}

/** Every node's state, for failure reports. */
export function describeNodes(nodes: Iterable<SimNode>): string {
  const lines: string[] = [];
  for (const node of nodes) {
    if (!node.raft) {
      lines.push(`${node.id}: down`);
      continue;
    }
    const s = node.raft.status();
    const progress = [...s.progress].map(
      ([id, p]) => `${id}:${p.state}/${p.match}/${p.next}${p.recentActive ? '' : '?'}`,
    );
    lines.push(
      `${s.id}: ${s.role} term=${s.term} lead=${s.leader} commit=${s.commit} applied=${s.applied} ` +
        `log=[${s.firstIndex},${s.lastIndex}] conf=${JSON.stringify(s.confState)} ${progress.join(' ')}`,
    );
  }
  return lines.join('\n');
}

export function entryKey(e: Entry): string {
  return `${e.term}/${e.type}/${decode(e.data)}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encode(text: string): Uint8Array {
  return encoder.encode(text);
}

export function decode(data: Uint8Array): string {
  return decoder.decode(data);
}
