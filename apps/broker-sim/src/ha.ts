// The simulated HA channel between a slave and its master. A slave fetches `GET /ha/<group>/<masterId>?slave=<id>&ack=<offset>`
// from the master's address (the control port of the process hosting it); the master records the ack and answers
// with its max offset, confirm offset and epoch entries, like the HA handshake and transfer headers of RocketMQ's
// AutoSwitchHAConnection. A master in the same process is asked directly, without HTTP.

export interface HaRequest {
  readonly slaveBrokerId: bigint;
  /** The slave's max offset; -1n before its handshake (then the master does not count it as an ack). */
  readonly ackOffset: bigint;
}

export interface HaReply {
  readonly masterBrokerId: bigint;
  readonly masterEpoch: number;
  readonly maxOffset: bigint;
  readonly confirmOffset: bigint;
  readonly epochs: readonly { readonly epoch: number; readonly startOffset: bigint }[];
}

/** Serves HA fetches for the brokers of this process. */
export type HaServer = (group: string, masterBrokerId: bigint, request: HaRequest) => HaReply | undefined;

export interface HaPeers {
  /** The master's answer, or undefined when it does not answer as master (dead, hung, demoted, unreachable). */
  fetch(
    masterAddress: string,
    group: string,
    masterBrokerId: bigint,
    request: HaRequest,
  ): Promise<HaReply | undefined>;
}

/** Bound of one HA fetch; a hung master looks dead after this long. */
const HA_FETCH_TIMEOUT_MS = 500;

export function createHaPeers(ownAddress: string, local: HaServer): HaPeers {
  return {
    fetch: async (masterAddress, group, masterBrokerId, request) => {
      if (masterAddress === ownAddress) return local(group, masterBrokerId, request);
      const url =
        `http://${masterAddress}/ha/${encodeURIComponent(group)}/${masterBrokerId}` +
        `?slave=${request.slaveBrokerId}&ack=${request.ackOffset}`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(HA_FETCH_TIMEOUT_MS) });
        if (res.status !== 200) return undefined;
        return decodeHaReply(await res.json());
      } catch {
        return undefined;
      }
    },
  };
}

export function encodeHaReply(reply: HaReply): unknown {
  return {
    masterBrokerId: reply.masterBrokerId.toString(),
    masterEpoch: reply.masterEpoch,
    maxOffset: reply.maxOffset.toString(),
    confirmOffset: reply.confirmOffset.toString(),
    epochs: reply.epochs.map((e) => ({ epoch: e.epoch, startOffset: e.startOffset.toString() })),
  };
}

function decodeHaReply(json: unknown): HaReply | undefined {
  const j = json as {
    masterBrokerId: string;
    masterEpoch: number;
    maxOffset: string;
    confirmOffset: string;
    epochs: { epoch: number; startOffset: string }[];
  };
  try {
    return {
      masterBrokerId: BigInt(j.masterBrokerId),
      masterEpoch: j.masterEpoch,
      maxOffset: BigInt(j.maxOffset),
      confirmOffset: BigInt(j.confirmOffset),
      epochs: j.epochs.map((e) => ({ epoch: e.epoch, startOffset: BigInt(e.startOffset) })),
    };
  } catch {
    return undefined;
  }
}
