// A minimal broker for end-to-end tests, speaking BrokerService directly: the RocketMQ 5.1.1+ registration
// protocol and a unary heartbeat loop.
import type { Client } from '@connectrpc/connect';
import type { BrokerService } from '@regent/proto/broker';

export class TestBroker {
  brokerId = 0n;
  #timer: NodeJS.Timeout | undefined;
  epoch = 0;
  maxOffset = 0n;
  heartbeatsFailed = 0;

  constructor(
    readonly client: Client<typeof BrokerService>,
    readonly clusterName: string,
    readonly brokerName: string,
    readonly address: string,
    readonly heartbeatTimeoutMs = 2000,
  ) {}

  /** GetNextBrokerId → ApplyBrokerId (retrying with the next id when another broker won) → RegisterBroker. */
  async register(): Promise<bigint> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const next = await this.client.getNextBrokerId({
        clusterName: this.clusterName,
        brokerName: this.brokerName,
      });
      const checkCode = `${this.address};${Date.now()}`;
      try {
        await this.client.applyBrokerId({
          clusterName: this.clusterName,
          brokerName: this.brokerName,
          appliedBrokerId: next.nextBrokerId,
          registerCheckCode: checkCode,
        });
      } catch {
        continue; // another broker took this id: fetch the next one
      }
      this.brokerId = next.nextBrokerId;
      await this.client.registerBroker({
        clusterName: this.clusterName,
        brokerName: this.brokerName,
        brokerId: this.brokerId,
        brokerAddress: this.address,
      });
      return this.brokerId;
    }
    throw new Error(`${this.address} could not obtain a broker id`);
  }

  async heartbeatOnce(): Promise<void> {
    await this.client.heartbeat({
      heartbeat: {
        clusterName: this.clusterName,
        brokerName: this.brokerName,
        brokerAddress: this.address,
        brokerId: this.brokerId,
        epoch: this.epoch,
        maxOffset: this.maxOffset,
        confirmOffset: this.maxOffset,
        heartbeatTimeoutMs: BigInt(this.heartbeatTimeoutMs),
      },
    });
  }

  startHeartbeats(intervalMs = 100): void {
    this.stopHeartbeats();
    this.#timer = setInterval(() => {
      this.heartbeatOnce().catch(() => {
        this.heartbeatsFailed++;
      });
    }, intervalMs);
  }

  stopHeartbeats(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
