import { DynamicModule, Module } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { validationFailed } from '@kernel/core';
import { ACCOUNTS_LEDGER, AccountsLedger } from '../accounts/accounts.port';
import { AuditReport, LEDGER_AUDIT, LedgerAudit } from '../accounts/audit/audit.port';
import { AuditStream, auditLedger } from '../accounts/audit/ledger-audit';
import { EVENT_LOG, EventLog } from '../events/events.port';
import type { BoardLedger } from './board.port';

/**
 * The LEDGER_AUDIT port, wired from the app's own ports: each ledger's AccountsLedger (its stored balances) and the
 * events port (its stream). Both are looked up in the whole app when an audit runs, so this module works in any
 * host app that mounts AccountsModule and EventsModule. One audit per ledger at a time: a second caller shares it.
 */
@Module({})
export class LedgerAuditModule {
  static forRoot(options: { ledgers?: BoardLedger[] } = {}): DynamicModule {
    return {
      module: LedgerAuditModule,
      providers: [{
        provide: LEDGER_AUDIT,
        useFactory: (moduleRef: ModuleRef) => new PortsLedgerAudit(moduleRef, options.ledgers ?? [{ name: 'main' }]),
        inject: [ModuleRef],
      }],
      exports: [LEDGER_AUDIT],
    };
  }
}

export class PortsLedgerAudit implements LedgerAudit {
  private readonly running = new Map<string, Promise<AuditReport>>();

  constructor(private readonly moduleRef: ModuleRef, private readonly configured: BoardLedger[]) {}

  ledgers(): string[] {
    return this.configured.map((l) => l.name);
  }

  audit(name: string): Promise<AuditReport> {
    const ledger = this.configured.find((l) => l.name === name);
    if (!ledger) return Promise.reject(validationFailed(`ledger must be one of ${this.ledgers().join(', ')}`, { field: 'ledger' }));
    const running = this.running.get(name);
    if (running) return running;
    const accounts = this.moduleRef.get<AccountsLedger>(ledger.port ?? ACCOUNTS_LEDGER, { strict: false });
    const audit = auditLedger(name, accounts, ledgerStream(this.moduleRef.get<EventLog>(EVENT_LOG, { strict: false }), ledger.stream ?? 'ledger'))
      .finally(() => this.running.delete(name));
    this.running.set(name, audit);
    return audit;
  }
}

/** The events port as the audit's stream. */
export const ledgerStream = (log: EventLog, stream: string): AuditStream => ({
  info: () => log.info(stream),
  read: (after, limit) => log.read(stream, { after, limit }),
});
