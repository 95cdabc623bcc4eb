import { DynamicModule, Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ShardDirectory, validationFailed } from '@kernel/core';
import { ACCOUNTS_LEDGER, AccountsLedger } from '../accounts/accounts.port';
import { ACCOUNTS_LEDGERS } from '../accounts/accounts.tokens';
import { AuditReport, LEDGER_AUDIT, LedgerAudit } from '../accounts/audit/audit.port';
import { AuditStream, auditLedger } from '../accounts/audit/ledger-audit';
import { EVENT_LOG, EventLog } from '../events/events.port';
import type { BoardLedger } from './board.port';

/** A ledger as the board and the audit read it: its port (stored state) and its shard's event stream. */
export interface LedgerSource {
  name: string;
  port: AccountsLedger;
  stream: AuditStream;
}

/**
 * The ledgers the board shows and audits, looked up in the whole app when asked (so the board mounts in any host
 * app beside AccountsModule and EventsModule):
 * - `configured` (BoardModule's `ledgers`): exactly those — each a port token (default the unnamed ledger) and a
 *   named stream of the events port;
 * - otherwise every ledger the AccountsModule's directory serves (its default, its LEDGERS list, and those used
 *   since start), each read through `Ledgers.shard(name)` and its shard's log.
 */
export class LedgerSources {
  constructor(private readonly moduleRef: ModuleRef, private readonly configured?: BoardLedger[]) {}

  private lookup<T>(token: string | symbol): T | undefined {
    try {
      return this.moduleRef.get<T>(token, { strict: false });
    } catch {
      return undefined;
    }
  }

  private directory(): ShardDirectory<AccountsLedger> | undefined {
    return this.lookup<ShardDirectory<AccountsLedger>>(ACCOUNTS_LEDGERS);
  }

  names(): string[] {
    if (this.configured) return this.configured.map((l) => l.name);
    return this.directory()?.served() ?? [];
  }

  /** VALIDATION_FAILED (`field: ledger`) for a ledger not shown here. */
  get(name: string): LedgerSource {
    const log = this.lookup<EventLog>(EVENT_LOG);
    const known = this.names();
    if (!log || typeof name !== 'string' || !known.includes(name)) {
      throw validationFailed(`ledger must be one of ${known.join(', ') || '(none mounted)'}`, { field: 'ledger' });
    }
    const configured = this.configured?.find((l) => l.name === name);
    if (configured) {
      const stream = configured.stream ?? 'ledger';
      return { name, port: this.moduleRef.get<AccountsLedger>(configured.port ?? ACCOUNTS_LEDGER, { strict: false }), stream: namedStream(log, stream) };
    }
    return { name, port: this.directory()!.shard(name), stream: shardStream(log, name) };
  }
}

/** The LEDGER_AUDIT port over the ledgers' sources. One audit per ledger at a time: a second caller shares it. */
export class PortsLedgerAudit implements LedgerAudit {
  private readonly running = new Map<string, Promise<AuditReport>>();

  constructor(private readonly sources: LedgerSources) {}

  ledgers(): string[] {
    return this.sources.names();
  }

  async audit(name: string): Promise<AuditReport> {
    const running = this.running.get(name);
    if (running) return running;
    const { port, stream } = this.sources.get(name);
    const audit = auditLedger(name, port, stream).finally(() => this.running.delete(name));
    this.running.set(name, audit);
    return audit;
  }
}

/** The LEDGER_AUDIT port, wired from the app's own ports (see LedgerSources). */
@Module({})
export class LedgerAuditModule {
  static forRoot(options: { ledgers?: BoardLedger[] } = {}): DynamicModule {
    return {
      module: LedgerAuditModule,
      providers: [{
        provide: LEDGER_AUDIT,
        useFactory: (moduleRef: ModuleRef) => new PortsLedgerAudit(new LedgerSources(moduleRef, options.ledgers)),
        inject: [ModuleRef],
      }],
      exports: [LEDGER_AUDIT],
    };
  }
}

/** A named stream of the events port as the audit's stream. */
export const namedStream = (log: EventLog, stream: string): AuditStream => ({
  info: () => log.info(stream),
  read: (after, limit) => log.read(stream, { after, limit }),
});

/** A shard's log (the ledger's hash tag) as the audit's stream. */
export const shardStream = (log: EventLog, shard: string): AuditStream => ({
  info: () => log.infoShard(shard, 'ledger'),
  read: (after, limit) => log.readShard(shard, { after, limit }, 'ledger'),
});
